"""Run configuration: the engine's TrainConfig, the DomainConfig base, and how values are set.

Values arrive from three places (a TOML file, `--set key=value`, CLI flags); all pass through
`apply_settings`, which checks each key and coerces each value against the dataclass field's type,
so a typo or a wrong type is one clear line that names the key and what would be valid.
No torch here: the CLI resolves and prints a config (`--dry-run`) without importing it.
"""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError, did_you_mean

Precision = Literal["auto", "fp32", "bf16", "fp16"]


@dataclasses.dataclass
class DomainConfig:
    """Base class of every domain's `Config`. Subclass it as a dataclass and add fields with
    defaults; each field is settable from a config file's `[domain]` table and `--set key=value`
    (all but `fitted`)."""

    legacy_defaults: typing.ClassVar[dict[str, Any]] = {}
    """What a snapshot's stored config means by leaving a field out: for a field added, or whose
    default changed, after snapshots were written, the value those runs trained with. Without it
    an older snapshot would be rebuilt with today's default and no longer fit its weights."""

    fitted: dict[str, Any] = dataclasses.field(default_factory=dict, kw_only=True, repr=False,
                                               metadata={"settable": False})
    """What the domain's `fit_state` learned from the training data (read it, do not set it).
    The engine fills it in; users cannot set it, and it is stored apart from the settings."""


@dataclasses.dataclass
class TrainConfig:
    """Everything the engine needs to know about a run. Each field is settable from a config
    file's `[train]` table and from `--set key=value`; documented in docs/reference/config.md."""

    steps: int = 2000
    """Total generator steps of the run; `--resume` continues the same run up to this many."""
    batch_size: int = 64
    """Samples per discriminator and generator step."""
    seed: int = 0
    """Seeds every random generator: the same seed and config give the same run on the CPU."""
    device: str = "auto"
    """auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps."""
    precision: Precision = "auto"
    """auto, fp32, bf16 or fp16; auto picks what is fast and safe on the device and says so."""
    memory_format: Literal["auto", "contiguous", "channels_last"] = "auto"
    """Layout of 4-D image batches and conv weights; auto: channels_last on CPUs and under
    bf16/fp16 on CUDA, contiguous in fp32 on CUDA, on MPS and with `compile` (measured with
    `ganx bench`, see docs/performance.md)."""
    data: str = ""
    """Training data: a path or a named dataset the domain knows; empty for its default."""
    run_dir: str = ""
    """Where the run lives; empty for runs/<plugin>-<timestamp>."""
    init: str = ""
    """Fine-tune: start G, D and G_ema from this run directory or snapshot (same architecture;
    fresh optimizers, step 0). Empty: random initialisation."""
    freeze_d: int = 0
    """FreezeD (Mo et al. 2020): keep the first this many discriminator layers, counted from its
    input, fixed; for fine-tuning (0 trains them all)."""

    loss: str = "nonsaturating"
    """Adversarial loss by registered name: nonsaturating, minimax, hinge, wasserstein, lsgan,
    rpgan (relativistic pairing, R3GAN: pair it with r1_gamma and r2_gamma)."""
    g_lr: float = 2e-4
    """Generator learning rate (Adam)."""
    d_lr: float = 2e-4
    """Discriminator learning rate (Adam); a different value from g_lr gives TTUR."""
    lr_decay_start: float = 1.0
    """From this share of `steps` on, g_lr and d_lr fall linearly toward zero at the last step
    (pix2pix's schedule at 0.5); 1 keeps them constant. `--resume` with more steps stretches
    the fall to the new end."""
    betas: tuple[float, float] = (0.0, 0.99)
    """Adam betas of both optimizers."""
    d_steps: int = 1
    """Discriminator steps per generator step."""
    r1_gamma: float = 1.0
    """Weight of the R1 penalty on real data (0 disables)."""
    r1_interval: int = 16
    """Lazy regularization: apply R1 (and R2) every this many D steps, scaled up to match, with
    StyleGAN2's Adam rescaling of D."""
    r2_gamma: float = 0.0
    """Weight of the R2 penalty on generated data (0 disables); runs with R1 (R3GAN: R1 + R2)."""
    gp_weight: float = 0.0
    """Weight of the WGAN-GP penalty on interpolates (0 disables)."""
    pl_weight: float = 0.0
    """Weight of StyleGAN2's path-length regulariser on G (0 disables; StyleGAN2 used 2 from
    256 px up and none at 32 px): needs a generator with mapping() and synthesis(), such as the
    image domain's arch=stylegan2."""
    pl_interval: int = 4
    """Lazy regularization of G: the path-length penalty every this many G steps, scaled up to
    match, with StyleGAN2's Adam rescaling of G."""
    lecam_weight: float = 0.0
    """Weight of the LeCam regulariser (Tseng et al. 2021), which keeps D's outputs near moving
    averages of its outputs on the other kind of data: for small datasets (0 disables)."""
    lecam_decay: float = 0.99
    """Decay of LeCam's moving averages of D's outputs on real and generated data."""
    feature_matching: float = 0.0
    """Weight of the feature-matching loss for discriminators that return feature maps."""
    pretrain_lr: float = 1e-3
    """Learning rate of the generator's own pretraining phase, for domains that have one."""
    ema_half_life: int = 10_000
    """Half-life of the generator EMA, in training samples (0 disables)."""
    ema_rampup: float = 0.05
    """Early in a run the half-life is at most this share of the samples seen (0 disables)."""
    ema_standing_stats: int = 0
    """Recompute G_ema's batch-norm statistics from this many of its own samples before each
    snapshot, sample grid and evaluation (standing statistics); 0 copies G's statistics. For
    generators that sample from latents alone (not restoration tasks)."""

    log_every: int = 100
    """Read losses back from the device every this many steps (the only per-step host sync)."""
    sample_every: int = 1000
    """Write fixed-noise samples from the EMA generator every this many steps."""
    checkpoint_every: int = 1000
    """Write a snapshot every this many steps (and at the end, and on SIGINT/SIGTERM)."""
    keep_checkpoints: int = 3
    """Snapshots kept in checkpoints/ (the newest)."""
    eval_every: int = 0
    """Evaluate metrics every this many steps; 0 evaluates at the end only; -1 never."""
    eval_samples: int = 2048
    """Generated (and real) samples each metric evaluation uses."""
    n_samples: int = 64
    """Samples in each fixed-noise snapshot."""
    num_workers: int = 0
    """DataLoader workers for datasets that stream from host memory."""
    device_data_limit_mb: int = 2048
    """Datasets up to this size are kept on the device and sampled there."""
    compile: bool = False
    """torch.compile the networks (default mode); if compiling fails, train eagerly and say so."""
    profile_steps: int = 0
    """Profile this many steps (after the first) with the PyTorch Profiler into profile/."""
    max_rollbacks: int = 3
    """Consecutive roll-backs after non-finite losses before the run stops."""
    lr_backoff: float = 0.5
    """Learning-rate factor applied at each roll-back."""


