"""Losses against hand-computed values; penalties against analytic gradients; precision policy."""

import math

import pytest
import torch
from torch import nn

from ganx.core.errors import ConfigError
from ganx.core.losses import (
    Hinge,
    LeastSquares,
    Minimax,
    NonSaturating,
    Wasserstein,
    gradient_penalty,
    r1_penalty,
)
from ganx.core.precision import PrecisionPolicy

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


@pytest.mark.parametrize(("loss", "d_expected", "g_expected"), [
    (NonSaturating(), (softplus(-2) + softplus(1)) / 2 + (softplus(0.5) + softplus(-3)) / 2,
     (softplus(-0.5) + softplus(3)) / 2),
    (Minimax(), (softplus(-2) + softplus(1)) / 2 + (softplus(0.5) + softplus(-3)) / 2,
     -(softplus(0.5) + softplus(-3)) / 2),
    (Hinge(), (0 + 2) / 2 + (1.5 + 0) / 2, -(0.5 - 3) / 2),
    (Wasserstein(), (0.5 - 3) / 2 - (2 - 1) / 2, -(0.5 - 3) / 2),
    (LeastSquares(), 0.5 * (((2 - 1) ** 2 + (-1 - 1) ** 2) / 2 + (0.25 + 9) / 2),
     0.5 * ((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2),
])
def test_losses_match_hand_computed_values(loss, d_expected, g_expected):
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(d_expected, rel=1e-6)
    assert loss.g_loss(FAKE).item() == pytest.approx(g_expected, rel=1e-6)


class Linear(nn.Module):
    """D(x) = w . x, whose input gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x):
        return x @ self.w


def test_r1_equals_squared_weight_norm_for_a_linear_discriminator():
    d = Linear([3.0, 4.0])
    penalty = r1_penalty(d, torch.randn(5, 2), ())
    assert penalty.item() == pytest.approx(25.0)
    penalty.backward()  # create_graph: the penalty trains D
    assert torch.allclose(d.w.grad, 2 * d.w.detach())


def test_wgan_gp_is_squared_distance_of_the_norm_from_one():
    d = Linear([3.0, 4.0])
    gp = gradient_penalty(d, torch.randn(5, 2), torch.randn(5, 2), ())
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2)


def test_penalty_runs_in_fp32_under_a_bf16_policy():
    policy = PrecisionPolicy.create(torch.device("cpu"), "bf16")
    d = nn.Linear(4, 1)
    with policy.autocast():
        assert d(torch.randn(2, 4)).dtype == torch.bfloat16
        with policy.full_precision():
            assert d(torch.randn(2, 4)).dtype == torch.float32


def test_precision_policy_choices(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setenv("GANX_CPU_BF16", "0")
    assert PrecisionPolicy.create(cpu, "auto").name == "fp32"
    monkeypatch.setenv("GANX_CPU_BF16", "1")  # a CPU with avx512_bf16 or AMX
    assert PrecisionPolicy.create(cpu, "auto").name == "bf16"
    with pytest.raises(ConfigError, match="fp16 is not supported on CPU"):
        PrecisionPolicy.create(cpu, "fp16")
    policy = PrecisionPolicy.create(cpu, "fp32")
    assert policy.scaler("g") is not policy.scaler("d")  # one scaler per optimizer
    assert not policy.scaler("g").is_enabled()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fp16_keeps_a_scaler_per_optimizer_on_cuda():
    policy = PrecisionPolicy.create(torch.device("cuda"), "fp16")
    g, d = policy.scaler("g"), policy.scaler("d")
    assert g is not d and g.is_enabled() and d.is_enabled()


def test_auto_precision_on_cpu_follows_native_bf16(monkeypatch):
    from ganx.core import precision

    monkeypatch.setattr(precision, "_cpu_has_native_bf16", lambda: True)
    assert precision.auto_precision(torch.device("cpu"))[0] == "bf16"
    monkeypatch.setattr(precision, "_cpu_has_native_bf16", lambda: False)
    assert precision.auto_precision(torch.device("cpu"))[0] == "fp32"


@pytest.mark.parametrize(("value", "native"), [("1", True), ("0", False)])
def test_cpu_bf16_probe_can_be_forced(monkeypatch, value, native):
    from ganx.core import precision

    monkeypatch.setenv("GANX_CPU_BF16", value)
    assert precision._cpu_has_native_bf16() is native


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, True),                                     # CPU: channels_last measured faster (oneDNN)
    ({"compile": True}, False),                     # torch 2.11 cannot compile it: contiguous
    ({"memory_format": "contiguous"}, False),       # an explicit choice wins
    ({"compile": True, "memory_format": "channels_last"}, True),
])
def test_memory_format_auto_on_cpu(tmp_path, settings, expected):
    from ganx.core.config import TrainConfig
    from ganx.core.trainer import Trainer
    from ganx_toy.domain import ToyDomain

    domain = ToyDomain()
    trainer = Trainer(domain, domain.Config(n_points=256, hidden=8, depth=2),
                      TrainConfig(device="cpu", precision="fp32", **settings), run_dir=tmp_path,
                      loss=NonSaturating(), show_progress=False)
    trainer._build()
    assert trainer.channels_last is expected
