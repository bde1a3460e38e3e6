"""Capture and restore every random-number generator a run touches, as checkpoint-safe data."""

from __future__ import annotations

import random
from typing import Any, Literal

import numpy as np
import torch


def capture(device: torch.device) -> dict[str, Any]:
    np_state: Any = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        # numpy's state holds an ndarray; store it as a tensor so weights_only loading accepts it
        "numpy": {
            "kind": np_state[0],
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "gauss": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore(state: dict[str, Any], device: torch.device) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    npst = state["numpy"]
    np.random.set_state((
        npst["kind"], npst["keys"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"],
        npst["gauss"],
    ))
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


Stream = Literal["eval_reference", "training_noise", "snapshot_samples", "eval_samples",
                 "standing_stats"]
_STREAM_OFFSETS: dict[str, int] = {
    "eval_reference": 0,    # which real items (and their corruptions) metrics compare against
    "training_noise": 1,    # the latents of every training step
    "snapshot_samples": 2,  # the fixed noise (and real inputs) of the snapshot pictures
    "eval_samples": 3,      # the latents of the generated side of every evaluation
    "standing_stats": 4,    # the latents the EMA generator's batch-norm statistics come from
}


def stream_seed(seed: int, stream: Stream) -> int:
    """The seed of one named random stream of a run seeded with `seed`. Each stream has its
    own generator so that, e.g., writing a snapshot picture never shifts the training noise;
    the offsets are fixed, so runs and sample files stay reproducible across ganx versions."""
    return seed + _STREAM_OFFSETS[stream]
