"""Mixed precision for GANs, in one small object.

- autocast dtype per device: fp32 (autocast off), bf16 or fp16;
- fp16 keeps one GradScaler per optimizer, because G and D step at different times and a scale
  that suits one network's gradients does not suit the other's;
- gradient penalties run outside autocast, in fp32 (see `full_precision`);
- losses are computed from logits cast to fp32 by the engine.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.amp.grad_scaler import GradScaler

from .errors import ConfigError

_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def auto_precision(device: torch.device) -> tuple[str, str]:
    """(precision, reason) that `precision=auto` picks on `device`."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return "bf16", "CUDA device with native bf16: bf16 autocast, no loss scaling needed"
        return "fp32", "CUDA device without native bf16: fp32 (fp16 GAN training is opt-in)"
    if device.type == "mps":
        return "fp32", "MPS: fp32 (autocast coverage on MPS is incomplete)"
    if _cpu_has_native_bf16():
        return "bf16", ("CPU with native bf16 (avx512_bf16/amx): bf16 autocast, measured 1.5x the"
                        " fp32 DCGAN step on such a CPU")
    return "fp32", ("CPU without native bf16: fp32 (bf16 is emulated there and measured slower;"
                    " see benchmarks/results)")


def _cpu_has_native_bf16() -> bool:
    """Whether the CPU has bf16 arithmetic (x86 avx512_bf16 or AMX), read from /proc/cpuinfo.

    `GANX_CPU_BF16=1` or `=0` overrides the probe (the test suite pins it, so results do not
    depend on the kind of CPU the tests run on)."""
    forced = os.environ.get("GANX_CPU_BF16", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


@dataclass
class PrecisionPolicy:
    """Decides the autocast dtype and owns the per-optimizer grad scalers."""

    device: torch.device
    name: str
    scalers: dict[str, GradScaler] = field(default_factory=dict)

    @classmethod
    def create(cls, device: torch.device, precision: str) -> PrecisionPolicy:
        if precision == "auto":
            precision, _ = auto_precision(device)
        if precision not in _DTYPES:
            raise ConfigError(f"invalid precision '{precision}'; valid: auto, fp32, bf16, fp16")
        if precision == "fp16" and device.type == "cpu":
            raise ConfigError("precision fp16 is not supported on CPU; use bf16 or fp32")
        return cls(device=device, name=precision)

    @property
    def dtype(self) -> torch.dtype | None:
        return _DTYPES[self.name]

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The forward-pass context: autocast to the policy's dtype, or nothing for fp32."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    @contextlib.contextmanager
    def full_precision(self) -> Iterator[None]:
        """fp32 for gradient penalties, whatever the policy."""
        with torch.autocast(self.device.type, enabled=False):
            yield

    def scaler(self, optimizer_name: str) -> GradScaler:
        if optimizer_name not in self.scalers:
            self.scalers[optimizer_name] = GradScaler(
                self.device.type, enabled=self.name == "fp16"
            )
        return self.scalers[optimizer_name]

    def backward_and_step(
        self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, optimizer_name: str,
        after_backward: Callable[[], None] | None = None,
    ) -> None:
        """Backward through `loss` and step `optimizer`, scaled with its own scaler under fp16.
        `after_backward` runs between the two (e.g. to average gradients over processes)."""
        scaler = self.scaler(optimizer_name)
        scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        if after_backward is not None:
            after_backward()
        scaler.step(optimizer)
        scaler.update()

    def state_dict(self) -> dict[str, dict[str, Any]]:
        return {name: s.state_dict() for name, s in self.scalers.items()}

    def load_state_dict(self, state: dict[str, dict[str, Any]]) -> None:
        for name, s in state.items():
            if s:  # an fp32/bf16 run saved empty scaler states
                self.scaler(name).load_state_dict(s)
