"""`ganx.nn.unet`: the pix2pix restoration generator and the PatchGAN discriminator."""

from __future__ import annotations

import pytest
import torch

from ganx.nn import PatchDiscriminator, UNetGenerator, inpaint


@pytest.mark.parametrize("resolution", [16, 32, 64])
@pytest.mark.parametrize("task", ["denoise", "superres"])
def test_restores_at_the_input_size(resolution, task):
    torch.manual_seed(0)
    g = UNetGenerator(3, 3, resolution, width=4, task=task)
    corrupted = torch.rand(2, 3, resolution, resolution) * 2 - 1
    out = g(torch.empty(2, 0), corrupted)
    assert out.shape == corrupted.shape and out.abs().max() <= 1


def test_a_zero_correction_returns_the_input():
    """The output starts where the input is: training begins at the corrupted image."""
    g = UNetGenerator(1, 1, 16, width=4, task="denoise")
    torch.nn.init.zeros_(g.out.weight)
    torch.nn.init.zeros_(g.out.bias)
    corrupted = torch.rand(2, 1, 16, 16) * 1.8 - 0.9
    torch.testing.assert_close(g(torch.empty(2, 0), corrupted), corrupted)


def test_inpainting_keeps_the_known_pixels():
    torch.manual_seed(0)
    clean = torch.rand(2, 1, 16, 16) * 2 - 1
    corrupted = inpaint(clean, 0.5)
    out = UNetGenerator(2, 1, 16, width=4, task="inpaint")(torch.empty(2, 0), corrupted)
    known = corrupted[:, 1:] == 1
    assert torch.equal(out[known], clean[known])
    assert not torch.equal(out[~known], clean[~known])


@pytest.mark.parametrize(("layers", "patches"), [(1, 8 * 8), (2, 4 * 4), (3, 2 * 2)])
def test_patch_discriminator_returns_a_logit_per_patch(layers, patches):
    d = PatchDiscriminator(1, 2, width=4, layers=layers)
    logits = d(torch.rand(3, 1, 16, 16), torch.rand(3, 2, 16, 16))
    assert logits.shape == (3, patches)
