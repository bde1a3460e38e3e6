"""Kernel Inception Distance (Bińkowski et al. 2018) on any features: the unbiased MMD² with the
cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over random subsets, with its standard
deviation.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ganx.core.errors import RunError

from .distances import Array, as_features, check_widths

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
FULL_KERNEL_LIMIT = 4096  # up to this many samples per side, KID uses one kernel matrix per pair


def _cubic_kernel(x: Array, y: Array) -> Array:
    kernel: Array = (x @ y.T / x.shape[1] + 1.0) ** 3
    return kernel


def _unbiased_mmd2(kxx: Array, kyy: Array, kxy: Array) -> float:
    m, n = len(kxx), len(kyy)
    within_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * kxy.mean())


def _subset_sums(kernel: Array, rows: Array, cols: Array) -> Array:
    """For each subset s: the sum of kernel[i, j] over i in rows[s], j in cols[s], given as 0/1
    indicator matrices (S, n): one matrix product instead of S gathers of m x m blocks."""
    sums: Array = ((rows @ kernel) * cols).sum(axis=1)
    return sums


def _indicators(n: int, m: int, subsets: int, rng: np.random.Generator) -> Array:
    out = np.zeros((subsets, n))
    for s in range(subsets):
        out[s, rng.choice(n, m, replace=False)] = 1.0
    return out


def _subset_values(x: Array, y: Array, sx: Array, sy: Array, m: int) -> Array:
    """The unbiased MMD² of each pair of subsets (rows of the indicators sx, sy)."""
    if max(len(x), len(y)) <= FULL_KERNEL_LIMIT:
        kxx, kyy, kxy = _cubic_kernel(x, x), _cubic_kernel(y, y), _cubic_kernel(x, y)
        within = m * (m - 1)
        values: Array = ((_subset_sums(kxx, sx, sx) - sx @ np.diag(kxx)) / within
                         + (_subset_sums(kyy, sy, sy) - sy @ np.diag(kyy)) / within
                         - 2.0 * _subset_sums(kxy, sx, sy) / (m * m))
        return values
    # the kernel matrices would not fit comfortably: one subset at a time
    one_by_one = []
    for rx, ry in zip(sx, sy, strict=True):
        xs, ys = x[rx > 0], y[ry > 0]
        one_by_one.append(_unbiased_mmd2(_cubic_kernel(xs, xs), _cubic_kernel(ys, ys),
                                         _cubic_kernel(xs, ys)))
    return np.asarray(one_by_one)


def kernel_inception_distance(fake_features: npt.ArrayLike, real_features: npt.ArrayLike, *,
                              subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE,
                              seed: int = 0) -> tuple[float, float]:
    """KID of features (N1, D) and (N2, D): the mean and standard deviation over `subsets` random
    subsets (without replacement) of m = min(subset_size, N1, N2) samples per side of the
    unbiased MMD² (Bińkowski et al. used 100 subsets of 1000). When m is both whole sets there is
    one subset and the standard deviation is 0. Deterministic for a given `seed`."""
    x = as_features(fake_features, "fake features")
    y = as_features(real_features, "real features")
    check_widths(x, y)
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise RunError(f"KID needs at least 2 samples per side (got {len(x)} and {len(y)})")
    if m == len(x) == len(y):
        subsets = 1  # every subset would be the whole of both sets
    rng = np.random.default_rng(seed)
    sx, sy = _indicators(len(x), m, subsets, rng), _indicators(len(y), m, subsets, rng)
    values = _subset_values(x, y, sx, sy, m)
    return float(np.mean(values)), float(np.std(values))
