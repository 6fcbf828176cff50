"""Why a text item is a lead: the terms it shares with the positives found so far.

A card in a text session shows its record's title and body; the words that made the
search propose it are marked there. An item's score under every model of the default
comes from the terms it shares with the labelled positives: the k-NN model's from its
cosine neighbours (a sum over shared terms of the two rows' TF-IDF weights), the logistic
heads' from weights that the positives' terms pushed up. So the terms shown are the
largest products of the item's TF-IDF weight and the positives' mean TF-IDF weight, term
by term: the shared terms that count most towards the item's cosine with the positives'
centroid (the Rocchio score). A term only the item has, or only the positives have, is
never shown.

This is one explanation of all the rankings at once, not any single model's own: the
heads' weights move with the random negatives they are fitted against each round, and
showing them would make the highlighting change between two looks at the same card.
A word pair (``file system``) is shown as its two words; the page marks the words
wherever they occur in the card (lowercased, as the featuriser reads them).
"""

from __future__ import annotations

import numpy as np

from .._validation import is_sparse

MAX_TERMS = 8  # terms marked on a card


def positives_centroid(X, positives: np.ndarray) -> np.ndarray | None:
    """The mean TF-IDF row of ``positives`` (dense, one weight per term), or None without any."""
    positives = np.asarray(positives, np.int64)
    if positives.size == 0:
        return None
    total = X[positives].sum(axis=0)
    return np.asarray(total, np.float64).ravel() / positives.size


def lead_terms(X, terms, item: int, centroid: np.ndarray | None, top: int = MAX_TERMS) -> list[str]:
    """The up to ``top`` terms of row ``item`` of the sparse pool ``X`` with the largest
    product of its weight and ``centroid``'s (see the module docstring), largest first, ties
    by term order; empty without a centroid, for a dense pool, or where it shares no term."""
    if centroid is None or not is_sparse(X):
        return []
    row = X[int(item)]
    cols = row.indices
    if cols.size == 0:
        return []
    weight = np.asarray(row.data, np.float64) * centroid[cols]
    keep = weight > 0
    cols, weight = cols[keep], weight[keep]
    order = np.lexsort((cols, -weight))[:top]
    return [str(terms[c]) for c in cols[order]]
