"""Search backends behind one interface; :class:`ExactIndex` is the reference.

:func:`make_index` builds one by name (``exact``, ``ivf``, ``ivfpq``, ``hnsw``) or picks
one from the pool's size and the memory available (``auto``). The faiss backends
(:class:`~elsa.index.faiss_index.FaissIndex`) import faiss only when built.
"""

from .base import Index
from .exact import ExactIndex
from .local import choose_backend
from .select import BACKENDS, make_index

__all__ = ["BACKENDS", "Index", "ExactIndex", "choose_backend", "make_index"]
