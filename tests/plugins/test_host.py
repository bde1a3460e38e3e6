"""The plugin host: discovery through entry points, isolation of broken plugins, env controls."""

from __future__ import annotations

import json
import os

import pytest

from ganx.core.errors import GanxError
from ganx.plugins.host import PluginError, PluginHost

from ..conftest import run_ganx

GOOD = """
import ganx

class Tiny(ganx.Domain):
    name = "tiny"
    description = "a test domain"

    def build_dataset(self, cfg, data):
        import torch
        return torch.randn(64, 2)

    def build_generator(self, cfg):
        import torch
        return torch.nn.Linear(4, 2)

    def build_discriminator(self, cfg):
        import torch
        return torch.nn.Linear(2, 1)

    def write_samples(self, cfg, samples, out_dir, tag, reference=None):
        return []

@ganx.hookimpl
def ganx_register_domains(register):
    register(Tiny())
"""

BROKEN = """
raise RuntimeError("this plugin is broken on purpose")
"""

DUPLICATE = """
import ganx

class AlsoTiny(ganx.Domain):
    name = "tiny"
    description = "registers a taken name"

    def build_dataset(self, cfg, data):
        raise RuntimeError("never called: the name is taken")

    build_generator = build_discriminator = write_samples = build_dataset

@ganx.hookimpl
def ganx_register_domains(register):
    register(AlsoTiny())
"""

MISSPELLED = """
import ganx

@ganx.hookimpl
def ganx_register_domain(register):
    pass
"""


def _host_from(site, monkeypatch, **env) -> tuple[PluginHost, list[str]]:
    monkeypatch.syspath_prepend(str(site))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    warnings: list[str] = []
    host = PluginHost()
    host.warn = warnings.append
    host.load_entry_points()
    return host, warnings


def test_builtins_load_through_entry_points(monkeypatch):
    host, warnings = _host_from("/nonexistent", monkeypatch)
    assert "engine" in host.plugins and host.plugins["engine"].distribution == "ganx"
    assert {"nonsaturating", "hinge", "wasserstein", "lsgan", "minimax"} <= set(host.losses)
    assert warnings == []


def test_broken_plugin_is_reported_and_the_rest_works(make_dist, monkeypatch):
    make_dist("ganx-good", "good_plugin", GOOD)
    site = make_dist("ganx-broken", "broken_plugin", BROKEN)
    host, warnings = _host_from(site, monkeypatch)
    assert "tiny" in host.domains
    assert len(warnings) == 1
    assert "ganx-broken" in warnings[0] and "broken on purpose" in warnings[0]
    assert "\n" not in warnings[0]
    assert host.plugins["ganx-broken"].error


def test_strict_mode_raises(make_dist, monkeypatch):
    site = make_dist("ganx-broken", "broken_plugin", BROKEN)
    with pytest.raises(PluginError, match="ganx-broken"):
        _host_from(site, monkeypatch, GANX_STRICT_PLUGINS="1")


def test_duplicate_domain_name_is_rejected_with_both_plugins_named(make_dist, monkeypatch):
    make_dist("ganx-good", "good_plugin", GOOD)
    site = make_dist("ganx-later", "later_plugin", DUPLICATE)  # loads after ganx-good (by name)
    host, warnings = _host_from(site, monkeypatch)
    assert len(warnings) == 1
    assert "ganx-later" in warnings[0] and "'tiny'" in warnings[0] and "ganx-good" in warnings[0]
    assert host.domain("tiny").description == "a test domain"


def test_misspelled_hook_is_rejected_naming_the_plugin(make_dist, monkeypatch):
    site = make_dist("ganx-typo", "typo_plugin", MISSPELLED)
    _, warnings = _host_from(site, monkeypatch)
    assert "ganx-typo" in warnings[0]
    assert "unknown hook 'ganx_register_domain'" in warnings[0]
    assert "did you mean 'ganx_register_domains'" in warnings[0]


