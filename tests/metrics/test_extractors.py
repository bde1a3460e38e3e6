"""The feature-extractor registry: built-in entries, lazy loading, errors a plugin author sees,
and registration from a plugin hook."""

from __future__ import annotations

import subprocess
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest

import ganx
from ganx.core.errors import ConfigError
from ganx.metrics import (
    FeatureExtractor,
    feature_extractor,
    feature_extractors,
    frechet_distance,
    register_feature_extractor,
)
from ganx.metrics import extractors as registry

BUILT_IN = {"inception", "image-random", "image-classifier", "audio-digits", "sentence-minilm"}


@pytest.fixture(autouse=True)
def private_registry(monkeypatch):
    """Registrations made by a test do not outlive it."""
    monkeypatch.setattr(registry, "_targets", dict(registry._targets))
    monkeypatch.setattr(registry, "_factories", dict(registry._factories))


@dataclass(frozen=True)
class Moments:
    """A toy extractor: the first `order` raw moments of each row."""

    order: int = 2
    name: str = "moments"
    description: str = "raw moments of each row"

    @property
    def digest(self) -> str:
        return f"moments:{self.order}"

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        x = np.asarray(samples, np.float64)
        return np.stack([(x**p).mean(1) for p in range(1, self.order + 1)], axis=1)


def moments(order: int = 2) -> Moments:
    return Moments(order)


def test_built_in_extractors_are_listed():
    assert set(feature_extractors()) >= BUILT_IN
    assert feature_extractors() == sorted(feature_extractors())


def test_an_unknown_name_is_one_line_naming_the_registered_ones():
    with pytest.raises(ganx.ConfigError) as err:
        feature_extractor("incepton")
    message = str(err.value)
    assert "\n" not in message and "unknown feature extractor 'incepton'" in message
    assert all(name in message for name in BUILT_IN)


def test_a_registered_factory_builds_with_its_options():
    register_feature_extractor("moments", moments)
    net = feature_extractor("moments", order=3)
    assert isinstance(net, FeatureExtractor) and net.digest == "moments:3"
    rows = np.arange(12.0).reshape(4, 3)
    assert net(rows).shape == (4, 3)
    # features from the registry feed the distances directly
    assert frechet_distance(net(rows), net(rows)) == pytest.approx(0.0, abs=1e-9)


def test_options_the_factory_does_not_take_are_a_config_error():
    register_feature_extractor("moments", moments)
    with pytest.raises(ConfigError, match=r"options colour do not fit; it takes order$"):
        feature_extractor("moments", colour=3)
    with pytest.raises(ConfigError, match="options channel do not fit; it takes channels"):
        feature_extractor("image-random", channel=1)


def test_registering_twice_is_harmless_but_a_taken_name_is_refused():
    register_feature_extractor("moments", moments)
    register_feature_extractor("moments", moments)  # a hook that runs once per plugin host
    with pytest.raises(ConfigError, match="'moments' is already registered"):
        register_feature_extractor("moments", lambda: Moments(1))
    with pytest.raises(ConfigError, match="'inception' is already registered"):
        register_feature_extractor("inception", "my_plugin.features:inception")
    register_feature_extractor("inception", "ganx.metrics.inception:inception_extractor")


def test_bad_registrations_and_bad_factories():
    with pytest.raises(ConfigError, match="non-empty name"):
        register_feature_extractor(" ", moments)
    with pytest.raises(ConfigError, match=r"callable or a 'package\.module:attribute'"):
        register_feature_extractor("x", "not-a-reference")
    register_feature_extractor("missing", "ganx_no_such_module.features:build")
    with pytest.raises(ConfigError, match="'missing': cannot load"):
        feature_extractor("missing")
    register_feature_extractor("broken", lambda: object())
    with pytest.raises(TypeError, match="lacks name, digest, description or __call__"):
        feature_extractor("broken")


def test_the_random_image_extractor_is_fixed_by_its_seed():
    import torch

    net = feature_extractor("image-random", channels=3)
    images = torch.zeros(2, 3, 16, 16)
    assert net(images).shape == (2, 128) and net.name == "image-random"
    assert net.digest == feature_extractor("image-random", channels=3).digest
    assert net.digest != feature_extractor("image-random", channels=1).digest


def test_a_plugin_registers_an_extractor_from_its_metric_hook():
    """What docs/reference/metrics.md shows a third-party plugin doing."""
    from ganx.plugins.host import PluginHost

    def my_metric(fake, real, cfg):
        net = feature_extractor("moments", order=2)
        return {"fd_moments": frechet_distance(net(fake.numpy()), net(real.numpy()))}

    plugin = types.ModuleType("ganx_moments")

    @ganx.hookimpl
    def ganx_register_metrics(register):
        register_feature_extractor("moments", moments)
        register("moments-fd", my_metric)

    plugin.ganx_register_metrics = ganx_register_metrics
    import torch

    for _ in range(2):  # every plugin host runs the hook again
        host = PluginHost()
        host.register_plugin(plugin, "moments")
        metric = host.metrics.get("moments-fd")
    g = torch.Generator().manual_seed(0)
    near = metric(torch.randn(200, 5, generator=g), torch.randn(200, 5, generator=g), None)
    far = metric(torch.randn(200, 5, generator=g) * 3, torch.randn(200, 5, generator=g), None)
    assert far["fd_moments"] > 10 * near["fd_moments"]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_the_registry_imports_nothing_heavy_until_an_extractor_is_built():
    code = (
        "import sys\n"
        "from ganx.metrics import feature_extractors, register_feature_extractor,"
        " feature_extractor\n"
        "register_feature_extractor('mine', 'my_plugin.features:build')\n"
        "assert 'sentence-minilm' in feature_extractors()\n"
        "heavy = [m for m in ('torch', 'numpy', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "feature_extractor('image-random', channels=1)\n"
        "assert 'torch' in sys.modules\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-2000:]


def test_ganx_and_its_cli_do_not_import_ganx_metrics():
    code = (
        "import sys, runpy\n"
        "import ganx\n"
        "assert 'ganx.metrics' not in sys.modules\n"
        "sys.argv = ['ganx', 'plugins']\n"
        "try:\n"
        "    runpy.run_module('ganx', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "assert 'ganx.metrics' not in sys.modules\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-2000:]
