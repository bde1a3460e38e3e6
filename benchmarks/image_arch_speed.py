"""Training-step speed of the image architectures side by side: the engine's step for the DCGAN
default and for `arch=stylegan2` (each with its own training defaults: lazy R1, EMA, ADA where the
autopilot turns it on), plus the textbook DCGAN loop as the common yardstick, timed in interleaved
rounds in one process so that a noisy machine slows every row alike (the median round counts).

    python benchmarks/image_arch_speed.py --precision fp32 --precision bf16
    python benchmarks/image_arch_speed.py --set resolution=64 --out table.md
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from cli_runner import publish

from ganx.core.bench import _time, engine_step, textbook_step
from ganx.core.config import apply_settings, parse_set_options
from ganx.planning import plan_run
from ganx.plugins.host import get_host

ARCHES = {"dcgan (default)": {}, "stylegan2": {"arch": "stylegan2"}}


def loops(args: argparse.Namespace, tmp: Path) -> dict[str, tuple[Callable[[], None], int]]:
    """name -> (one training step, batch size)."""
    host = get_host()
    extra = parse_set_options(args.set_pairs)
    out: dict[str, tuple[Callable[[], None], int]] = {}
    for name, settings in ARCHES.items():
        plan = plan_run("image", settings={**extra, **settings},
                        options={"device": args.device, "data": args.data,
                                 "run_dir": str(tmp / name)}, host=host)
        tcfg = apply_settings(plan.train, {"eval_every": -1}, "bench")
        if name.startswith("dcgan"):
            out["textbook dcgan, fp32"] = (
                textbook_step(plan.domain, plan.domain_config, tcfg, torch.device(args.device)),
                tcfg.batch_size)
        loss = host.losses.get(tcfg.loss)
        loss = loss() if isinstance(loss, type) else loss
        for precision in args.precision:
            cfg = apply_settings(tcfg, {"precision": precision}, "bench")
            step = engine_step(plan.domain, plan.domain_config, cfg, loss,
                               tmp / f"{name}-{precision}")
            out[f"ganx {name}, {precision}"] = (step, cfg.batch_size)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="set_pairs", action="append", default=[],
                        metavar="KEY=VALUE", help="image or engine setting for both arches")
    parser.add_argument("--data", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", action="append", default=None,
                        help="engine precisions to time (default: fp32)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.precision = args.precision or ["fp32"]
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        steps = loops(args, Path(tmp))
        for step, _ in steps.values():
            _time(step, args.warmup, device)
        seconds: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, (step, _) in steps.items():
                seconds[name].append(_time(step, args.steps, device) / args.steps)
    base = statistics.median(seconds["textbook dcgan, fp32"])
    lines = [f"image step time by architecture: {args.device} ({platform.machine()},"
             f" {torch.get_num_threads()} threads), torch {torch.__version__}, settings"
             f" {args.set_pairs or 'defaults'}, {args.steps} steps x {args.rounds} rounds", "",
             "| loop | batch | ms/step (median round) | vs textbook dcgan |", "|---|---|---|---|"]
    for name, (_, batch) in steps.items():
        ms = statistics.median(seconds[name]) * 1e3
        lines.append(f"| {name} | {batch} | {ms:,.0f} | {base * 1e3 / ms:.2f}x |")
    table = "\n".join(lines)
    publish(table, args.out)


if __name__ == "__main__":
    main()
