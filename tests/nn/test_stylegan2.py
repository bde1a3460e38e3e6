"""The StyleGAN2-class generator and discriminator: shapes, conditioning, the mapping/synthesis
interface, the tracked mean of w, noise, style mixing, demodulation, minibatch std."""

from __future__ import annotations

import pytest
import torch

from ganx.nn import MappingNetwork, StyleGAN2Discriminator, StyleGAN2Generator, minibatch_std
from ganx.nn.stylegan2 import ModulatedConv2d


@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_shapes_at_each_resolution(resolution):
    G = StyleGAN2Generator(16, 3, resolution, width=8)
    D = StyleGAN2Discriminator(3, resolution, width=8)
    x = G(torch.randn(4, 16))
    assert x.shape == (4, 3, resolution, resolution)
    assert D(x).shape == (4,)
    # one w per synthesis layer and a last one for the final toRGB
    assert G.num_ws == 2 * (resolution.bit_length() - 3) + 2


def test_mapping_and_synthesis_compose_to_the_generator_in_eval_mode():
    G = StyleGAN2Generator(16, 1, 16, width=8, num_classes=3).eval()
    z, labels = torch.randn(5, 16), torch.tensor([0, 1, 2, 0, 1])
    w = G.mapping(z, labels)
    assert w.shape == (5, 16) and G.w_avg.shape == (16,)
    assert torch.equal(G(z, labels), G.synthesis(w))
    assert torch.equal(G(z, labels), G(z, labels))  # eval noise is a fixed buffer
    per_layer = w[:, None].expand(-1, G.num_ws, -1)
    assert torch.equal(G.synthesis(per_layer), G.synthesis(w))
    assert not torch.equal(G(z, torch.tensor([2, 2, 2, 2, 2])), G(z, labels))


def test_w_avg_tracks_the_mean_of_w_in_training_only():
    mapping = MappingNetwork(8, 8, layers=2)
    z = torch.randn(256, 8)
    mapping.eval()
    mapping(z)
    assert torch.equal(mapping.w_avg, torch.zeros(8))
    mapping.train()
    for _ in range(2000):
        w = mapping(z)
    assert torch.allclose(mapping.w_avg, w.mean(0), atol=1e-4)
    before = mapping.w_avg.clone()
    mapping(torch.randn(4, 8), update_average=False)
    assert torch.equal(mapping.w_avg, before)


def test_training_mode_draws_noise_and_mixes_styles():
    torch.manual_seed(0)
    G = StyleGAN2Generator(8, 1, 16, width=8, style_mixing=1.0)
    for layer in G.modules():
        if hasattr(layer, "noise_strength"):
            layer.noise_strength.data.fill_(0.5)
    z = torch.randn(4, 8)
    G.train()
    torch.manual_seed(1)
    a = G(z)
    torch.manual_seed(2)
    b = G(z)
    assert not torch.equal(a, b)  # fresh noise and mixing cut-offs
    G.style_mixing = 0.0
    for layer in G.modules():
        if hasattr(layer, "noise_strength"):
            layer.noise_strength.data.zero_()
    torch.manual_seed(1)
    c = G(z)
    torch.manual_seed(2)
    assert torch.equal(c, G(z))  # no noise, no mixing: deterministic in training mode too


def test_demodulation_keeps_unit_variance_whatever_the_style():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 64, 3, w_dim=8)
    x = torch.randn(16, 64, 16, 16)
    for scale in (0.1, 10.0):
        out = conv(x, torch.randn(16, 8) * scale)
        assert out[:, :, 2:-2, 2:-2].std().item() == pytest.approx(1.0, rel=0.15)


def test_minibatch_std_adds_one_channel_shared_by_each_group():
    x = torch.randn(6, 4, 4, 4)  # 6 is not a multiple of 4: groups of 3
    y = minibatch_std(x, group=4)
    assert y.shape == (6, 5, 4, 4)
    assert torch.equal(y[0, 4], y[2, 4]) or torch.equal(y[0, 4], y[1, 4])
    same = torch.zeros(4, 2, 4, 4)
    assert minibatch_std(same)[:, 2].abs().max().item() < 1e-3  # identical samples: ~0


def test_conditional_discriminator_needs_labels_and_uses_them():
    D = StyleGAN2Discriminator(1, 16, width=8, num_classes=4)
    x = torch.randn(4, 1, 16, 16)
    with pytest.raises(ValueError, match="pass labels"):
        D(x)
    assert not torch.equal(D(x, torch.tensor([0, 0, 0, 0])), D(x, torch.tensor([3, 3, 3, 3])))
    assert len(D.layers()) == 1 + 2 + 4  # fromRGB, 2 blocks at 16 px, conv, fc, out, embed


def test_bad_resolution_is_named():
    with pytest.raises(ValueError, match="resolution 24"):
        StyleGAN2Generator(8, 1, 24)
