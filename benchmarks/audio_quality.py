"""Audio quality benchmark: the audio domain's generator on the spoken digits, fixed step budget.

Trains `ganx train --plugin audio` (the domain's default configuration unless --set says
otherwise, one seed) for `--steps` steps on the spoken digits, evaluates the EMA generator with
`ganx evaluate`, and prints the metrics, the share of generated clips the digit classifier assigns
to a digit with confidence above 0.9, the same for real clips (the ceiling), and the wall times.
The spoken digits and the classifier are prepared first and timed apart from training.

With `--eval-at 1000,2000,...` one run is also evaluated at those earlier steps (from the
snapshots it keeps), so a learning curve costs one training run; each row's wall time is the
training time up to that step. For a conditional run (the default on the spoken digits) it also
prints, for each requested class, the classifier's verdicts on that class's clips.

Nobody listens to the clips here: the classifier's view is the measurement. Listen to
`RUN/samples/step-*/NN*.wav` (or `ganx sample RUN -n 16`) to judge them by ear.

    python benchmarks/audio_quality.py        # the defaults (SpecGAN, 16 kHz): about 25 minutes
    python benchmarks/audio_quality.py --set sample_rate=8000 --set segment=8192   # about 12
    python benchmarks/audio_quality.py --steps 20000 --device cuda --set width=64 \\
        --set sample_rate=16000 --set segment=16384 --batch-size 64
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cli_runner import (
    add_training_arguments,
    eval_points,
    protocol_line,
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
import sys, numpy as np, ganx
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
    print(f"| {k} | {heard} | {(verdict[mine] == k).mean():.2f} | {sure[mine].mean():.2f} |")
"""


def per_class(run_dir: Path, n: int, env: dict[str, str], results: dict[str, float]) -> list[str]:
    """A conditional run's clips by requested class: the classifier's verdicts (the same clips
    and seed as `ganx evaluate`), the share heard as the requested digit, the confident share,
    and (from `ganx evaluate`) the diversity of the clips heard as that digit against real ones."""
    done = subprocess.run([sys.executable, "-c", PER_CLASS, str(run_dir), str(n)],
                          capture_output=True, text=True, env=env, check=True)
    rows = []
    for k, row in enumerate(done.stdout.splitlines()):
        diversity = results.get(f"digit_diversity_{k}")
        rows.append(f"{row} {'n/a' if diversity is None else f'{diversity:.2f}'} |")
    return ["", "| requested class | classifier's verdicts (class: clips) | heard as requested |"
            " confident | diversity (heard as this digit) |", "|---|---|---|---|---|", *rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_training_arguments(parser, steps=1500, n=500, n_help="generated and real clips scored")
    args = parser.parse_args()
    points = eval_points(parser, args)

    env = dict(os.environ)
    sets = [arg for pair in args.sets for arg in ("--set", pair)]
    data_sets = [arg for pair in args.sets if pair.startswith("digits_")
                 for arg in ("--set", pair)]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run_dir or Path(tmp) / "run"
        prepare_s = prepare_metrics(env, data_sets)
        started = time.perf_counter()
        extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
        extra += snapshot_options(args.steps, points)
        run_ganx("train", "--plugin", "audio", "--steps", str(args.steps), "--seed", str(args.seed),
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
        classes = per_class(run_dir, args.n, env, results) if "conditional = true" in config else []

    def setting(key: str) -> str:
        line = next((ln for ln in config.splitlines() if ln.startswith(f"{key} =")), "")
        return line.partition("=")[2].strip()

    lines = [
        f"audio quality: spoken digits, {args.steps} steps, batch {setting('batch_size')},"
        f" {setting('sample_rate')} Hz x {setting('segment')} samples, width {setting('width')},"
        f" generator {setting('generator')}, discriminator {setting('discriminator')},"
        f" loss {setting('loss')}, seed {args.seed},"
        f" device {args.device}, {platform.machine()}, {os.cpu_count()} CPUs",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for key, label in ROWS:
        if key in results:
            lines.append(f"| {label} (`{key}`) | {results[key]:.4g} |")
    lines += [f"| training wall time | {train_s:.0f} s ({args.steps / train_s:.2f} steps/s) |",
              f"| evaluation wall time | {eval_s:.0f} s |",
              f"| data + classifier preparation (cached after the first run) | {prepare_s:.0f} s |"]
    if curve:
        lines += ["", "| steps | Inception score | confident | not a digit | fd_digits | fd_mel |"
                  " training wall time |", "|---|---|---|---|---|---|---|"]
        for step, seconds, r in [*curve, (args.steps, train_s, results)]:
            lines.append(f"| {step} | {r.get('inception_score', 0):.2f} |"
                         f" {r.get('confident', 0):.3f} | {r.get('not_digit', 0):.3f} |"
                         f" {r.get('fd_digits', 0):.1f} | {r['fd_mel']:.0f} | {seconds:.0f} s |")
    lines += classes
    lines += ["", protocol_line(results)]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
