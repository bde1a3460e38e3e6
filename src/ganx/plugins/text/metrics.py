"""Text metrics: `text-bleu` (registered) and held-out perplexity (the domain's model metric).

`text-bleu` decodes the samples and scores them against the held-out text of the run's corpus:

- bleu2..bleu5: quality, each sample against all held-out units (see `bleu`);
- self_bleu2..self_bleu5: diversity, each sample against the other samples (lower: more diverse);
- distinct1..distinct4: share of distinct n-grams among the samples' n-grams;
- words: mean sample length in words; n_refs: how many held-out units were the references.

Held-out text is what `build_dataset` set aside (`holdout`); when a run holds nothing out, the
real samples the engine passes stand in (training text, which flatters BLEU) with a warning.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

import numpy as np
import torch

from ganx.metrics import note_protocol

from . import bleu as B
from . import dataset, tokenization
from .writer import ids_of

log = logging.getLogger("ganx")

MAX_REFERENCES = 5000
MAX_PERPLEXITY_ROWS = 2000
BLEU_ORDERS = (2, 3, 4, 5)


def reference_rows(cfg: Any, real: torch.Tensor | None, limit: int) -> tuple[np.ndarray, str]:
    """The held-out rows (at most `limit`, a fixed choice) or, without them, `real`."""
    rows = dataset.heldout_rows(cfg)
    if rows is not None:
        if len(rows) > limit:
            rows = rows[np.random.default_rng(0).choice(len(rows), limit, replace=False)]
        return rows, "held-out"
    if real is None:
        raise ValueError("no held-out text for this run and no real samples given")
    log.warning("text metrics: this run holds no text out (holdout=0 or a tiny corpus);"
                " scoring against training text")
    return np.asarray(ids_of(real[:limit])), "training"


def note_reference(cfg: Any, rows: np.ndarray, source: str) -> None:
    """The protocol of BLEU: its references are held-out units (or training text), not the
    training rows the engine passes as real samples."""
    held = dataset.heldout_rows(cfg) if source == "held-out" else None
    note_protocol(n_real=len(rows), reference_split=source,
                  reference_count=len(held) if held is not None else len(rows),
                  reference_digest=hashlib.sha256(np.ascontiguousarray(rows).tobytes()).hexdigest(),
                  tokenizer=str(cfg.tokenizer) or "byte-level BPE trained on the corpus")


def text_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    """The `text-bleu` metric (see the module docstring)."""
    tok = tokenization.get(cfg)
    stop = cfg.unit != "window"
    samples = [B.words(t) for t in tok.decode_batch(ids_of(fake), stop)]
    rows, source = reference_rows(cfg, real, MAX_REFERENCES)
    note_reference(cfg, rows, source)
    refs = [B.words(t) for t in tok.decode_batch(rows.tolist(), stop)]
    prepared = B.References(refs, max(BLEU_ORDERS))
    own = B.References(samples, max(BLEU_ORDERS))
    results: dict[str, float] = {}
    for n in BLEU_ORDERS:
        results[f"bleu{n}"] = B.bleu(samples, prepared, n)
    for n in BLEU_ORDERS:
        results[f"self_bleu{n}"] = B.self_bleu(samples, n, own)
    for n in range(1, 5):
        results[f"distinct{n}"] = B.distinct(samples, n)
    results["words"] = float(np.mean([len(s) for s in samples])) if samples else 0.0
    results["n_refs"] = float(len(refs))
    return results


@torch.no_grad()
def perplexity(cfg: Any, net: Any, reference: tuple[torch.Tensor, tuple],
               device: torch.device, batch_size: int = 128) -> dict[str, float]:
    """Perplexity (and mean negative log-likelihood per token, in nats) of held-out text under
    the generator, every token up to and including the end token scored. With a latent
    (latent_dim > 0) one fixed draw of z per row stands in for the integral over z."""
    rows, _ = reference_rows(cfg, reference[0], MAX_PERPLEXITY_ROWS)
    tokens = torch.as_tensor(rows, dtype=torch.long)
    rng = torch.Generator().manual_seed(0)
    z_all = torch.randn(len(tokens), cfg.latent_dim, generator=rng)
    total, count = 0.0, 0
    was_training = net.training
    net.eval()
    try:
        for start in range(0, len(tokens), batch_size):
            part = tokens[start: start + batch_size].to(device)
            z = z_all[start: start + batch_size].to(device)
            nll, n = net.token_nll(z, part)
            total += float(nll)
            count += int(n)
    finally:
        net.train(was_training)
    mean = total / max(count, 1)
    return {"perplexity": math.exp(min(mean, 50.0)), "nll": mean}
