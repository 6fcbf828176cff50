"""Choosing an encoder from what the user names: the built-in model, an ONNX file, or a torch model.

Kept apart from :mod:`.encoder` (the ONNX encoders) and :mod:`.torch_encoder` (which
builds on them), so that neither imports the other's module back.
"""

from __future__ import annotations

from pathlib import Path

from ..exceptions import InputError, ParameterError
from .encoder import BATCH_SIZE, ImageEncoder, OnnxImageEncoder


def load_encoder(spec="builtin", *, space: str = "embedding", image_size: int | None = None,
                 batch_size: int = BATCH_SIZE,
                 mean=None, std=None, device: str = "auto", allow_pickle: bool = False) -> ImageEncoder:
    """An encoder from a spec: ``"builtin"``, a ``.onnx`` file, or a torch file or training folder.

    ``space`` applies to ELSA training checkpoints only; ``device`` to torch models only
    (ONNX models run on the CPU).
    """
    if spec in (None, "builtin"):
        if space != "embedding":
            raise ParameterError("--space projector needs a checkpoint from `elsa train`, not the built-in encoder")
        return OnnxImageEncoder(image_size, batch_size, mean=mean, std=std)
    path = Path(spec)
    if not path.exists():
        raise InputError(f"encoder not found: {path} (give 'builtin', an .onnx file, or a checkpoint from `elsa train`)")
    if path.suffix.lower() == ".onnx":
        if space != "embedding":
            raise ParameterError("--space projector needs a checkpoint from `elsa train`, not an ONNX model")
        return OnnxImageEncoder(image_size, batch_size, model_path=path, mean=mean, std=std)
    from .torch_encoder import TorchImageEncoder

    return TorchImageEncoder(path, space=space, image_size=image_size, batch_size=batch_size, mean=mean, std=std,
                             device=device, allow_pickle=allow_pickle)
