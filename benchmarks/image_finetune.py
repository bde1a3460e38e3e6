"""Fine-tuning benchmark: a Fashion-MNIST model adapted to 500 images of one class in 1,000
steps (`ganx train --init`, optionally with FreezeD), against training on those 500 images from
scratch for the same steps, scored by FID/KID against that class's test images.

The source run trains on the full Fashion-MNIST training set (Debian package) for
`--source-steps`, or is given with `--source RUN`. Each seed trains both target runs (the image
domain's defaults; on 500 images the small-data autopilot turns ADA on for both) and generates
`--n` images from each; the features are the image domain's (`GANX_IMAGE_FEATURES`: the FID
Inception network when installed, else the small Fashion-MNIST classifier, whose FID values are on
their own scale). Prints per seed and mean ± sd.

    python benchmarks/image_finetune.py --seeds 0 1 2
    python benchmarks/image_finetune.py --source runs/fashion --class-index 7 --freeze-d 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cli_runner import publish, run_ganx

CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
           "bag", "ankle boot")


def class_folder(index: int, count: int, folder: Path) -> Path:
    from PIL import Image

    from ganx.plugins.image import sources

    train = sources.load("fashion-mnist", 28, 1)
    assert train.labels is not None
    folder.mkdir(parents=True, exist_ok=True)
    for i, k in enumerate(np.flatnonzero(train.labels == index)[:count]):
        Image.fromarray(train.images[k, 0]).save(folder / f"{i:04d}.png")
    return folder


def test_images(index: int) -> torch.Tensor:
    """That class's Fashion-MNIST test images at 32 px, in [-1, 1]."""
    from ganx.plugins.image import sources

    test = sources.heldout("fashion-mnist", 32, 1)
    assert test is not None and test.labels is not None, "needs the Debian Fashion-MNIST package"
    picked = test.images[test.labels == index]
    return torch.from_numpy(picked).float().div(127.5).sub(1.0)


def score(run: Path, real_features: torch.Tensor, n: int) -> dict[str, float]:
    import ganx
    from ganx.metrics import frechet_distance, kernel_inception_distance

    net = feature_net()
    f = net(ganx.load(run).generate(n, seed=123))
    kid, kid_std = kernel_inception_distance(f, real_features)
    return {"fid": frechet_distance(f, real_features), "kid": kid, "kid_std": kid_std,
            "feature_net": net.name}


def feature_net() -> Any:
    from ganx.metrics import image_feature_extractor

    return image_feature_extractor(32, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="a trained Fashion-MNIST run to start from")
    parser.add_argument("--source-steps", type=int, default=3000)
    parser.add_argument("--class-index", type=int, default=7, help="default: 7 (sneaker)")
    parser.add_argument("--target-images", type=int, default=500)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--freeze-d", type=int, default=0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n", type=int, default=1000, help="generated images per run")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = args.source or root / "source"
        if args.source is None:
            run_ganx("train", "--plugin", "image", "--data", "fashion-mnist", "--steps",
                     str(args.source_steps), "--device", args.device, "--run-dir", str(source),
                     "--no-progress")
        data = class_folder(args.class_index, args.target_images, root / "target")
        real = test_images(args.class_index)
        real_features = feature_net()(real)  # once: every run is scored against them
        rows: dict[str, list[dict[str, float]]] = {"scratch": [], "fine-tuned": []}
        for seed in args.seeds:
            common = ["--plugin", "image", "--data", str(data), "--steps", str(args.steps),
                      "--seed", str(seed), "--device", args.device, "--no-progress"]
            run_ganx("train", *common, "--run-dir", str(root / f"scratch-{seed}"))
            run_ganx("train", *common, "--init", str(source), "--set",
                     f"freeze_d={args.freeze_d}", "--run-dir", str(root / f"tuned-{seed}"))
            rows["scratch"].append(score(root / f"scratch-{seed}", real_features, args.n))
            rows["fine-tuned"].append(score(root / f"tuned-{seed}", real_features, args.n))
    publish(table(args, rows, len(real)), args.out)


def sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def table(args: argparse.Namespace, rows: dict[str, list[dict[str, float]]], n_real: int) -> str:
    first = rows["scratch"][0]
    lines = [f"fine-tuning, Fashion-MNIST class {args.class_index} ({CLASSES[args.class_index]}),"
             f" {args.target_images} training images, {args.steps} steps, freeze_d"
             f" {args.freeze_d}, seeds {' '.join(map(str, args.seeds))}; {args.n} generated vs"
             f" {n_real} test images of the class, features {first['feature_net']}", "",
             "| start | seed | FID | KID x1e3 |", "|---|---|---|---|"]
    for name, results in rows.items():
        lines += [f"| {name} | {seed} | {r['fid']:.2f} | {r['kid'] * 1e3:.2f} |"
                  for seed, r in zip(args.seeds, results, strict=True)]
    lines += ["", "| start | FID (mean ± sd) | KID x1e3 (mean ± sd) |", "|---|---|---|"]
    for name, results in rows.items():
        fids, kids = [r["fid"] for r in results], [r["kid"] * 1e3 for r in results]
        lines.append(f"| {name} | {statistics.mean(fids):.2f} ± {sd(fids):.2f}"
                     f" | {statistics.mean(kids):.2f} ± {sd(kids):.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
