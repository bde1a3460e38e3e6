"""`ganx.nn.MLP`: shapes, layers, and the parameter names of a hand-built nn.Sequential."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganx.nn import MLP


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_maps_inputs_to_outputs_through_depth_hidden_layers(depth):
    mlp = MLP(5, 2, hidden=7, depth=depth)
    assert mlp(torch.randn(4, 5)).shape == (4, 2)
    linears = [m for m in mlp if isinstance(m, nn.Linear)]
    assert len(linears) == depth + 1
    assert [m.out_features for m in linears] == [7] * depth + [2]
    assert all(m.negative_slope == 0.2 for m in mlp if isinstance(m, nn.LeakyReLU))
    assert isinstance(mlp[-1], nn.Linear)  # logits: no activation after the last layer


def test_a_snapshot_of_a_hand_built_sequential_loads():
    """The toy example and the plugin template built this Sequential by hand before."""
    hand_built = nn.Sequential(nn.Linear(3, 8), nn.LeakyReLU(0.2), nn.Linear(8, 8),
                               nn.LeakyReLU(0.2), nn.Linear(8, 1))
    mlp = MLP(3, 1, hidden=8, depth=2)
    mlp.load_state_dict(hand_built.state_dict())  # strict: same names, same shapes
    x = torch.randn(6, 3)
    torch.testing.assert_close(mlp(x), hand_built(x))


def test_same_seed_same_weights_as_the_hand_built_one():
    torch.manual_seed(0)
    hand_built = nn.Sequential(nn.Linear(3, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    torch.manual_seed(0)
    mlp = MLP(3, 1, hidden=8, depth=1)
    for a, b in zip(hand_built.state_dict().values(), mlp.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_negative_slope_is_used():
    mlp = MLP(1, 1, hidden=4, depth=1, negative_slope=0.0)
    assert mlp[1].negative_slope == 0.0


@pytest.mark.parametrize(("args", "message"), [
    ((0, 1), "in_features must be at least 1, got 0"),
    ((1, 0), "out_features must be at least 1, got 0"),
    ((1, 1, 0), "hidden must be at least 1, got 0"),
    ((1, 1, 4, -1), "depth must be 0 or more, got -1")])
def test_sizes_that_cannot_be_built_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        MLP(*args)


def test_a_slice_of_an_mlp_is_its_layers():
    import torch

    from ganx.nn import MLP

    net = MLP(2, 1, hidden=8, depth=2)
    features = net[:-1]
    x = torch.randn(5, 2)
    assert features(x).shape == (5, 8)
    assert torch.equal(net[-1](features(x)), net(x))
    assert list(dict(features.named_parameters())) == ["0.weight", "0.bias", "2.weight", "2.bias"]
