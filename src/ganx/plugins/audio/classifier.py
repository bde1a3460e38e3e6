"""The spoken-digit classifier behind the audio domain's Inception-Score-style metrics.

WaveGAN measured SC09 generators with a digit classifier trained on SC09; ganx does the same with
a small CNN on log-mel spectrograms trained once, deterministically, on the synthesised
`spoken-digits` set (a tenth held out for its accuracy), and cached in the ganx cache with the
SHA-256 of its weights (a mismatching file is retrained).

Two choices make its verdicts usable on generated audio:
- an eleventh class, "not a digit", learnt from time-reversed digits (speech-like but no word),
  coloured-noise bursts, buzzing pulse trains and near-silence, so that noise from an untrained
  generator is not confidently called a digit (a ten-way softmax must name one);
- it hears only 0-4 kHz, so runs at 8 kHz and at 16 kHz are judged alike.

Any waveform is mixed to mono, resampled to 16 kHz and centred in 16,384 samples first.

Registered in `ganx.metrics` as the feature extractor `audio-digits` (`digit_extractor`): its
128-d features of waveforms (N, C, T) at a given sample rate.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganx.metrics import file_digest, single_thread, weights_digest

from . import digits, sources
from .spectral import LogMel

log = logging.getLogger("ganx")

VERSION = 2
RATE = 16000
LENGTH = 16384
N_MELS = 48
N_FFT = 1024
HOP = 256
F_MAX = 4000.0
OTHER = len(digits.DIGITS)
"""Index of the "not a digit" class."""
CLIPS = 4000
"""Size of the spoken-digit set it learns from (the audio domain's default set)."""
DATA_SEED = 0
EPOCHS = 5
SEED = 0
SHIFT_FRAMES = 8
"""Largest random time shift (frames of 16 ms) applied while training, so placement matters
little."""
GAIN_RANGE = 1.4
"""Random gain range while training, in natural-log units of magnitude (about 12 dB)."""


class DigitCNN(nn.Module):
    """Four stride-2 conv stages (16 to 128 channels, batch norm), global average pooling and a
    linear head over the ten digits and "not a digit"; `features` gives the pooled 128-d
    activations. Strided convolutions keep its training to a minute or two on a CPU."""

    FEATURES = 128

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in ((1, 16), (16, 32), (32, 64), (64, self.FEATURES)):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out),
                       nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(self.FEATURES, OTHER + 1)
        self.mel = LogMel(RATE, N_FFT, HOP, N_MELS, F_MAX)

    def spectrogram(self, wave: torch.Tensor) -> torch.Tensor:
        """(N, LENGTH) at 16 kHz -> (N, 1, mels, frames), roughly standardised."""
        return ((self.mel(wave) + 4.0) / 4.0)[:, None]

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        return self.body(self.spectrogram(wave))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(wave))


