"""Input checks at the library's boundary.

Every check raises a typed :mod:`elsa.exceptions` error whose message names the bad
value; nothing here lets a malformed array reach numpy's own error messages.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .exceptions import EmptyPoolError, InputError, ParameterError

_FINITE_CHECK_ROWS = 65536
POOL_DTYPES = (np.dtype(np.float32), np.dtype(np.float16))  # kept as they are, never copied whole


def is_integer(value) -> bool:
    """A Python or numpy integer, and not a bool (``True`` is no count and no id); never a
    float or a string that looks like one, which would be converted silently."""
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def short_repr(value, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages (never echo a huge value back)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int past Python's 4,300 digits; nesting too deep
        text = f"<a {type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise :class:`ParameterError` naming ``name``."""
    if not is_integer(value):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ParameterError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(
    value,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
) -> float:
    """Return ``value`` as a finite float, or raise :class:`ParameterError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value!r}")
    value = float(value)
    if minimum is not None and (value <= minimum if exclusive_minimum else value < minimum):
        raise ParameterError(f"{name} must be {'>' if exclusive_minimum else '>='} {minimum}, got {value}")
    if maximum is not None:
        if exclusive_maximum and value >= maximum:
            raise ParameterError(f"{name} must be < {maximum}, got {value}")
        if not exclusive_maximum and value > maximum:
            raise ParameterError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_images(images, name: str = "images") -> np.ndarray:
    """uint8 images ``(n, H, W)`` (greyscale) or ``(n, H, W, 3)`` (RGB), at least one."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise InputError(f"{name} must be uint8 of shape (n, H, W) or (n, H, W, 3), got {images.dtype} {images.shape}")
    if images.shape[0] == 0:
        raise EmptyPoolError(f"no {name} given")
    return images


def check_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


class Pool(np.ndarray):
    """A pool :func:`check_embeddings` has validated: 2-d, float32 or float16, C-contiguous and
    finite. It is a view of the checked array (no copy), and the layers below trust it: the
    simulation, the loop, the index backends and the k-NN graph each call
    :func:`check_embeddings`, and only the first scans the values. Views and rows taken
    from it keep the type (they are as finite); the results of arithmetic on it are plain
    arrays. A pool changed in place after the check is not checked again.
    """

    def __array_wrap__(self, array, context=None, return_scalar=False):
        if array is self:  # an in-place operation (out=pool) returns the pool itself
            return self
        array = np.asarray(array)
        return array[()] if return_scalar or array.ndim == 0 else array

    def __reduce_ex__(self, protocol):
        """Pickled as a plain array (so protocol 5 shares its buffer out of band, as Ray and
        multiprocessing do); the other side checks it once again."""
        return np.asarray(self).__reduce_ex__(protocol)


def check_embeddings(X, name: str = "embeddings") -> np.ndarray:
    """Validate a pool of embeddings and return it as a C-contiguous ``(n, d)`` :class:`Pool`.

    float32 and float16 pools (including read-only memory maps) are returned as they
    are, without copying: a float16 pool stays half the size on disk and in memory, and
    every pass over it converts one block at a time to float32 (:func:`float_rows`).
    Any other numeric dtype is converted to float32. Rows with NaN or inf are reported
    by index. A :class:`Pool` (checked before) is returned at once.
    """
    if isinstance(X, Pool) and X.ndim == 2 and X.flags.c_contiguous and X.size and X.dtype in POOL_DTYPES:
        return X
    if is_sparse(X):
        return check_sparse_pool(X, name)
    X = np.asarray(X)
    if X.dtype == object or not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise InputError(f"{name} must hold numbers, got dtype {X.dtype}")
    _check_shape(X, name)
    if X.dtype not in POOL_DTYPES:
        if np.issubdtype(X.dtype, np.floating) and np.abs(X).max() > np.finfo(np.float32).max:
            raise InputError(f"{name} has values too large for float32 (max |x| = {np.abs(X).max():.3g})")
        X = X.astype(np.float32)
    X = np.ascontiguousarray(X)
    _check_finite(X, name)
    return X.view(Pool)


