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

**Second views, tried and not kept (issue 36).** A fifth ranking in the default's
portfolio, a logistic head (``C = 1``) on a second view of the same records, its own
slot share earned like the others', paired against the default (3 runs of each of 14
targets in docstrings, manual pages and fortunes, 5 seeds, pages of 10): on character
3-5-grams (scikit-learn's ``char_wb``, sublinear TF-IDF, 300,000 columns) the median
class found 1.00-1.01 times the default's at 100-1,000 labels, with a wide spread (law
fortunes 1.34 times at 500 labels, manual pages section 5 0.93 at 250, fortunes by
humorists 0.46 at 100); on wordllama's 256-d static embeddings pooled per record
(``l2_supercat``, its weights in its wheel) 0.99-1.00, worst 0.87. Neither moves the
median class, the character view costs ten times the word view's non-zeros, and
wordllama brings five dependencies, so the text path keeps one view.

Beside the features, the :class:`Vocabulary` (each column's term and IDF) is cached as
``KEY.vocab.npz``: the page marks an item's terms by name (:mod:`elsa.text.highlight`),
and a text that is not a record (the user's description of the target,
:mod:`elsa.text.describe`) is featurised with the corpus's own terms and IDF, so it lands
in the same space as the records.
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


class Vocabulary:
    """The featuriser's columns: each one's term and IDF, as fitted on a corpus.

    :meth:`transform` featurises other texts in that corpus's space: the same tokens,
    stop words, sublinear term frequency and unit length, with the corpus's IDF (a term the
    corpus lacks is dropped)."""

    def __init__(self, terms, idf):
        self.terms = np.asarray(terms, dtype=str)
        self.idf = np.asarray(idf, np.float64)
        self._vec = None

    def transform(self, texts: list[str]):
        """``texts`` as float32 CSR rows of this vocabulary's columns."""
        from scipy.sparse import csr_matrix

        if self._vec is None:
            vec = _vectorizer(3)  # the corpus-size rules (min_df, max_df) act only in a fit, which this skips
            vec.set_params(vocabulary={t: i for i, t in enumerate(self.terms.tolist())})
            vec.idf_ = self.idf
            self._vec = vec
        return csr_matrix(self._vec.transform(list(texts)), dtype=np.float32)

    def save(self, path) -> None:
        atomic_write(path, lambda fh: np.savez(fh, terms=self.terms, idf=self.idf))

    @classmethod
    def load(cls, path) -> "Vocabulary":
        with np.load(path) as z:
            return cls(z["terms"], z["idf"])


def tfidf(texts: list[str]):
    """The TF-IDF rows of ``texts`` (float32 CSR, unit-length rows; a record with no known
    term is a row of zeros) and the vocabulary's terms, in column order."""
    X, vocab = _fit(texts)
    return X, vocab.terms.tolist()


def _fit(texts: list[str]):
    from scipy.sparse import csr_matrix

    vec = _vectorizer(len(texts))
    try:
        X = vec.fit_transform(texts)
        vocab = Vocabulary(vec.get_feature_names_out(), vec.idf_)
    except ValueError:  # no term at all (every record empty, or only stop words)
        X, vocab = csr_matrix((len(texts), 1), dtype=np.float32), Vocabulary(["(none)"], [1.0])
    return csr_matrix(X, dtype=np.float32), vocab


def text_features(texts: list[str], *, use_cache: bool = True, progress: bool = True):
    """``texts``' features (float32 CSR, one row per text), from the cache or computed and cached."""
    return _features_and_vocabulary(texts, use_cache, progress, need_vocabulary=False)[0]


def text_features_and_vocabulary(texts: list[str], *, use_cache: bool = True, progress: bool = True):
    """``(features, vocabulary)`` of ``texts`` in one read of the cache."""
    return _features_and_vocabulary(texts, use_cache, progress, need_vocabulary=True)


def _features_and_vocabulary(texts, use_cache, progress, need_vocabulary):
    from scipy.sparse import load_npz

    path = cache_root() / "text" / f"{featuriser_key(texts)}.npz"
    vocab_path = path.with_suffix(".vocab.npz")
    if use_cache and path.exists() and (not need_vocabulary or vocab_path.exists()):
        try:
            X = load_npz(path).tocsr()
            return X, (Vocabulary.load(vocab_path) if need_vocabulary else None)
        except (OSError, ValueError, EOFError, KeyError):
            pass  # unreadable: compute again
    if progress:
        print(f"featurising {len(texts):,} records (TF-IDF of words and word pairs)", file=sys.stderr)
    X, vocab = _fit(texts)
    if use_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_features(path, X)
            vocab.save(vocab_path)
        except OSError as exc:
            log.warning(f"note: could not cache the text features in {path.parent}: {exc}")
    return X, vocab


def save_features(path, X) -> None:
    """Write ``X`` to ``path`` (``.npz``, scipy's sparse format) atomically."""
    from scipy.sparse import save_npz

    atomic_write(path, lambda fh: save_npz(fh, X))
