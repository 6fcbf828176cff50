"""A records file as a pool: its records and their features, one call (what ``--records`` does)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._io import save_npy, write_json
from .features import FEATURISER, save_features, text_features_and_vocabulary
from .records import Records, read_records


def records_pool(path, text_columns=None, *, use_cache: bool = True, progress: bool = True):
    """``(X, records, vocabulary)``: the file's records (:func:`~elsa.text.records.read_records`),
    their sparse TF-IDF rows, row ``i`` for record ``i``, and the features' vocabulary
    (:func:`~elsa.text.features.text_features_and_vocabulary`, cached)."""
    records = read_records(path, text_columns)
    X, vocabulary = text_features_and_vocabulary(records.texts(), use_cache=use_cache, progress=progress)
    return X, records, vocabulary


def embed_records(path, out, text_columns=None, *, use_cache: bool = True,
                  progress: bool = True) -> tuple[dict, Records]:
    """Write a records file's features to ``out`` (a ``.npz``: scipy's sparse format, one
    unit-length TF-IDF row per record, in file order) and ``OUT.manifest.json`` beside it;
    with a ``label_included`` column, also ``OUT.labels.npy`` (1, 0, or -1 where the record
    has no label). Returns the manifest as written, and the records."""
    out = Path(out)
    X, records, _ = records_pool(path, text_columns, use_cache=use_cache, progress=progress)
    save_features(out, X)
    stem = out.with_suffix("")
    manifest = {
        "source": str(Path(path).resolve()),
        "kind": "text",
        "text_columns": list(records.text_columns),
        "featuriser": FEATURISER,
        "format": "scipy.sparse CSR (.npz, scipy.sparse.load_npz), float32, one unit-length row per record",
        "shape": list(X.shape),
        "nonzeros": int(X.nnz),
        "items": records.ids,
        "problems": records.problems,
    }
    if records.labels is not None:
        labels_path = stem.with_name(stem.name + ".labels.npy")
        save_npy(labels_path, records.labels.astype(np.int64))
        manifest["labels"] = labels_path.name
    write_json(stem.with_name(stem.name + ".manifest.json"), manifest)
    return manifest, records
