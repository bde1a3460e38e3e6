"""Restoration quality: SI-SDR and log-spectral distance against the clean target.

- `si_sdr` (dB, higher is better): scale-invariant signal-to-distortion ratio (Le Roux et al.
  2019) of each zero-mean clip and channel, via torchmetrics, averaged.
- `lsd` (dB, lower is better): log-spectral distance, the root mean square over frequency of the
  difference of the two power spectrograms in dB (1024-point STFT, hop 256), averaged over frames
  and clips. Powers are floored 80 dB below each target clip's loudest bin, so the digital
  silence around short clips does not dominate.

`restoration_metrics` (registered as `audio-restoration`) scores restored clips; the domain's
`model_metrics` adds the same for the generator's input and the improvement: `si_sdr_input` and
`lsd_input` for the noisy input (denoise) or a Griffin-Lim inversion of the input mel spectrogram
(vocoder), and `si_sdri = si_sdr - si_sdr_input`.
"""

from __future__ import annotations

from typing import Any

import torch

FLOOR_DB = 80.0
GRIFFIN_LIM_ITERS = 32


def si_sdr(estimate: torch.Tensor, target: torch.Tensor) -> float:
    from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

    values = scale_invariant_signal_distortion_ratio(estimate.float(), target.float(),
                                                     zero_mean=True)
    return float(values.mean())


def _power_db(x: torch.Tensor) -> torch.Tensor:
    window = torch.hann_window(1024, device=x.device)
    spec = torch.stft(x.reshape(-1, x.shape[-1]).float(), 1024, 256, window=window,
                      return_complex=True)
    return 10.0 * spec.abs().square().clamp(min=1e-20).log10()


def log_spectral_distance(estimate: torch.Tensor, target: torch.Tensor) -> float:
    est, ref = _power_db(estimate), _power_db(target)
    floor = ref.amax(dim=(1, 2), keepdim=True) - FLOOR_DB
    diff = est.maximum(floor) - ref.maximum(floor)
    return float(diff.square().mean(1).sqrt().mean())


def _check(fake: torch.Tensor, real: torch.Tensor) -> None:
    if fake.shape != real.shape:
        raise ValueError(f"restored clips {tuple(fake.shape)} and targets {tuple(real.shape)}"
                         " differ in shape")


def restoration_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    _check(fake, real)
    fake = torch.nan_to_num(fake.float())
    return {"si_sdr": si_sdr(fake, real), "lsd": log_spectral_distance(fake, real),
            "n": float(len(fake))}


def griffin_lim_from_mel(mel: torch.Tensor, cfg: Any, length: int) -> torch.Tensor:
    """Waveforms (N, 1, length) from the vocoder's log-mel input (N, n_mels, frames): the mel
    filters inverted by least squares, then Griffin-Lim phase reconstruction."""
    import torchaudio.transforms as T

    inverse = T.InverseMelScale(cfg.n_fft // 2 + 1, cfg.n_mels, cfg.sample_rate, f_min=0.0,
                                f_max=cfg.sample_rate / 2, norm="slaney", mel_scale="slaney")
    magnitude = inverse(mel.float().exp())
    griffin = T.GriffinLim(cfg.n_fft, n_iter=GRIFFIN_LIM_ITERS, hop_length=cfg.hop, power=1.0,
                           rand_init=False)
    wave = griffin(magnitude)
    wave = wave[..., :length]
    if wave.shape[-1] < length:
        wave = torch.nn.functional.pad(wave, (0, length - wave.shape[-1]))
    return wave[:, None]


@torch.no_grad()
def improvement_metrics(domain: Any, cfg: Any, generator: torch.nn.Module,
                        reference: tuple[torch.Tensor, tuple[torch.Tensor, ...]],
                        device: torch.device, batch_size: int = 64) -> dict[str, float]:
    """Input baselines and SI-SDR improvement for a restoration generator on `reference`."""
    real, (condition,) = reference
    outputs = []
    for start in range(0, len(real), batch_size):
        part = condition[start: start + batch_size].to(device)
        outputs.append(generator(torch.empty(len(part), 0, device=device), part).float().cpu())
    restored = torch.nan_to_num(torch.cat(outputs))
    if cfg.task == "denoise":
        baseline = condition.float()
    else:
        baseline = griffin_lim_from_mel(condition, cfg, real.shape[-1])
    out_sdr, in_sdr = si_sdr(restored, real), si_sdr(baseline, real)
    return {"si_sdr_input": in_sdr, "si_sdri": out_sdr - in_sdr,
            "lsd_input": log_spectral_distance(baseline, real)}
