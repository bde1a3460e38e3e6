"""Audio quality benchmark: the audio domain's generator on the spoken digits, fixed step budget.

Trains `ganx train --plugin audio` (the domain's default configuration unless --set says
otherwise) for `--steps` steps on the spoken digits, evaluates the EMA generator with
`ganx evaluate`, and prints the metrics, the share of generated clips the digit classifier assigns
to a digit with confidence above 0.9, the same for real clips (the ceiling), and the wall times.
The spoken digits and the classifier are prepared first and timed apart from training.

With `--seeds 0 1 2` it trains one run per seed and ends with a summary: every metric as mean ±
sd over the seeds, and per requested digit the share heard as that digit (mean and lowest).
`--jobs 2` trains two seeds at a time, each with its share of the CPU threads (the quality is
the same; the wall times are then those of a shared machine).

With `--eval-at 1000,2000,...` one run is also evaluated at those earlier steps (from the
snapshots it keeps), so a learning curve costs one training run; each row's wall time is the
training time up to that step. For a conditional run (the default on the spoken digits) it also
prints, for each requested class, the classifier's verdicts on that class's clips.

Nobody listens to the clips here: the classifier's view is the measurement. Listen to
`RUN/samples/step-*/NN*.wav` (or `ganx sample RUN -n 16`) to judge them by ear.

    python benchmarks/audio_quality.py        # the defaults (SpecGAN, 16 kHz): 5 to 15 minutes
    python benchmarks/audio_quality.py --seeds 0 1 2 --jobs 2 --device cpu
    python benchmarks/audio_quality.py --set sample_rate=8000 --set segment=8192   # about 12
    python benchmarks/audio_quality.py --steps 20000 --device cuda --set width=64 \\
        --set sample_rate=16000 --set segment=16384 --batch-size 64
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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

ROWS = [("inception_score", "Inception score (digits, max 10)"),
        ("inception_score_real", "Inception score of real clips"),
        ("confident", "share of clips classified with p > 0.9"),
        ("confident_real", "same for real clips"),
        ("not_digit", "share classified 'not a digit'"),
        ("digit_diversity", "within-digit diversity, generated / real (1 = as varied)"),
        ("fd_digits", "Fréchet distance, classifier features"),
        ("fd_mel", "Fréchet distance, log-mel statistics"),
        ("classifier_accuracy", "classifier held-out accuracy"),
        ("n_fake", "generated clips"), ("n_real", "real clips")]




def prepare_metrics(env: dict[str, str], sets: list[str]) -> float:
    """Synthesise the spoken digits and train the digit classifier (both cached); seconds."""
    started = time.perf_counter()
    run_ganx("data", "prepare", "spoken-digits", *sets, env=env)
    code = "from ganx.plugins.audio.classifier import load_classifier; load_classifier()"
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - started


PER_CLASS = """
import json, sys, numpy as np, ganx
from ganx.plugins.audio import classifier
model = ganx.load(sys.argv[1])
n, classes = int(sys.argv[2]), model.config.num_classes
probs, _ = classifier.classify(classifier.load_classifier()[0],
                               model.generate(n, seed=model.train_config.seed + 3),
                               model.config.sample_rate)
verdict, sure = probs.argmax(1), probs[:, :classifier.OTHER].max(1) > 0.9
for k in range(classes):
    mine = np.arange(n) % classes == k
    counts = np.bincount(verdict[mine], minlength=classifier.OTHER + 1)
    heard = ", ".join(f"{'not a digit' if c == classifier.OTHER else c}: {v}"
                      for c, v in enumerate(counts) if v)
    print(json.dumps({"verdicts": heard, "heard": float((verdict[mine] == k).mean()),
                      "confident": float(sure[mine].mean())}))
"""


@dataclass
class SeedRun:
    """One training seed's measurements."""

    seed: int
    results: dict
    train_s: float
    eval_s: float
    config: str
    curve: list[tuple[int, float, dict]] = field(default_factory=list)
    classes: list[dict] = field(default_factory=list)

    def setting(self, key: str) -> str:
        line = next((ln for ln in self.config.splitlines() if ln.startswith(f"{key} =")), "")
        return line.partition("=")[2].strip()


