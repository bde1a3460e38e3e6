"""`ganx.nn.augment`: DiffAugment's policies, transforms and discriminator wrapper."""

from __future__ import annotations

import pytest
import torch

from ganx.nn import POLICIES, AugmentedDiscriminator, augment, parse_policy


def test_diffaugment_transforms():
    torch.manual_seed(0)
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    shifted = augment.translation(x)
    # every output pixel is an input pixel of the same image and channel, or the zero border
    for i in range(6):
        values = set(x[i].flatten().tolist()) | {0.0}
        assert set(shifted[i].flatten().tolist()) <= values
    holes = augment.cutout(x)
    zeroed = (holes == 0).all(dim=1).sum(dim=(1, 2))
    assert ((zeroed > 0) & (zeroed <= 8 * 8)).all()
    # gradients flow through every transform to the input
    y = x.clone().requires_grad_(True)
    out = augment.cutout(augment.translation(augment.color(y)))
    out.sum().backward()
    assert y.grad is not None and y.grad.abs().sum() > 0


@pytest.mark.parametrize(("text", "policy"), [
    ("", ()), (" color, cutout", ("color", "cutout")), ("translation,", ("translation",)),
    (",".join(POLICIES), POLICIES)])
def test_policies_parse(text, policy):
    assert parse_policy(text) == policy


def test_an_unknown_transform_is_named_with_the_valid_ones():
    with pytest.raises(ValueError, match="unknown augmentation 'flip'; valid: color, translation,"
                                         " cutout"):
        parse_policy("color,flip")


class Recorder(torch.nn.Module):
    """A discriminator that returns what it was shown (and its conditions)."""

    def forward(self, x, *conditions):
        self.conditions = conditions
        return x


def test_only_training_passes_are_augmented_and_conditions_pass_through():
    torch.manual_seed(0)
    wrapped = AugmentedDiscriminator(Recorder(), parse_policy("color,translation,cutout"))
    x = torch.rand(4, 1, 16, 16)
    labels = torch.arange(4)
    assert not torch.equal(wrapped.train()(x, labels), x)
    assert wrapped.discriminator.conditions == (labels,)
    assert torch.equal(wrapped.eval()(x, labels), x)  # metrics and samples see the real input
