"""The explicit Domain contract: data-fitted state, data-dependent engine defaults, failures that
name the plugin, the domain and the method, and the shim for overrides with older signatures."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import pytest
import torch

import ganx
from ganx.core.checkpoint import load_checkpoint
from ganx.core.config import DomainConfig
from ganx.core.errors import ConfigError, RunError
from ganx.planning import plan_run
from ganx.plugins.host import PluginHost
from ganx.testing import domain_plugin
from ganx_toy import plugin as toy_plugin
from ganx_toy.domain import ToyConfig, ToyDomain

from ..conftest import SMALL, TOY_SMALL, run_ganx


class CentredToy(ToyDomain):
    """Learns the data's centre once and makes the generator produce points around it: the
    generator then needs the fitted state to be rebuilt, and resume/load must hand it back."""

    name = "centred"

    def __init__(self) -> None:
        self.fits = 0

    def fit_state(self, cfg: ToyConfig, data: str) -> dict[str, Any]:
        self.fits += 1
        points = self.build_dataset(cfg, data)
        return {**super().fit_state(cfg, data), "centre": [float(v) for v in points.mean(0)],
                "points": len(points)}

    def train_defaults_for(self, cfg: ToyConfig) -> dict[str, Any]:
        # a data-dependent engine default: more evaluation samples for larger data
        return {**self.train_defaults, "eval_samples": cfg.fitted["points"] // 2}

    def build_generator(self, cfg: ToyConfig) -> torch.nn.Module:
        net = super().build_generator(cfg)
        net.register_buffer("centre", torch.tensor(cfg.fitted["centre"]))
        return net


@pytest.fixture
def centred_host(host_with):
    domain = CentredToy()
    return domain, host_with((toy_plugin, "toy"), (domain_plugin(domain), "ganx-centred"))


def test_fitted_state_is_fitted_once_stored_and_handed_back(centred_host, tmp_path):
    domain, host = centred_host
    run_dir = tmp_path / "run"
    result = ganx.train("centred", host=host, run_dir=str(run_dir), settings=TOY_SMALL,
                        **{**SMALL, "steps": 10})
    assert domain.fits == 1
    config = (run_dir / "config.toml").read_text()
    assert "[fitted.state]" in config and "points = 512" in config
    payload = load_checkpoint(result.checkpoint)
    assert payload["config"]["fitted"]["state"]["points"] == 512
    assert payload["config"]["train"]["eval_samples"] == 256  # the data-dependent default
    ganx.train("centred", host=host, run_dir=str(run_dir), resume=True, settings=TOY_SMALL,
               **{**SMALL, "steps": 20})
    assert domain.fits == 1  # resuming does not fit again
    model = ganx.load(run_dir, host=host)
    assert model.config.fitted["points"] == 512
    assert torch.equal(model.generator.centre, torch.tensor(payload["config"]["fitted"]["state"]
                                                            ["centre"]))


def test_fitted_state_cannot_be_set(centred_host, tmp_path):
    _, host = centred_host
    with pytest.raises(ConfigError, match="--set: 'fitted' is learned from the training data"):
        plan_run("centred", settings={"fitted": "{}"}, host=host)
    config = tmp_path / "run.toml"
    config.write_text('plugin = "centred"\n[domain]\nfitted = {centre = [0, 0]}\n')
    with pytest.raises(ConfigError, match=r"\[domain\]: 'fitted' is learned from the training"):
        plan_run(config_file=config, host=host)


def test_a_fit_state_that_toml_cannot_hold_is_named(host_with):
    class Bad(ToyDomain):
        name = "bad-state"

        def fit_state(self, cfg, data):
            return {"centre": None}

    host = host_with((domain_plugin(Bad()), "ganx-bad"))
    with pytest.raises(RunError, match=r"plugin 'ganx-bad' \(domain 'bad-state'\): fit_state"):
        plan_run("bad-state", host=host)


def test_a_raising_resolve_config_names_the_plugin_domain_and_method(host_with):
    class Raising(ToyDomain):
        name = "raising"

        def resolve_config(self, cfg, data):
            raise KeyError("colour")

    host = host_with((domain_plugin(Raising()), "ganx-raising"))
    with pytest.raises(RunError) as info:
        plan_run("raising", host=host)
    assert str(info.value) == ("plugin 'ganx-raising' (domain 'raising') failed in"
                               " resolve_config: KeyError: 'colour'")


def test_the_cli_shows_a_plugin_failure_in_one_line(make_dist, tmp_path):
    site = make_dist("ganx-oops", "oops_plugin", '''
import ganx
from ganx_toy.domain import ToyDomain

class Oops(ToyDomain):
    name = "oops"

    def resolve_config(self, cfg, data):
        raise ValueError("no such column: 'price'")

@ganx.hookimpl
def ganx_register_domains(register):
    register(Oops())
''')
    done = run_ganx("train", "--plugin", "oops", "--dry-run", cwd=tmp_path,
                    env={"PYTHONPATH": str(site)})
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == ("ganx: error: plugin 'ganx-oops' (domain 'oops') failed in"
                                   " resolve_config: ValueError: no such column: 'price'")


def test_overrides_with_older_signatures_warn_once_and_keep_working(host_with, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        class OldToy(ToyDomain):
            name = "old-toy"

            def generate(self, cfg, generator_net, n, *, device, rng):
                return super().generate(cfg, generator_net, n, device=device, rng=rng)

            def write_samples(self, cfg, samples, out_dir, tag):
                return super().write_samples(cfg, samples, out_dir, tag)

    messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
    assert any("OldToy.generate does not take reference, first" in m for m in messages)
    assert any("OldToy.write_samples does not take reference" in m for m in messages)
    host = host_with((toy_plugin, "toy"), (domain_plugin(OldToy()), "ganx-old"))
    result = ganx.train("old-toy", host=host, run_dir=str(tmp_path / "run"),
                        settings=TOY_SMALL, **SMALL)
    assert (tmp_path / "run" / "samples" / "step-00000020.png").is_file()
    assert result.step == SMALL["steps"]


def test_a_domain_missing_a_required_builder_is_reported_at_load(host_with):
    class Partial(ganx.Domain):
        name = "partial"
        description = "no networks yet"

        def build_dataset(self, cfg, data):
            return torch.zeros(8, 2)

    messages: list[str] = []
    host = PluginHost()
    host.warn = messages.append
    info = host.register_plugin(domain_plugin(Partial()), "ganx-partial")
    assert info.error is None and "partial" in host.domains
    assert [m for m in messages if "build_generator" in m] == [
        "plugin 'ganx-partial' (in-process): domain 'partial' does not implement"
        " build_generator, which training needs"]
    assert any("write_samples" in m for m in messages)


def test_the_domain_config_base_has_no_settable_fields():
    assert [f.name for f in dataclasses.fields(DomainConfig)] == ["fitted"]
    from ganx.core.config import config_fields

    assert config_fields(DomainConfig) == {}
