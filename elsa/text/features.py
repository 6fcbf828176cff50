"""Text features: sparse TF-IDF of words and word pairs, cached by the whole corpus's content.

The features a text search needs keep every term: a linear model on sparse TF-IDF is the
strong baseline of text screening (ASReview's default is one), and reducing the terms
to 128 dense dimensions loses most of what it finds (issue 22: 0.32-0.82 times ASReview
on held-out records). So the pool is a ``scipy.sparse.csr_matrix``, one unit-length row
per record, and the search uses it as it is: the logistic heads fit on the sparse rows
(:mod:`elsa.head.base`), and the k-NN graph is the cosine neighbours of the rows
(:mod:`elsa.index.sparse`).

The featuriser (:data:`FEATURISER`) is scikit-learn's ``TfidfVectorizer``: words and word
pairs, accents stripped, English stop words removed, terms in at least 2 records and at
most 95 % of them, sublinear term frequency, rows scaled to unit length. The stop words
make the k-NN graph's sparse products about three times cheaper (the common words make
nearly every pair of records share a term).

IDF depends on every record, so the features are cached under one key: the SHA-256 of
the featuriser's settings, scikit-learn's version and every record's text, in
``$ELSA_CACHE_DIR/text`` as a ``.npz`` (scipy's sparse format). A changed record
changes every row's features, and the whole corpus is featurised again (a few seconds
for 60,000 short records).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys

import numpy as np

from .._io import atomic_write, cache_root

log = logging.getLogger("elsa")

FEATURISER = {"kind": "tfidf", "ngram_range": [1, 2], "min_df": 2, "max_df": 0.95, "sublinear_tf": True,
              "stop_words": "english", "strip_accents": "unicode"}


def featuriser_key(texts: list[str]) -> str:
    """The cache key of ``texts``' features (see the module docstring)."""
    import sklearn

    digest = hashlib.sha256(json.dumps([FEATURISER, sklearn.__version__], sort_keys=True).encode())
    for t in texts:
        data = t.encode("utf-8", "replace")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _vectorizer(n: int):
    from sklearn.feature_extraction.text import TfidfVectorizer

    # min_df = 2 needs at least two records; a tiny corpus keeps every term.
    return TfidfVectorizer(ngram_range=tuple(FEATURISER["ngram_range"]), min_df=FEATURISER["min_df"] if n > 2 else 1,
                           max_df=FEATURISER["max_df"] if n > 20 else 1.0, sublinear_tf=FEATURISER["sublinear_tf"],
                           stop_words=FEATURISER["stop_words"], strip_accents=FEATURISER["strip_accents"],
                           dtype=np.float32)


def tfidf(texts: list[str]):
    """The TF-IDF rows of ``texts`` (float32 CSR, unit-length rows; a record with no known
    term is a row of zeros) and the vocabulary's terms, in column order."""
    from scipy.sparse import csr_matrix

    vec = _vectorizer(len(texts))
    try:
        X = vec.fit_transform(texts)
        terms = vec.get_feature_names_out().tolist()
    except ValueError:  # no term at all (every record empty, or only stop words)
        X, terms = csr_matrix((len(texts), 1), dtype=np.float32), ["(none)"]
    return csr_matrix(X, dtype=np.float32), terms


def text_features(texts: list[str], *, use_cache: bool = True, progress: bool = True):
    """``texts``' features (float32 CSR, one row per text), from the cache or computed and cached."""
    from scipy.sparse import load_npz

    path = cache_root() / "text" / f"{featuriser_key(texts)}.npz"
    if use_cache and path.exists():
        try:
            return load_npz(path).tocsr()
        except (OSError, ValueError, EOFError):
            pass  # unreadable: compute again
    if progress:
        print(f"featurising {len(texts):,} records (TF-IDF of words and word pairs)", file=sys.stderr)
    X, _ = tfidf(texts)
    if use_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_features(path, X)
        except OSError as exc:
            log.warning(f"note: could not cache the text features in {path.parent}: {exc}")
    return X


def save_features(path, X) -> None:
    """Write ``X`` to ``path`` (``.npz``, scipy's sparse format) atomically."""
    from scipy.sparse import save_npz

    atomic_write(path, lambda fh: save_npz(fh, X))
