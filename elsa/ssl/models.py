"""Encoder (a narrow ResNet), projector and predictor for self-supervised training.

The encoder's pooled output is the *embedding space* of the paper's section 6.3; the
projector's output is the *latent space*. Both can be used to embed a pool.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import TrainConfig


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    """ResNet-18's layout with one basic block per stage and a stride-2 3x3 stem.

    Widths ``w, 2w, 4w, 8w``; output dimension ``8w`` after global average pooling.
    At 32 px the four stages run at 16, 8, 4 and 2 px.
    """

    def __init__(self, width: int = 32, in_channels: int = 3):
        super().__init__()
        w = width
        self.stem = nn.Sequential(nn.Conv2d(in_channels, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True))
        self.stages = nn.Sequential(BasicBlock(w, w, 1), BasicBlock(w, 2 * w, 2), BasicBlock(2 * w, 4 * w, 2),
                                    BasicBlock(4 * w, 8 * w, 2))
        self.out_dim = 8 * w

    def forward(self, x):
        return self.stages(self.stem(x)).mean(dim=(2, 3))


def mlp(dims: list[int], last_bn: bool = False) -> nn.Sequential:
    """Linear-BN-ReLU between every pair of ``dims``; the last layer is linear (optionally BN)."""
    layers: list[nn.Module] = []
    for i in range(len(dims) - 2):
        layers += [nn.Linear(dims[i], dims[i + 1], bias=False), nn.BatchNorm1d(dims[i + 1]), nn.ReLU(inplace=True)]
    layers.append(nn.Linear(dims[-2], dims[-1], bias=not last_bn))
    if last_bn:
        layers.append(nn.BatchNorm1d(dims[-1], affine=False))
    return nn.Sequential(*layers)


class SSLModel(nn.Module):
    """Encoder + projector (+ SimSiam's predictor)."""

    def __init__(self, config: TrainConfig):
        super().__init__()
        self.encoder = SmallResNet(config.width)
        p = config.projector_dim
        # SimSiam's projector ends in BN (as in its paper); VICReg and Barlow Twins end linear.
        self.projector = mlp([self.encoder.out_dim, p, p, p], last_bn=config.method == "simsiam")
        self.predictor = mlp([p, max(p // 4, 2), p]) if config.method == "simsiam" else None

    def forward(self, x):
        z = self.projector(self.encoder(x))
        return z, (self.predictor(z) if self.predictor is not None else None)

    def embed(self, x, space: str = "embedding"):
        h = self.encoder(x)
        return h if space == "embedding" else self.projector(h)
