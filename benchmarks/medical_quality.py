"""Medical benchmark: the default `ganx train --plugin medical` run, and a denoising run.

1. Generation: trains with the domain's defaults (MNI152 T1 template, 64 px, DCGAN width 16,
   1,500 steps unless told otherwise) and prints, for every evaluation, the intensity-histogram
   distance to the real slices (Wasserstein-1 in normalised units, total variation) and FID/KID
   with the feature network used, plus the wall time and seconds per step.
2. Restoration: trains `task=denoise` (Rician noise, sigma `--noise`) and prints PSNR/SSIM of the
   restored slices next to those of the noisy inputs, on the same reference slices.

The default data is one averaged brain: the numbers show that training works and how fast, not
how a model does on patients.

    python benchmarks/medical_quality.py                       # CPU defaults
    python benchmarks/medical_quality.py --device cuda --steps 5000 --out results/medical.md
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from cli_runner import protocol_line, publish, run_ganx


def evals(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    return [r for r in rows if r.get("kind") == "eval"]


def generation_section(args: argparse.Namespace, run_dir: Path) -> list[str]:
    """Train the default generator and tabulate its evaluations."""
    steps = ["--steps", str(args.steps)] if args.steps else []
    started = time.perf_counter()
    run_ganx("train", "--plugin", "medical", "--device", args.device, *steps, "--run-dir",
             str(run_dir), "--no-progress")
    wall = time.perf_counter() - started
    rows = evals(run_dir)
    total = rows[-1]["step"] if rows else 0
    lines = [f"generation: {total} steps in {wall:.0f} s ({wall / max(total, 1):.3f} s per"
             " step, start-up and evaluations included)", "",
             "| step | intensity_w1 | intensity_tv | fid | kid | feature_net |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        m = r.get("metrics", r)
        lines.append(f"| {r['step']} | {m.get('intensity_w1', float('nan')):.4f} |"
                     f" {m.get('intensity_tv', float('nan')):.3f} |"
                     f" {m.get('fid', float('nan')):.4g} | {m.get('kid', float('nan')):.4g} |"
                     f" {m.get('feature_net', float('nan')):g} |")
    return [*lines, "", protocol_line(rows[-1]) if rows else "protocol: no evaluation"]


def denoise_section(args: argparse.Namespace, run_dir: Path) -> list[str]:
    """Train the denoiser and compare its output with the noisy input on the same slices."""
    import ganx
    from ganx.core.rng import stream_seed
    from ganx.core.sampling import REFERENCE_SEED, reference_set
    from ganx.plugins.medical.metrics import restoration_metrics

    result = ganx.train("medical", run_dir=str(run_dir), device=args.device,
                        steps=args.denoise_steps, eval_every=0,
                        settings={"task": "denoise", "noise_sigma": args.noise})
    model = ganx.load(result.run_dir, device=args.device)
    cfg, tc = model.config, model.train_config
    dataset = model.domain.build_dataset(cfg, tc.data)
    real, (noisy,) = reference_set(model.domain, cfg, dataset, tc.eval_samples,
                                   device=model.device,
                                   seed=stream_seed(REFERENCE_SEED, "eval_reference"),
                                   batch_size=tc.batch_size)
    baseline = restoration_metrics(noisy, real, cfg)
    return ["", f"denoise (Rician sigma {args.noise}, {args.denoise_steps} steps,"
            f" {int(baseline['n'])} slices):", "", "| | PSNR (dB) | SSIM |", "|---|---|---|",
            f"| noisy input | {baseline['psnr']:.2f} | {baseline['ssim']:.4f} |",
            f"| restored | {result.metrics['psnr']:.2f} | {result.metrics['ssim']:.4f} |",
            "", protocol_line(evals(result.run_dir)[-1]),
            "(the noisy input: the same slices, the evaluation's reference set)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="default: the domain's (1500)")
    parser.add_argument("--denoise-steps", type=int, default=600)
    parser.add_argument("--noise", type=float, default=0.08, help="Rician sigma for denoise")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--run-dir", type=Path, help="keep the runs here (default: temporary)")
    parser.add_argument("--out", type=Path, help="also write the tables to this file")
    args = parser.parse_args()

    lines = [f"# medical benchmark ({platform.node()}, {platform.processor() or 'cpu'},"
             f" device {args.device})", ""]
    with tempfile.TemporaryDirectory() as tmp:
        root = args.run_dir or Path(tmp)
        lines += generation_section(args, root / "generate")
        lines += denoise_section(args, root / "denoise")
    text = "\n".join(lines) + "\n"
    publish(text, args.out)


if __name__ == "__main__":
    main()
