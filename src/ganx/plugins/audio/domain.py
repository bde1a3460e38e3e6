"""The `audio` domain: waveform GANs (WaveGAN, HiFi-GAN discriminators) and audio restoration
(denoising, mel-to-waveform vocoding) on folders of recordings or the synthesised spoken digits."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from ganx.core.config import DomainConfig
from ganx.core.domain import Domain
from ganx.core.errors import ConfigError
from ganx.restoration import RestorationTask

RESTORATION = RestorationTask(given="audio",
                              pass_hint="it (ganx sample RUN --input FILE_OR_FOLDER)",
                              restores="recordings", generates="audio")


@dataclass
class AudioConfig(DomainConfig):
    # snapshots from before these settings existed trained WaveGAN, without the anti-collapse
    # settings
    legacy_defaults: ClassVar[dict[str, Any]] = {"generator": "wavegan", "minibatch_std": 0,
                                                 "mode_seeking": 0.0}

    task: Literal["generate", "denoise", "vocoder"] = "generate"
    """generate: audio from noise (WaveGAN). denoise: remove noise added on the fly at snr_db.
    vocoder: turn log-mel spectrograms back into waveforms (HiFi-GAN)."""
    sample_rate: int = 16000
    """Samples per second; recordings are resampled to it."""
    segment: int = 16384
    """Samples per training clip (a multiple of 1024; 16384 is WaveGAN's ~1 s at 16 kHz)."""
    channels: int = 1
    """1 mixes recordings to mono; 2 or more keeps that many channels; 0 takes them from the
    data."""
    normalize: bool = True
    """Scale every recording so its peak is at 95% of full scale."""
    digits_clips: int = 4000
    """spoken-digits: number of clips synthesised (a tenth per digit)."""
    digits_seed: int = 0
    """spoken-digits: seed of the voices, pitches and speeds drawn."""
    conditional: bool | None = None
    """generate: class-conditional networks (label embedding in G, projection in D). Unset: on
    when the data has labels (the spoken digits, or one subfolder per class) and the
    discriminator takes them (not hifigan)."""
    num_classes: int = 0
    """Number of classes; 0 takes it from the data when conditional."""
    label: int = -1
    """Class drawn by `ganx sample` and snapshots of a conditional run; -1 cycles through all."""
    generator: Literal["wavegan", "specgan", "ddsp"] = "specgan"
    """generate: wavegan makes the waveform sample by sample (transposed convolutions); specgan
    makes a log-magnitude spectrogram, turned into a waveform by Griffin-Lim (mono only); ddsp
    makes frame-rate controls (pitch, loudness, spectral envelope, noise) for a harmonic-plus-
    noise synthesiser (mono only)."""
    discriminator: Literal["auto", "wavegan", "hifigan", "mel", "specgan"] = "auto"
    """wavegan: WaveGAN's discriminator with phase shuffle. hifigan: multi-period + multi-scale
    discriminators with feature matching. mel: a 2-D CNN on log-mel spectrograms. specgan: a
    2-D CNN on the specgan generator's spectrograms (required by that generator). auto: the
    generator's own (wavegan, specgan; mel for ddsp) to generate, hifigan to restore."""
    latent_dim: int = 100
    width: int = 8
    """Model size: WaveGAN's d (the paper uses 64), the base channels of the restoration
    generators and of the HiFi-GAN discriminators (32 is HiFi-GAN V1)."""
    d_width: int = 0
    """Discriminator size, as `width` for the discriminator alone; 0: the same as width (twice
    it for specgan, whose discriminator must keep up with a generator that learns fast)."""
    phase_shuffle: int = 2
    class_norm: bool = False
    """specgan generator, conditional runs: batch norms whose scale and shift depend on the
    class (conditional batch norm), so the class steers every stage, not only the input."""
    minibatch_std: int | None = None
    """specgan discriminator: group size of a minibatch standard deviation feature before its
    last layer (it sees how varied a group of clips is; 0: off). Unset: 4 with the specgan
    discriminator, else 0."""
    mode_seeking: float | None = None
    """generate: weight of the mode-seeking term (MSGAN): the inverse distance between generated
    clips asked for the same class, against near copies within a class (0: off). Unset: 0.005
    with the specgan generator, else 0."""
    """WaveGAN: largest random shift of the discriminator's feature maps (0 disables)."""
    snr_db: tuple[float, float] = (0.0, 20.0)
    """denoise: range of the signal-to-noise ratio of the added noise, in dB."""
    noise: Literal["white", "pink", "brown", "mixed"] = "mixed"
    """denoise: colour of the added Gaussian noise; mixed draws one per clip."""
    n_mels: int = 80
    """vocoder: mel bands of the input spectrogram."""
    n_fft: int = 1024
    """vocoder: FFT size of the input spectrogram."""
    hop: int = 256
    """vocoder: samples per spectrogram frame (a power of two; the generator upsamples by it)."""
    mel_weight: float = 45.0
    """Restoration: weight of the L1 distance between log-mel spectrograms (HiFi-GAN uses 45)."""
    stft_weight: float = 2.0
    """Restoration: weight of the multi-resolution STFT loss (spectral convergence + log
    magnitude)."""
    wave_weight: float | None = None
    """Restoration: weight of the L1 distance between waveforms. Unset: 100 to denoise (SEGAN's
    weight; without it short runs lost SI-SDR), 0 for the vocoder."""
    digit_metrics: bool | None = None
    """Score generated clips with the spoken-digit classifier (Inception score, Fréchet distance,
    confident share). Unset: on for the spoken-digits data, off for other data."""


class AudioDomain(Domain):
    name = "audio"
    description = ("audio waveforms from a folder of recordings (default: spoken digits"
                   " synthesised with espeak-ng); denoising and vocoding")
    Config = AudioConfig
    # Sized so a default run finishes in a few minutes on two CPU cores (docs/domains/audio.md
    # says what to raise on a GPU). Least squares GAN loss (HiFi-GAN's); a faster generator than
    # discriminator (TTUR) gave WaveGAN its first structure soonest in short CPU runs; no R1.
    train_defaults: ClassVar[dict[str, Any]] = {
        "loss": "lsgan", "g_lr": 1e-3, "d_lr": 2e-4, "betas": (0.5, 0.9), "r1_gamma": 0.0,
        "feature_matching": 2.0, "batch_size": 16, "steps": 300, "log_every": 10,
        "sample_every": 100, "checkpoint_every": 100, "eval_every": 0, "eval_samples": 256,
        "n_samples": 16, "ema_half_life": 2000,
    }

    def train_defaults_for(self, cfg: AudioConfig) -> dict[str, Any]:
        if cfg.task == "generate" and cfg.generator == "specgan":
            # d_lr: at 2e-4 the discriminator's LSGAN loss sat at chance (0.25) and the digits
            # faded after 500 steps; at 1e-3 (and twice the width) they kept sharpening; with
            # the anti-collapse settings (minibatch_std, mode_seeking) 5e-4 scored best over
            # three seeds. 1,500 steps: recognisable digits on a CPU (docs/domains/audio.md,
            # quality benchmark). Standing statistics for G_ema: its batch norms' statistics
            # from its own weights scored better on every measure over three seeds.
            return {**self.train_defaults, "d_lr": 5e-4, "steps": 1500, "sample_every": 250,
                    "checkpoint_every": 250, "ema_standing_stats": 512}
        return dict(self.train_defaults)

    # -- configuration ---------------------------------------------------------------------------

    def resolve_config(self, cfg: AudioConfig, data: str) -> AudioConfig:
        from . import checks, sources

        checks.check_fields(cfg)
        changes: dict[str, Any] = {}
        peeked = sources.peek_channels(data)  # also: a missing or empty folder fails here
        channels = cfg.channels or peeked
        changes["channels"] = channels
        if cfg.discriminator == "auto":
            changes["discriminator"] = ("hifigan" if cfg.task != "generate" else
                                        "mel" if cfg.generator == "ddsp" else cfg.generator)
        discriminator = changes.get("discriminator", cfg.discriminator)
        changes.update(checks.collapse_settings(cfg, discriminator))
        if cfg.task == "generate":
            checks.check_generator(cfg, channels, discriminator)
        if cfg.conditional is None:
            changes["conditional"] = (cfg.task == "generate" and discriminator != "hifigan"
                                      and sources.peek_classes(data) >= 2)
        if changes.get("conditional", cfg.conditional):
            changes.update(self._resolve_classes(cfg, data, discriminator))
        checks.check_class_norm(cfg, bool(changes.get("conditional", cfg.conditional)))
        if cfg.d_width == 0 and cfg.task == "generate" and cfg.generator == "specgan":
            changes["d_width"] = 2 * cfg.width
        checks.check_task(cfg, channels)
        if cfg.wave_weight is None:
            changes["wave_weight"] = 100.0 if cfg.task == "denoise" else 0.0
        checks.check_weights(cfg, changes)
        if cfg.digit_metrics is None:
            from . import digits

            changes["digit_metrics"] = (data or sources.DEFAULT) == digits.NAME
        return dataclasses.replace(cfg, **changes)

    def _resolve_classes(self, cfg: AudioConfig, data: str, discriminator: str) -> dict[str, Any]:
        from . import sources

        if cfg.task != "generate" or discriminator == "hifigan":
            raise ConfigError("conditional=true applies to task=generate with the wavegan,"
                              " specgan or mel discriminator")
        if cfg.num_classes:
            return {}
        classes = sources.peek_classes(data)
        if classes < 2:
            raise ConfigError(f"conditional training needs labels; {data or 'the data'} has"
                              " none (put recordings in one subfolder per class)")
        return {"num_classes": classes}

    def _resolved(self, cfg: AudioConfig) -> AudioConfig:
        """Builders may be called with an unresolved config (library use): fill in defaults."""
        if (cfg.discriminator == "auto" or cfg.channels == 0 or cfg.wave_weight is None
                or cfg.conditional is None or (cfg.conditional and cfg.num_classes == 0)
                or cfg.minibatch_std is None or cfg.mode_seeking is None):
            return self.resolve_config(cfg, "")
        return cfg

    # -- data ------------------------------------------------------------------------------------

    def build_dataset(self, cfg: AudioConfig, data: str):
        import torch

        from . import sources

        cfg = self._resolved(cfg)
        audio = sources.load(data, sources.Layout.of(cfg), digits_clips=cfg.digits_clips,
                             digits_seed=cfg.digits_seed)
        waves = torch.from_numpy(audio.waves)
        if self._conditional(cfg):
            if audio.labels is None:
                raise ConfigError(f"conditional training needs labels; {data or 'the data'} has"
                                  " none")
            return waves, torch.from_numpy(audio.labels)
        return waves

    def datasets(self) -> list[tuple[str, str, str | None]]:
        from . import digits, sources

        return [(name, text, digits.missing()) for name, text in sources.NAMED.items()]

    def prepare_dataset(self, name: str, cfg: AudioConfig | None = None) -> Path:
        """Make a named dataset ready in the cache (`ganx data prepare`); returns where it is."""
        from . import digits, sources

        if name != digits.NAME:
            from ganx.core.errors import did_you_mean

            raise ConfigError(f"dataset {name!r} is not one the audio domain prepares"
                              f"{did_you_mean(name, sources.NAMED)}")
        cfg = cfg or AudioConfig()
        return digits.prepare(cfg.digits_clips, cfg.digits_seed)

    # -- networks --------------------------------------------------------------------------------

    def build_generator(self, cfg: AudioConfig):
        cfg = self._resolved(cfg)
        if cfg.task == "denoise":
            from .enhancer import DenoiseUNet

            return DenoiseUNet(cfg.channels, cfg.width)
        if cfg.task == "vocoder":
            from .hifigan import MelVocoder

            return MelVocoder(cfg.n_mels, cfg.channels, cfg.hop, cfg.width)
        classes = cfg.num_classes if self._conditional(cfg) else 0
        if cfg.generator == "specgan":
            from .specgan import SpecGANGenerator

            return SpecGANGenerator(cfg.latent_dim, cfg.segment, cfg.sample_rate, cfg.width,
                                    classes, cfg.class_norm)
        if cfg.generator == "ddsp":
            from .ddsp import DDSPGenerator

            return DDSPGenerator(cfg.latent_dim, cfg.segment, cfg.sample_rate, cfg.width,
                                 classes)
        from .wavegan import WaveGANGenerator

        return WaveGANGenerator(cfg.latent_dim, cfg.channels, cfg.segment, cfg.width,
                                classes)

    def build_discriminator(self, cfg: AudioConfig):
        cfg = self._resolved(cfg)
        width = cfg.d_width or cfg.width
        if cfg.discriminator == "hifigan":
            from .hifigan import MultiDiscriminator

            return MultiDiscriminator(cfg.channels, width)
        classes = cfg.num_classes if self._conditional(cfg) else 0
        if cfg.discriminator == "specgan":
            from .specgan import SpecGANDiscriminator

            return SpecGANDiscriminator(cfg.segment, cfg.sample_rate, width, classes,
                                        cfg.minibatch_std or 0)
        if cfg.discriminator == "mel":
            from .mel_discriminator import MelDiscriminator

            return MelDiscriminator(cfg.channels, cfg.segment, cfg.sample_rate, width, classes)
        from .wavegan import WaveGANDiscriminator

        return WaveGANDiscriminator(cfg.channels, cfg.segment, width, cfg.phase_shuffle,
                                    classes)

    @staticmethod
    def _conditional(cfg: AudioConfig) -> bool:
        return cfg.conditional and cfg.task == "generate"

    def sample_labels(self, cfg: AudioConfig, n: int, first: int = 0) -> list[int] | None:
        """The classes of clips `first` to `first + n - 1` of a conditional run (`label`, or
        cycling through the classes so clip i is class i mod num_classes); None for other
        runs."""
        if not self._conditional(cfg):
            return None
        if cfg.label >= cfg.num_classes:
            raise ConfigError(f"label {cfg.label}: this run has classes 0 to"
                              f" {cfg.num_classes - 1}")
        return [cfg.label if cfg.label >= 0 else i % cfg.num_classes
                for i in range(first, first + n)]

    # -- batches, restoration inputs and losses --------------------------------------------------

    def sample_latent(self, cfg: AudioConfig, n: int, *, device, generator):
        if RESTORATION.restoring(cfg):
            return RESTORATION.sample_latent(n, device)  # restoration generators take no noise
        return super().sample_latent(cfg, n, device=device, generator=generator)

    def mel(self, cfg: AudioConfig, wave):
        """The vocoder's log-mel spectrogram of (N, 1, T) waveforms: (N, n_mels, T // hop)."""
        from .spectral import log_mel

        module = log_mel(cfg.sample_rate, cfg.n_fft, cfg.hop, cfg.n_mels, str(wave.device))
        return module(wave[:, 0])

    def prepare_batch(self, cfg: AudioConfig, batch):
        real, cond = super().prepare_batch(cfg, batch)
        if cfg.task == "denoise":
            from .corruptions import add_noise

            return real, (add_noise(real, cfg.snr_db, cfg.noise),)
        if cfg.task == "vocoder":
            return real, (self.mel(cfg, real),)
        return real, cond

    def extra_generator_losses(self, cfg: AudioConfig, real, conditions, fake,
                               generator_net=None):
        if cfg.task == "generate":
            return self._diversity_terms(cfg, conditions, fake)
        from .spectral import log_mel, multi_resolution_stft_loss

        fake = fake.float()
        terms = {}
        if cfg.mel_weight > 0:
            mel = log_mel(cfg.sample_rate, cfg.n_fft, cfg.hop, cfg.n_mels, str(real.device))
            terms["mel"] = cfg.mel_weight * (mel(fake) - mel(real)).abs().mean()
        if cfg.stft_weight > 0:
            terms["stft"] = cfg.stft_weight * multi_resolution_stft_loss(fake, real)
        terms.update(RESTORATION.l1_loss(real, fake, cfg.wave_weight, name="wave_l1"))
        return terms

    def _diversity_terms(self, cfg: AudioConfig, conditions, fake):
        if not cfg.mode_seeking:
            return {}
        from .diversity import mode_seeking_loss

        labels = conditions[0] if self._conditional(cfg) else None
        return {"mode_seeking": cfg.mode_seeking * mode_seeking_loss(fake, labels)}

    # -- sampling, writing, metrics --------------------------------------------------------------

    def generate(self, cfg: AudioConfig, generator_net, n: int, *, device, rng, reference=None,
                 first: int = 0):
        if cfg.task == "generate":
            import torch

            z = self.sample_latent(cfg, n, device=device, generator=rng)
            if self._conditional(cfg):
                labels = self.sample_labels(cfg, n, first)
                out = generator_net(z, torch.tensor(labels, device=device, dtype=torch.long))
            else:
                out = generator_net(z)
            if cfg.generator == "specgan":
                from .specgan import to_waveform

                return to_waveform(out, cfg.segment, cfg.sample_rate)
            return out
        return RESTORATION.generate(cfg, generator_net, n, device=device, reference=reference)

    def write_samples(self, cfg: AudioConfig, samples, out_dir: Path, tag: str,
                      reference=None) -> list[Path]:
        from .writer import write_samples

        if cfg.task == "generate" or reference is None:
            return write_samples(samples, out_dir, tag, cfg.sample_rate,
                                 labels=self.sample_labels(cfg, len(samples)))
        real, (condition,) = reference
        n = len(samples)
        if cfg.task == "denoise":
            return write_samples(samples, out_dir, tag, cfg.sample_rate, inputs=condition[:n],
                                 targets=real[:n])
        return write_samples(samples, out_dir, tag, cfg.sample_rate, targets=real[:n],
                             input_mels=condition[:n].float().cpu())

    def default_metrics(self, cfg: AudioConfig):
        return ["audio-gen"] if cfg.task == "generate" else ["audio-restoration"]

    def model_metrics(self, cfg: AudioConfig, generator_net, reference, device):
        if cfg.task == "generate":
            return {}
        from .restoration_metrics import improvement_metrics

        return improvement_metrics(self, cfg, generator_net, reference, device)

    def restore_files(self, cfg: AudioConfig, generator_net, source: Path, out_dir: Path,
                      device) -> list[Path]:
        from .restore_files import audio_restorer

        return RESTORATION.restore_files(cfg, audio_restorer(self, cfg, generator_net, device),
                                         source, out_dir)
