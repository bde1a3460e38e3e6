"""The third-party metric on docs/reference/metrics.md, run as the plugin it describes: its three
files are taken from the page, loaded through a plugin host, and the metric scores samples."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "reference" / "metrics.md"


def plugin_files() -> dict[str, str]:
    blocks = re.findall(r"```python\n(# (ganx_ecg/\S+\.py)\n.*?)```", PAGE.read_text(), re.S)
    return {path: code for code, path in blocks}


def test_the_page_shows_the_whole_plugin():
    assert set(plugin_files()) == {"ganx_ecg/features.py", "ganx_ecg/metrics.py",
                                   "ganx_ecg/plugin.py"}


@pytest.fixture
def plugin_dir(tmp_path):
    for path, code in plugin_files().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(code)
    (tmp_path / "ganx_ecg" / "__init__.py").write_text("")
    return tmp_path


def test_the_documented_plugin_registers_and_scores(plugin_dir, tmp_path):
    code = textwrap.dedent("""
        import sys
        import ganx_ecg.plugin
        from ganx.plugins.host import PluginHost

        host = PluginHost()
        host.register_plugin(ganx_ecg.plugin, "ecg")
        assert "torch" not in sys.modules and "numpy" not in sys.modules  # loading stays light
        PluginHost().register_plugin(ganx_ecg.plugin, "ecg")  # a second host: no conflict

        import math
        import torch

        t = torch.arange(512) / 512
        g = torch.Generator().manual_seed(0)
        def signals(freq, n=64):
            phase = torch.rand(n, 1, generator=g) * 6.28
            return torch.sin(2 * math.pi * freq * t + phase) + 0.1 * torch.randn(n, 512,
                                                                                  generator=g)
        metric = host.metrics.get("ecg-fd")
        real = signals(20)
        near, far = metric(signals(20), real, None), metric(signals(90), real, None)
        assert near["n_fake"] == 64.0 and far["fd_bands"] > 10 * near["fd_bands"], (near, far)
        from ganx.metrics import feature_extractors
        assert "ecg-bands" in feature_extractors()
        print("ok")
    """)
    env = {**os.environ, "GANX_HOME": str(tmp_path / "home"),
           "PYTHONPATH": os.pathsep.join([str(plugin_dir), *(p for p in sys.path if p)])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]
    assert len(list((tmp_path / "home" / "ecg" / "metrics").glob("ref-ecg-bands-*.npz"))) == 1
