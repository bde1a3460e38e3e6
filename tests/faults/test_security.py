"""No network at run time, config paths confined to the working directory, no world-writable
files, and a crashed process never leaves its run directory locked."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
import time

import pytest

from ..conftest import run_ganx
from .common import TOY_ARGS, ganx_with_patch

BLOCK_SOCKETS = """
import socket
class NoNetwork(OSError):
    pass
def refuse(*args, **kwargs):
    raise NoNetwork("network access attempted: " + repr(args[:2]))
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
"""


@pytest.mark.parametrize("plugin_args", [
    ["--plugin", "image", "--set", "resolution=16", "--set", "width=8", "--batch-size", "16"],
    TOY_ARGS,
], ids=["image", "toy"])
def test_training_sampling_and_evaluation_work_with_sockets_blocked(tmp_path, plugin_args):
    run = tmp_path / "run"
    env = {"GANX_HOME": str(tmp_path / "home"), "GANX_IMAGE_FEATURES": "random"}
    done = ganx_with_patch(BLOCK_SOCKETS, "train", *plugin_args, "--device", "cpu", "--steps",
                           "4", "--set", "eval_every=-1", "--run-dir", str(run), "--no-progress",
                           env=env)
    assert done.returncode == 0, done.stderr
    for args in (["sample", str(run), "-n", "4", "--out", str(tmp_path / "s")],
                 ["evaluate", str(run), "-n", "32"]):
        done = ganx_with_patch(BLOCK_SOCKETS, *args, env=env)
        assert done.returncode == 0, done.stderr
        assert "network access attempted" not in done.stderr


def test_the_socket_block_itself_works():
    done = subprocess.run([sys.executable, "-c", BLOCK_SOCKETS + "\nimport socket\n"
                           "socket.create_connection(('127.0.0.1', 9))"],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "network access attempted" in done.stderr


@pytest.mark.parametrize("bad", ["../elsewhere", "/tmp/elsewhere", "runs/../../elsewhere"])
def test_a_config_file_cannot_send_the_run_outside_the_working_directory(tmp_path, bad):
    work = tmp_path / "work"
    work.mkdir()
    (work / "run.toml").write_text(f'plugin = "toy"\n[train]\nrun_dir = "{bad}"\n')
    done = run_ganx("train", "--config", "run.toml", "--dry-run", cwd=work)
    assert done.returncode == 2
    assert f"run_dir '{bad}' leaves the working directory" in done.stderr
    ok = work / "ok.toml"
    ok.write_text('plugin = "toy"\n[train]\nrun_dir = "runs/mine"\n')
    done = run_ganx("train", "--config", "ok.toml", "--dry-run", cwd=work)
    assert done.returncode == 0 and f'run_dir = "{work / "runs" / "mine"}"' in done.stdout


def test_no_file_of_a_run_is_world_writable_even_with_umask_0(tmp_path):
    run = tmp_path / "run"
    done = ganx_with_patch("import os\nos.umask(0)\n", "train", *TOY_ARGS, "--steps", "6",
                           "--set", "checkpoint_every=3", "--run-dir", str(run))
    assert done.returncode == 0, done.stderr
    files = [p for p in run.rglob("*") if p.is_file()]
    assert any(p.suffix == ".pt" for p in files) and any(p.suffix == ".png" for p in files)
    for path in files:
        assert not path.stat().st_mode & stat.S_IWOTH, f"{path} is world-writable"


def test_a_killed_run_does_not_leave_its_directory_locked(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "ganx", "train", *TOY_ARGS, "--steps",
                             "100000", "--set", "checkpoint_every=50", "--run-dir", str(run)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "checkpoints" / "step-00000050.pt").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.1)
    busy = run_ganx("train", *TOY_ARGS, "--steps", "60", "--run-dir", str(run), "--resume")
    assert busy.returncode == 2 and "in use by another ganx process" in busy.stderr
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done = run_ganx("train", *TOY_ARGS, "--steps", "60", "--run-dir", str(run), "--resume")
    assert done.returncode == 0, done.stderr
