"""Self-supervised training: losses against hand-computed values, augmentations, the loop."""

import json
import math
import sys

import numpy as np
import pytest
import torch

from elsa.exceptions import MissingDependencyError, ParameterError
from elsa.ssl import TrainConfig, train
from elsa.ssl.augment import colour_jitter, random_grey, solarize, augment, view_specs
from elsa.ssl.losses import barlow_twins_loss, simsiam_loss, vicreg_loss
from elsa.ssl.trainer import learning_rate, load_checkpoint

T = torch.tensor


def test_vicreg_loss_terms_by_hand():
    # invariance: squared differences (0, 0, 4, 4) / 4 = 2. Each view has one column of
    # variance 2 (std above 1: no penalty) and one of variance 0 (std sqrt(1e-4) = 0.01:
    # penalty 0.99), so variance = 0.99/2/2 + 0.99/2/2 = 0.495. No covariance.
    loss, parts = vicreg_loss(T([[0.0, 0.0], [2.0, 0.0]]), T([[0.0, 0.0], [0.0, 2.0]]))
    assert parts["invariance"] == pytest.approx(2.0)
    assert parts["variance"] == pytest.approx(0.495, abs=1e-4)
    assert parts["covariance"] == pytest.approx(0.0)
    assert loss.item() == pytest.approx(25 * 2 + 25 * 0.495, abs=3e-3)
    # Perfectly correlated columns: covariance matrix [[2, 2], [2, 2]], off-diagonal
    # squares 8, / d = 4 per view.
    z = T([[1.0, 1.0], [-1.0, -1.0]])
    loss, parts = vicreg_loss(z, z.clone())
    assert parts == pytest.approx({"invariance": 0.0, "variance": 0.0, "covariance": 8.0})
    assert loss.item() == pytest.approx(8.0)


def test_barlow_twins_loss_by_hand():
    # Standardised views: z1n = [[1, 1], [-1, -1]], z2n = [[1, -1], [-1, 1]] (times 1/sqrt(1 + 1e-5)).
    # Cross-correlation c = [[1, -1], [1, -1]]: on-diagonal (1 - 1)^2 + (-1 - 1)^2 = 4,
    # off-diagonal 1 + 1 = 2.
    loss, parts = barlow_twins_loss(T([[1.0, 2.0], [-1.0, -2.0]]), T([[1.0, -2.0], [-1.0, 2.0]]), lambd=0.0051)
    assert parts["on_diagonal"] == pytest.approx(4.0, abs=1e-4)
    assert parts["off_diagonal"] == pytest.approx(2.0, abs=1e-4)
    assert loss.item() == pytest.approx(4.0 + 0.0051 * 2.0, abs=1e-4)


def test_simsiam_loss_by_hand_and_stop_gradient():
    p1, p2 = T([[1.0, 0.0]], requires_grad=True), T([[0.0, 2.0]], requires_grad=True)
    z1, z2 = T([[3.0, 0.0]], requires_grad=True), T([[1.0, 0.0]], requires_grad=True)
    loss, _ = simsiam_loss(p1, p2, z1, z2)  # cos(p1, z2) = 1, cos(p2, z1) = 0
    assert loss.item() == pytest.approx(-0.5)
    loss.backward()
    assert z1.grad is None and z2.grad is None and p1.grad is not None


def test_augmentations_keep_range_and_are_seeded():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 3, 28, 28, generator=g)
    spec_a, spec_b = view_specs("vicreg", 32)
    assert spec_a.blur_p == 0.0 and spec_b.solarize_p == 0.2  # small images: blur off
    assert view_specs("vicreg", 224)[0].blur_p == 1.0
    v1 = augment(x, spec_b, 32, 0.2, torch.Generator().manual_seed(5))
    v2 = augment(x, spec_b, 32, 0.2, torch.Generator().manual_seed(5))
    v3 = augment(x, spec_b, 32, 0.2, torch.Generator().manual_seed(6))
    assert v1.shape == (8, 3, 32, 32) and torch.equal(v1, v2) and not torch.equal(v1, v3)
    assert v1.min() >= 0 and v1.max() <= 1