def stored_domain_config(config_cls: type[DomainConfig], stored: Mapping[str, Any],
                         where: str) -> DomainConfig:
    """The domain config a snapshot recorded, with `legacy_defaults` for the fields it lacks."""
    legacy = {k: v for k, v in config_cls.legacy_defaults.items() if k not in stored}
    config: DomainConfig = apply_settings(config_cls(), {**legacy, **stored}, where)
    return config


def _settable(f: dataclasses.Field[Any]) -> bool:
    return f.init and f.metadata.get("settable", True)


def config_fields(cls: type) -> dict[str, Any]:
    """Field name -> resolved type annotation for the settable fields of a config dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if _settable(f)}


def field_docs(cls: type) -> dict[str, str]:
    """Field name -> the docstring written under it in the class body (empty when none)."""
    import ast
    import inspect
    import textwrap

    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, nxt in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is tuple:
        return "a list of " + ", ".join(_type_name(a) for a in typing.get_args(tp))
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert `value` (a TOML value, or a string from the command line) to type `tp`.

    `where` names the setting in the error, e.g. "--set g_lr" or "config.toml [train] g_lr".
    """
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        return coerce(value, options[0], where)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value in choices:
            return value
        raise ConfigError(
            f"{where}: invalid value {value!r}{did_you_mean(str(value), map(str, choices))}"
        )
    if origin is tuple:
        return _coerce_tuple(value, tp, where)
    if tp in _SCALARS:
        return _SCALARS[tp](value, where)
    raise ConfigError(f"{where}: fields of type {tp} cannot be set from a config")


