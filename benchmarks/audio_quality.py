"""Audio quality benchmark: WaveGAN on the synthesised spoken digits with a fixed step budget.

Trains `ganx train --plugin audio` (the domain's default configuration unless --set says
otherwise, one seed) for `--steps` steps on the spoken digits, evaluates the EMA generator with
`ganx evaluate`, and prints the metrics, the share of generated clips the digit classifier assigns
to a digit with confidence above 0.9, the same for real clips (the ceiling), and the wall times.
The spoken digits and the classifier are prepared first and timed apart from training.

Nobody listens to the clips here: the classifier's view is the measurement. Listen to
`RUN/samples/step-*/NN.wav` (or `ganx sample RUN -n 16`) to judge them by ear.

    python benchmarks/audio_quality.py                        # CPU budget: about 10 minutes
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

ROWS = [("inception_score", "Inception score (digits, max 10)"),
        ("inception_score_real", "Inception score of real clips"),
        ("confident", "share of clips classified with p > 0.9"),
        ("confident_real", "same for real clips"),
        ("not_digit", "share classified 'not a digit'"),
        ("fd_digits", "Fréchet distance, classifier features"),
        ("fd_mel", "Fréchet distance, log-mel statistics"),
        ("classifier_accuracy", "classifier held-out accuracy"),
        ("n_fake", "generated clips"), ("n_real", "real clips")]


def ganx(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "ganx", *args], capture_output=True, text=True,
                          env=env)
    if done.returncode != 0:
        sys.exit(f"ganx {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def prepare_metrics(env: dict[str, str], sets: list[str]) -> float:
    """Synthesise the spoken digits and train the digit classifier (both cached); seconds."""
    started = time.perf_counter()
    ganx("data", "prepare", "spoken-digits", *sets, env=env)
    code = "from ganx.plugins.audio.classifier import load_classifier; load_classifier()"
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=0, help="default: the domain's")
    parser.add_argument("--n", type=int, default=500, help="generated and real clips scored")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to ganx train (repeatable)")
    parser.add_argument("--run-dir", type=Path, help="keep the run here (default: temporary)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()

    env = dict(os.environ)
    sets = [arg for pair in args.sets for arg in ("--set", pair)]
    data_sets = [arg for pair in args.sets if pair.startswith("digits_")
                 for arg in ("--set", pair)]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run_dir or Path(tmp) / "run"
        prepare_s = prepare_metrics(env, data_sets)
        started = time.perf_counter()
        extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
        ganx("train", "--plugin", "audio", "--steps", str(args.steps), "--seed", str(args.seed),
             "--device", args.device, "--precision", args.precision, "--run-dir", str(run_dir),
             "--set", "eval_every=-1", *extra, *sets, "--no-progress", env=env)
        train_s = time.perf_counter() - started
        started = time.perf_counter()
        results = json.loads(ganx("evaluate", str(run_dir), "-n", str(args.n),
                                  "--device", args.device, "--json", env=env))
        eval_s = time.perf_counter() - started
        config = (run_dir / "config.toml").read_text()

    def setting(key: str) -> str:
        line = next((ln for ln in config.splitlines() if ln.startswith(f"{key} =")), "")
        return line.partition("=")[2].strip()

    lines = [
        f"audio quality: spoken digits, {args.steps} steps, batch {setting('batch_size')},"
        f" {setting('sample_rate')} Hz x {setting('segment')} samples, width {setting('width')},"
        f" discriminator {setting('discriminator')}, loss {setting('loss')}, seed {args.seed},"
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
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
