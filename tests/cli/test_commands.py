"""The command line: exit codes, one-line errors, dry runs, sampling, signals."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ..conftest import run_ganx

SMALL_ARGS = ["--plugin", "toy", "--device", "cpu", "--set", "n_points=512", "--set", "hidden=16",
              "--set", "depth=2", "--batch-size", "16", "--set", "log_every=5",
              "--set", "checkpoint_every=10", "--set", "sample_every=10", "--set", "n_samples=8",
              "--set", "eval_samples=64", "--no-progress"]


def one_line_error(result, code):
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("ganx: error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(("args", "code", "expected"), [
    (["train", "--plugin", "toyy"], 2, "unknown plugin 'toyy'; did you mean 'toy'?"),
    (["train", "--plugin", "toy", "--set", "g_lrr=1"], 2, "did you mean 'g_lr'?"),
    (["train", "--plugin", "toy", "--set", "g_lr=fast"], 2, "--set g_lr: expected a number"),
    (["train", "--plugin", "toy", "--set", "mixture=rnig"], 2, "did you mean 'ring'?"),
    (["train", "--plugin", "toy", "--config", "missing.toml"], 2, "missing.toml does not exist"),
    (["train", "--plugin", "toy", "--device", "tpu", "--steps", "1"], 2, "invalid device 'tpu'"),
    (["train", "--plugin", "toy", "--steps", "0", "--device", "cpu"], 2, "steps must be at least"),
    (["train", "--plugin", "toy", "--data", "mnist", "--steps", "1", "--device", "cpu"], 2,
     "--set mixture=ring"),
    (["sample", "nowhere"], 2, "nowhere does not exist"),
])
def test_bad_input_is_one_line_with_the_right_exit_code(tmp_path, args, code, expected):
    result = run_ganx(*args, cwd=tmp_path)
    assert expected in one_line_error(result, code)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.pt"))


def test_usage_errors_exit_2():
    result = run_ganx("train", "--steps", "many")
    assert result.returncode == 2 and "Invalid value" in result.stderr


def test_dry_run_prints_the_resolved_config(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('plugin = "toy"\n[train]\nsteps = 77\n[domain]\nmixture = "grid"\n')
    result = run_ganx("train", "--config", str(config), "--set", "g_lr=1e-3", "--seed", "5",
                      "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'plugin = "toy"' in result.stdout
    assert "steps = 77" in result.stdout and "g_lr = 0.001" in result.stdout
    assert "seed = 5" in result.stdout and 'mixture = "grid"' in result.stdout
    assert not (tmp_path / "runs").exists()


def test_dry_run_reports_every_invalid_value_and_writes_nothing(tmp_path):
    result = run_ganx("train", "--plugin", "image", "--steps", "0", "--dry-run",
                      "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    assert "steps must be at least 1, got 0" in one_line_error(result, 2)
    result = run_ganx("train", "--plugin", "toy", "--steps", "0", "--set", "g_lr=-1",
                      "--set", "betas=0.5,1.5", "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    line = one_line_error(result, 2)
    assert "3 invalid values" in line and "steps" in line and "g_lr" in line and "betas" in line
    assert not (tmp_path / "run").exists() and not (tmp_path / "runs").exists()


def test_paths_are_recorded_absolute(tmp_path):
    from PIL import Image

    (tmp_path / "points").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "points" / "a.png")
    result = run_ganx("train", "--plugin", "image", "--data", "points", "--run-dir", "here",
                      "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f'run_dir = "{tmp_path / "here"}"' in result.stdout
    assert f'data = "{tmp_path / "points"}"' in result.stdout
    result = run_ganx("train", "--plugin", "image", "--data", "fashion-mnist-mini", "--dry-run",
                      cwd=tmp_path)
    assert 'data = "fashion-mnist-mini"' in result.stdout  # a dataset name stays a name


def test_train_sample_evaluate_through_the_cli(tmp_path):
    run = tmp_path / "run"
    result = run_ganx("train", *SMALL_ARGS, "--steps", "20", "--run-dir", str(run), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "modes_covered" in result.stdout
    assert (run / "samples" / "step-00000020.png").is_file()
    assert (run / "train.log").read_text().count("step 20/20") == 1

    def digest(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    for out in ("a", "b"):
        result = run_ganx("sample", str(run), "-n", "50", "--seed", "7", "--out",
                          str(tmp_path / out))
        assert result.returncode == 0, result.stderr
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    result = run_ganx("sample", str(run), "-n", "50", "--seed", "8", "--out", str(tmp_path / "c"))
    assert digest(tmp_path / "c") != digest(tmp_path / "a")

    result = run_ganx("evaluate", str(run), "-n", "200", "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["modes_total"] == 8 and 0 <= scores["high_quality"] <= 1
    recorded = [json.loads(line) for line in (run / "metrics.jsonl").open()][-1]
    assert recorded["kind"] == "evaluate" and recorded["step"] == 20
    assert recorded["modes_covered"] == scores["modes_covered"]


def test_info_reports_devices_and_precision():
    result = run_ganx("info")
    assert result.returncode == 0, result.stderr
    assert "precision auto -> " in result.stdout and "torch " in result.stdout


def interrupt_training(args: list[str], run_dir, wait_for: str, signum: int) -> tuple[int, str]:
    """Start `ganx train ARGS`, send `signum` once stderr shows `wait_for`; (exit code, rest of
    stderr)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ganx", "train", *args, "--run-dir",
                             str(run_dir)], stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stderr:  # wait until training is under way
        if wait_for in line:
            break
    time.sleep(0.2)
    proc.send_signal(signum)
    rest = proc.stderr.read()
    return proc.wait(timeout=60), rest