def standardise(waves: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """(N, C, T) floats at `sample_rate` -> (N, LENGTH) mono at 16 kHz, centred or cropped."""
    import torchaudio.functional as AF

    x = torch.nan_to_num(waves.float(), nan=0.0).clamp(-1, 1).mean(1)
    if sample_rate != RATE:
        x = AF.resample(x, sample_rate, RATE)
    t = x.shape[-1]
    if t >= LENGTH:
        start = (t - LENGTH) // 2
        return x[:, start: start + LENGTH]
    left = (LENGTH - t) // 2
    return F.pad(x, (left, LENGTH - t - left))


def _augmented(specs: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Spectrograms rolled by a random number of frames and offset by a random gain."""
    shifts = torch.randint(-SHIFT_FRAMES, SHIFT_FRAMES + 1, (len(specs),), generator=rng)
    gains = (torch.rand(len(specs), 1, 1, 1, generator=rng) - 0.5) * (GAIN_RANGE / 4.0)
    rolled = torch.stack([torch.roll(x, int(s), dims=-1) for x, s in zip(specs, shifts,
                                                                         strict=True)])
    return rolled + gains


def not_digits(waves: torch.Tensor, n: int, rng: torch.Generator) -> torch.Tensor:
    """`n` clips (n, LENGTH) that are no digit: a quarter each of time-reversed digits, bursts of
    coloured noise, buzzing pulse trains (80-300 Hz) and near-silent noise."""
    from .corruptions import colored_noise

    t = torch.arange(LENGTH, dtype=torch.float32)
    kinds = torch.arange(n) % 4
    out = torch.empty(n, LENGTH)
    picks = torch.randint(len(waves), (n,), generator=rng)
    exponents = torch.rand(n, generator=rng)
    noise = colored_noise((n, 1, LENGTH), exponents, torch.device("cpu"),
                          generator=rng)[:, 0]
    for i in range(n):
        start = int(torch.randint(0, LENGTH // 2, (), generator=rng))
        width = int(torch.randint(LENGTH // 8, LENGTH // 2, (), generator=rng))
        envelope = torch.zeros(LENGTH)
        envelope[start: start + width] = torch.hann_window(width)[: LENGTH - start]
        level = 0.05 + 0.6 * float(torch.rand((), generator=rng))
        if kinds[i] == 0:
            out[i] = waves[picks[i]].flip(-1)
        elif kinds[i] == 1:
            out[i] = noise[i] * envelope * level / 3
        elif kinds[i] == 2:
            f0 = 80 + 220 * float(torch.rand((), generator=rng))
            pulses = (torch.frac(t * f0 / RATE) < 0.1).float() - 0.1
            out[i] = pulses * envelope * level + noise[i] * 0.01
        else:
            out[i] = noise[i] * 10 ** (-3 - 2 * float(torch.rand((), generator=rng)))
    return out.clamp(-1, 1)


def train(waves: torch.Tensor, labels: torch.Tensor, *, epochs: int = EPOCHS, seed: int = SEED,
          batch_size: int = 64) -> tuple[DigitCNN, float]:
    """Train on standardised waves (N, LENGTH) and digit labels, plus a tenth as many clips of
    "not a digit"; a tenth of all is held out. Returns the network and its held-out accuracy.
    The same inputs and seed give the same weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = DigitCNN()
    rng = torch.Generator().manual_seed(seed)
    others = not_digits(waves, max(len(waves) // 10, 4), rng)
    waves = torch.cat([waves, others])
    labels = torch.cat([labels, torch.full((len(others),), OTHER, dtype=labels.dtype)])
    order = torch.randperm(len(waves), generator=rng)
    held, fit = order[: len(waves) // 10], order[len(waves) // 10:]
    with torch.inference_mode():
        specs = torch.cat([net.spectrogram(waves[i: i + 256]) for i in range(0, len(waves), 256)])
    batch_size = min(batch_size, len(fit))
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    steps = epochs * max(1, len(fit) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    net.train()
    with single_thread():
        done = 0
        while done < steps:
            shuffled = fit[torch.randperm(len(fit), generator=rng)]
            for start in range(0, len(shuffled) - batch_size + 1, batch_size):
                if done == steps:
                    break
                idx = shuffled[start: start + batch_size]
                logits = net.head(net.body(_augmented(specs[idx], rng)))
                loss = F.cross_entropy(logits, labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                schedule.step()
                done += 1
    net.eval()
    with torch.inference_mode():
        predicted = net.head(net.body(specs[held])).argmax(1)
        accuracy = (predicted == labels[held]).float().mean().item()
    return net, accuracy


def training_set(clips: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The spoken-digit clips (standardised) and labels, and the set's identity."""
    folder = digits.prepare(clips, seed)
    layout = sources.Layout(RATE, 1, LENGTH, True)
    data = sources.load(str(folder), layout)
    if data.labels is None or data.classes != list(digits.DIGITS):
        raise RuntimeError(f"{folder} does not hold the ten digit folders")
    waves = torch.from_numpy(data.waves[:, 0].astype(np.float32) / 32768.0)
    return waves, torch.from_numpy(data.labels), folder.name


def load_classifier() -> tuple[DigitCNN, dict]:
    """The cached classifier (trained on first use) and its record (checksum, accuracy)."""
    clips, seed, epochs = CLIPS, DATA_SEED, EPOCHS  # read at call time: tests shrink them
    folder = digits.dataset_dir(clips, seed)
    key = hashlib.sha256(f"{VERSION}|{folder.name}|{epochs}|{SEED}".encode()).hexdigest()[:20]
    stem = digits.cache_root() / "classifier" / f"digits-{key}"
    weights, meta_path = stem.with_suffix(".pt"), stem.with_suffix(".json")
    if weights.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            if file_digest(weights) == meta["sha256"]:
                net = DigitCNN()
                net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
                return net.eval(), meta
            log.warning("audio metrics: %s does not match its recorded checksum; retraining",
                        weights)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            log.warning("audio metrics: ignoring unreadable classifier %s: %s", weights, exc)
    waves, labels, name = training_set(clips, seed)
    log.info("audio metrics: training the digit classifier on %d clips of %s (once)",
             len(waves), name)
    net, accuracy = train(waves, labels, epochs=epochs)
    meta = {"data": name, "clips": len(waves), "accuracy": accuracy, "epochs": epochs,
            "version": VERSION}
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        tmp = weights.with_name(f".{weights.name}.{os.getpid()}.tmp")
        torch.save(net.state_dict(), tmp)
        meta["sha256"] = file_digest(tmp)
        os.replace(tmp, weights)
        meta_path.write_text(json.dumps(meta, indent=1))
        log.info("audio metrics: digit classifier held-out accuracy %.3f, cached in %s",
                 accuracy, weights)
    except OSError as exc:  # a cache that cannot be written only costs time
        log.warning("audio metrics: could not cache the classifier: %s", exc.strerror or exc)
    return net, meta


@torch.inference_mode()
def classify(net: DigitCNN, waves: torch.Tensor, sample_rate: int,
             batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (N, 11: the digits, then "not a digit") and features (N, 128) of
    (N, C, T) waveforms."""
    x = standardise(waves, sample_rate)
    probs, feats = [], []
    for start in range(0, len(x), batch_size):
        f = net.features(x[start: start + batch_size])
        feats.append(f.numpy())
        probs.append(net.head(f).softmax(1).numpy())
    return np.concatenate(probs).astype(np.float64), np.concatenate(feats).astype(np.float64)


@dataclass(frozen=True)
class DigitFeatures:
    """The feature extractor `audio-digits`: the classifier's 128-d features of waveforms
    (N, C, T) at `sample_rate`, float64."""

    net: DigitCNN
    sample_rate: int
    digest: str
    name: str = "audio-digits"

    @property
    def description(self) -> str:
        return f"spoken-digit CNN (log-mel 0-4 kHz at {RATE} Hz) on {self.sample_rate} Hz clips"

    def __call__(self, waves: torch.Tensor) -> np.ndarray:
        return classify(self.net, waves, self.sample_rate)[1]


def digit_extractor(sample_rate: int = RATE) -> DigitFeatures:
    """`audio-digits` for clips at `sample_rate` (trains the classifier on first use)."""
    net, _ = load_classifier()
    return DigitFeatures(net, sample_rate, f"audio-digits:{weights_digest(net)}:v{VERSION}")
