"""Restoring a user's own recordings of any length with a trained restoration generator
(`ganx sample RUN --input FILE_OR_FOLDER`).

Each file is read with soundfile, resampled to the run's rate, peak-normalised as in training
(and scaled back afterwards), and cut into windows of the run's segment length with 50% overlap.
Each window is denoised (task=denoise) or turned into its log-mel spectrogram and vocoded back
(task=vocoder), and the windows are overlap-added with a Hann window (which sums to one at 50%
overlap). The result is resampled to the file's own rate, with the file's own number of frames,
and written as a 16-bit WAV under the output folder, keeping the folder structure. A mono model
treats every channel of a multi-channel file on its own. Unreadable files are skipped with a
warning (the walk over the files is `ganx.restoration.FileRestorer`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganx.restoration import FileRestorer, SkipInput

from .sources import AUDIO_EXTENSIONS, PEAK, SILENCE, read_audio, resample


@torch.no_grad()
def restore_wave(domain: Any, cfg: Any, generator: torch.nn.Module, wave: torch.Tensor,
                 device: torch.device, batch_size: int = 16) -> torch.Tensor:
    """Restore (B, C, T) at the run's rate, window by window; returns (B, C, T)."""
    length = cfg.segment
    hop = length // 2
    total = wave.shape[-1]
    frames = math.ceil((total + hop) / hop)
    pad_right = (frames - 1) * hop + length - total - hop
    padded = F.pad(wave, (hop, pad_right))
    windows = padded.unfold(-1, length, hop)  # (B, C, frames, length)
    b, c, n, _ = windows.shape
    windows = windows.permute(0, 2, 1, 3).reshape(b * n, c, length)
    outputs = []
    for start in range(0, len(windows), batch_size):
        part = windows[start: start + batch_size].to(device)
        condition = domain.mel(cfg, part) if cfg.task == "vocoder" else part
        empty = torch.empty(len(part), 0, device=device)
        outputs.append(generator(empty, condition).float().cpu())
    restored = torch.cat(outputs).reshape(b, n, c, length)
    taper = torch.hann_window(length, periodic=True)
    out = torch.zeros(b, c, padded.shape[-1])
    for i in range(n):
        out[..., i * hop: i * hop + length] += restored[:, i] * taper
    return out[..., hop: hop + total]


def restore_file(domain: Any, cfg: Any, generator: torch.nn.Module, path: Path,
                 device: torch.device) -> tuple[np.ndarray, int]:
    """One restored file as float32 (frames, channels) at its own rate; SkipInput when it
    cannot be used."""
    try:
        wave, rate = read_audio(path)
    except ValueError as exc:
        raise SkipInput(str(exc)) from None
    channels = wave.shape[0]
    if cfg.channels != 1 and channels != cfg.channels:
        raise SkipInput(f"{channels} channels; this run restores {cfg.channels}-channel audio")
    x = resample(wave, rate, cfg.sample_rate)
    peak = float(np.abs(x).max())
    scale = PEAK / peak if cfg.normalize and peak >= SILENCE else 1.0
    batch = torch.from_numpy(np.ascontiguousarray(x * scale, dtype=np.float32))
    batch = batch[:, None] if cfg.channels == 1 else batch[None]
    restored = restore_wave(domain, cfg, generator, batch, device) / scale
    restored = restored.reshape(channels, -1).numpy()
    restored = resample(restored, cfg.sample_rate, rate)
    frames = wave.shape[1]  # the round trip through another rate can be a sample off
    restored = np.pad(restored[:, :frames], ((0, 0), (0, max(0, frames - restored.shape[1]))))
    return np.ascontiguousarray(restored.T), rate


def _write(restored: tuple[np.ndarray, int], path: Path) -> None:
    import soundfile as sf

    data, rate = restored
    sf.write(str(path), np.clip(data, -1.0, 1.0), rate, subtype="PCM_16", format="WAV")


def audio_restorer(domain: Any, cfg: Any, generator: torch.nn.Module, device: torch.device
                   ) -> FileRestorer[tuple[np.ndarray, int]]:
    """The `--input` walk of a restoration run: audio files in, 16-bit WAV files out."""

    def restore(path: Path) -> tuple[np.ndarray, int]:
        return restore_file(domain, cfg, generator, path, device)

    return FileRestorer(suffixes=AUDIO_EXTENSIONS, output_suffix=".wav", restore=restore,
                        write=_write, kind="audio")