def _check_shape(X, name: str) -> None:
    """A pool is 2-d with at least one row and one column."""
    if X.ndim != 2:
        raise InputError(f"{name} must be a 2-d array (n_items, n_dims), got shape {X.shape}")
    if X.shape[0] == 0:
        raise EmptyPoolError(f"{name} has no rows: there is nothing to search")
    if X.shape[1] == 0:
        raise InputError(f"{name} has rows of length 0, shape {X.shape}")


def check_examples(examples, X):
    """Positive example rows given beside a pool (:attr:`elsa.state.SearchState.examples`):
    None, or a matrix of the pool's kind (sparse for a sparse pool) with its columns,
    finite; returned as float32 (CSR when sparse), None when it has no rows."""
    if examples is None:
        return None
    sparse = is_sparse(X)
    if is_sparse(examples) != sparse:
        raise InputError(f"examples must be {'sparse' if sparse else 'dense'} rows like the pool's")
    if sparse:
        from scipy.sparse import csr_matrix

        rows = csr_matrix(examples, dtype=np.float32)
        values = rows.data
    else:
        rows = values = np.atleast_2d(np.asarray(examples, np.float32))
    if rows.ndim != 2 or rows.shape[1] != X.shape[1]:
        raise InputError(f"examples have shape {tuple(rows.shape)}; the pool's rows have {X.shape[1]} columns")
    if not np.isfinite(values).all():
        raise InputError("examples contain NaN or inf")
    return rows if rows.shape[0] else None


def is_sparse(X) -> bool:
    """A scipy sparse matrix or array (checked by type, so scipy is imported only where one is given)."""
    return type(X).__module__.startswith("scipy.sparse")


def check_sparse_pool(X, name: str = "embeddings"):
    """Validate a sparse pool (text features: TF-IDF rows) and return it as a float32
    ``scipy.sparse.csr_matrix`` with sorted, summed indices. A matrix checked before is
    returned at once (:func:`check_embeddings` marks it).

    Only the exact backend searches sparse pools (:mod:`elsa.index.sparse`); squared L2
    distances between unit-length rows are ``2 - 2 cos``, so on TF-IDF they rank by cosine.
    """
    if getattr(X, "_elsa_checked", False):
        return X
    from scipy.sparse import csr_matrix

    _check_shape(X, name)
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise InputError(f"{name} must hold numbers, got dtype {X.dtype}")
    X = csr_matrix(X, dtype=np.float32)
    X.sum_duplicates()  # also sorts the indices
    if not np.isfinite(X.data).all():
        bad = np.unique(np.searchsorted(X.indptr, np.flatnonzero(~np.isfinite(X.data)), side="right") - 1)
        shown = ", ".join(str(i) for i in bad[:10]) + (", ..." if bad.size > 10 else "")
        raise InputError(f"{name} has {bad.size} row(s) with NaN or inf values (rows {shown})")
    X._elsa_checked = True
    return X


