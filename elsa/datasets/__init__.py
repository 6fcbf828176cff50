"""Built-in data: Fashion-MNIST's test split ships with the package."""

from .fashion_mnist import CLASS_NAMES, load_fashion_mnist, read_idx

__all__ = ["CLASS_NAMES", "load_fashion_mnist", "read_idx"]
