"""`Domain`: the one class plugin authors subclass.

A domain owns what is specific to its field: data, generator, discriminator, latent prior, sample
writer and metrics. The engine owns everything else (batching, precision, losses, EMA,
checkpoints, logging). This module must not import torch: plugin discovery instantiates domains,
and `ganx --help` / `ganx plugins` must stay fast. Import torch inside the builders (or in a
models module the builders import).

The signatures below are the contract: the engine calls every method with every parameter shown.
Overrides written for older ganx versions that lack a parameter added since (`reference` and
`first` of `generate`, `reference` of `write_samples`, `generator_net` of
`extra_generator_losses`) keep working: the class is adapted when it is defined, with a
DeprecationWarning (see `compat`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from .compat import adapt_old_signatures
from .config import DomainConfig

if TYPE_CHECKING:
    import torch
    from torch import nn
    from torch.utils.data import Dataset

    DatasetLike = torch.Tensor | tuple[torch.Tensor, ...] | Dataset[Any]
    Reference = tuple[torch.Tensor, tuple[torch.Tensor, ...]]

C = TypeVar("C", bound=DomainConfig)

REQUIRED = ("build_dataset", "build_generator", "build_discriminator", "write_samples")
"""The methods every domain implements; the plugin host warns at load time when one is missing."""


@dataclass
class DiscriminatorOutput:
    """What a discriminator may return instead of a bare logits tensor: the logits of each
    sub-discriminator (multi-scale, multi-period, ...; the adversarial loss is summed over them)
    and, for feature matching, its intermediate feature maps (in a fixed order)."""

    logits: list[torch.Tensor]
    features: list[torch.Tensor] = field(default_factory=list)


class Domain(Generic[C]):
    """A family of data and the GAN that models it. Subclass, set the class attributes, and
    implement the methods marked *required*; the rest have working defaults.

    Every method receives `cfg`, an instance of this domain's `Config` with the user's settings
    and, in `cfg.fitted`, what `fit_state` learned from the data. `Domain[MyConfig]` types `cfg`.
    """

    name: ClassVar[str] = ""
    """The `--plugin` value; lowercase letters, digits, '-' and '_'."""
    description: ClassVar[str] = ""
    """One line shown by `ganx plugins`."""
    Config: ClassVar[type[DomainConfig]] = DomainConfig
    """A dataclass subclassing `ganx.DomainConfig`; its fields are the domain's settings."""
    train_defaults: ClassVar[Mapping[str, Any]] = {}
    """Engine settings this domain's practitioners would choose (e.g. Adam betas), applied
    before the user's config file, `--set` and flags."""
    fitted_version: ClassVar[int] = 1
    """The version of what `fit_state` returns; raise it when that changes shape, and teach
    `upgrade_fitted` to read the older one."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        adapt_old_signatures(cls)

    # -- required -------------------------------------------------------------------------------

    def build_dataset(self, cfg: C, data: str) -> DatasetLike:
        """*Required.* The training data. `data` is the user's `--data` (a path or a dataset name
        the domain knows; empty for the default).

        Return a tensor (N, ...) or a tuple of tensors sharing N (the first is the real sample,
        the rest are conditions such as labels), which the engine keeps on the device when it fits
        `device_data_limit_mb`; or a `torch.utils.data.Dataset` whose items are a tensor or a
        tuple of tensors, which streams through a DataLoader. Store images as uint8 and audio as
        int16 where possible: they take a quarter of the memory and `prepare_batch` converts
        them on the device. Raise `ganx.ConfigError` for data the user named wrongly and
        `ganx.RunError` for data that is missing. A dataset smaller than the batch is fine: each
        batch then holds every sample more than once (with a warning).
        """
        raise NotImplementedError(f"{type(self).__name__}.build_dataset")

    def build_generator(self, cfg: C) -> nn.Module:
        """*Required.* The generator network, called as `G(z, *conditions)`."""
        raise NotImplementedError(f"{type(self).__name__}.build_generator")

    def build_discriminator(self, cfg: C) -> nn.Module:
        """*Required.* The discriminator, called as `D(x, *conditions)`; returns logits, one per
        sample (shape (N,) or (N, 1)), or a map of patch logits (N, ...); or a list of such
        tensors, one per sub-discriminator (the adversarial loss is summed over them); or a
        `DiscriminatorOutput` that also carries feature maps for feature matching (engine
        setting `feature_matching`)."""
        raise NotImplementedError(f"{type(self).__name__}.build_discriminator")

    def write_samples(self, cfg: C, samples: torch.Tensor, out_dir: Path, tag: str,
                      reference: Reference | None = None) -> list[Path]:
        """*Required.* Write generated `samples` (on the CPU, float32) into `out_dir` as files
        named after `tag` (e.g. "step-001000") and return their paths. For snapshots the engine
        passes `reference`: the real samples and conditions the samples were made from (as for
        `generate`), to show inputs and targets beside outputs; None otherwise."""
        raise NotImplementedError(f"{type(self).__name__}.write_samples")

    # -- the run's settings and what is learned from the data -----------------------------------

    def resolve_config(self, cfg: C, data: str) -> C:
        """Fill in settings that depend on the data (e.g. channels or classes left at 0 for
        "from the data") and check settings against each other. Return a config, not None.
        Runs once per fresh run, without torch; keep it cheap (peek, do not load)."""
        return cfg

    def fit_state(self, cfg: C, data: str) -> Mapping[str, Any]:
        """What the domain learns from the training data once, on a fresh run: category lists,
        normalisation statistics, a tokenizer (as text). Runs after `resolve_config`; the result
        is saved in the run (config.toml's [fitted] table) and in every snapshot, and handed back
        as `cfg.fitted` on resume, sampling and evaluation, without the data. Users cannot set it.
        Values must be TOML-friendly: strings, numbers, booleans, lists and tables (no None).
        Default: nothing to fit."""
        return {}

    def upgrade_fitted(self, state: Mapping[str, Any], version: int) -> Mapping[str, Any]:
        """Read a run's fitted state written at an older `fitted_version`. Default: refuse."""
        from .errors import CheckpointError

        raise CheckpointError(
            f"domain '{self.name}': this run's fitted state is version {version}, the domain now"
            f" reads version {self.fitted_version} and cannot upgrade it")

    def train_defaults_for(self, cfg: C) -> Mapping[str, Any]:
        """Engine defaults for this (resolved, fitted) domain config, e.g. per architecture or
        per dataset size, applied before the user's config file, `--set` and flags. Runs after
        `resolve_config` and `fit_state`, so it may depend on the data. Default:
        `train_defaults`."""
        return self.train_defaults

    # -- data ------------------------------------------------------------------------------------

    def datasets(self) -> list[tuple[str, str, str | None]]:
        """Named datasets this domain knows, for `ganx data list`: (name, description, None
        when usable on this machine or else what to install)."""
        return []

    def prepare_dataset(self, name: str, cfg: C) -> Path | str:
        """Make the named dataset ready now rather than on first use (`ganx data prepare NAME`),
        and return where it is. Default: this domain prepares nothing ahead."""
        from .errors import ConfigError

        raise ConfigError(f"domain '{self.name}' does not prepare datasets ahead of training")

    def heldout_dataset(self, cfg: C, data: str) -> DatasetLike | None:
        """The held-out (test) split of `data`, shaped as `build_dataset` returns it, for
        `ganx evaluate --reference test`; None when the data has none (the default)."""
        return None

    def prepare_batch(
        self, cfg: C, batch: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Turn a stored batch (already on the device) into `(real, conditions)`: convert dtypes,
        augment, corrupt inputs for restoration. Draw random numbers from torch's global
        generator (the engine seeds it and saves it in every snapshot). Default: uint8 becomes
        float in [-1, 1], int16 becomes float in [-1, 1), float passes through; the remaining
        tensors are conditions."""
        import torch

        real = batch[0]
        if real.dtype == torch.uint8:
            real = real.float().div_(127.5).sub_(1.0)
        elif real.dtype == torch.int16:
            real = real.float().div_(32768.0)
        elif not real.is_floating_point():
            real = real.float()
        return real, tuple(batch[1:])

    # -- sampling ----------------------------------------------------------------------------------

    def sample_latent(
        self, cfg: C, n: int, *, device: torch.device, generator: torch.Generator
    ) -> torch.Tensor:
        """The latent prior: `n` draws on `device` using `generator` (and no other randomness).
        Default: a standard normal of shape (n, cfg.latent_dim)."""
        import torch

        dim = getattr(cfg, "latent_dim", None)
        if not isinstance(dim, int):
            raise NotImplementedError(
                f"{type(self).__name__}: give Config a latent_dim field or override sample_latent"
            )
        return torch.randn(n, dim, device=device, generator=generator)

    def generate(
        self, cfg: C, generator_net: nn.Module, n: int, *, device: torch.device,
        rng: torch.Generator, reference: Reference | None = None, first: int = 0,
    ) -> torch.Tensor:
        """Draw `n` samples from a trained generator (used for snapshots, `ganx sample` and
        metrics). Default: `generator_net(sample_latent(...))`.

        For snapshots and metrics the engine also passes `reference`: `n` real samples and their
        conditions, prepared by `prepare_batch`, on `device`. Restoration domains restore those
        inputs, so output i lines up with real sample i; other domains may ignore it.
        The engine draws a large request in chunks of a batch; `first` is the index of this
        chunk's first sample in the whole request, so per-sample choices (e.g. cycling through
        class labels: sample i gets class i mod C) continue across chunks."""
        z = self.sample_latent(cfg, n, device=device, generator=rng)
        return generator_net(z)  # type: ignore[no-any-return]

    def restore_files(self, cfg: C, generator_net: nn.Module, source: Path, out_dir: Path,
                      device: torch.device) -> list[Path]:
        """Restoration domains: restore the user's own files (a file or a folder) with a
        trained generator into `out_dir`, and return the paths written (`ganx sample --input`).
        Default: this domain has no restoration."""
        from .errors import ConfigError

        raise ConfigError(f"domain '{self.name}' does not restore files (--input)")

    # -- training ----------------------------------------------------------------------------------

    def extra_generator_losses(
        self, cfg: C, real: torch.Tensor, conditions: tuple[torch.Tensor, ...],
        fake: torch.Tensor, generator_net: nn.Module | None = None,
    ) -> Mapping[str, torch.Tensor]:
        """Extra, already weighted, generator loss terms (e.g. reconstruction L1 for restoration,
        mel-L1 for vocoders, a likelihood term through the generator), by name. They are added
        to the adversarial loss and logged. `generator_net` is the generator being trained."""
        return {}

    def generator_adversarial_loss(
        self, cfg: C, generator_net: nn.Module, fake: torch.Tensor, d_fake: Any,
        g_loss: Callable[[Any], torch.Tensor],
    ) -> torch.Tensor:
        """The generator's adversarial loss. `d_fake` is the discriminator's output on `fake`
        (as returned by D) and `g_loss(d_fake)` computes the configured loss over it. Override
        for estimators that do not backpropagate through D, e.g. REINFORCE over sampled tokens
        (the generator may keep its samples' log-probabilities for this). Default: `g_loss`."""
        return g_loss(d_fake)

    def on_train_step(self, cfg: C, step: int, total_steps: int,
                      generator_net: nn.Module) -> None:
        """Called before every training step (pretraining included) with the 0-based index of the
        step about to run: the place for schedules such as a Gumbel-softmax temperature. Depend
        on `step` only, so that a resumed run continues exactly. Default: nothing."""

    def pretrain_steps(self, cfg: C) -> int:
        """Length of a generator-only pretraining phase at the start of the run (e.g. maximum
        likelihood for text). The engine trains G alone on `pretrain_loss` with its own Adam
        optimizer (engine setting `pretrain_lr`); the run's `steps` include these. Default: 0."""
        return 0

    def pretrain_loss(
        self, cfg: C, generator_net: nn.Module, real: torch.Tensor,
        conditions: tuple[torch.Tensor, ...],
    ) -> Mapping[str, torch.Tensor]:
        """Already weighted loss terms of one pretraining step, by name (summed and logged).
        *Required* when `pretrain_steps` is above 0."""
        raise NotImplementedError(f"{type(self).__name__}.pretrain_loss")

    # -- evaluation --------------------------------------------------------------------------------

    def default_metrics(self, cfg: C) -> Sequence[str]:
        """Names of registered metrics evaluated for this domain by default (at the training
        loop's eval points and by `ganx evaluate`)."""
        return ()

    def evaluation_metrics(self, cfg: C) -> Sequence[str]:
        """Names of registered metrics that `ganx evaluate` adds to `default_metrics`: ones too
        slow for every eval point (the image domain's memorisation report). Default: none."""
        return ()

    def model_metrics(
        self, cfg: C, generator_net: nn.Module, reference: Reference, device: torch.device,
    ) -> Mapping[str, float]:
        """Metrics that need the generator itself rather than its samples (e.g. held-out
        perplexity), evaluated with the registered metrics; `reference` holds real samples and
        conditions prepared by `prepare_batch`, on the CPU. Default: none."""
        return {}


def missing_required(domain: Domain[Any]) -> list[str]:
    """The required methods `domain`'s class does not implement."""
    cls = type(domain)
    missing = [m for m in REQUIRED if getattr(cls, m) is getattr(Domain, m)]
    if cls.pretrain_steps is not Domain.pretrain_steps and \
            cls.pretrain_loss is Domain.pretrain_loss:
        missing.append("pretrain_loss (pretrain_steps is overridden)")
    return missing


_PLUGINS: weakref.WeakKeyDictionary[Domain[Any], str] = weakref.WeakKeyDictionary()


def set_plugin(domain: Domain[Any], plugin: str) -> None:
    """Record which plugin registered `domain` (the plugin host does, at load time)."""
    _PLUGINS[domain] = plugin


def describe(domain: Domain[Any]) -> str:
    """How messages name a domain: "plugin 'P' (domain 'D')", or "domain 'D'" when it was not
    registered through a plugin host."""
    plugin = _PLUGINS.get(domain)
    return f"plugin '{plugin}' (domain '{domain.name}')" if plugin else f"domain '{domain.name}'"