def test_allow_and_deny_lists(make_dist, monkeypatch):
    site = make_dist("ganx-good", "good_plugin", GOOD)
    host, _ = _host_from(site, monkeypatch, GANX_LOAD_PLUGINS="")
    assert "tiny" not in host.domains and "engine" in host.plugins  # built-ins still load
    host, _ = _host_from(site, monkeypatch, GANX_LOAD_PLUGINS="ganx-good")
    assert "tiny" in host.domains
    host, _ = _host_from(site, monkeypatch, GANX_DISABLE_PLUGINS="ganx_good,engine")
    assert "tiny" not in host.domains and "engine" not in host.plugins


def test_unknown_domain_suggests_the_nearest(make_dist, monkeypatch):
    from ganx.core.errors import ConfigError

    site = make_dist("ganx-good", "good_plugin", GOOD)
    host, _ = _host_from(site, monkeypatch)
    with pytest.raises(ConfigError, match="unknown plugin 'tiyn'; did you mean 'tiny'"):
        host.domain("tiyn")


def test_plugins_command_lists_errors_as_json(make_dist):
    make_dist("ganx-good", "good_plugin", GOOD)
    site = make_dist("ganx-broken", "broken_plugin", BROKEN)
    env = {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = run_ganx("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    listed = {p["name"]: p for p in json.loads(result.stdout)}
    assert listed["ganx-good"]["domains"] == ["tiny"]
    assert listed["ganx-good"]["version"] == "1.0"
    assert "broken on purpose" in listed["ganx-broken"]["error"]
    assert listed["engine"]["losses"]
    assert result.stderr.count("\n") == 1  # one warning line for the broken plugin


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["plugins"], ["train", "--help"]])
def test_cli_answers_without_importing_torch(args):
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['ganx', *{args!r}]\n"
        "try:\n"
        "    runpy.run_module('ganx', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = [m for m in ('torch', 'transformers', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


TORCH_AT_LOAD = """
import torch  # at module level: what the docs ask plugin authors not to do
import ganx
"""

MISSPELT_METRIC = """
import ganx

@ganx.hookimpl
def ganx_register_metrics(register):
    register("rows-fid", "json:dumpz")
    register("rows-kid", "no_such_module_anywhere:kid")
    register("rows-ok", "json:dumps")
"""


def test_a_plugin_that_imports_torch_when_it_loads_is_named(make_dist, tmp_path):
    site = make_dist("ganx-heavy", "heavy_plugin", TORCH_AT_LOAD)
    done = run_ganx("plugins", env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    before, block = done.stdout.split("ganx-heavy  (ganx-heavy 1.0)")
    assert "warning: imports torch when it loads (" in block and "load time:" in block
    assert "imports torch" not in before  # no built-in plugin does


def test_lazy_references_are_checked_when_the_plugin_loads(make_dist, monkeypatch):
    site = make_dist("ganx-rows", "rows_plugin", MISSPELT_METRIC)
    host, warnings = _host_from(site, monkeypatch)
    assert warnings == [
        "plugin 'ganx-rows' (ganx-rows 1.0): metric 'rows-fid': 'json:dumpz': module 'json'"
        " defines no 'dumpz'; did you mean 'dump'?",
        "plugin 'ganx-rows' (ganx-rows 1.0): metric 'rows-kid': 'no_such_module_anywhere:kid':"
        " there is no module 'no_such_module_anywhere'",
    ]
    assert host.metrics.get("rows-ok")({"a": 1}) == '{"a": 1}'
    with pytest.raises(GanxError, match=r"metric 'rows-fid' of plugin 'ganx-rows': cannot load"
                                        r" 'json:dumpz' \(AttributeError"):
        host.metrics.get("rows-fid")


def test_debug_shows_a_broken_plugins_traceback(make_dist, tmp_path):
    site = make_dist("ganx-broken", "broken_plugin", BROKEN)
    plain = run_ganx("plugins", env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    assert "broken on purpose" in plain.stderr and "Traceback" not in plain.stderr
    debug = run_ganx("--debug", "plugins", env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    assert debug.returncode == 0
    assert "Traceback" in debug.stderr and "broken_plugin.py" in debug.stderr