def _coerce_tuple(value: Any, tp: Any, where: str) -> tuple[Any, ...]:
    args: tuple[Any, ...] = typing.get_args(tp)
    items: Any = value
    if isinstance(value, str):
        items = [v for v in value.strip("()[] ").split(",") if v.strip()]
    if not isinstance(items, list | tuple):
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(coerce(v, args[0], where) for v in items)
    if len(items) != len(args):
        raise ConfigError(f"{where}: expected {len(args)} values, got {value!r}")
    return tuple(coerce(v, a, where) for v, a in zip(items, args, strict=True))


def _to_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{where}: expected true or false, got {value!r}")


def _to_int(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value.replace("_", ""))
        except ValueError:
            pass
    raise ConfigError(f"{where}: expected an integer, got {value!r}")


def _to_float(value: Any, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ConfigError(f"{where}: expected a number, got {value!r}")


def _to_str(value: Any, where: str) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"{where}: expected a string, got {value!r}")


_SCALARS: dict[Any, Any] = {bool: _to_bool, int: _to_int, float: _to_float, str: _to_str}


def apply_settings(obj: Any, settings: Mapping[str, Any], where: str) -> Any:
    """A copy of dataclass `obj` with `settings` applied, each key checked and value coerced."""
    fields = config_fields(type(obj))
    changes = {}
    for key, value in settings.items():
        if key not in fields:
            _refuse_unknown(type(obj), key, fields, where)
        changes[key] = coerce(value, fields[key], f"{where} {key}")
    return dataclasses.replace(obj, **changes)


def _refuse_unknown(cls: type, key: str, fields: Mapping[str, Any], where: str) -> None:
    if dataclasses.is_dataclass(cls) and key in {f.name for f in dataclasses.fields(cls)}:
        raise ConfigError(f"{where}: '{key}' is learned from the training data by the domain;"
                          " it cannot be set")
    raise ConfigError(f"{where}: unknown key '{key}'{did_you_mean(key, fields)}")


def parse_set_options(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`["a=1", "domain.b=x"]` -> {"a": "1", "domain.b": "x"}; a pair without '=' is an error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r}: expected key=value, e.g. --set g_lr=1e-4")
        out[key.strip()] = value.strip()
    return out


def split_set_options(
    settings: Mapping[str, str], train_cls: type, domain_cls: type
) -> tuple[dict[str, str], dict[str, str]]:
    """Route each `--set` key to the engine (train) or the domain config.

    A bare key goes where it exists; `train.key` / `domain.key` choose explicitly (needed when a
    domain field shares an engine field's name)."""
    train_fields, domain_fields = config_fields(train_cls), config_fields(domain_cls)
    train: dict[str, str] = {}
    domain: dict[str, str] = {}
    for key, value in settings.items():
        section, dot, name = key.partition(".")
        if dot:
            if section == "train":
                train[name] = value
            elif section == "domain":
                domain[name] = value
            else:
                raise ConfigError(
                    f"--set {key}: unknown section '{section}'; use train. or domain."
                )
        elif key in train_fields and key in domain_fields:
            raise ConfigError(
                f"--set {key}: both the engine and the domain have '{key}';"
                f" write train.{key} or domain.{key}"
            )
        elif key in train_fields:
            train[key] = value
        elif key in domain_fields:
            domain[key] = value
        else:
            everything = {**train_fields, **domain_fields}
            _refuse_unknown(domain_cls, key, everything, "--set")
    return train, domain


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a run config TOML: optional `plugin = "..."`, `[train]` and `[domain]` tables."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory, not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    allowed = {"plugin", "train", "domain", "versions", "fitted"}  # the last two: run records
    for key, value in data.items():
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            raise ConfigError(f"config file {path}: unknown key '{key}'{hint}")
        if key in ("train", "domain") and not isinstance(value, dict):
            raise ConfigError(f"config file {path}: '{key}' must be a table ([{key}])")
    return data


def to_plain(obj: Any) -> dict[str, Any]:
    """A config dataclass's settings as TOML-ready plain values (tuples become lists)."""
    out = {}
    for f in dataclasses.fields(obj):
        if not _settable(f):
            continue
        value = getattr(obj, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def dump_toml(data: Mapping[str, Any]) -> str:
    import tomli_w

    def drop_none(d: Any) -> Any:
        if isinstance(d, Mapping):
            return {k: drop_none(v) for k, v in d.items() if v is not None}
        return d

    return tomli_w.dumps(drop_none(data))
