"""`ganx.nn.resnet`: SNGAN's residual networks, spectral normalisation and projection."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganx.nn import ResNetDiscriminator, ResNetGenerator


@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_generator_and_discriminator_fit_each_other(resolution):
    torch.manual_seed(0)
    g = ResNetGenerator(8, 3, resolution, width=4)
    d = ResNetDiscriminator(3, resolution, width=4)
    images = g(torch.randn(2, 8))
    assert images.shape == (2, 3, resolution, resolution) and images.abs().max() <= 1
    assert d(images).shape == (2,)


def test_every_discriminator_layer_is_spectrally_normalised():
    d = ResNetDiscriminator(1, 32, width=4, num_classes=5)
    layers = [m for m in d.modules() if isinstance(m, nn.Conv2d | nn.Linear | nn.Embedding)]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())


def test_projection_adds_the_label_embedding_times_the_pooled_features():
    torch.manual_seed(0)
    d = ResNetDiscriminator(1, 16, width=4, num_classes=3).eval()
    x = torch.randn(2, 1, 16, 16)
    labels = torch.tensor([2, 0])
    h = torch.relu(d.blocks(x)).sum(dim=(2, 3))
    expected = d.linear(h).squeeze(1) + (d.embed(labels) * h).sum(1)
    torch.testing.assert_close(d(x, labels), expected)
    with pytest.raises(ValueError, match="class-conditional: pass labels"):
        d(x)


def test_conditional_generator_needs_labels():
    g = ResNetGenerator(8, 1, 16, width=4, num_classes=3)
    assert g(torch.randn(2, 8), torch.tensor([0, 2])).shape == (2, 1, 16, 16)
    with pytest.raises(ValueError, match="class-conditional: pass labels"):
        g(torch.randn(2, 8))
