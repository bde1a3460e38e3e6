"""PSNR and SSIM against direct numpy computations of their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganx.metrics import psnr, ssim


def pair(shape: tuple[int, ...], noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(shape, generator=g) * 2 - 1
    estimate = (target + noise * torch.randn(shape, generator=g)).clamp(-1, 1)
    return estimate, target


def reference_psnr(estimate: np.ndarray, target: np.ndarray, data_range: float) -> float:
    per_sample = [10 * np.log10(data_range**2 / np.mean((e - t) ** 2))
                  for e, t in zip(estimate, target, strict=True)]
    return float(np.mean(per_sample))


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    g /= g.sum()
    return np.outer(g, g)


def local_mean(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Weighted mean over every position where the window fits inside the image."""
    size = len(window)
    rows, cols = image.shape[0] - size + 1, image.shape[1] - size + 1
    return np.array([[np.sum(image[i: i + size, j: j + size] * window) for j in range(cols)]
                     for i in range(rows)])


def reference_ssim(estimate: np.ndarray, target: np.ndarray, data_range: float) -> float:
    """Wang et al. (2004): Gaussian-weighted local statistics, K1 = 0.01, K2 = 0.03, at every
    pixel of the image reflect-padded by half the window."""
    window = gaussian_window()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    maps = []
    for x, y in zip(estimate.reshape(-1, *estimate.shape[-2:]),
                    target.reshape(-1, *target.shape[-2:]), strict=True):
        x, y = np.pad(x, 5, mode="reflect"), np.pad(y, 5, mode="reflect")
        mx, my = local_mean(x, window), local_mean(y, window)
        vx = local_mean(x * x, window) - mx**2
        vy = local_mean(y * y, window) - my**2
        cov = local_mean(x * y, window) - mx * my
        maps.append(((2 * mx * my + c1) * (2 * cov + c2))
                    / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(maps))


@pytest.mark.parametrize(("shape", "data_range"), [((3, 1, 16, 16), 2.0),
                                                   ((2, 3, 20, 14), 2.0)])
def test_psnr_and_ssim_equal_direct_computations(shape, data_range):
    estimate, target = pair(shape, 0.1, seed=shape[1])
    e, t = estimate.double().numpy(), target.double().numpy()
    assert psnr(estimate, target, data_range=data_range) == pytest.approx(
        reference_psnr(e, t, data_range), rel=1e-5)
    assert ssim(estimate, target, data_range=data_range) == pytest.approx(
        reference_ssim(e, t, data_range), rel=1e-4)


def test_psnr_averages_per_sample_values_and_follows_the_data_range():
    estimate, target = pair((4, 1, 12, 12), 0.05, seed=1)
    estimate[0] = target[0] + 0.5 * (estimate[0] - target[0])  # one sample much better
    e, t = estimate.double().numpy(), target.double().numpy()
    value = psnr(estimate, target, data_range=2.0)
    assert value == pytest.approx(reference_psnr(e, t, 2.0), rel=1e-5)
    pooled = 10 * np.log10(4.0 / np.mean((e - t) ** 2))  # one MSE over all: not what is asked
    assert abs(value - pooled) > 1e-3
    hu = psnr(estimate * 200, target * 200, data_range=400.0)  # CT in a 400 HU window
    assert hu == pytest.approx(value, rel=1e-5)


def test_ssim_of_identical_images_is_one_and_falls_with_noise():
    _, target = pair((2, 1, 16, 16), 0.0, seed=2)
    assert ssim(target, target.clone(), data_range=2.0) == pytest.approx(1.0, abs=1e-6)
    values = [ssim(pair((2, 1, 16, 16), s, seed=2)[0], target, data_range=2.0)
              for s in (0.05, 0.2, 0.5)]
    assert values == sorted(values, reverse=True)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(torch.zeros(2, 1, 8, 8), torch.zeros(3, 1, 8, 8), data_range=2.0)
    with pytest.raises(ValueError, match="at least 4 dimensions"):
        ssim(torch.zeros(2, 16, 16), torch.zeros(2, 16, 16), data_range=2.0)
