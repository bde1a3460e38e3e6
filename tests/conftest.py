"""Shared fixtures: isolated plugin hosts, fake plugin distributions, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ganx.plugins import engine
from ganx.plugins.host import PluginHost

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def make_dist(tmp_path: Path):
    """Write an installed-looking distribution (dist-info + module) into a folder that can go on
    sys.path or PYTHONPATH. Returns that folder."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)

    def make(dist: str, module: str, source: str, entry_name: str | None = None,
             version: str = "1.0") -> Path:
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[ganx]\n{entry_name or dist} = {module}\n")
        return site

    return make


def run_ganx(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
             timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `python -m ganx ARGS` in a subprocess and capture its output."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "ganx", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)


@pytest.fixture
def host_with():
    """A fresh plugin host with the engine's built-ins and the given in-process plugins."""

    def make(*plugins: tuple[object, str]) -> PluginHost:
        host = PluginHost()
        host.warn = lambda msg: None
        host.register_plugin(engine, "engine")
        for plugin, name in plugins:
            host.register_plugin(plugin, name)
        return host

    return make


SMALL = {"steps": 20, "batch_size": 16, "device": "cpu", "precision": "fp32", "log_every": 5,
         "sample_every": 10, "checkpoint_every": 10, "n_samples": 8, "eval_every": -1}
TOY_SMALL = {"n_points": 512, "hidden": 16, "depth": 2}


@pytest.fixture(autouse=True)
def _plain_cpu(monkeypatch):
    """Every test, and every ganx subprocess it starts, sees a CPU without native bf16 unless
    it says otherwise: `precision=auto` must not make results depend on the test machine's CPU
    (a machine with avx512_bf16 picks bf16)."""
    monkeypatch.setenv("GANX_CPU_BF16", "0")
