"""`ganx.nn.dcgan`: shapes at every resolution, spectral normalisation, projection conditioning
and the parameter names that snapshots are saved under."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganx.nn import DCGANDiscriminator, DCGANGenerator


@pytest.mark.parametrize("resolution", [16, 32, 64, 128])
def test_generator_and_discriminator_fit_each_other(resolution):
    torch.manual_seed(0)
    g = DCGANGenerator(8, 3, resolution, width=4)
    d = DCGANDiscriminator(3, resolution, width=4)
    images = g(torch.randn(2, 8))
    assert images.shape == (2, 3, resolution, resolution)
    assert images.abs().max() <= 1  # tanh
    assert d(images).shape == (2,)


@pytest.mark.parametrize("resolution", [8, 24, 100])
def test_a_resolution_that_is_not_a_power_of_two_from_16_is_refused(resolution):
    with pytest.raises(ValueError, match=f"power of two from 16 up, got {resolution}"):
        DCGANGenerator(8, 1, resolution)
    with pytest.raises(ValueError, match=f"got {resolution}"):
        DCGANDiscriminator(1, resolution)


def test_spectral_dcgan_discriminator_has_unit_norm_layers_and_no_batchnorm():
    torch.manual_seed(0)
    d = DCGANDiscriminator(1, 32, 16, num_classes=10, spectral=True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    d.train()
    for _ in range(30):  # power iterations run in training-mode forward passes
        d(torch.randn(4, 1, 32, 32), torch.arange(4))
    d.eval()
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4
    for conv in convs:
        sigma = float(torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2))
        assert sigma == pytest.approx(1.0, abs=0.05)
    # the DCGAN initialisation reached the parameter behind the normalised weight
    original = convs[0].parametrizations.weight.original.detach()
    assert float(original.std()) == pytest.approx(0.02, rel=0.2)
    plain = DCGANDiscriminator(1, 32, 16)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in plain.modules()) == 2


def test_projection_adds_the_label_embedding_times_the_features():
    torch.manual_seed(0)
    d = DCGANDiscriminator(1, 16, 4, num_classes=3).eval()
    x = torch.randn(2, 1, 16, 16)
    labels = torch.tensor([0, 2])
    h = d.features(x)
    unconditional = d.head(h).flatten(1).squeeze(1)
    projection = (d.embed(labels) * h.sum(dim=(2, 3))).sum(1)
    torch.testing.assert_close(d(x, labels), unconditional + projection)
    assert not torch.allclose(d(x, torch.tensor([1, 1])), d(x, labels))
    with pytest.raises(ValueError, match="class-conditional: pass labels"):
        d(x)


def test_conditional_generator_draws_each_class_differently():
    torch.manual_seed(0)
    g = DCGANGenerator(8, 1, 16, width=4, num_classes=3).eval()
    z = torch.randn(1, 8).expand(3, 8)
    images = g(z, torch.arange(3))
    assert not torch.allclose(images[0], images[1])
    with pytest.raises(ValueError, match="class-conditional: pass labels"):
        g(z)


def test_parameter_names_are_those_snapshots_were_saved_under():
    """Moving the module must not rename parameters: runs saved before load into it."""
    g = DCGANGenerator(8, 1, 16, width=4, num_classes=2)
    assert list(g.state_dict())[:4] == ["embed.weight", "net.0.weight", "net.1.weight",
                                        "net.1.bias"]
    d = DCGANDiscriminator(1, 16, 4, num_classes=2, spectral=True)
    assert {"features.0.parametrizations.weight.original", "head.parametrizations.weight.original",
            "embed.parametrizations.weight.original"} <= set(d.state_dict())
