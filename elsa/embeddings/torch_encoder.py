"""Embed images with a torch model: an ELSA training checkpoint, TorchScript, or a pickled module.

Needs the optional torch extra (``pip install 'elsa-search[train]' torch==2.13.0``).

- An ELSA checkpoint (``elsa train``'s ``checkpoint.pt``, or its folder) brings its own
  image size and normalisation; ``space`` picks the encoder output (``embedding``) or
  the projector output (``projector``, the *latent space* of the paper's section 6.3).
- An exported program (``torch.export.save``, a ``.pt2`` file; export it with a dynamic
  batch dimension), a TorchScript file (``torch.jit.save``) or, with ``allow_pickle=True``,
  a whole module saved with ``torch.save(module)`` is run as is; give its ``image_size``
  and ``mean`` / ``std`` (default ImageNet's). Loading a pickle runs code from the file,
  so it is off unless asked for.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..exceptions import InputError, ParameterError
from ..digests import sha256_file
from .encoder import IMAGENET_MEAN, IMAGENET_STD, ImageEncoder

SPACES = ("embedding", "projector")


class TorchImageEncoder(ImageEncoder):
    def __init__(self, checkpoint, space: str = "embedding", image_size: int | None = None, batch_size: int = 256,
                 mean=None, std=None, device: str = "auto", allow_pickle: bool = False):
        from ..ssl import require_torch

        torch = require_torch()
        from ..ssl.trainer import FORMAT, CHECKPOINT, model_from_checkpoint, resolve_device

        if space not in SPACES:
            raise ParameterError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
        path = Path(checkpoint)
        if path.is_dir():
            path = path / CHECKPOINT
        if not path.is_file():
            raise InputError(f"torch encoder not found: {path}")
        self.path, self.space = path, space
        self.device = resolve_device(device)
        ckpt = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch warns when the file is a TorchScript archive
                ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:
            pass  # not a plain-tensor checkpoint: TorchScript or a pickled module
        if isinstance(ckpt, dict) and ckpt.get("format") == FORMAT:
            model = model_from_checkpoint(ckpt)
            size = image_size or ckpt["config"]["image_size"]
            mean, std = mean or ckpt["mean"], std or ckpt["std"]
            self._forward = (lambda x, m=model: m.embed(x, space))
            module = model
        else:
            if space != "embedding":
                raise ParameterError("space='projector' needs an ELSA training checkpoint (from `elsa train`)")
            module = self._load_module(torch, path, allow_pickle)
            size = image_size or 224
            mean, std = mean or IMAGENET_MEAN, std or IMAGENET_STD
            self._forward = module
        self._module = module.to(self.device)
        try:
            self._module.eval()
        except (NotImplementedError, RuntimeError):
            pass  # exported programs refuse eval(); they were exported in the mode they run in
        self._torch = torch
        super().__init__(size, batch_size, mean, std)

    @staticmethod
    def _load_module(torch, path: Path, allow_pickle: bool):
        if path.suffix == ".pt2":
            try:
                return torch.export.load(str(path)).module()
            except Exception as exc:
                raise InputError(f"cannot load exported program {path}: {exc}") from exc
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript still loads in torch 2.x
                return torch.jit.load(str(path), map_location="cpu")
        except Exception as jit_error:
            if not allow_pickle:
                raise InputError(
                    f"{path} is neither an ELSA checkpoint nor a TorchScript file ({jit_error.__class__.__name__}; "
                    "an exported program needs the .pt2 suffix); "
                    "a module saved with torch.save(module) loads only with --allow-pickle (it runs code from the file)"
                ) from jit_error
        try:
            module = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise InputError(f"cannot load torch module from {path}: {exc}") from exc
        if not isinstance(module, torch.nn.Module):
            raise InputError(f"{path} holds a {type(module).__name__}, not a torch.nn.Module")
        return module

    def _weights_digest(self) -> str:
        return f"{sha256_file(self.path)}:{self.space}"

    def embed_prepared(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
            try:
                out = self._forward(x)
            except Exception as exc:  # a user's module failing on our input shape
                raise InputError(f"torch model {self.path.name} failed on a batch of shape {tuple(batch.shape)}: {exc}") from exc
            if isinstance(out, (tuple, list)):
                out = out[0]
            return self._pool(out.float().cpu().numpy(), batch.shape[0])
