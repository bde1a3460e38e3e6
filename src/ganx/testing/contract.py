"""The checks every domain should pass, as a pytest base class."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ganx.core.config import DomainConfig, apply_settings
from ganx.core.domain import Domain
from ganx.plugins import engine
from ganx.plugins.hookspecs import hookimpl
from ganx.plugins.host import PluginHost

SMALL_RUN = {
    "steps": 2, "batch_size": 4, "device": "cpu", "precision": "fp32", "log_every": 1,
    "sample_every": 1, "checkpoint_every": 1, "n_samples": 4, "eval_every": -1,
}


def domain_plugin(*domains: Domain) -> object:
    """A plugin object that registers `domains`, for `PluginHost.register_plugin`."""

    class DomainPlugin:
        @staticmethod
        @hookimpl
        def ganx_register_domains(register: Any) -> None:
            for domain in domains:
                register(domain)

    return DomainPlugin


def contract_host(domain: Domain, plugin: object | None = None) -> PluginHost:
    """A plugin host holding only the engine's built-ins and `domain` (or `plugin`, a module
    with hookimpls that registers it, with its metrics and losses)."""
    host = PluginHost()
    host.register_plugin(engine, "engine")
    info = host.register_plugin(plugin or domain_plugin(domain), f"contract-{domain.name}")
    if info.error:
        raise AssertionError(f"the plugin did not load: {info.error}")
    return host


class DomainContract:
    """Subclass with `domain = MyDomain()`; optionally `plugin` (the entry-point module, so its
    metrics load too), `settings` (domain fields), `train_settings` (engine fields) and
    `data` (the --data value)."""

    domain: ClassVar[Domain]
    plugin: ClassVar[object | None] = None
    settings: ClassVar[dict[str, Any]] = {}
    train_settings: ClassVar[dict[str, Any]] = {}
    data: ClassVar[str] = ""

    @pytest.fixture
    def config(self) -> DomainConfig:
        cfg = apply_settings(self.domain.Config(), self.settings, "DomainContract.settings")
        resolved = self.domain.resolve_config(cfg, self.data)
        assert isinstance(resolved, type(cfg)), "resolve_config must return the config"
        return resolved

    @pytest.fixture
    def host(self) -> PluginHost:
        return contract_host(self.domain, self.plugin)

    def _train(self, host: PluginHost, run_dir: Path, **extra: Any) -> Any:
        import ganx

        options = {**SMALL_RUN, **self.train_settings, **extra}
        return ganx.train(self.domain.name, settings=self.settings, host=host,
                          run_dir=str(run_dir), data=self.data, **options)

    def test_declaration(self) -> None:
        d = self.domain
        assert isinstance(d, Domain)
        assert d.name and d.name == d.name.lower(), "Domain.name must be a lowercase name"
        assert d.description, "Domain.description should say what the domain generates"
        assert dataclasses.is_dataclass(d.Config) and issubclass(d.Config, DomainConfig)
        d.Config()  # every field needs a default

    def test_dataset(self, config: DomainConfig) -> None:
        import torch

        from ganx.core.data import as_tensors

        data = self.domain.build_dataset(config, self.data)
        tensors = as_tensors(data)
        size = len(tensors[0]) if tensors is not None else len(data)
        assert size >= SMALL_RUN["batch_size"], "the dataset should hold a few samples at least"
        first = tensors[0][:2] if tensors is not None else torch.stack(
            [data[i] if isinstance(data[i], torch.Tensor) else data[i][0] for i in range(2)])
        real, _ = self.domain.prepare_batch(config, (first,))
        assert real.is_floating_point() and real.shape[0] == 2
        assert torch.isfinite(real).all(), "prepared real samples must be finite"

    def _reference(self, config: DomainConfig, n: int) -> Any:
        import torch

        from ganx.core.sampling import reference_set

        data = self.domain.build_dataset(config, self.data)
        return reference_set(self.domain, config, data, n, device=torch.device("cpu"), seed=0,
                             batch_size=n)

    def test_generator_output_fits_discriminator(self, config: DomainConfig) -> None:
        import torch

        from ganx.core.sampling import generate

        G = self.domain.build_generator(config)
        D = self.domain.build_discriminator(config)
        real, cond = reference = self._reference(config, 3)
        fake = generate(self.domain, config, G.eval(), 3, device=torch.device("cpu"), seed=0,
                        batch_size=3, reference=reference)
        assert fake.shape[1:] == real.shape[1:], (
            f"generator output {tuple(fake.shape[1:])} differs from real samples"
            f" {tuple(real.shape[1:])}")
        from ganx.core.losses import split_output

        with torch.no_grad():
            heads = split_output(D(fake, *cond))[0]  # a tensor, a list, or DiscriminatorOutput
        for logits in heads:
            assert logits.shape[0] == 3, (
                "the discriminator must return one logit (or map) per sample")
            assert torch.isfinite(logits).all()

    def test_two_step_training(self, host: PluginHost, tmp_path: Path) -> None:
        import json

        result = self._train(host, tmp_path / "run")
        assert result.step == SMALL_RUN["steps"]
        rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
        train_rows = [r for r in rows if r["kind"] == "train"]
        assert train_rows and all(r["loss_d"] is not None for r in train_rows)

    def test_sample_writing(self, config: DomainConfig, tmp_path: Path) -> None:
        import torch

        from ganx.core.sampling import generate, write_samples

        G = self.domain.build_generator(config).eval()
        reference = self._reference(config, 4)
        samples = generate(self.domain, config, G, 4, device=torch.device("cpu"), seed=0,
                           batch_size=4, reference=reference)
        paths = write_samples(self.domain, config, samples, tmp_path, "contract", reference)
        assert paths, "write_samples should return the files it wrote"
        for path in paths:
            assert Path(path).is_file() and Path(path).stat().st_size > 0

    def test_checkpoint_round_trip(self, host: PluginHost, tmp_path: Path) -> None:
        import torch

        import ganx

        result = self._train(host, tmp_path / "run")
        model = ganx.load(result.run_dir, host=host)
        assert model.step == result.step
        reference = self._reference(model.config, 4)
        a = model.generate(4, seed=1, reference=reference)
        b = ganx.load(result.checkpoint, host=host).generate(4, seed=1, reference=reference)
        assert torch.equal(a, b), "the same snapshot and seed must give the same samples"
