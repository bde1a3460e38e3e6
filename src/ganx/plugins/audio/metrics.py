"""Generation metrics of the audio domain, registered as `audio-gen`.

- `fd_mel` (any data): the Fréchet distance between Gaussians fitted to log-mel statistics of the
  generated and the real clips: per clip, the mean and the standard deviation over time of each
  of 80 log-mel bands (160 numbers). It sees timbre and loudness, not words.
- With `digit_metrics` (on by default for the spoken-digits data), the spoken-digit classifier
  (see `classifier`; the feature extractor `audio-digits` of `ganx.metrics`) adds what WaveGAN
  reported for SC09: `inception_score` (exp E[KL(p(y|x) || p(y))] over the ten digit
  probabilities renormalised, at most 10), `fd_digits` (Fréchet distance of its 128-d
  features), `confident`, the share of generated clips it assigns to a digit with probability
  above 0.9, and `not_digit`, the share it calls "not a digit"; the same for the real clips
  (`inception_score_real`, `confident_real`) as the ceiling to compare with, and
  `classifier_accuracy` (held out).
- `digit_diversity`: variety within a digit. For each digit, the mean pairwise Euclidean distance
  of the classifier features of the clips it hears as that digit, generated divided by real; the
  mean of those ratios over the digits with at least two clips on both sides (1 is as varied as
  real speech, near 0 is one clip repeated: per-class mode collapse). `digit_diversity_<d>` gives
  each digit's ratio. Clips are grouped by the classifier's verdict, not by the requested class,
  so the value needs no labels and also applies to unconditional runs.

Values depend on the number of samples (`n_fake`, `n_real`): compare results with equal counts.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from ganx.core.errors import RunError
from ganx.metrics import frechet_distance, note_protocol

from .spectral import log_mel

log = logging.getLogger("ganx")

CONFIDENCE = 0.9
MEL_BANDS = 80


def mel_statistics(waves: torch.Tensor, sample_rate: int) -> np.ndarray:
    """(N, C, T) -> (N, 2 * 80): per-band mean and standard deviation over time of the log-mel
    spectrogram (channels averaged)."""
    n_fft = 1024 if waves.shape[-1] >= 2048 else 256
    mel = log_mel(sample_rate, n_fft, n_fft // 4, MEL_BANDS, "cpu")
    stats = []
    for start in range(0, len(waves), 256):
        m = mel(torch.nan_to_num(waves[start: start + 256].float()).clamp(-1, 1).mean(1))
        stats.append(torch.cat([m.mean(-1), m.std(-1)], dim=1).double().numpy())
    return np.concatenate(stats)


def inception_score(probs: np.ndarray) -> float:
    """exp of the mean KL divergence between p(y|x) and the marginal p(y); rows are
    renormalised."""
    probs = probs / probs.sum(1, keepdims=True).clip(min=1e-12)
    marginal = probs.mean(0, keepdims=True)
    kl = (probs * (np.log(probs + 1e-12) - np.log(marginal + 1e-12))).sum(1)
    return float(np.exp(kl.mean()))


def generation_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    if fake.ndim != 3 or fake.shape[1:] != real.shape[1:]:
        raise RunError(f"audio metrics expect clips (N, C, T) of one shape; got"
                       f" {tuple(fake.shape)} generated and {tuple(real.shape)} real")
    if min(len(fake), len(real)) < 2:
        raise RunError("audio metrics need at least 2 clips per side")
    note_protocol(sample_rate=int(cfg.sample_rate), clip_samples=int(fake.shape[-1]),
                  clip_seconds=round(fake.shape[-1] / cfg.sample_rate, 4), mel_bands=MEL_BANDS)
    results = {"fd_mel": frechet_distance(mel_statistics(fake, cfg.sample_rate),
                                          mel_statistics(real, cfg.sample_rate)),
               "n_fake": float(len(fake)), "n_real": float(len(real))}
    if cfg.digit_metrics:
        from . import classifier

        net, meta = classifier.load_classifier()
        note_protocol(features="audio-digits", features_sha256=str(meta["sha256"]),
                      resize=f"resampled to {classifier.RATE} Hz")
        p_fake, f_fake = classifier.classify(net, fake, cfg.sample_rate)
        p_real, f_real = classifier.classify(net, real, cfg.sample_rate)
        other = classifier.OTHER
        results.update(
            inception_score=inception_score(p_fake[:, :other]),
            inception_score_real=inception_score(p_real[:, :other]),
            fd_digits=frechet_distance(f_fake, f_real),
            confident=float((p_fake[:, :other].max(1) > CONFIDENCE).mean()),
            confident_real=float((p_real[:, :other].max(1) > CONFIDENCE).mean()),
            not_digit=float((p_fake.argmax(1) == other).mean()),
            classifier_accuracy=float(meta["accuracy"]),
        )
        results.update(digit_diversity(f_fake, p_fake.argmax(1), f_real, p_real.argmax(1),
                                       classes=other))
    return results


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Mean Euclidean distance over the distinct pairs of rows (at least two rows)."""
    x = torch.from_numpy(np.asarray(features, dtype=np.float64))
    n = len(x)
    return float(torch.pdist(x).sum()) / (n * (n - 1) / 2)


def digit_diversity(f_fake: np.ndarray, heard_fake: np.ndarray, f_real: np.ndarray,
                    heard_real: np.ndarray, classes: int) -> dict[str, float]:
    """Within-digit spread of generated clips relative to real ones (see the module doc);
    empty when no digit has two clips on both sides."""
    ratios = {}
    for d in range(classes):
        fake, real = f_fake[heard_fake == d], f_real[heard_real == d]
        if len(fake) >= 2 and len(real) >= 2:
            spread_real = mean_pairwise_distance(real)
            if spread_real > 0:
                ratios[d] = mean_pairwise_distance(fake) / spread_real
    if not ratios:
        return {}
    out = {f"digit_diversity_{d}": r for d, r in ratios.items()}
    out["digit_diversity"] = float(np.mean(list(ratios.values())))
    return out
