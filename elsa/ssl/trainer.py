"""The training loop: seeded, checkpointed, resumable, logged as JSON lines.

Reproducibility: the data order of epoch ``e`` is a permutation drawn from
``numpy.random.default_rng([seed, e])`` and the augmentations of step ``s`` come
from a torch generator seeded with ``(seed, s)``, so a run interrupted and resumed
from a checkpoint takes exactly the steps an uninterrupted run takes (on the same
device and thread count). Batches are full (the last partial batch of an epoch is
dropped, as batch statistics drive all three losses).

Files in ``out_dir``:

- ``checkpoint.pt``: model, optimiser, step, config, input normalisation and a
  fingerprint of the training data; written atomically at the end of every epoch,
  every ``checkpoint_seconds`` and on Ctrl-C. ``elsa embed --encoder`` reads it.
- ``train_log.jsonl``: one line per ``log_every`` steps (``"event": "step"``) and
  per epoch (``"event": "epoch"``, with mean loss, its terms, images/s, seconds).
  On resume, lines after the checkpoint's step are dropped, so the log never
  holds a step twice; the epoch line of an epoch that was interrupted averages the
  steps run since the resume.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .._io import atomic_write
from .._validation import check_images
from ..exceptions import InputError, ParameterError
from .augment import augment, view_specs
from .config import TrainConfig
from .losses import barlow_twins_loss, simsiam_loss, vicreg_loss
from .models import SSLModel

CHECKPOINT = "checkpoint.pt"
LOG = "train_log.jsonl"
FORMAT = "elsa-ssl-checkpoint"


@dataclass
class TrainResult:
    checkpoint: Path
    log: Path
    steps: int
    seconds: float
    final_loss: float


def as_training_images(images) -> np.ndarray:
    """uint8 ``(N, H, W)`` or ``(N, H, W, 3)`` -> uint8 ``(N, 3, H, W)``."""
    images = check_images(images, "training images")
    if images.shape[0] < 4:
        raise InputError(f"need at least 4 images to train, got {images.shape[0]}")
    if images.ndim == 3:
        return np.repeat(images[:, None], 3, axis=1)
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2))


def data_fingerprint(images: np.ndarray) -> str:
    digest = hashlib.sha256(str(images.shape).encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of pixel values in [0, 1] (at most 10,000 images read)."""
    sample = images[:: max(1, images.shape[0] // 10_000)].astype(np.float32) / 255.0
    mean = sample.mean(axis=(0, 2, 3))
    std = np.maximum(sample.std(axis=(0, 2, 3)), 1e-3)
    return mean.tolist(), std.tolist()


def loss_fn(config: TrainConfig):
    if config.method == "vicreg":
        return lambda z1, z2, p1, p2: vicreg_loss(z1, z2, config.sim_coeff, config.std_coeff, config.cov_coeff)
    if config.method == "barlowtwins":
        return lambda z1, z2, p1, p2: barlow_twins_loss(z1, z2, config.lambd)
    return lambda z1, z2, p1, p2: simsiam_loss(p1, p2, z1, z2)


def learning_rate(config: TrainConfig, step: int, total: int) -> float:
    """Linear warm-up over ``warmup_fraction`` of the steps, then cosine decay to 0."""
    warm = int(config.warmup_fraction * total)
    if step < warm:
        return config.lr * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return config.lr * 0.5 * (1 + math.cos(math.pi * progress))


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(f"device {device!r} asked for, but torch sees no CUDA GPU")
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise ParameterError(f"unknown device {device!r}: {exc}") from exc


def _save(path: Path, payload: dict) -> None:
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write(path, lambda fh: fh.write(buf.getvalue()))


def load_checkpoint(path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise InputError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise InputError(f"{path} is not an ELSA training checkpoint")
    return ckpt


def model_from_checkpoint(ckpt: dict) -> SSLModel:
    model = SSLModel(TrainConfig.from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    return model.eval()


def check_run_folder(out_dir, resume: bool) -> None:
    """Refuse to overwrite a training run unless resuming it (checked before any long work)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"output folder {out_dir} is a file; give a folder")
    if (out_dir / CHECKPOINT).exists() and not resume:
        raise ParameterError(f"{out_dir} already holds a training run; pass --resume to continue it, "
                             "or choose another output folder")


def _trim_log(log: Path, step: int) -> None:
    if not log.exists():
        return
    kept = []
    for line in log.read_text().splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                kept.append(line)
        except json.JSONDecodeError:
            break  # a torn last line from a crash
    atomic_write(log, lambda fh: fh.write("".join(k + "\n" for k in kept).encode()))


def _restore(ckpt_path: Path, log_path: Path, config: TrainConfig, fingerprint, data, model, optimiser):
    """``(step, seconds, loss, mean, std)``: from the checkpoint when there is one (after
    checking it was trained with these options on these images), else a fresh start."""
    if not ckpt_path.exists():
        if log_path.exists():
            log_path.unlink()
        mean, std = channel_stats(data)
        return 0, 0.0, float("nan"), mean, std
    ckpt = load_checkpoint(ckpt_path)
    if ckpt["config"] != config.to_dict():
        diff = sorted(k for k in config.to_dict() if ckpt["config"].get(k) != config.to_dict()[k])
        raise ParameterError(f"cannot resume {ckpt_path}: it was trained with different options ({', '.join(diff)})")
    if ckpt["data"] != fingerprint:
        raise ParameterError(f"cannot resume {ckpt_path}: it was trained on different images")
    model.load_state_dict(ckpt["model"])
    optimiser.load_state_dict(ckpt["optimizer"])
    _trim_log(log_path, ckpt["step"])
    return ckpt["step"], ckpt["seconds"], ckpt.get("loss", float("nan")), ckpt["mean"], ckpt["std"]


def _step(model, optimiser, compute_loss, views, lr: float, step: int) -> tuple[float, dict]:
    """One optimiser step on two views of a batch: ``(loss, its terms)``."""
    for group in optimiser.param_groups:
        group["lr"] = lr
    z1, p1 = model(views[0])
    z2, p2 = model(views[1])
    loss, parts = compute_loss(z1, z2, p1, p2)
    if not torch.isfinite(loss):
        raise InputError(f"training diverged at step {step} (loss {loss.item()}); try a smaller --lr")
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return loss.item(), parts


def train(images, config: TrainConfig, out_dir, *, resume: bool = False, device: str = "auto",
          progress: bool = True, log_every: int = 50, checkpoint_seconds: float = 300.0,
          max_steps: int | None = None) -> TrainResult:
    """Train ``config.method`` on ``images`` and write a checkpoint and a log to ``out_dir``.

    ``resume=True`` continues from ``out_dir/checkpoint.pt`` (which must come from the
    same options and data); without it an existing checkpoint is an error, so a run is
    never overwritten by accident. ``max_steps`` stops early (for tests and smoke runs)
    after checkpointing.
    """
    data = as_training_images(images)
    out_dir = Path(out_dir)
    check_run_folder(out_dir, resume)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path, log_path = out_dir / CHECKPOINT, out_dir / LOG
    dev = resolve_device(device)
    fingerprint = data_fingerprint(data)

    n = data.shape[0]
    batch = min(config.batch_size, n)
    steps_per_epoch = n // batch
    total = steps_per_epoch * config.epochs

    torch.manual_seed(config.seed)
    model = SSLModel(config).to(dev)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    step, seconds, last_loss, mean, std = _restore(ckpt_path, log_path, config, fingerprint, data, model, optimiser)
    stop_at = total if max_steps is None else min(total, step + max_steps)

    mean_t = torch.tensor(mean, device=dev).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=dev).view(1, 3, 1, 1)
    specs = view_specs(config.method, config.image_size)
    compute_loss = loss_fn(config)

    def checkpoint(finished: bool):
        _save(ckpt_path, {"format": FORMAT, "version": 1, "config": config.to_dict(), "model": model.state_dict(),
                          "optimizer": optimiser.state_dict(), "step": step, "seconds": seconds, "mean": mean,
                          "std": std, "data": fingerprint, "n_images": n, "loss": last_loss, "finished": finished})

    model.train()
    sums: dict[str, float] = {}  # loss and its terms, summed over this epoch's steps
    epoch_steps, epoch_time = 0, 0.0
    last_ckpt = time.perf_counter()
    bar = tqdm(total=total, initial=step, desc=f"training {config.method}", unit="step", disable=not progress,
               dynamic_ncols=True)
    try:
        with open(log_path, "a") as log:
            while step < stop_at:
                epoch, within = divmod(step, steps_per_epoch)
                order = np.random.default_rng([config.seed, epoch]).permutation(n)
                idx = np.sort(order[within * batch:(within + 1) * batch])
                t0 = time.perf_counter()
                x = torch.from_numpy(data[idx]).to(dev).float().div_(255.0)
                g = torch.Generator(device=dev).manual_seed(config.seed * 1_000_003 + step)
                views = [(augment(x, spec, config.image_size, config.min_scale, g) - mean_t) / std_t for spec in specs[:2]]
                last_loss, parts = _step(model, optimiser, compute_loss, views, learning_rate(config, step, total), step)
                dt = time.perf_counter() - t0
                seconds += dt
                step += 1
                for key, value in {"loss": last_loss, **parts}.items():
                    sums[key] = sums.get(key, 0.0) + value
                epoch_steps += 1
                epoch_time += dt
                bar.update(1)
                bar.set_postfix(loss=f"{last_loss:.4g}", img_s=f"{batch / dt:.0f}")
                if step % log_every == 0:
                    log.write(json.dumps({"event": "step", "step": step, "epoch": epoch, "loss": last_loss, **parts,
                                          "lr": optimiser.param_groups[0]["lr"], "seconds": round(seconds, 3)}) + "\n")
                    log.flush()
                end_of_epoch = step % steps_per_epoch == 0
                if end_of_epoch:
                    log.write(json.dumps({"event": "epoch", "step": step, "epoch": epoch + 1,
                                          **{key: v / epoch_steps for key, v in sums.items()},
                                          "images_per_s": round(epoch_steps * batch / epoch_time, 1),
                                          "seconds": round(seconds, 3)}) + "\n")
                    log.flush()
                    sums, epoch_steps, epoch_time = {}, 0, 0.0
                if end_of_epoch or step == stop_at or time.perf_counter() - last_ckpt > checkpoint_seconds:
                    checkpoint(finished=step == total)
                    last_ckpt = time.perf_counter()
    except KeyboardInterrupt:
        checkpoint(finished=False)
        raise
    finally:
        bar.close()
    if step == 0 or not ckpt_path.exists():
        checkpoint(finished=step == total)
    return TrainResult(ckpt_path, log_path, step, seconds, last_loss)
