"""Toy mode-coverage benchmark: the engine's quality bar on 2-D mixtures with ground truth.

Trains the `toy` domain through the CLI with its default settings (ring and grid) and prints,
per mixture and seed, the modes covered, the high-quality share and the wall time, then the mean.
Targets: ring 8/8; grid 25/25 with >= 90% high quality (PacGAN reported 24.8 modes, 93.6%).

    python benchmarks/toy_modes.py                     # both mixtures, seeds 0 1 2
    python benchmarks/toy_modes.py --mixture grid --seeds 0 --steps 20000 --out results.md
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cli_runner import publish


def run(mixture: str, seed: int, steps: int | None, root: Path) -> dict[str, float]:
    run_dir = root / f"{mixture}-{seed}"
    cmd = [sys.executable, "-m", "ganx", "train", "--plugin", "toy",
           "--set", f"mixture={mixture}", "--seed", str(seed), "--run-dir", str(run_dir),
           "--no-progress", "--device", "cpu"]
    if steps:
        cmd += ["--steps", str(steps)]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").open()]
    final = [r for r in rows if r["kind"] == "eval"][-1]
    return {"modes": final["modes_covered"], "balanced": final["modes_balanced"],
            "total": final["modes_total"],
            "hq": final["high_quality"], "seconds": elapsed, "steps": final["step"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixture", choices=["ring", "grid", "both"], default="both")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=None, help="default: the domain's")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    mixtures = ["ring", "grid"] if args.mixture == "both" else [args.mixture]
    lines = [f"toy mode coverage, {platform.processor() or platform.machine()}, "
             f"python {platform.python_version()}", "",
             "| mixture | seed | steps | modes covered | modes balanced | high quality | seconds |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for mixture in mixtures:
            results = []
            for seed in args.seeds:
                r = run(mixture, seed, args.steps, Path(tmp))
                results.append(r)
                lines.append(f"| {mixture} | {seed} | {r['steps']}"
                             f" | {r['modes']:.0f}/{r['total']:.0f}"
                             f" | {r['balanced']:.0f}/{r['total']:.0f} | {r['hq']:.1%}"
                             f" | {r['seconds']:.0f} |")
                print(lines[-1], flush=True)
            n = len(results)
            lines.append(f"| {mixture} | mean | | {sum(r['modes'] for r in results) / n:.1f}"
                         f" | {sum(r['balanced'] for r in results) / n:.1f}"
                         f" | {sum(r['hq'] for r in results) / n:.1%}"
                         f" | {sum(r['seconds'] for r in results) / n:.0f} |")
    table = "\n".join(lines)
    publish(table, args.out)


if __name__ == "__main__":
    main()
