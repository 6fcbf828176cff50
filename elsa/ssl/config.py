"""Training configuration: one dataclass, validated, stored inside every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .._validation import check_choice, check_float, check_int
from ..exceptions import ParameterError

METHODS = ("vicreg", "barlowtwins", "simsiam")


@dataclass
class TrainConfig:
    """Everything that determines a training run (with the data and the seed).

    Defaults are for small images (Fashion-MNIST-sized) on a CPU: a narrow ResNet
    (four stages of one basic block, widths ``width * (1, 2, 4, 8)``, 32 px input, a
    stride-2 stem) and a 3-layer projector of ``projector_dim`` units. The original
    methods use ResNet-50 and 8192-unit projectors trained with LARS for hundreds of
    epochs on GPUs; here AdamW with a linear warm-up and a cosine decay replaces LARS,
    because it converges in the few epochs a CPU affords. Loss coefficients are the
    papers' (VICReg 25/25/1, Barlow Twins lambda 0.0051).
    """

    method: str = "vicreg"
    epochs: int = 10
    batch_size: int = 256
    image_size: int = 32
    width: int = 32
    projector_dim: int = 1024
    lr: float = 1e-3
    weight_decay: float = 1e-5
    warmup_fraction: float = 0.1
    min_scale: float = 0.2
    seed: int = 0
    # VICReg coefficients: invariance, variance, covariance.
    sim_coeff: float = 25.0
    std_coeff: float = 25.0
    cov_coeff: float = 1.0
    # Barlow Twins off-diagonal weight.
    lambd: float = 0.0051

    def __post_init__(self):
        self.method = check_choice(self.method, "method", METHODS)
        self.epochs = check_int(self.epochs, "epochs", minimum=1)
        self.batch_size = check_int(self.batch_size, "batch_size", minimum=4)
        self.image_size = check_int(self.image_size, "image_size", minimum=16)
        self.width = check_int(self.width, "width", minimum=4)
        self.projector_dim = check_int(self.projector_dim, "projector_dim", minimum=8)
        self.lr = check_float(self.lr, "lr", minimum=1e-12)
        self.weight_decay = check_float(self.weight_decay, "weight_decay", minimum=0.0)
        self.warmup_fraction = check_float(self.warmup_fraction, "warmup_fraction", minimum=0.0, maximum=1.0, exclusive_maximum=True)
        self.min_scale = check_float(self.min_scale, "min_scale", minimum=0.01, maximum=1.0)
        self.seed = check_int(self.seed, "seed", minimum=0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ParameterError(f"unknown training options: {', '.join(sorted(unknown))}")
        return cls(**d)
