"""The specgan generator: spectrograms made by a 2-D GAN, waveforms by Griffin-Lim."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest
import torch

from ganx.core.config import apply_settings
from ganx.core.errors import ConfigError
from ganx.plugins import audio as audio_plugin
from ganx.plugins.audio.domain import AudioConfig, AudioDomain
from ganx.plugins.audio.specgan import (
    SpecGANDiscriminator,
    SpecGANGenerator,
    SpectrogramView,
    geometry,
    to_waveform,
)
from ganx.testing import DomainContract

from .test_audio_domain import TINY

RATE = 8000
SEGMENT = 8192
SPECGAN: dict[str, Any] = {**TINY, "generator": "specgan"}


class TestSpecGAN(DomainContract):
    domain = AudioDomain()
    plugin = audio_plugin
    settings: ClassVar[dict[str, Any]] = SPECGAN


class TestConditionalSpecGAN(DomainContract):
    domain = AudioDomain()
    plugin = audio_plugin
    settings: ClassVar[dict[str, Any]] = {**SPECGAN, "conditional": True}


def tone(hz: float, amplitude: float = 0.5) -> torch.Tensor:
    t = torch.arange(SEGMENT) / RATE
    return (amplitude * torch.sin(2 * math.pi * hz * t)).view(1, 1, -1)


def test_geometry_makes_square_pictures_of_about_8_ms_frames():
    assert geometry(8192, 8000) == (256, 64, 128, 128)
    assert geometry(16384, 16000) == (512, 128, 256, 128)


def test_the_view_puts_a_tone_in_its_bin_at_its_level():
    view = SpectrogramView(SEGMENT, RATE)
    spec = view(tone(1000.0))
    assert spec.shape == (1, 1, 128, 128) and spec.min() >= -1 and spec.max() <= 1
    profile = spec[0, 0, :, 10:-10].mean(1)
    assert profile.argmax() == 1000 * 256 // RATE  # bin 32: 1 kHz at 31.25 Hz per bin
    # a half-scale sine is 6 dB below full scale: 1 - 6/40 in the picture's units
    assert profile.max().item() == pytest.approx(1 - 6.02 / 40, abs=0.02)
    assert (view(torch.zeros(1, 1, SEGMENT)) == -1).all()  # silence is the floor


def test_griffin_lim_brings_back_the_sound():
    view = SpectrogramView(SEGMENT, RATE)
    wave = tone(440.0) + tone(1320.0, 0.2)
    back = to_waveform(view(wave), SEGMENT, RATE)
    assert back.shape == wave.shape
    # same spectrum (phase may differ): the pictures agree to a few percent of their range
    assert (view(back) - view(wave))[..., 8:-8].abs().mean() < 0.03
    assert back.pow(2).mean().sqrt().item() == pytest.approx(wave.pow(2).mean().sqrt().item(),
                                                            rel=0.05)
    silent = to_waveform(-torch.ones(1, 1, 128, 128), SEGMENT, RATE)
    assert silent.abs().max() == 0  # -1 everywhere is silence, not a faint hiss
    assert torch.equal(back, to_waveform(view(wave), SEGMENT, RATE))  # deterministic


def test_generator_and_discriminator_shapes_labels_and_gradients():
    torch.manual_seed(0)
    g = SpecGANGenerator(8, SEGMENT, RATE, 2, num_classes=10)
    d = SpecGANDiscriminator(SEGMENT, RATE, 2, num_classes=10)
    z = torch.randn(2, 8)
    labels = torch.tensor([3, 4])
    spec = g(z, labels)
    assert spec.shape == (2, 1, 128, 128) and spec.abs().max() <= 1
    logits = d(spec, labels)
    assert logits.shape == (2,)
    logits.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())
    # a waveform is judged as its spectrogram (in eval mode: spectral norm's power iteration
    # would move the weights between the two calls)
    d.eval()
    wave = tone(300.0).repeat(2, 1, 1)
    assert torch.allclose(d(wave, labels), d(SpectrogramView(SEGMENT, RATE)(wave), labels))
    with pytest.raises(ValueError, match="pass labels"):
        g(z)
    with pytest.raises(ValueError, match="pass labels"):
        d(spec)


def test_specgan_settings_are_checked():
    def resolve(**settings: Any) -> AudioConfig:
        cfg = apply_settings(AudioConfig(), {**SPECGAN, **settings}, "test")
        return AudioDomain().resolve_config(cfg, "")

    assert resolve().discriminator == "specgan"
    assert resolve(conditional=True).num_classes == 10
    with pytest.raises(ConfigError, match="segment 3072: the specgan generator at 8000 Hz needs"
                                          " a multiple of 2048"):
        resolve(segment=3072)
    with pytest.raises(ConfigError, match="channels 2: the specgan generator makes mono"):
        resolve(channels=2)
    with pytest.raises(ConfigError, match="the specgan generator and discriminator go together"):
        resolve(discriminator="mel")
    with pytest.raises(ConfigError, match="discriminator specgan judges the specgan generator"):
        resolve(generator="wavegan", discriminator="specgan")
    with pytest.raises(ConfigError, match="discriminator specgan with generator ddsp"):
        resolve(generator="ddsp", discriminator="specgan")


def test_wgan_gp_says_why_it_cannot_mix_spectrograms_with_clips():
    from ganx.core.losses import gradient_penalty

    d = SpecGANDiscriminator(SEGMENT, RATE, 2)
    with pytest.raises(ConfigError, match=r"gp_weight: .* \(1, 128, 128\) differ in shape from"
                                          r" the data's \(1, 8192\); use r1_gamma"):
        gradient_penalty(d, tone(200.0), torch.zeros(1, 1, 128, 128), ())


def test_snapshots_from_before_the_generator_setting_load_as_wavegan():
    from ganx.core.config import stored_domain_config

    old = stored_domain_config(AudioConfig, {"sample_rate": 8000, "segment": 4096}, "old.pt")
    assert old.generator == "wavegan"
    assert AudioConfig().generator == "specgan"
