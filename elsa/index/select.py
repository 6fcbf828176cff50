"""Building a search backend by name: in this process, or on a Ray cluster.

``make_index(X, backend)``: ``auto`` (exact unless the pool is large, then faiss, as
memory allows: :mod:`elsa.index.local`), ``exact``, ``ivf``, ``ivfpq`` or ``hnsw``, or
``ray``: the pool's shards held by Ray actors on a cluster
(:mod:`elsa.index.ray_backend`), never picked automatically.
"""

from __future__ import annotations

from .._validation import check_choice, is_sparse
from ..exceptions import ParameterError
from .base import Index
from .local import LOCAL_BACKENDS, SPARSE_BACKENDS_NOTE, make_local_index

BACKENDS = LOCAL_BACKENDS + ("ray",)


def make_index(X, backend: str = "auto", *, random_state=0, **options) -> Index:
    """An index over ``X``: ``backend`` is ``auto`` or one of ``exact``, ``ivf``, ``ivfpq``, ``hnsw``, ``ray``.

    ``options`` go to the backend's class (:class:`ExactIndex`,
    :class:`~elsa.index.faiss_index.FaissIndex`, :class:`~elsa.index.ray_backend.RayIndex`);
    ``random_state`` seeds faiss's training, in one process or in each shard.
    """
    backend = check_choice(backend, "index backend", BACKENDS)
    if backend == "ray" and is_sparse(X):
        raise ParameterError(SPARSE_BACKENDS_NOTE.format(backend=backend))
    if backend == "ray":
        from .ray_backend import RayIndex

        return RayIndex(X, random_state=random_state, **options)
    return make_local_index(X, backend, random_state=random_state, **options)
