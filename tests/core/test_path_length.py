"""StyleGAN2's path-length regulariser (`pl_weight`): the lengths against a synthesis whose
Jacobian is known, the running mean, its phase and G's Adam rescaling in a real StyleGAN2 run,
and the one-line refusal for a generator it cannot take apart."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

import ganx
from ganx.core.checkpoint import load_checkpoint
from ganx.core.config import TrainConfig
from ganx.core.errors import ConfigError
from ganx.core.networks import lazy_ratio
from ganx.core.path_length import PL_DECAY, path_length_penalty, path_lengths
from ganx.core.phases import plan_phases

SIDE = 4  # synthesised images are 1 x SIDE x SIDE


class LinearStyles(nn.Module):
    """w = z; image = sum over layers of ws[:, l] @ A[l]: J_{w_l}^T y = A[l] y exactly."""

    def __init__(self, w_dim: int, num_ws: int | None) -> None:
        super().__init__()
        self.num_ws = num_ws
        self.A = nn.Parameter(torch.randn(num_ws or 1, w_dim, SIDE * SIDE))

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        ws = ws if ws.dim() == 3 else ws[:, None]
        return torch.einsum("nlw,lwp->np", ws, self.A).view(-1, 1, SIDE, SIDE)


def _directions(n: int, seed: int) -> torch.Tensor:
    y = torch.randn((n, 1, SIDE, SIDE), generator=torch.Generator().manual_seed(seed))
    return y.flatten(1) / math.sqrt(SIDE * SIDE)


@pytest.mark.parametrize("num_ws", [None, 3])
def test_lengths_are_the_jacobian_times_a_random_image_direction(num_ws):
    G, z = LinearStyles(5, num_ws), torch.randn(6, 5)
    lengths = path_lengths(G, z, (), torch.Generator().manual_seed(7))
    per_layer = torch.einsum("lwp,np->nlw", G.A.detach(), _directions(6, 7))  # A[l] y
    expected = per_layer.square().sum(2).mean(1).sqrt()  # one layer: the plain norm
    torch.testing.assert_close(lengths.detach(), expected)
    lengths.sum().backward()  # differentiable through the synthesis, for the penalty
    assert G.A.grad is not None and G.A.grad.abs().sum() > 0


def test_the_penalty_moves_the_running_mean_then_measures_from_it():
    pl_mean = torch.zeros(())
    penalty = path_length_penalty(torch.tensor([1.0, 3.0]), pl_mean)
    assert pl_mean.item() == pytest.approx(2.0 * PL_DECAY)
    assert penalty.item() == pytest.approx(((1 - 0.02) ** 2 + (3 - 0.02) ** 2) / 2)


def test_the_regulariser_is_a_lazy_g_phase_with_adams_rescaling():
    cfg = TrainConfig(r1_gamma=0.0, pl_weight=2.0, pl_interval=4)
    assert [(p.name, p.interval, p.gain) for p in plan_phases(cfg)] == [
        ("D main", 1, 1.0), ("G main", 1, 1.0), ("G reg", 4, 4.0)]
    assert lazy_ratio(cfg, "G") == pytest.approx(0.8)
    assert lazy_ratio(cfg, "D") == 1.0  # no R1 here
    assert lazy_ratio(TrainConfig(pl_weight=0.0), "G") == 1.0


def test_a_stylegan2_run_applies_it_logs_it_and_keeps_its_mean(tmp_path):
    # class-conditional: the mapping takes the batch's labels
    settings = {"arch": "stylegan2", "resolution": 16, "width": 8, "latent_dim": 16,
                "augment": "none", "conditional": True, "pl_weight": 2.0, "pl_interval": 2}
    result = ganx.train("image", run_dir=str(tmp_path / "run"), settings=settings, steps=4,
                        batch_size=8, device="cpu", precision="fp32", log_every=2,
                        sample_every=4, checkpoint_every=4, n_samples=8, eval_every=-1)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
            if '"train"' in x]
    assert rows and all(r["pl"] > 0 for r in rows)
    snapshot = load_checkpoint(result.checkpoint)
    assert snapshot["pl_mean"].item() > 0
    ratio = 2 / 3
    assert snapshot["opt_g"]["param_groups"][0]["betas"] == pytest.approx(
        (0.0, 0.99 ** ratio))
    g_lr = snapshot["config"]["train"]["g_lr"]  # the StyleGAN2 default's own rate
    assert snapshot["opt_g"]["param_groups"][0]["lr"] == pytest.approx(g_lr * ratio)


def test_a_generator_without_mapping_and_synthesis_is_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError) as info:
        ganx.train("image", run_dir=str(tmp_path / "run"), settings={"pl_weight": 2.0},
                   steps=2, batch_size=8, device="cpu", precision="fp32", eval_every=-1)
    message = str(info.value)
    assert "\n" not in message
    assert "pl_weight" in message and "arch=stylegan2" in message
    assert "domain 'image'" in message and "mapping and synthesis" in message