def test_jitter_grey_and_solarize_values():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 3, 5, 5, generator=g)
    # Zero-strength jitter (hue angle 0 included) is the identity.
    same = colour_jitter(x, 1.0, g, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0)
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    assert torch.equal(colour_jitter(x, 0.0, g), x)
    grey = random_grey(x, 1.0, g)
    expected = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    for c in range(3):
        torch.testing.assert_close(grey[:, c], expected)
    sol = solarize(T([[[[0.2, 0.5, 0.9]]]]).expand(1, 3, 1, 3), 1.0, g)
    torch.testing.assert_close(sol[0, 0, 0], T([0.2, 0.5, 0.1]))


def test_learning_rate_warms_up_then_decays_to_zero():
    cfg = TrainConfig(lr=1.0, warmup_fraction=0.1)
    assert learning_rate(cfg, 0, 100) == pytest.approx(0.1)
    assert learning_rate(cfg, 9, 100) == pytest.approx(1.0)
    assert learning_rate(cfg, 10, 100) == pytest.approx(1.0)
    assert learning_rate(cfg, 55, 100) == pytest.approx(0.5)
    assert learning_rate(cfg, 99, 100) == pytest.approx(0.5 * (1 + math.cos(math.pi * 89 / 90)))


@pytest.fixture(scope="module")
def tiny_images():
    from elsa.datasets import load_fashion_mnist

    images, _ = load_fashion_mnist("test")
    return images[:256]


TINY = dict(epochs=4, batch_size=64, width=4, projector_dim=32, image_size=16)


def _epoch_losses(folder):
    rows = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if r["event"] == "epoch"]


@pytest.mark.parametrize("method", ["vicreg", "barlowtwins", "simsiam"])
def test_training_lowers_the_loss(tiny_images, tmp_path, method):
    result = train(tiny_images, TrainConfig(method=method, lr=3e-3, **TINY), tmp_path, progress=False)
    losses = _epoch_losses(tmp_path)
    assert result.steps == 16 and len(losses) == 4
    assert losses[-1] < losses[0]
    assert load_checkpoint(tmp_path)["finished"]


def test_same_seed_same_run_and_resume_equals_an_uninterrupted_run(tiny_images, tmp_path):
    cfg = TrainConfig(method="vicreg", **TINY)
    train(tiny_images, cfg, tmp_path / "a", progress=False, log_every=1)
    train(tiny_images, cfg, tmp_path / "b", progress=False, log_every=1, max_steps=6)  # stops mid-epoch 2
    assert load_checkpoint(tmp_path / "b")["step"] == 6 and not load_checkpoint(tmp_path / "b")["finished"]
    train(tiny_images, cfg, tmp_path / "b", progress=False, log_every=1, resume=True)
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert b["step"] == 16 and b["finished"]
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=1e-5, atol=1e-6)
    steps = [json.loads(line)["step"] for line in (tmp_path / "b" / "train_log.jsonl").read_text().splitlines()
             if json.loads(line)["event"] == "step"]
    assert steps == list(range(1, 17))  # each step logged once across the interruption
    other = TrainConfig(method="vicreg", **TINY)
    train(tiny_images, other, tmp_path / "c", progress=False)
    assert _epoch_losses(tmp_path / "a") == _epoch_losses(tmp_path / "c")


def test_resume_refuses_other_options_or_data_and_never_overwrites(tiny_images, tmp_path):
    cfg = TrainConfig(method="vicreg", **TINY)
    train(tiny_images, cfg, tmp_path, progress=False, max_steps=1)
    with pytest.raises(ParameterError, match="pass --resume"):
        train(tiny_images, cfg, tmp_path, progress=False)
    with pytest.raises(ParameterError, match="different options \\(lr\\)"):
        train(tiny_images, TrainConfig(method="vicreg", lr=0.5, **TINY), tmp_path, progress=False, resume=True)
    with pytest.raises(ParameterError, match="different images"):
        train(tiny_images[::-1], cfg, tmp_path, progress=False, resume=True)


def test_bad_options_are_parameter_errors():
    with pytest.raises(ParameterError, match="method must be one of"):
        TrainConfig(method="simclr")
    with pytest.raises(ParameterError, match="epochs must be >= 1"):
        TrainConfig(epochs=0)


def test_missing_torch_names_the_extra(monkeypatch):
    from elsa.ssl import require_torch

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'elsa-search\[train\]' torch==2.13.0"):
        require_torch()
