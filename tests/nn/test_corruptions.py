"""`ganx.nn.corruptions`: the image restoration tasks' corrupted inputs."""

from __future__ import annotations

import pytest
import torch

from ganx.nn import corruptions


def test_corruptions_do_what_they_say():
    torch.manual_seed(0)
    clean = torch.rand(8, 1, 16, 16) * 2 - 1
    holes = corruptions.inpaint(clean, 0.5)
    assert holes.shape == (8, 2, 16, 16)
    known = holes[:, 1:]
    assert known.sum(dim=(1, 2, 3)).tolist() == [16 * 16 - 8 * 8] * 8
    assert torch.equal(holes[:, :1] * known, clean * known)
    assert (holes[:, :1][known == 0] == 0).all()
    noisy = corruptions.denoise(clean, 0.2)
    assert 0.15 < (noisy - clean).std() < 0.25 and noisy.abs().max() <= 1
    # superres keeps only the 4x4 block means: detail inside the blocks cannot be seen
    F = torch.nn.functional
    detail = torch.rand_like(clean)
    detail -= F.interpolate(F.avg_pool2d(detail, 4), scale_factor=4, mode="nearest")
    blurry = corruptions.superres(clean, 4)
    assert torch.allclose(corruptions.superres(clean + 0.1 * detail, 4), blurry, atol=1e-6)
    assert not torch.allclose(blurry, clean, atol=0.1)


@pytest.mark.parametrize(("task", "channels", "expected"), [
    ("inpaint", 1, 2), ("inpaint", 3, 4), ("denoise", 3, 3), ("superres", 1, 1)])
def test_corrupt_makes_the_input_channels_the_networks_are_built_for(task, channels, expected):
    torch.manual_seed(0)
    clean = torch.rand(2, channels, 16, 16) * 2 - 1
    corrupted = corruptions.corrupt(clean, task, mask_size=0.4, noise_std=0.2, scale=4)
    assert corrupted.shape == (2, expected, 16, 16)
    assert corruptions.input_channels(task, channels) == expected
    assert corruptions.visible(corrupted, channels).shape == clean.shape


def test_an_unknown_task_is_named():
    with pytest.raises(ValueError, match="unknown restoration task 'deblur'"):
        corruptions.corrupt(torch.zeros(1, 1, 8, 8), "deblur", mask_size=0.4, noise_std=0.2,
                            scale=4)


def test_holes_follow_the_global_seed():
    clean = torch.zeros(4, 1, 16, 16)
    torch.manual_seed(3)
    first = corruptions.inpaint(clean, 0.25)
    torch.manual_seed(3)
    assert torch.equal(first, corruptions.inpaint(clean, 0.25))
