"""The audio domain's checks of its config: one line per mistake, naming the field and what
would be valid."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganx.core.errors import ConfigError

if TYPE_CHECKING:
    from .domain import AudioConfig

SEGMENT_MULTIPLE = 1024


def check_fields(cfg: AudioConfig) -> None:
    """Ranges of the fields every task uses."""
    if cfg.sample_rate < 1000:
        raise ConfigError(f"sample_rate {cfg.sample_rate}: use 1000 or more (e.g. 16000)")
    if cfg.segment < SEGMENT_MULTIPLE or cfg.segment % SEGMENT_MULTIPLE:
        raise ConfigError(f"segment {cfg.segment}: use a multiple of {SEGMENT_MULTIPLE}"
                          " (e.g. 16384)")
    if cfg.channels < 0:
        raise ConfigError(f"channels {cfg.channels}: use 1 (mono), 2 or more, or 0 (from"
                          " the data)")
    if cfg.width < 1 or cfg.latent_dim < 1 or cfg.phase_shuffle < 0 or cfg.d_width < 0:
        raise ConfigError("width and latent_dim must be at least 1, phase_shuffle and d_width"
                          " 0 or more")
    if cfg.digits_clips < 10:
        raise ConfigError(f"digits_clips {cfg.digits_clips}: use at least 10")


def check_task(cfg: AudioConfig, channels: int) -> None:
    """What the restoration tasks need."""
    if cfg.task == "denoise":
        low, high = cfg.snr_db
        if low > high:
            raise ConfigError(f"snr_db {list(cfg.snr_db)}: give [low, high] in dB")
    if cfg.task == "vocoder":
        if channels != 1:
            raise ConfigError(f"channels {channels}: the vocoder works on mono audio"
                              " (channels=1)")
        if cfg.hop < 4 or cfg.hop & (cfg.hop - 1) or cfg.segment % cfg.hop:
            raise ConfigError(f"hop {cfg.hop}: use a power of two of at least 4 that divides"
                              f" segment ({cfg.segment}), e.g. 256")
        if cfg.n_fft < cfg.hop or cfg.n_fft > cfg.segment or cfg.n_mels < 1:
            raise ConfigError(f"n_fft {cfg.n_fft}: use hop ({cfg.hop}) <= n_fft <="
                              f" segment ({cfg.segment}); n_mels at least 1")


def check_weights(cfg: AudioConfig, changes: dict[str, Any]) -> None:
    """The restoration loss weights (as resolved so far) are 0 or more."""
    for name in ("mel_weight", "stft_weight", "wave_weight"):
        value = changes.get(name, getattr(cfg, name))
        if value < 0:
            raise ConfigError(f"{name} {value}: use 0 or more")


def check_generator(cfg: AudioConfig, channels: int, discriminator: str) -> None:
    """The ddsp and specgan generators: mono, a segment their frames tile; specgan's
    spectrograms are judged by its own discriminator, and only it takes them."""
    if cfg.generator == "wavegan":
        if discriminator == "specgan":
            raise ConfigError("discriminator specgan judges the specgan generator's"
                              " spectrograms; with generator=wavegan use wavegan, hifigan"
                              " or mel")
        return
    if (cfg.generator == "specgan") != (discriminator == "specgan"):
        raise ConfigError(f"discriminator {discriminator} with generator {cfg.generator}:"
                          " the specgan generator and discriminator go together")
    if channels != 1:
        raise ConfigError(f"channels {channels}: the {cfg.generator} generator makes mono"
                          " audio (channels=1)")
    if cfg.generator == "specgan":
        from .specgan import check_segment
    else:
        from .ddsp import check_segment
    try:
        check_segment(cfg.segment, cfg.sample_rate)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def check_class_norm(cfg: AudioConfig, conditional: bool) -> None:
    """Class-conditional batch norm needs the specgan generator and a conditional run."""
    if cfg.class_norm and (cfg.generator != "specgan" or not conditional):
        raise ConfigError(f"class_norm: applies to the specgan generator of a conditional run"
                          f" (generator is {cfg.generator}, conditional is"
                          f" {str(conditional).lower()}); use class_norm=false")


MINIBATCH_STD_GROUP = 4
MODE_SEEKING_WEIGHT = 0.005
"""The specgan defaults against per-class collapse (docs/domains/audio.md, issue 24's
measurements)."""


def collapse_settings(cfg: AudioConfig, discriminator: str) -> dict[str, Any]:
    """`minibatch_std` and `mode_seeking` resolved (unset: on for specgan, off otherwise) and
    checked."""
    specgan = discriminator == "specgan"
    group = cfg.minibatch_std
    if group is None:
        group = MINIBATCH_STD_GROUP if specgan else 0
    weight = cfg.mode_seeking
    if weight is None:
        weight = MODE_SEEKING_WEIGHT if specgan and cfg.task == "generate" else 0.0
    if group < 0 or weight < 0:
        name, value = ("minibatch_std", group) if group < 0 else ("mode_seeking", weight)
        raise ConfigError(f"{name} {value}: use 0 (off) or more")
    if group and not specgan:
        raise ConfigError(f"minibatch_std {group}: only the specgan discriminator has it"
                          f" (discriminator is {discriminator}); use 0")
    return {"minibatch_std": group, "mode_seeking": weight}
