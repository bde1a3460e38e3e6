"""The source-filter (`ddsp`) generator and the log-mel discriminator: the synthesiser puts
harmonics where f0 says and formants where the envelope says, and both networks pass the domain
contract, alone and class-conditional."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest
import torch

from ganx.core.config import apply_settings
from ganx.core.errors import ConfigError
from ganx.plugins import audio as audio_plugin
from ganx.plugins.audio.ddsp import (
    DDSPGenerator,
    SourceFilterSynth,
    frame_hop,
    pulse_train,
)
from ganx.plugins.audio.domain import AudioConfig, AudioDomain
from ganx.plugins.audio.mel_discriminator import MelDiscriminator
from ganx.testing import DomainContract

from .test_audio_domain import TINY

RATE = 8000
SEGMENT = 16384  # 2 s at RATE: the spectra below take 1 s from the middle
DDSP: dict[str, Any] = {**TINY, "generator": "ddsp"}


class TestDDSP(DomainContract):
    domain = AudioDomain()
    plugin = audio_plugin
    settings: ClassVar[dict[str, Any]] = DDSP


class TestConditionalDDSP(DomainContract):
    domain = AudioDomain()
    plugin = audio_plugin
    settings: ClassVar[dict[str, Any]] = {**DDSP, "conditional": True}


def test_pulse_train_is_the_sum_of_the_harmonics():
    phase = torch.linspace(-20, 20, 40001, dtype=torch.float64)
    for k in (1, 7, 40):
        harmonics = torch.full_like(phase, float(k))
        explicit = sum(torch.sin(i * phase) for i in range(1, k + 1))
        assert torch.allclose(pulse_train(phase, harmonics), explicit, atol=1e-3 * k)


def spectrum(wave: torch.Tensor) -> torch.Tensor:
    """Magnitude spectrum of a (T,) clip's middle half (1 Hz bins for T/2 = RATE samples)."""
    middle = wave[len(wave) // 4: len(wave) // 4 + RATE]
    return torch.fft.rfft(middle * torch.hann_window(RATE, dtype=middle.dtype)).abs()


def synthesise(f0_hz: float, envelope: torch.Tensor, noise: float = 0.0) -> torch.Tensor:
    frames = SEGMENT // frame_hop(RATE)
    synth = SourceFilterSynth(RATE, SEGMENT)
    torch.manual_seed(0)
    wave = synth(torch.full((1, 1, frames), f0_hz), torch.full((1, 1, frames), 0.05),
                 envelope.view(1, -1, 1).expand(1, -1, frames).contiguous(),
                 torch.full((1, len(envelope), frames), noise), torch.rand(1, 1 + SEGMENT))
    assert wave.shape == (1, 1, SEGMENT)
    return wave[0, 0]


def test_harmonics_sit_at_multiples_of_f0_and_stop_at_nyquist():
    mags = spectrum(synthesise(230.0, torch.ones(65)))
    peaks = (mags > 0.2 * mags.max()).nonzero().flatten()
    # every strong bin is within 2 Hz of a multiple of 230 Hz, and all 17 harmonics below
    # Nyquist (4 kHz) are there
    nearest = (peaks.double() / 230).round()
    assert ((peaks - nearest * 230).abs() <= 2).all()
    assert set(nearest.long().tolist()) == set(range(1, 18))


@pytest.mark.parametrize("f0", [110.0, 170.0])
def test_the_envelope_is_a_formant_that_stays_put_when_the_pitch_moves(f0):
    bands = torch.linspace(0, RATE / 2, 65)
    envelope = torch.exp(-((bands - 1000.0) / 150.0) ** 2) + 1e-3  # one formant at 1 kHz
    mags = spectrum(synthesise(f0, envelope))
    strongest = mags.argmax().item()
    assert abs(strongest - 1000.0) <= f0 / 2 + 2  # the harmonic nearest 1 kHz
    assert mags[:300].max() < 0.05 * mags.max()  # far from the formant: quiet


def test_noise_fills_the_spectrum_between_the_harmonics():
    quiet = torch.full((65,), 1e-7)
    mags = spectrum(synthesise(200.0, quiet, noise=0.1))
    between = mags[[300, 500, 1100, 2300, 3500]]  # no multiple of 200 Hz
    assert (between > 0.05 * mags.max()).all()


def test_generator_and_discriminator_shapes_labels_and_gradients():
    torch.manual_seed(0)
    g = DDSPGenerator(8, SEGMENT, RATE, 2, num_classes=10)
    d = MelDiscriminator(1, SEGMENT, RATE, 2, num_classes=10)
    z = torch.randn(1, 8).repeat(2, 1)
    labels = torch.tensor([3, 4])
    x = g(z, labels)
    assert x.shape == (2, 1, SEGMENT) and x.abs().max() < 1
    assert not torch.allclose(x[0], x[1])
    logits = d(x, labels)
    assert logits.shape == (2,)
    logits.sum().backward()
    grads = [p.grad for p in g.parameters()]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    with pytest.raises(ValueError, match="pass labels"):
        g(z)
    g.eval()  # sampling: a clip's random source is a function of its latent
    assert torch.equal(g.randomness(z)[0], g.randomness(z[:1])[0])
    assert not torch.equal(g.randomness(z)[0], g.randomness(z + 1)[0])
    # equal up to the batch-size-dependent rounding of the convolutions
    assert torch.allclose(g(z, labels)[0], g(z[:1], labels[:1])[0], atol=2e-3)
    with pytest.raises(ValueError, match="pass labels"):
        d(x)


def test_ddsp_settings_are_checked():
    def resolve(**settings: Any) -> AudioConfig:
        cfg = apply_settings(AudioConfig(), {**DDSP, **settings}, "test")
        return AudioDomain().resolve_config(cfg, "")

    assert resolve().discriminator == "mel"
    assert resolve(discriminator="wavegan").discriminator == "wavegan"
    assert resolve(generator="wavegan").discriminator == "wavegan"
    with pytest.raises(ConfigError, match="segment 3072: the ddsp generator at 8000 Hz needs 512"):
        resolve(segment=3072)
    with pytest.raises(ConfigError, match="channels 2: the ddsp generator makes mono"):
        resolve(channels=2)
    assert math.isclose(resolve(conditional=True).num_classes, 10)
    assert [frame_hop(rate) for rate in (8000, 16000, 22050, 44100)] == [64, 128, 128, 256]
    with pytest.raises(ConfigError, match="at 16000 Hz needs 1024 times a power of two"):
        resolve(sample_rate=16000, segment=3072)