def per_class(run_dir: Path, n: int, env: dict[str, str]) -> list[dict]:
    """A conditional run's clips by requested class: the classifier's verdicts (the same clips
    and seed as `ganx evaluate`), the share heard as the requested digit, the confident share."""
    done = subprocess.run([sys.executable, "-c", PER_CLASS, str(run_dir), str(n)],
                          capture_output=True, text=True, env=env, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def train_and_score(args: argparse.Namespace, seed: int, points: list[int],
                    env: dict[str, str]) -> SeedRun:
    """Train one seed in a temporary run folder (or --run-dir/seed-S) and evaluate it."""
    sets = [arg for pair in args.sets for arg in ("--set", pair)]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = (args.run_dir / f"seed-{seed}") if args.run_dir else Path(tmp) / "run"
        started = time.perf_counter()
        extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
        extra += snapshot_options(args.steps, points)
        run_ganx("train", "--plugin", "audio", "--steps", str(args.steps), "--seed", str(seed),
                 "--device", args.device, "--precision", args.precision, "--run-dir", str(run_dir),
                 "--set", "eval_every=-1", *extra, *sets, "--no-progress", env=env)
        train_s = time.perf_counter() - started
        started = time.perf_counter()
        results = json.loads(run_ganx("evaluate", str(run_dir), "-n", str(args.n),
                                      "--device", args.device, "--json", env=env))
        eval_s = time.perf_counter() - started
        curve = [(p, train_seconds(run_dir, p, train_s, args.steps),
                  json.loads(run_ganx("evaluate", str(run_dir / "checkpoints" / f"step-{p:08d}.pt"),
                                      "-n", str(args.n), "--device", args.device, "--json",
                                      env=env)))
                 for p in points]
        config = (run_dir / "config.toml").read_text()
        classes = per_class(run_dir, args.n, env) if "conditional = true" in config else []
    return SeedRun(seed, results, train_s, eval_s, config, curve, classes)


def seed_table(run: SeedRun, args: argparse.Namespace, prepare_s: float) -> list[str]:
    """One seed's metrics, learning curve and per-class verdicts."""
    lines = [
        f"audio quality: spoken digits, {args.steps} steps, batch {run.setting('batch_size')},"
        f" {run.setting('sample_rate')} Hz x {run.setting('segment')} samples,"
        f" width {run.setting('width')}, generator {run.setting('generator')},"
        f" discriminator {run.setting('discriminator')}, loss {run.setting('loss')},"
        f" seed {run.seed}, device {args.device}, {platform.machine()}, {os.cpu_count()} CPUs",
        "", "| metric | value |", "|---|---|"]
    lines += [f"| {label} (`{key}`) | {run.results[key]:.4g} |"
              for key, label in ROWS if key in run.results]
    lines += [f"| training wall time | {run.train_s:.0f} s"
              f" ({args.steps / run.train_s:.2f} steps/s) |",
              f"| evaluation wall time | {run.eval_s:.0f} s |",
              f"| data + classifier preparation (cached after the first run) | {prepare_s:.0f} s |"]
    if run.curve:
        lines += ["", "| steps | Inception score | confident | not a digit | fd_digits | fd_mel |"
                  " training wall time |", "|---|---|---|---|---|---|---|"]
        for step, seconds, r in [*run.curve, (args.steps, run.train_s, run.results)]:
            lines.append(f"| {step} | {r.get('inception_score', 0):.2f} |"
                         f" {r.get('confident', 0):.3f} | {r.get('not_digit', 0):.3f} |"
                         f" {r.get('fd_digits', 0):.1f} | {r['fd_mel']:.0f} | {seconds:.0f} s |")
    if run.classes:
        lines += ["", "| requested class | classifier's verdicts (class: clips) |"
                  " heard as requested | confident | diversity (heard as this digit) |",
                  "|---|---|---|---|---|"]
        for k, row in enumerate(run.classes):
            diversity = run.results.get(f"digit_diversity_{k}")
            lines.append(f"| {k} | {row['verdicts']} | {row['heard']:.2f} |"
                         f" {row['confident']:.2f} |"
                         f" {'n/a' if diversity is None else f'{diversity:.2f}'} |")
    return lines


def _mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def summary_table(runs: list[SeedRun]) -> list[str]:
    """Every metric as mean ± sd over the seeds; per requested digit the share heard as it."""
    seeds = " ".join(str(r.seed) for r in runs)
    lines = [f"summary over seeds {seeds}", "", "| metric | mean ± sd | per seed |",
             "|---|---|---|"]
    for key, label in ROWS:
        values = [r.results[key] for r in runs if key in r.results]
        if len(values) == len(runs):
            lines.append(f"| {label} (`{key}`) | {_mean_sd(values)} |"
                         f" {' / '.join(f'{v:.3g}' for v in values)} |")
    lines.append(f"| training wall time (s) | {_mean_sd([r.train_s for r in runs])} |"
                 f" {' / '.join(f'{r.train_s:.0f}' for r in runs)} |")
    if all(r.classes for r in runs):
        lines += ["", "| requested class | heard as requested, mean | lowest | per seed |",
                  "|---|---|---|---|"]
        for k in range(len(runs[0].classes)):
            heard = [r.classes[k]["heard"] for r in runs]
            lines.append(f"| {k} | {statistics.mean(heard):.2f} | {min(heard):.2f} |"
                         f" {' / '.join(f'{h:.2f}' for h in heard)} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_training_arguments(parser, steps=1500, n=500, n_help="generated and real clips scored")
    parser.add_argument("--seeds", type=int, nargs="+", help="training seeds (default: --seed)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at a time")
    args = parser.parse_args()
    points = eval_points(parser, args)
    seeds = args.seeds or [args.seed]

    env = dict(os.environ)
    data_sets = [arg for pair in args.sets if pair.startswith("digits_")
                 for arg in ("--set", pair)]
    prepare_s = prepare_metrics(env, data_sets)
    if args.jobs > 1:  # each job its share of the threads, so they do not oversubscribe
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // args.jobs))
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(lambda seed: train_and_score(args, seed, points, env), seeds))
    lines: list[str] = []
    for run in runs:
        lines += [*seed_table(run, args, prepare_s), ""]
    if len(runs) > 1:
        lines += [*summary_table(runs), ""]
    lines.append(protocol_line(runs[-1].results))
    text = "\n".join(lines)
    publish(text, args.out)


if __name__ == "__main__":
    main()
