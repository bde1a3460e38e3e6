"""Soak benchmark: a long CPU run with a snapshot every few steps.

Runs `ganx train` twice with the same settings, once with a snapshot every `--every` steps and
once with snapshots only at the end, samples the process's resident memory once a second, and
prints: wall time of both, snapshot overhead as a share of step time, and memory at the start,
middle and end of the frequent-snapshot run (it should stay flat).

    python benchmarks/soak.py                                   # image domain, 3000 steps
    python benchmarks/soak.py --plugin toy --steps 20000 --every 10 --out results.md
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cli_runner import publish


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run(args: list[str], run_dir: Path) -> tuple[float, list[tuple[float, float]]]:
    cmd = [sys.executable, "-m", "ganx", "train", *args, "--run-dir", str(run_dir),
           "--no-progress"]
    # the log goes to a file: a pipe nobody reads until the end fills up and stalls the run
    log_path = run_dir.parent / f"{run_dir.name}.stderr"
    started = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        samples = []
        while proc.poll() is None:
            mb = rss_mb(proc.pid)
            if mb is not None:
                samples.append((time.perf_counter() - started, mb))
            time.sleep(1.0)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{log_path.read_text()[-2000:]}")
    return time.perf_counter() - started, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", default="image")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--every", type=int, default=5, help="snapshot interval (steps)")
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        help="extra --set KEY=VALUE for both runs")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    common = ["--plugin", args.plugin, "--device", "cpu", "--steps", str(args.steps),
              "--set", "sample_every=1000000", "--set", "eval_every=-1",
              "--set", f"log_every={args.every}"]
    for pair in args.sets:
        common += ["--set", pair]
    with tempfile.TemporaryDirectory() as tmp:
        frequent_s, memory = run([*common, "--set", f"checkpoint_every={args.every}"],
                                 Path(tmp) / "frequent")
        rare_s, _ = run([*common, "--set", f"checkpoint_every={args.steps}"], Path(tmp) / "rare")
    # memory after start-up (the first 20% of the run) versus the rest
    steady = [mb for t, mb in memory if t > 0.2 * frequent_s] or [mb for _, mb in memory]
    third = max(1, len(steady) // 3)
    start, middle, end = (sum(part) / len(part) for part in
                          (steady[:third], steady[third:2 * third] or steady, steady[-third:]))
    overhead = (frequent_s - rare_s) / rare_s
    snapshots = args.steps // args.every
    lines = [
        f"soak: {args.plugin}, {args.steps} steps, {platform.machine()}, "
        f"python {platform.python_version()}", "",
        f"| snapshots | wall s (every {args.every}) | wall s (end only) | snapshot overhead"
        " | ms per snapshot | RSS MB start / middle / end | RSS MB max |",
        "|---|---|---|---|---|---|---|",
        f"| {snapshots} | {frequent_s:.0f} | {rare_s:.0f} | {overhead:+.1%}"
        f" | {1000 * (frequent_s - rare_s) / max(snapshots, 1):.1f}"
        f" | {start:.0f} / {middle:.0f} / {end:.0f} | {max(steady):.0f} |",
    ]
    table = "\n".join(lines)
    publish(table, args.out)


if __name__ == "__main__":
    main()
