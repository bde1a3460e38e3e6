"""Adaptive discriminator augmentation: p follows the overfitting heuristic r_t, the transforms
are the identity at p = 0 and differentiable, and the state is a set of buffers."""

from __future__ import annotations

import pytest
import torch

from ganx.nn import AdaptiveAugment, DCGANDiscriminator
from ganx.nn.ada import augment


def ada(**kwargs):
    return AdaptiveAugment(DCGANDiscriminator(1, 16, width=8), **kwargs)


def test_p_moves_toward_the_target_every_interval():
    d = ada(target=0.6, interval=4, speed_kimg=1.0)
    confident = [torch.ones(64)]  # r_t = 1 > 0.6: D is overfitting
    for _ in range(3):
        d.observe_real_logits(confident)
    assert d.p.item() == 0.0  # not yet due
    d.observe_real_logits(confident)
    assert d.p.item() == pytest.approx(4 * 64 / 1000)  # images seen / (speed_kimg * 1000)
    assert d.rt.item() == 1.0
    unsure = [torch.tensor([1.0, -1.0, -1.0, -1.0] * 16)]  # r_t = -0.5 < 0.6
    for _ in range(4):
        d.observe_real_logits(unsure)
    assert d.p.item() == pytest.approx(0.0, abs=1e-7)
    for _ in range(4):
        d.observe_real_logits(unsure)
    assert d.p.item() == 0.0  # clamped at 0
    stats = d.training_stats()
    assert set(stats) == {"ada_p", "ada_rt"} and stats["ada_rt"].item() == -0.5


def test_p_and_the_heuristic_are_saved_with_the_discriminator():
    d = ada(speed_kimg=1.0)
    for _ in range(4):
        d.observe_real_logits([torch.ones(32)])
    copy = ada()
    copy.load_state_dict(d.state_dict())
    assert copy.p.item() == d.p.item() > 0


def test_augment_is_the_identity_at_p_zero_and_differentiable():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    same = augment(x, torch.tensor(0.0))
    assert torch.allclose(same, x, atol=1e-5)
    torch.manual_seed(0)
    moved = augment(x, torch.tensor(1.0))
    assert not torch.allclose(moved, x, atol=1e-2)
    moved.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("size", [32, 64])
def test_augment_under_bf16_autocast_samples_where_fp32_does(size):
    # bf16 holds integers exactly only up to 256: pixel positions computed in it would round
    # past the image's edge (this failed at 32 px with an index out of bounds)
    x = torch.rand(8, 1, size, size)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        same = augment(x, torch.tensor(0.0))
        torch.manual_seed(0)
        moved = augment(x, torch.tensor(1.0))
    assert torch.allclose(same.float(), x, atol=1e-5)
    torch.manual_seed(0)
    assert torch.allclose(moved.float(), augment(x, torch.tensor(1.0)), atol=2e-2)


def test_augmentation_applies_in_training_mode_only():
    d = ada(initial_p=1.0)
    x = torch.rand(4, 1, 16, 16)
    d.eval()
    assert torch.equal(d(x), d.discriminator(x))
    d.train()
    torch.manual_seed(0)
    augmented = d(x)
    d.discriminator.train()
    torch.manual_seed(0)
    assert not torch.allclose(augmented, d.discriminator(x))


def test_the_sampler_matches_grid_sample_and_has_a_second_derivative():
    import torch.nn.functional as F

    from ganx.nn.ada import bilinear_sample, geometric_matrix

    torch.manual_seed(0)
    x = torch.randn(6, 2, 12, 10, dtype=torch.float64, requires_grad=True)
    theta = geometric_matrix(6, torch.tensor(1.0), 12, x.device).double()
    grid = F.affine_grid(theta, [6, 1, 12, 10], align_corners=False)
    ours = bilinear_sample(x, grid)
    theirs = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                           align_corners=False)
    assert torch.allclose(ours, theirs, atol=1e-10)
    (grad,) = torch.autograd.grad(ours.square().sum(), x, create_graph=True)
    grad.square().sum().backward()  # what R1 through the augmentation needs
    assert x.grad is not None and torch.isfinite(x.grad).all()
