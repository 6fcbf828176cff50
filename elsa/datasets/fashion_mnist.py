"""Fashion-MNIST: the built-in test split, and the full 70k from Debian's package.

The test split (10,000 greyscale 28x28 images, 10 classes) ships inside the package
(``elsa/datasets/data``, MIT licence, (c) 2017 Zalando SE; see ``LICENSE`` there), so
the demo needs no download. The 60,000-image training split is read from Debian's
``dataset-fashion-mnist`` package when it is installed (the benchmarks use both).
"""

from __future__ import annotations

import gzip
from importlib import resources
from pathlib import Path

import numpy as np

from ..exceptions import InputError

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
_PREFIX = {"test": "t10k", "train": "train"}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array of its dtype and shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read IDX file {path}: {exc}") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise InputError(f"{path} is not an IDX file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if data[2] not in dtypes:
        raise InputError(f"{path}: unknown IDX element type 0x{data[2]:02x}")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    dtype = np.dtype(dtypes[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - offset != expected:
        raise InputError(f"{path}: IDX header promises {expected} bytes of data, file has {len(data) - offset}")
    return np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)


def _split_files(directory: Path, split: str) -> tuple[Path, Path]:
    prefix = _PREFIX[split]
    return directory / f"{prefix}-images-idx3-ubyte.gz", directory / f"{prefix}-labels-idx1-ubyte.gz"


def load_fashion_mnist(split: str = "test", directory=None) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 28, 28)`` uint8 and labels ``(n,)`` int64.

    ``split="test"`` reads the copy shipped in the package unless ``directory`` is
    given; ``"train"`` and ``"all"`` (train then test, 70,000 images) need Debian's
    ``dataset-fashion-mnist`` package or a ``directory`` holding the four IDX files.
    """
    if split == "all":
        xtr, ytr = load_fashion_mnist("train", directory)
        xte, yte = load_fashion_mnist("test", directory)
        return np.concatenate([xtr, xte]), np.concatenate([ytr, yte])
    if split not in _PREFIX:
        raise InputError(f"split must be 'test', 'train' or 'all', got {split!r}")
    if directory is None and split == "test":
        with resources.as_file(resources.files(__package__) / "data") as data_dir:
            images_path, labels_path = _split_files(Path(data_dir), split)
            return read_idx(images_path).copy(), read_idx(labels_path).astype(np.int64)
    directory = Path(directory) if directory is not None else DEBIAN_DIR
    images_path, labels_path = _split_files(directory, split)
    if not images_path.exists():
        raise InputError(
            f"Fashion-MNIST {split} split not found at {images_path}; "
            "install Debian's package (apt-get install dataset-fashion-mnist) or pass the folder holding the IDX files"
        )
    return read_idx(images_path).copy(), read_idx(labels_path).astype(np.int64)
