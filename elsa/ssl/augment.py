"""Batched image augmentations in torch, the pipelines of VICReg / Barlow Twins / SimSiam.

torchvision does not import with the CPU build of torch we install, so the transforms
are written here, vectorised over the batch (each image still gets its own random
parameters) and driven by an explicit ``torch.Generator``:

- random resized crop (area ``U(min_scale, 1)``, aspect ratio log-uniform in
  ``[3/4, 4/3]``) and horizontal flip with probability 0.5, done together by one
  affine ``grid_sample``. Differences from torchvision: a box wider than the image is
  clipped to it instead of retried, and sampling is bilinear on the source pixels.
- colour jitter with probability 0.8: brightness 0.4, contrast 0.4, saturation 0.2,
  hue 0.1, applied in that fixed order (torchvision shuffles the order). Hue is
  rotated in YIQ space, a linear stand-in for torchvision's HSV hue shift.
- greyscale with probability 0.2;
- Gaussian blur, sigma ``U(0.1, 2.0) * size / 224`` with a kernel of about a tenth of
  the side, with probability 1.0 on the first view and 0.1 on the second;
- solarisation with probability 0.0 on the first view and 0.2 on the second.

These are the asymmetric ImageNet pipelines of VICReg and Barlow Twins. SimSiam uses
blur with probability 0.5 on both views and no solarisation. For images of 64 px or
less, blur is off (as in the CIFAR recipes of these methods' common re-implementations,
where the blur of a 32 px image destroys it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

_LUMA = torch.tensor([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class ViewSpec:
    blur_p: float
    solarize_p: float
    jitter_p: float = 0.8
    grey_p: float = 0.2


def view_specs(method: str, image_size: int) -> tuple[ViewSpec, ViewSpec]:
    """The two views' probabilities for ``method`` at ``image_size``."""
    if method == "simsiam":
        a, b = ViewSpec(0.5, 0.0), ViewSpec(0.5, 0.0)
    else:
        a, b = ViewSpec(1.0, 0.0), ViewSpec(0.1, 0.2)
    if image_size <= 64:
        a, b = ViewSpec(0.0, a.solarize_p), ViewSpec(0.0, b.solarize_p)
    return a, b


def _uniform(n, low, high, g, device):
    return low + (high - low) * torch.rand(n, generator=g, device=device)


def _coin(n, p, g, device):
    return torch.rand(n, generator=g, device=device) < p


def resized_crop_flip(x, size: int, min_scale: float, g) -> torch.Tensor:
    """Random resized crop to ``size`` plus a horizontal flip with probability 0.5."""
    n, dev = x.shape[0], x.device
    area = _uniform(n, min_scale, 1.0, g, dev)
    log_ratio = _uniform(n, math.log(3 / 4), math.log(4 / 3), g, dev)
    ratio = torch.exp(log_ratio)
    w = torch.sqrt(area * ratio).clamp(max=1.0)  # fraction of the width
    h = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (torch.rand(n, generator=g, device=dev) * 2 - 1) * (1 - w)  # centre in [-1, 1] coordinates
    cy = (torch.rand(n, generator=g, device=dev) * 2 - 1) * (1 - h)
    flip = torch.where(_coin(n, 0.5, g, dev), -1.0, 1.0)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0] = w * flip
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = h
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, (n, x.shape[1], size, size), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _grey(x):
    return (x * _LUMA.to(x.device).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def colour_jitter(x, p, g, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1) -> torch.Tensor:
    n, dev = x.shape[0], x.device
    apply = _coin(n, p, g, dev).view(n, 1, 1, 1)
    b = _uniform(n, 1 - brightness, 1 + brightness, g, dev).view(n, 1, 1, 1)
    c = _uniform(n, 1 - contrast, 1 + contrast, g, dev).view(n, 1, 1, 1)
    s = _uniform(n, 1 - saturation, 1 + saturation, g, dev).view(n, 1, 1, 1)
    angle = _uniform(n, -hue, hue, g, dev) * 2 * math.pi
    y = (x * b).clamp(0, 1)
    mean = _grey(y).mean(dim=(2, 3), keepdim=True)
    y = (c * y + (1 - c) * mean).clamp(0, 1)
    y = (s * y + (1 - s) * _grey(y)).clamp(0, 1)
    # hue: rotate the chroma (I, Q) plane of YIQ
    to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=dev)
    from_yiq = torch.linalg.inv(to_yiq)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.zeros(n, 3, 3, device=dev)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = cos, -sin, sin, cos
    m = from_yiq @ rot @ to_yiq  # (n, 3, 3)
    y = torch.einsum("nij,njhw->nihw", m, y).clamp(0, 1)
    return torch.where(apply, y, x)


def random_grey(x, p, g) -> torch.Tensor:
    apply = _coin(x.shape[0], p, g, x.device).view(-1, 1, 1, 1)
    return torch.where(apply, _grey(x).expand_as(x), x)


def gaussian_blur(x, p, g) -> torch.Tensor:
    n, ch, hgt, wid = x.shape
    if p <= 0:
        return x
    dev = x.device
    apply = _coin(n, p, g, dev).view(n, 1, 1, 1)
    sigma = _uniform(n, 0.1, 2.0, g, dev) * (hgt / 224)
    k = max(3, int(round(hgt / 10)) | 1)
    r = torch.arange(k, device=dev, dtype=x.dtype) - k // 2
    kern = torch.exp(-(r.view(1, -1) ** 2) / (2 * sigma.view(-1, 1) ** 2))
    kern = kern / kern.sum(dim=1, keepdim=True)  # (n, k)
    kern = kern.repeat_interleave(ch, dim=0)  # (n*ch, k)
    y = x.reshape(1, n * ch, hgt, wid)
    y = F.conv2d(F.pad(y, (k // 2, k // 2, 0, 0), mode="reflect"), kern.view(n * ch, 1, 1, k), groups=n * ch)
    y = F.conv2d(F.pad(y, (0, 0, k // 2, k // 2), mode="reflect"), kern.view(n * ch, 1, k, 1), groups=n * ch)
    return torch.where(apply, y.view(n, ch, hgt, wid), x)


def solarize(x, p, g) -> torch.Tensor:
    if p <= 0:
        return x
    apply = _coin(x.shape[0], p, g, x.device).view(-1, 1, 1, 1)
    return torch.where(apply & (x >= 0.5), 1 - x, x)


def augment(x, spec: ViewSpec, size: int, min_scale: float, g) -> torch.Tensor:
    """One view of a batch ``x`` (float in [0, 1], ``(N, 3, H, W)``) -> ``(N, 3, size, size)``."""
    y = resized_crop_flip(x, size, min_scale, g)
    y = colour_jitter(y, spec.jitter_p, g)
    y = random_grey(y, spec.grey_p, g)
    y = gaussian_blur(y, spec.blur_p, g)
    return solarize(y, spec.solarize_p, g)
