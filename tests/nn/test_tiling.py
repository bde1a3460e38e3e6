"""`ganx.nn.tiling`: restoring an image of any size in overlapping tiles, without seams."""

from __future__ import annotations

import pytest
import torch

from ganx.nn import restore_image
from ganx.nn.tiling import blend_window, padded_size


class Identity(torch.nn.Module):
    def forward(self, z, corrupted):
        return corrupted[:, :1]


@pytest.mark.parametrize("size", [(16, 16), (37, 23), (5, 40), (64, 100)])
def test_tiles_are_stitched_back_exactly(size):
    image = torch.rand(1, *size) * 2 - 1
    out = restore_image(Identity(), image, 16, 1, torch.device("cpu"), batch_size=3)
    assert out.shape == image.shape
    torch.testing.assert_close(out, image, rtol=0, atol=1e-6)


class TileOffset(torch.nn.Module):
    """Each tile comes back as a different flat grey: the worst case for seams."""

    def forward(self, z, corrupted):
        levels = torch.linspace(-1, 1, len(corrupted))[torch.randperm(len(corrupted))]
        return levels[:, None, None, None].expand(-1, 1, *corrupted.shape[-2:]).clone()


def test_overlapping_tiles_leave_no_seams():
    torch.manual_seed(0)
    out = restore_image(TileOffset(), torch.zeros(1, 64, 64), 16, 1, torch.device("cpu"))
    step_x = (out[:, :, 1:] - out[:, :, :-1]).abs().max()
    step_y = (out[:, 1:, :] - out[:, :-1, :]).abs().max()
    # tiles differ by up to 2.0; blended, neighbouring pixels never jump by more than a fraction
    assert max(step_x, step_y) < 0.5


@pytest.mark.parametrize(("n", "expected"), [(5, 16), (16, 16), (17, 24), (24, 24), (25, 32)])
def test_padded_size_is_covered_exactly_by_tiles_half_a_tile_apart(n, expected):
    assert padded_size(n, 16, 8) == expected
    assert (expected - 16) % 8 == 0


def test_blend_window_keeps_a_weight_at_the_borders():
    window = blend_window(16)
    assert window.shape == (16, 16)
    assert float(window.min()) > 0  # pixels covered by one tile only are not divided by zero
    assert float(window[8, 8]) > 0.9 and torch.equal(window, window.T)


def test_conditioning_channels_are_cut_with_the_image():
    """An inpainting input (image + mask channel) is tiled as one: each tile keeps its mask."""
    image = torch.rand(1, 30, 21) * 2 - 1
    known = (torch.rand(1, 30, 21) > 0.5).float()

    class Masked(torch.nn.Module):
        def forward(self, z, corrupted):
            return corrupted[:, :1] * corrupted[:, 1:]

    out = restore_image(Masked(), torch.cat([image, known]), 16, 1, torch.device("cpu"))
    torch.testing.assert_close(out, image * known, rtol=0, atol=1e-6)