def test_sigterm_snapshots_exits_143_and_resume_matches_an_uninterrupted_run(tmp_path):
    args = [*SMALL_ARGS, "--steps", "3000", "--set", "log_every=50",
            "--set", "checkpoint_every=1000", "--set", "eval_every=-1"]
    code, rest = interrupt_training(args, tmp_path / "cut", "step 100/3000", signal.SIGTERM)
    assert code == 143, rest
    assert "interrupted by signal 15; snapshot saved" in rest
    from ganx.core.checkpoint import list_snapshots, load_checkpoint

    (stopped_at, _), *_ = list_snapshots(tmp_path / "cut" / "checkpoints")
    assert 100 <= stopped_at < 3000
    stop = str(stopped_at + 50)
    resumed = run_ganx("train", *args, "--steps", stop, "--run-dir", str(tmp_path / "cut"),
                       "--resume")
    assert resumed.returncode == 0, resumed.stderr
    whole = run_ganx("train", *args, "--steps", stop, "--run-dir", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    a = load_checkpoint(tmp_path / "cut" / "checkpoints" / f"step-{int(stop):08d}.pt")
    b = load_checkpoint(tmp_path / "whole" / "checkpoints" / f"step-{int(stop):08d}.pt")
    for name, tensor in a["G_ema"].items():
        assert tensor.equal(b["G_ema"][name]), name


COMMAND_PLUGIN = """
import click
import ganx

@ganx.hookimpl
def ganx_register_commands(cli):
    @cli.command()
    @click.option("--name", default="world", help="Who to greet.")
    def greet(name):
        '''Say hello from a plugin.'''
        click.echo(f"hello {name}")
"""


def test_a_plugin_adds_a_subcommand(make_dist):
    site = make_dist("ganx-greet", "greet_plugin", COMMAND_PLUGIN)
    env = {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    assert "greet" in run_ganx("--help", env=env).stdout
    result = run_ganx("greet", "--name", "ganx", env=env)
    assert result.returncode == 0 and result.stdout == "hello ganx\n"
    listed = json.loads(run_ganx("plugins", "--json", env=env).stdout)
    assert "ganx_register_commands" in next(p for p in listed if p["name"] == "ganx-greet")["hooks"]


def test_foreign_and_truncated_snapshots_are_one_line_errors(tmp_path):
    import torch

    foreign = tmp_path / "foreign.pt"
    torch.save({"model": torch.zeros(2)}, foreign)
    assert "is not a ganx checkpoint" in one_line_error(run_ganx("sample", str(foreign)), 2)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(b"PK\x03\x04 truncated")
    assert "not a readable checkpoint" in one_line_error(run_ganx("sample", str(truncated)), 2)


def test_progress_bar_and_tensorboard_events(tmp_path):
    run = tmp_path / "run"
    result = run_ganx("train", *SMALL_ARGS[:-1], "--progress", "--steps", "10", "--run-dir",
                      str(run), "--set", "eval_every=-1")
    assert result.returncode == 0, result.stderr
    assert "10/10" in result.stderr and "it/s" not in result.stdout  # tqdm draws on stderr
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))


def test_sigint_snapshots_and_exits_130(tmp_path):
    args = [*SMALL_ARGS, "--steps", "100000", "--set", "log_every=50",
            "--set", "checkpoint_every=100000", "--set", "eval_every=-1"]
    code, rest = interrupt_training(args, tmp_path / "run", "step 50/100000", signal.SIGINT)
    assert code == 130, rest
    assert "interrupted by signal 2; snapshot saved" in rest and "Traceback" not in rest
    from ganx.core.checkpoint import list_snapshots

    steps = [s for s, _ in list_snapshots(tmp_path / "run" / "checkpoints")]
    assert steps[0] >= 50 and steps[-1] == 0
