"""Text sample writing: token ids to a UTF-8 text file."""

from __future__ import annotations

from pathlib import Path

import torch

from .tokenization import TextTokenizer


def ids_of(samples: torch.Tensor) -> list[list[int]]:
    """Token ids of samples as the engine hands them over (float ids (N, T))."""
    return samples.round().long().tolist()


def write_text(tok: TextTokenizer, samples: torch.Tensor, path: Path,
               stop_at_eos: bool = True) -> Path:
    """One sample per line for lines and sentences (line breaks inside a sample become
    spaces); windows, which span lines, as blocks separated by a line `---`."""
    texts = tok.decode_batch(ids_of(samples), stop_at_eos)
    if stop_at_eos:
        body = "\n".join(" ".join(t.split()) for t in texts) + "\n"
    else:
        body = "\n---\n".join(texts) + "\n"
    path.write_text(body, encoding="utf-8")
    return path
