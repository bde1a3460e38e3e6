"""Did the generator copy its training set? Nearest-neighbour distances in a feature space.

For each generated sample, the distance to its nearest training sample is compared with the
same distance for real samples the model never trained on (a held-out split), or, where the data
has none, for training samples to their nearest *other* training sample (leave-one-out). A
generator that learned the distribution sits about as close to the training set as unseen real
data does; one that memorised sits closer. Two numbers say how much:

- `memo_close_share`: the share of generated samples closer to a training sample than 95% of
  the baseline samples are (0.05 when the generator is no closer than unseen data; 1.0 when
  every sample is a near copy);
- `memo_nn_ratio`: the median generated nearest-training distance over the median baseline
  distance (about 1 for no memorisation, below 1 for copying; above 1 when samples are far from
  any training sample, e.g. blurry or off-distribution).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .distances import Array, as_features, check_widths

if TYPE_CHECKING:
    import torch

    from .image_features import FeatureNet

CLOSE_QUANTILE = 0.05
CHUNK = 1024


def nearest(queries: npt.ArrayLike, bank: npt.ArrayLike,
            exclude: npt.NDArray[np.int64] | None = None) -> tuple[Array, npt.NDArray[np.int64]]:
    """(distance, index) of each query's nearest row of `bank`; `exclude[i]` is a row of `bank`
    query i skips (itself, for leave-one-out distances)."""
    q, b = as_features(queries, "queries"), as_features(bank, "bank")
    check_widths(q, b)
    best_d, best_i = [], []
    bank_sq = (b * b).sum(1)[None, :]
    for start in range(0, len(q), CHUNK):
        part = q[start: start + CHUNK]
        d2 = np.maximum((part * part).sum(1)[:, None] + bank_sq - 2.0 * (part @ b.T), 0.0)
        if exclude is not None:
            d2[np.arange(len(part)), exclude[start: start + CHUNK]] = np.inf
        index = d2.argmin(axis=1)
        best_i.append(index)
        best_d.append(np.sqrt(d2[np.arange(len(part)), index]))
    return np.concatenate(best_d), np.concatenate(best_i).astype(np.int64)


@dataclass
class MemorisationReport:
    values: dict[str, float]
    """memo_close_share, memo_nn_ratio, memo_threshold and memo_heldout (1 for a held-out
    baseline, 0 for leave-one-out)."""
    closest: list[tuple[int, int, float]]
    """(generated index, training index, distance) of the closest pairs, closest first."""


def memorisation_report(fake: npt.ArrayLike, train: npt.ArrayLike,
                 heldout: npt.ArrayLike | None = None, pairs: int = 8) -> MemorisationReport:
    """How much closer generated features are to the training features than unseen real ones
    are: see the module docstring. Without `heldout`, the baseline is leave-one-out distances of
    (up to 2,000 of) the training samples."""
    fake_d, fake_i = nearest(fake, train)
    train_x = as_features(train, "train")
    if heldout is not None:
        base_d, _ = nearest(heldout, train_x)
    else:  # leave-one-out over a fixed random subset of the training samples
        picked = np.random.default_rng(0).permutation(len(train_x))[:2000].astype(np.int64)
        base_d, _ = nearest(train_x[picked], train_x, exclude=picked)
    threshold = float(np.quantile(base_d, CLOSE_QUANTILE))
    median = float(np.median(base_d))
    order = np.argsort(fake_d)[:pairs]
    values = {
        "memo_close_share": float((fake_d < threshold).mean()),
        "memo_nn_ratio": float(np.median(fake_d) / median) if median > 0 else float("inf"),
        "memo_threshold": threshold,
        "memo_heldout": 1.0 if heldout is not None else 0.0,
    }
    closest = [(int(i), int(fake_i[i]), float(fake_d[i])) for i in order]
    return MemorisationReport(values, closest)


def image_memorisation(net: FeatureNet, fake: torch.Tensor, train: torch.Tensor,
                       heldout: torch.Tensor | None = None, *, namespace: str,
                       out_dir: Path | None = None, step: int = 0) -> dict[str, float]:
    """`memorisation_report` for images (N, C, H, W) in [-1, 1] under a feature network, the
    training features cached with the FID statistics under `namespace`; with `out_dir`, also
    `memorisation-step-N.png` there: the closest generated images over their nearest training
    images."""
    import torch

    from .image_features import pixel_digest
    from .reference import reference_stats
    from .writers import save_image_grid

    bank = reference_stats(net, train, namespace=namespace, data_digest=pixel_digest(train))
    report = memorisation_report(net(fake), bank.features,
                                 net(heldout) if heldout is not None else None)
    if out_dir is not None:
        top = torch.stack([fake[i] for i, _, _ in report.closest])
        bottom = torch.stack([train[j] for _, j, _ in report.closest])
        out_dir.mkdir(parents=True, exist_ok=True)
        save_image_grid(torch.cat([top, bottom]), out_dir / f"memorisation-step-{step:08d}.png",
                        nrow=len(report.closest))
    return {**report.values, "memo_train_images": float(len(train))}
