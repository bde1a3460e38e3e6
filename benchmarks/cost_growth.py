"""Cost growth: how the image training step's throughput and memory grow with resolution and batch.

For each resolution x batch size, a fresh process times the textbook loop and ganx's step side by
side (`ganx.bench`, interleaved rounds, median) and reports samples/s, their ratio, and the memory
the step needed: on CUDA the step's allocation peak, on the CPU the process's peak resident set
(so each cell runs in its own process). Prints one markdown table.

    python benchmarks/cost_growth.py                                   # CPU-sized grid
    python benchmarks/cost_growth.py --device cuda --precision bf16 --memory-format channels_last \
        --resolutions 32,64,128 --batches 64,256,1024,4096 --out benchmarks/results/cost-h200.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def measure_one(args: argparse.Namespace) -> None:
    """Child process: time one cell and print it as JSON."""
    from ganx.api import bench

    rows = bench("image", settings={"resolution": args.one[0]}, batch_size=args.one[1],
                      device=args.device, steps=args.steps, warmup=args.warmup,
                      rounds=args.rounds, precisions=(args.precision,),
                      formats=(args.memory_format,))
    textbook, engine = rows[0], rows[-1]
    print(json.dumps({"textbook": textbook.samples_per_s, "ganx": engine.samples_per_s,
                      "ratio": engine.ratio, "cuda_peak_mb": engine.peak_memory_mb}))


def run_cell(args: argparse.Namespace, resolution: int, batch: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", str(resolution), str(batch),
           "--device", args.device, "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--rounds", str(args.rounds), "--precision", args.precision,
           "--memory-format", args.memory_format]
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
        if os.waitstatus_to_exitcode(status) != 0:
            log.seek(0)
            last = (log.read().strip().splitlines() or ["no output"])[-1]
            return {"error": last}
    result = json.loads(out.strip().splitlines()[-1])
    result["max_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--resolutions", default="32,64,128")
    parser.add_argument("--batches", default="64,256")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--memory-format", default="contiguous",
                        choices=["contiguous", "channels_last"])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        measure_one(args)
        return
    lines = [f"cost growth: image DCGAN step, {args.device} ({platform.machine()},"
             f" {os.cpu_count()} CPUs), ganx {args.precision} {args.memory_format} vs textbook"
             f" fp32, {args.steps} steps x {args.rounds} rounds", "",
             "| px | batch | textbook samples/s | ganx samples/s | ganx vs textbook | memory |",
             "|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for resolution in (int(r) for r in args.resolutions.split(",")):
        for batch in (int(b) for b in args.batches.split(",")):
            cell = run_cell(args, resolution, batch)
            if "error" in cell:
                line = f"| {resolution} | {batch} | failed: {cell['error']} | | | |"
            else:
                memory = (f"{cell['cuda_peak_mb']:,.0f} MiB step peak (CUDA)"
                          if cell["cuda_peak_mb"] is not None
                          else f"{cell['max_rss_mb']:,.0f} MiB process peak RSS")
                line = (f"| {resolution} | {batch} | {cell['textbook']:,.1f} | {cell['ganx']:,.1f}"
                        f" | {cell['ratio']:.2f}x | {memory} |")
            lines.append(line)
            print(line, flush=True)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
