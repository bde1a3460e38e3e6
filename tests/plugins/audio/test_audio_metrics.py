"""Audio metrics: the spoken-digit classifier (trained once, cached with its checksum),
Inception score and Fréchet distances, and the restoration metrics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from ganx.metrics import file_digest
from ganx.plugins.audio import classifier, metrics, sources
from ganx.plugins.audio import restoration_metrics as rm

from .test_audio_domain import config

CLIPS = 200
"""One small spoken-digit set for the whole module (synthesised once)."""


@pytest.fixture(scope="module")
def audio_home(tmp_path_factory):
    return tmp_path_factory.mktemp("ganx-home")


@pytest.fixture(autouse=True)
def private_cache(audio_home, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(audio_home))
    monkeypatch.setattr(classifier, "CLIPS", CLIPS)


@pytest.fixture
def small_classifier(monkeypatch):
    """A classifier trained on the 200-clip set for 25 epochs (50 steps): seconds, not minutes."""
    monkeypatch.setattr(classifier, "EPOCHS", 25)


def digit_clips(n: int) -> torch.Tensor:
    data = sources.load("", sources.Layout(8000, 1, 8192), digits_clips=CLIPS)
    return torch.from_numpy(data.waves[np.random.default_rng(0).permutation(CLIPS)[:n]]) / 32768


def test_inception_score_bounds():
    assert metrics.inception_score(np.eye(10)) == pytest.approx(10.0)
    assert metrics.inception_score(np.full((10, 10), 0.1)) == pytest.approx(1.0)


def test_digit_diversity_sees_per_digit_collapse():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(40, 8))
    heard = np.arange(40) % 4
    same = metrics.digit_diversity(real, heard, real, heard, classes=4)
    assert same["digit_diversity"] == pytest.approx(1.0)
    collapsed = real.copy()
    collapsed[heard == 2] = real[2] + 1e-3 * rng.normal(size=(10, 8))  # digit 2: one clip
    out = metrics.digit_diversity(collapsed, heard, real, heard, classes=4)
    assert out["digit_diversity_2"] < 0.01
    assert out["digit_diversity_0"] == pytest.approx(1.0)
    assert out["digit_diversity"] == pytest.approx((3 + out["digit_diversity_2"]) / 4)
    lonely = metrics.digit_diversity(real[:1], heard[:1], real, heard, classes=4)
    assert lonely == {}  # no digit with two generated clips: nothing to say


def test_classifier_is_trained_once_cached_and_checked(monkeypatch, caplog):
    monkeypatch.setattr(classifier, "EPOCHS", 2)  # caching is the point here, not accuracy
    with caplog.at_level("INFO", logger="ganx"):
        net, meta = classifier.load_classifier()
    assert f"training the digit classifier on {CLIPS} clips" in caplog.text
    assert 0 <= meta["accuracy"] <= 1 and meta["epochs"] == 2
    (record,) = [p for p in (classifier.digits.cache_root() / "classifier").glob("*.json")
                 if json.loads(p.read_text())["epochs"] == 2]
    weights = record.with_suffix(".pt")
    assert json.loads(record.read_text())["sha256"] == file_digest(weights)
    caplog.clear()
    with caplog.at_level("INFO", logger="ganx"):
        again, _ = classifier.load_classifier()
    assert "training" not in caplog.text  # from the cache
    for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    weights.write_bytes(weights.read_bytes()[:-8] + b"tampered")
    with caplog.at_level("WARNING", logger="ganx"):
        classifier.load_classifier()
    assert "does not match its recorded checksum" in caplog.text


def test_generation_metrics_tell_digits_from_noise(small_classifier):
    real = digit_clips(40)
    _, meta = classifier.load_classifier()
    assert meta["accuracy"] > 0.5  # 22 held-out clips after 50 steps; chance is 1/11
    cfg = config(sample_rate=8000, segment=8192, digit_metrics=True)
    same = metrics.generation_metrics(real[:20], real[20:], cfg)
    noise = metrics.generation_metrics(torch.rand_like(real[:20]) * 0.2 - 0.1, real[20:], cfg)
    assert same["n_fake"] == 20 and same["n_real"] == 20
    assert noise["fd_mel"] > 5 * same["fd_mel"]
    assert noise["fd_digits"] > same["fd_digits"]
    assert same["inception_score"] > noise["inception_score"]
    assert 0 <= noise["confident"] <= 1 and same["confident_real"] > 0
    assert same["digit_diversity"] > 0.3  # real against real: comparable spread
    plain = metrics.generation_metrics(real[:20], real[20:], config(
        sample_rate=8000, segment=8192, digit_metrics=False))
    assert "inception_score" not in plain  # digit metrics off: only log-mel statistics


def test_si_sdr_and_lsd_measure_what_they_say():
    torch.manual_seed(0)
    clean = torch.randn(4, 1, 8192) * 0.3
    noise = torch.randn_like(clean)
    noise = noise * (clean.norm(dim=-1, keepdim=True) / noise.norm(dim=-1, keepdim=True))
    noisy = clean + noise / math.sqrt(10)  # 10 dB
    assert rm.si_sdr(noisy, clean) == pytest.approx(10.0, abs=0.3)
    assert rm.si_sdr(2.0 * clean, clean) > 80  # scale-invariant
    assert rm.log_spectral_distance(clean, clean) == pytest.approx(0.0, abs=1e-6)
    assert rm.log_spectral_distance(noisy, clean) > rm.log_spectral_distance(
        clean + noise / 10, clean)
    scores = rm.restoration_metrics(noisy, clean, None)
    assert scores["n"] == 4 and scores["si_sdr"] == pytest.approx(10.0, abs=0.3)
    with pytest.raises(ValueError, match="differ in shape"):
        rm.restoration_metrics(noisy[:2], clean, None)


def test_improvement_metrics_of_denoising_and_vocoding():
    from ganx.plugins.audio.domain import AudioDomain

    class Identity(torch.nn.Module):
        def forward(self, z, x):
            return x

    class Oracle(torch.nn.Module):
        def __init__(self, clean):
            super().__init__()
            self.clean = clean

        def forward(self, z, x):
            return self.clean[: len(x)]

    domain = AudioDomain()
    clean = digit_clips(10)[:, :, 2048:6144]
    cfg = config(task="denoise", snr_db=(5.0, 5.0))
    torch.manual_seed(0)
    real, cond = domain.prepare_batch(cfg, ((clean * 32768).to(torch.int16),))
    unchanged = rm.improvement_metrics(domain, cfg, Identity(), (real, cond), torch.device("cpu"))
    assert unchanged["si_sdri"] == pytest.approx(0.0, abs=1e-4)
    assert unchanged["si_sdr_input"] == pytest.approx(5.0, abs=0.5)
    perfect = rm.improvement_metrics(domain, cfg, Oracle(real), (real, cond), torch.device("cpu"))
    assert perfect["si_sdri"] > 30
    vcfg = config(task="vocoder")
    real, cond = domain.prepare_batch(vcfg, ((clean * 32768).to(torch.int16),))
    voc = rm.improvement_metrics(domain, vcfg, Oracle(real), (real, cond), torch.device("cpu"))
    assert voc["lsd_input"] > 0 and voc["si_sdri"] > 0  # Griffin-Lim is the input baseline


def test_digit_classifier_is_the_public_extractor_audio_digits(small_classifier):
    from ganx.metrics import feature_extractor, weights_digest

    clips = digit_clips(6)
    net = feature_extractor("audio-digits", sample_rate=8000)
    trained, _ = classifier.load_classifier()
    assert net.name == "audio-digits" and weights_digest(trained) in net.digest
    features = net(clips)
    assert features.shape == (6, 128)
    assert np.array_equal(features, classifier.classify(trained, clips, 8000)[1])


def test_generation_metrics_note_their_protocol(small_classifier):
    from ganx.core.metric_protocol import collecting

    real = digit_clips(20)
    _, meta = classifier.load_classifier()
    with collecting() as notes:
        metrics.generation_metrics(real[:10], real[10:], config(
            sample_rate=8000, segment=8192, digit_metrics=True))
    assert notes["features"] == "audio-digits" and notes["features_sha256"] == meta["sha256"]
    assert notes["resize"] == f"resampled to {classifier.RATE} Hz"
    assert (notes["sample_rate"], notes["clip_samples"], notes["clip_seconds"]) == (
        8000, 8192, 1.024)
