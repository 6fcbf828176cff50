"""Self-supervised encoders trained on the user's own images (VICReg, Barlow Twins, SimSiam).

Needs torch, an optional extra: ``pip install 'elsa-search[train]' torch==2.13.0``
(pinning torch in the same command keeps pip from pulling CUDA packages on a CPU machine).
Nothing here imports torch until it is used.
"""

from .config import METHODS, TrainConfig

__all__ = ["METHODS", "TrainConfig", "require_torch", "train"]


def require_torch(what: str = "self-supervised training and torch encoders"):
    """Import torch, or raise a MissingDependencyError naming the extra to install; ``what``
    says what needs it."""
    try:
        import torch
    except ImportError as exc:
        from ..exceptions import MissingDependencyError

        raise MissingDependencyError(
            f"torch is needed for {what}: "
            "pip install 'elsa-search[train]' torch==2.13.0"
        ) from exc
    return torch


def train(*args, **kwargs):
    """See :func:`elsa.ssl.trainer.train`."""
    require_torch()
    from .trainer import train as _train

    return _train(*args, **kwargs)
