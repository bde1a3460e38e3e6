"""The audio domain passes the contract for every task and discriminator, trains, samples and
evaluates through the CLI, and restores a user's recordings."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np
import pytest
import soundfile as sf
import torch

from ganx.core.config import apply_settings
from ganx.core.errors import ConfigError
from ganx.plugins import audio as audio_plugin
from ganx.plugins.audio.domain import AudioConfig, AudioDomain
from ganx.testing import DomainContract

from ...conftest import run_ganx

TINY: dict[str, Any] = {"digits_clips": 20, "sample_rate": 8000, "segment": 4096, "width": 2,
                        "latent_dim": 8, "generator": "wavegan", "conditional": False}


@pytest.fixture(scope="module")
def audio_home(tmp_path_factory):
    """One cache for the module: the tiny spoken-digit set is synthesised once."""
    return tmp_path_factory.mktemp("ganx-home")


@pytest.fixture(autouse=True)
def private_cache(audio_home, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(audio_home))


def config(**settings: Any) -> AudioConfig:
    cfg = apply_settings(AudioConfig(), {**TINY, **settings}, "test")
    return AudioDomain().resolve_config(cfg, "")


class MultiHeadContract(DomainContract):
    """The contract, with the discriminator check reading a `DiscriminatorOutput` (the kit's own
    check expects a single logits tensor)."""

    def test_generator_output_fits_discriminator(self, config) -> None:
        from ganx.core.losses import split_output
        from ganx.core.sampling import generate

        G = self.domain.build_generator(config)
        D = self.domain.build_discriminator(config)
        real, cond = reference = self._reference(config, 3)
        fake = generate(self.domain, config, G.eval(), 3, device=torch.device("cpu"), seed=0,
                        batch_size=3, reference=reference)
        assert fake.shape == real.shape
        with torch.no_grad():
            logits, features = split_output(D(fake, *cond))
        assert len(logits) == 8 and features
        assert all(t.shape[0] == 3 and torch.isfinite(t).all() for t in logits)


class TestWaveGAN(DomainContract):
    domain = AudioDomain()
    plugin = audio_plugin
    settings: ClassVar[dict[str, Any]] = TINY


class TestConditionalWaveGAN(DomainContract):
    domain = AudioDomain()
    plugin = audio_plugin
    settings: ClassVar[dict[str, Any]] = {**TINY, "conditional": True}


class TestHiFiGANDiscriminators(MultiHeadContract):
    domain = AudioDomain()
    plugin = audio_plugin
    settings: ClassVar[dict[str, Any]] = {**TINY, "discriminator": "hifigan"}
    train_settings: ClassVar[dict[str, Any]] = {"feature_matching": 2.0}


@pytest.mark.parametrize("task", ["denoise", "vocoder"])
class TestRestoration(MultiHeadContract):
    domain = AudioDomain()
    plugin = audio_plugin

    @pytest.fixture(autouse=True)
    def _task(self, task, monkeypatch):
        monkeypatch.setattr(type(self), "settings", {**TINY, "task": task})


# -- networks -------------------------------------------------------------------------------------

def test_phase_shuffle_shifts_by_at_most_n_and_is_off_in_eval():
    from ganx.plugins.audio.wavegan import PhaseShuffle

    shuffle = PhaseShuffle(2)
    x = torch.arange(20.0).view(1, 1, 20).repeat(64, 3, 1)
    torch.manual_seed(0)
    y = shuffle(x)
    shifts = (y[:, 0, 10] - x[:, 0, 10]).long()
    assert set(shifts.tolist()) == {-2, -1, 0, 1, 2}
    assert torch.equal(y[:, 0], y[:, 2])  # the same shift for every channel of a sample
    assert torch.equal(shuffle.eval()(x), x)


def test_wavegan_lengths_and_bad_segments():
    from ganx.plugins.audio.wavegan import WaveGANDiscriminator, WaveGANGenerator

    for segment in (1024, 16384):
        g = WaveGANGenerator(8, 2, segment, 2)
        x = g(torch.randn(3, 8))
        assert x.shape == (3, 2, segment) and x.abs().max() <= 1
        assert WaveGANDiscriminator(2, segment, 2, 2)(x).shape == (3,)
    with pytest.raises(ConfigError):
        AudioDomain().resolve_config(apply_settings(AudioConfig(), {"segment": 5000}, "t"), "")



def test_conditional_wavegan_uses_the_labels():
    from ganx.plugins.audio.wavegan import WaveGANDiscriminator, WaveGANGenerator

    torch.manual_seed(0)
    g, d = WaveGANGenerator(8, 1, 1024, 2, 10), WaveGANDiscriminator(1, 1024, 2, 0, 10)
    z = torch.randn(1, 8).repeat(2, 1)
    x = g(z, torch.tensor([3, 4]))
    assert x.shape == (2, 1, 1024) and not torch.equal(x[0], x[1])
    same = x[:1].repeat(2, 1, 1)
    logits = d(same, torch.tensor([3, 4]))
    assert logits.shape == (2,) and logits[0] != logits[1]
    with pytest.raises(ValueError, match="pass labels"):
        g(z)


def test_conditional_settings_are_checked(tmp_path):
    assert config(conditional=True).num_classes == 10  # the spoken digits
    with pytest.raises(ConfigError, match="task=generate"):
        config(conditional=True, task="denoise")
    with pytest.raises(ConfigError, match="wavegan, specgan or mel discriminator"):
        config(conditional=True, discriminator="hifigan")
    flat = tmp_path / "flat"
    flat.mkdir()
    sf.write(flat / "a.wav", np.zeros(800) + 0.1, 8000)
    cfg = apply_settings(AudioConfig(), {**TINY, "conditional": True}, "test")
    with pytest.raises(ConfigError, match="conditional training needs labels"):
        AudioDomain().resolve_config(cfg, str(flat))
    for word in ("yes", "no"):
        (tmp_path / "words" / word).mkdir(parents=True)
        sf.write(tmp_path / "words" / word / "a.wav", np.zeros(800) + 0.1, 8000)
    assert AudioDomain().resolve_config(cfg, str(tmp_path / "words")).num_classes == 2


def test_hifigan_discriminator_returns_eight_heads_with_features():
    from ganx.core.domain import DiscriminatorOutput
    from ganx.plugins.audio.hifigan import MultiDiscriminator

    out = MultiDiscriminator(1, 2)(torch.randn(2, 1, 4096))
    assert isinstance(out, DiscriminatorOutput)
    assert len(out.logits) == 8 and all(t.shape[0] == 2 for t in out.logits)
    assert len(out.features) == 5 * 6 + 3 * 8


def test_vocoder_maps_mel_frames_to_samples():
    domain = AudioDomain()
    cfg = config(task="vocoder", hop=128, n_fft=512)
    wave = torch.rand(2, 1, 4096) - 0.5
    mel = domain.mel(cfg, wave)
    assert mel.shape == (2, 80, 4096 // 128)
    assert domain.build_generator(cfg)(torch.empty(2, 0), mel).shape == (2, 1, 4096)
    for hop, n_fft in ((100, 1024), (256, 128)):
        with pytest.raises(ConfigError):
            config(task="vocoder", hop=hop, n_fft=n_fft)


def test_noise_is_added_at_the_requested_snr():
    from ganx.plugins.audio.corruptions import add_noise

    torch.manual_seed(0)
    clean = torch.sin(torch.linspace(0, 900, 8192)).view(1, 1, -1).repeat(32, 1, 1) * 0.5
    for color in ("white", "pink", "brown", "mixed"):
        noisy = add_noise(clean, (5.0, 15.0), color)
        snr = 10 * torch.log10(clean.square().mean((1, 2)) / (noisy - clean).square().mean((1, 2)))
        assert snr.min() > 4.9 and snr.max() < 15.1 and snr.std() > 1.0
    pink = add_noise(clean, (0.0, 0.0), "pink") - clean
    spectrum = torch.fft.rfft(pink).abs().square().mean((0, 1))
    assert spectrum[1:100].mean() > 10 * spectrum[-1000:].mean()  # 1/f: low frequencies dominate


def test_restoration_losses_are_logged_and_weighted():
    domain = AudioDomain()
    cfg = config(task="denoise", wave_weight=1.0)
    real = torch.rand(2, 1, 4096) - 0.5
    terms = domain.extra_generator_losses(cfg, real, (), real.clone())
    assert set(terms) == {"mel", "stft", "wave_l1"}
    assert all(float(v) < 1e-4 for v in terms.values())
    worse = domain.extra_generator_losses(cfg, real, (), real * 0.5)
    assert all(float(worse[k]) > float(terms[k]) for k in terms)
    assert domain.extra_generator_losses(config(), real, (), real) == {}
    assert config(task="denoise").wave_weight == 100 and config(task="vocoder").wave_weight == 0


# -- end to end -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_train_sample_and_evaluate_through_the_cli(tmp_path, audio_home):
    run, home = tmp_path / "run", {"GANX_HOME": str(audio_home), "OMP_NUM_THREADS": "1"}
    sets = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
    result = run_ganx("train", "--plugin", "audio", "--steps", "4", "--batch-size", "4",
                      "--device", "cpu", "--run-dir", str(run), *sets, "--set", "sample_every=2",
                      "--set", "n_samples=4", "--set", "eval_samples=8", "--set",
                      "digit_metrics=false", "--no-progress", env=home)
    assert result.returncode == 0, result.stderr
    assert "fd_mel" in result.stdout
    clips = sorted((run / "samples" / "step-00000004").glob("*.wav"))
    assert len(clips) == 4
    info = sf.info(str(clips[0]))
    assert (info.samplerate, info.channels, info.frames) == (8000, 1, 4096)
    assert (run / "samples" / "step-00000004.png").stat().st_size > 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    assert any(r["kind"] == "eval" and r["n_fake"] == 8 for r in rows)
    evaluated = run_ganx("evaluate", str(run), "-n", "6", env=home)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "fd_mel:" in evaluated.stdout and "n_fake: 6" in evaluated.stdout
    sampled = run_ganx("sample", str(run), "-n", "3", "--out", str(tmp_path / "out"), env=home)
    assert sampled.returncode == 0, sampled.stderr
    assert len(list((tmp_path / "out").rglob("*.wav"))) == 3


@pytest.mark.slow
def test_conditional_run_writes_per_class_clips_and_samples_one_digit(tmp_path, audio_home):
    import ganx

    run, home = tmp_path / "run", {"GANX_HOME": str(audio_home), "OMP_NUM_THREADS": "1"}
    sets = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
    result = run_ganx("train", "--plugin", "audio", "--steps", "2", "--batch-size", "4",
                      "--device", "cpu", "--run-dir", str(run), *sets, "--set",
                      "conditional=true", "--set", "n_samples=12", "--set", "eval_every=-1",
                      "--no-progress", env=home)
    assert result.returncode == 0, result.stderr
    assert "num_classes = 10" in (run / "config.toml").read_text()
    clips = sorted(p.name for p in (run / "samples" / "step-00000002").glob("*.wav"))
    assert clips[:3] == ["00-class0.wav", "01-class1.wav", "02-class2.wav"]
    assert len(clips) == 12 and "11-class1.wav" in clips
    model, cycled = ganx.load(run, settings={"label": 3}), ganx.load(run)
    same, reference = model.generate(12, seed=5), cycled.generate(12, seed=5)
    assert same[3].equal(reference[3]) and not same[4].equal(reference[4])
    sampled = run_ganx("sample", str(run), "-n", "2", "--label", "7", "--out",
                       str(tmp_path / "sevens"), env=home)
    assert sampled.returncode == 0, sampled.stderr
    assert sorted(p.name for p in (tmp_path / "sevens").rglob("*.wav")) == [
        "00-class7.wav", "01-class7.wav"]
    bad = run_ganx("sample", str(run), "--label", "10", env=home)
    assert bad.returncode == 2 and "label 10: this run has classes 0 to 9" in bad.stderr


def test_a_users_folder_trains_with_its_channels(tmp_path):
    import ganx

    folder = tmp_path / "mine"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        sf.write(folder / f"{i}.wav", rng.normal(0, 0.1, (22050, 2)), 22050)  # 1 s, stereo
    result = ganx.train("audio", data=str(folder), settings={**TINY, "channels": 0}, steps=2,
                        batch_size=4, device="cpu", precision="fp32",
                        run_dir=str(tmp_path / "run"), eval_samples=6, n_samples=2)
    assert set(result.metrics) == {"fd_mel", "n_fake", "n_real"}  # no digit classifier
    config_text = (tmp_path / "run" / "config.toml").read_text()
    assert "channels = 2" in config_text and "digit_metrics = false" in config_text
    info = sf.info(str(tmp_path / "run" / "samples" / "step-00000002" / "00.wav"))
    assert (info.channels, info.samplerate) == (2, 8000)


@pytest.mark.parametrize("task", ["denoise", "vocoder"])
def test_restoration_run_restores_a_users_recordings(tmp_path, task):
    import ganx

    result = ganx.train("audio", settings={**TINY, "task": task}, steps=2, batch_size=4,
                        device="cpu", precision="fp32", run_dir=str(tmp_path / "run"),
                        eval_samples=8, n_samples=2, log_every=1)
    assert {"si_sdr", "lsd", "si_sdr_input", "si_sdri", "lsd_input"} <= set(result.metrics)
    inputs = tmp_path / "mine"
    (inputs / "deep").mkdir(parents=True)
    rng = np.random.default_rng(0)
    sf.write(inputs / "deep" / "talk.wav", rng.normal(0, 0.1, (33075, 2)), 44100)  # 0.75 s
    sf.write(inputs / "memo.flac", rng.normal(0, 0.1, (36457, 1)), 22050)  # 1.65 s, odd length
    (inputs / "broken.flac").write_bytes(b"garbage")
    model = ganx.load(result.run_dir)
    paths = model.restore(inputs, tmp_path / "restored")
    assert paths == [tmp_path / "restored" / "deep" / "talk.wav",
                     tmp_path / "restored" / "memo.wav"]
    for path, expected in zip(paths, [(44100, 2, 33075), (22050, 1, 36457)], strict=True):
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.frames) == expected
    with pytest.raises(ConfigError, match="restores recordings"):
        AudioDomain().restore_files(config(), None, inputs, tmp_path / "x", torch.device("cpu"))


def test_windows_overlap_add_back_to_the_input():
    from ganx.plugins.audio.restore_files import restore_wave

    class Identity(torch.nn.Module):
        def forward(self, z, x):
            return x

    cfg = config(task="denoise")
    for length in (100, 4096, 10_001):
        wave = torch.randn(2, 1, length)
        out = restore_wave(AudioDomain(), cfg, Identity(), wave, torch.device("cpu"))
        assert out.shape == wave.shape
        assert torch.allclose(out, wave, atol=1e-5)