def _check_finite(X: np.ndarray, name: str) -> None:
    """Rows with NaN or inf, by index; one pass in blocks (the pool is never copied whole),
    shared among a thread per core.

    A float16 or float32 block is checked on its bits: a value is NaN or inf exactly when
    its exponent bits are all ones, so the block is finite when the largest of its values'
    exponent bits is below that. ``np.isfinite`` on float16 converts every value first:
    at 10M x 128 the check took 2.2-2.5 s, which every opening of the pool paid."""
    from ._parallel import cpu_count, map_ranges, row_ranges

    step = max(1, min(_FINITE_CHECK_ROWS, (8 << 20) // max(1, X.shape[1] * X.dtype.itemsize)))  # 8 MB blocks

    def finite(start: int, stop: int) -> bool:
        for a in range(start, stop, step):
            if not _finite_bits(np.ascontiguousarray(X[a : min(stop, a + step)])):
                return False
        return True

    if all(map_ranges(finite, row_ranges(X.shape[0], cpu_count(), step))):
        return
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    shown = ", ".join(str(i) for i in bad[:10]) + (", ..." if bad.size > 10 else "")
    raise InputError(f"{name} has {bad.size} row(s) with NaN or inf values (rows {shown})")


_EXPONENT = {np.dtype(np.float16): (np.uint16, 0x7C00), np.dtype(np.float32): (np.uint32, 0x7F800000),
             np.dtype(np.float64): (np.uint64, 0x7FF0000000000000)}


def _finite_bits(block: np.ndarray) -> bool:
    """Whether every value of a contiguous block is finite."""
    if block.size == 0:
        return True
    if block.dtype not in _EXPONENT:
        return bool(np.isfinite(block).all())
    kind, mask = _EXPONENT[block.dtype]
    bits = block.view(kind) & kind(mask)
    return int(bits.max()) < mask


def float_rows(rows) -> np.ndarray:
    """Rows read from a pool (a block, or gathered ids) as float32, for arithmetic.

    A float32 block is returned as it is. A float16 one is converted exactly (every
    float16 is a float32), so every result on a float16 pool is bitwise the result on
    the same values stored as float32. numpy's own cast runs at about 0.6 G values/s
    here, slower than the matrix product that follows it, so the conversion is done on
    the bits: a float16's sign, exponent and mantissa, shifted 13 places, are a float32
    whose exponent is 112 too small, and multiplying by ``2**112`` restores it exactly
    (subnormals included). That is 7x faster, and the tests check it against numpy's
    cast for all 63,488 finite float16 values. Pools are checked finite, so inf and NaN
    never reach it.
    """
    if is_sparse(rows):  # sparse rows stay sparse (a block of a text pool), as float32
        return rows if rows.dtype == np.float32 else rows.astype(np.float32)
    rows = np.asarray(rows)
    if rows.dtype != np.float16:
        return np.asarray(rows, dtype=np.float32)
    bits = np.ascontiguousarray(rows).view(np.int16).astype(np.int32)  # the sign fills bits 28-31
    bits <<= 13
    bits &= np.int32(-0x70002000)  # 0x8FFFE000: the sign bit, then exponent and mantissa
    out = bits.view(np.float32)
    out *= np.float32(2.0**112)
    return out


def check_class_labels(y, n: int, name: str = "labels") -> np.ndarray:
    """Validate integer class ids aligned with ``n`` embedding rows."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise InputError(f"{name} must be a 1-d array of class ids, got shape {y.shape}")
    if y.shape[0] != n:
        raise InputError(f"{name} has {y.shape[0]} entries but the embeddings have {n} rows; they must match")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise InputError(f"{name} must be integer class ids; found non-integer values")
        y = y.astype(np.int64)
    elif not np.issubdtype(y.dtype, np.integer) and y.dtype != bool:
        raise InputError(f"{name} must be integer class ids, got dtype {y.dtype}")
    return y.astype(np.int64)


def check_ids(ids, n: int, name: str) -> np.ndarray:
    """Validate a list of distinct row ids in ``[0, n)`` and return them as int64."""
    arr = np.asarray(ids)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ParameterError(f"{name} must be a list of integer row ids, got {ids!r}")
    arr = arr.astype(np.int64)
    out_of_range = arr[(arr < 0) | (arr >= n)]
    if out_of_range.size:
        raise ParameterError(f"{name} has ids outside [0, {n}): {out_of_range[:10].tolist()}")
    if np.unique(arr).size != arr.size:
        raise ParameterError(f"{name} lists an id more than once: {ids!r}")
    return arr


def as_generator(random_state) -> np.random.Generator:
    """An explicit numpy Generator from an int, a SeedSequence, a Generator or None."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (Integral, np.random.SeedSequence)):
        if isinstance(random_state, Integral) and random_state < 0:
            raise ParameterError(f"random_state must be >= 0, got {random_state}")
        return np.random.default_rng(random_state)
    raise ParameterError(f"random_state must be an int, a numpy Generator or None, got {random_state!r}")
