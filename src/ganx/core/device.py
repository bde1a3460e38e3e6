"""Device selection: `auto` picks CUDA, then MPS, then CPU."""

from __future__ import annotations

import re

import torch

from .errors import ConfigError

_VALID = "auto, cpu, cuda, cuda:N or mps"


def resolve_device(spec: str) -> torch.device:
    """The torch.device for a user's `--device` value, checked against what this machine has."""
    spec = spec.strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError("device 'mps' is not available on this machine; use auto or cpu")
        return torch.device("mps")
    match = re.fullmatch(r"cuda(?::(\d+))?", spec)
    if match:
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device '{spec}' requested but CUDA is not available; use auto or cpu"
            )
        index = int(match.group(1) or torch.cuda.current_device())
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"device '{spec}': this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
        return torch.device("cuda", index)
    raise ConfigError(f"invalid device '{spec}'; valid: {_VALID}")
