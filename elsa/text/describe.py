"""The user's own question: a description of the target, used as a positive example.

A reviewer knows what they are looking for before they have found any of it: "jokes about
lawyers and judges", "system calls that manage memory". AutoTAR (Cormack and Grossman,
2015) starts its search from such a topic description, featurised as one more document
and labelled relevant: a *synthetic positive*, kept in every round's training set. This
does the same: the description is featurised with the corpus's own terms and IDF
(:class:`~elsa.text.features.Vocabulary`), so it is a row in the records' space, and the
search's logistic heads train on it as a positive beside the labelled ones
(:attr:`elsa.state.SearchState.examples`). It is not a pool item: it is never shown,
counted or exported, and the k-NN model does not see it (it has no place in the pool's
neighbour graph).

Where AutoTAR differs: it has no seeds and labels its first batch from the description
alone; here, with seeds, the description is one positive among them, and without seeds
it ranks the first page (:class:`~elsa.samplers.portfolio.PortfolioSampler`), where the
default would otherwise label random records until it met a positive.
"""

from __future__ import annotations

from ..exceptions import InputError, ParameterError


def describe(description: str, vocabulary, name: str = "description"):
    """``description`` as a ``(1, d)`` float32 CSR row of ``vocabulary``'s columns.

    Raises :class:`~elsa.exceptions.ParameterError` for an empty description and
    :class:`~elsa.exceptions.InputError` when none of its words is a term of the corpus
    (it would be a row of zeros: no evidence at all)."""
    text = str(description).strip()
    if not text:
        raise ParameterError(f"{name} is empty: describe what you are looking for in a few words")
    row = vocabulary.transform([text])
    if row.nnz == 0:
        raise InputError(f"{name} {text[:80]!r}: none of its words occurs in the records (after stop words such as "
                         "'the' and 'about'); describe the target in the records' own words")
    return row
