"""Discriminator layers as FreezeD counts them: each weight layer with its normalisation."""

from __future__ import annotations

from torch import nn

from ganx.core.networks import freeze_layers
from ganx.nn import MLP, AugmentedDiscriminator, DCGANDiscriminator, PatchDiscriminator


def test_dcgan_layers_group_each_convolution_with_its_batchnorm():
    d = DCGANDiscriminator(1, 32, width=8)
    layers = d.layers()
    # 32 px: three strided convolutions (the last two with BatchNorm), then the 4x4 head
    assert len(layers) == 4
    assert isinstance(layers[0], nn.Conv2d)
    assert [type(m) for m in layers[1]] == [nn.Conv2d, nn.BatchNorm2d]
    assert layers[-1] is d.head


def test_spectral_norm_layers_still_count():
    assert len(DCGANDiscriminator(1, 32, width=8, spectral=True, num_classes=3).layers()) == 5


def test_wrappers_pass_the_layers_through_and_freezing_counts_them():
    inner = PatchDiscriminator(3, 3, width=8)
    wrapped = AugmentedDiscriminator(inner, ("color",))
    def params(layers):
        return [[id(p) for p in layer.parameters()] for layer in layers]

    assert params(wrapped.layers()) == params(inner.layers())
    frozen = freeze_layers(wrapped, 2)
    first_two = [p for layer in inner.layers()[:2] for p in layer.parameters()]
    assert frozen == {id(p) for p in first_two}
    assert not any(p.requires_grad for p in first_two)
    assert all(p.requires_grad for p in inner.layers()[2].parameters())


def test_mlp_layers_are_its_linear_layers():
    assert [m.in_features for m in MLP(2, 1, hidden=8, depth=2).layers()] == [2, 8, 8]
