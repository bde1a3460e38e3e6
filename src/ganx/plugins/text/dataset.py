"""Token arrays for training and evaluation, cached in GANX_HOME.

Every sample is a row of `seq_len` token ids. For lines and sentences a row is the unit's tokens,
the end-of-text token, then pads; a unit longer than a row keeps its first `seq_len` tokens (a
full row without an end token) and is counted in the report, since pieces cut from its middle
would teach the generator to start mid-sentence. For windows the documents form one token stream
(documents separated by the end token) cut into rows of `seq_len`.

The held-out rows of a corpus are kept in this process (and in the cache) under a key computed
from the domain config alone, so metrics, which see only the config, find them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ganx.core import cache

from . import corpus as corpora
from . import tokenization, units

log = logging.getLogger("ganx")

CACHE_VERSION = 2


@dataclass
class TokenSet:
    train: np.ndarray
    """int32 (N, seq_len)"""
    heldout: np.ndarray
    """int32 (M, seq_len); M may be 0"""
    truncated: int = 0
    """units longer than seq_len, cut short"""


def encode_units(tok: tokenization.TextTokenizer, texts: list[str],
                 seq_len: int) -> tuple[np.ndarray, int]:
    """Rows of (tokens, end, pads) and how many units were too long for one row (cut short)."""
    rows: list[list[int]] = []
    too_long = 0
    for ids in tok.encode(texts):
        ids = [*ids, tok.eos_id]
        if len(ids) > seq_len:
            too_long += 1
        rows.append(ids[:seq_len])
    out = np.full((len(rows), seq_len), tok.pad_id, dtype=np.int32)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out, too_long


def encode_stream(tok: tokenization.TextTokenizer, documents: list[str],
                  seq_len: int) -> np.ndarray:
    """The documents as one stream (each followed by the end token) cut into full rows; a stream
    shorter than a row gives one padded row."""
    stream: list[int] = []
    for ids in tok.encode(documents):
        stream.extend(ids)
        stream.append(tok.eos_id)
    n = len(stream) // seq_len
    if n == 0:
        if not stream:
            return np.zeros((0, seq_len), dtype=np.int32)
        out = np.full((1, seq_len), tok.pad_id, dtype=np.int32)
        out[0, : len(stream)] = stream
        return out
    return np.asarray(stream[: n * seq_len], dtype=np.int32).reshape(n, seq_len)


def encode(tok: tokenization.TextTokenizer, texts: list[str], unit: str,
           seq_len: int) -> tuple[np.ndarray, int]:
    if unit == "window":
        return encode_stream(tok, texts, seq_len), 0
    return encode_units(tok, texts, seq_len)


# -- keys and caches ------------------------------------------------------------------------------

def dataset_key(cfg: Any, corpus_id: str | None = None) -> str:
    """Identifies the token arrays of `cfg`: corpus (`cfg.corpus_id` unless given), tokenizer
    and every setting that shapes them."""
    parts = [CACHE_VERSION, corpus_id or cfg.corpus_id, tokenization.key_for(cfg), cfg.unit,
             cfg.seq_len, cfg.holdout, cfg.min_words, cfg.text_field, units.SPLIT_SEED]
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


def _cache_path(key: str):
    return tokenization.cache_dir() / "datasets" / f"{key}.npz"


_HELDOUT: dict[str, np.ndarray] = {}


def heldout_rows(cfg: Any) -> np.ndarray | None:
    """The held-out rows of the corpus `cfg` describes, when this process built them or the
    cache holds them; None otherwise (or when nothing was held out)."""
    try:
        key = dataset_key(cfg)
    except Exception:  # an unresolved config has no key
        return None
    rows = _HELDOUT.get(key)
    if rows is None:
        cached = _read_cache(key)
        rows = cached.heldout if cached is not None else None
    return rows if rows is not None and len(rows) else None


def _read_cache(key: str) -> TokenSet | None:
    cached = cache.load_arrays(_cache_path(key), "text cache")
    if cached is None or not {"train", "heldout", "truncated"} <= cached.keys():
        return None
    return TokenSet(cached["train"], cached["heldout"], int(cached["truncated"]))


def _write_cache(key: str, data: TokenSet) -> None:
    cache.save_arrays(_cache_path(key), "text cache", {
        "train": data.train, "heldout": data.heldout, "truncated": np.int64(data.truncated)})


def build(cfg: Any, corpus: corpora.Corpus) -> TokenSet:
    """Training and held-out rows of `corpus` as `cfg` describes them, from the cache when
    there; the held-out rows are registered for the metrics under the key of `cfg`, even when
    the corpus has changed since `cfg.corpus_id` was taken."""
    key = dataset_key(cfg, corpus.digest)
    data = _read_cache(key)
    if data is None:
        tok = tokenization.get(cfg, corpus.documents)
        pieces = units.split_units(corpus.documents, cfg.unit, cfg.min_words)
        train_texts, held_texts = units.holdout_split(pieces, cfg.unit, cfg.holdout)
        train, too_long = encode(tok, train_texts, cfg.unit, cfg.seq_len)
        held, held_long = encode(tok, held_texts, cfg.unit, cfg.seq_len)
        data = TokenSet(train, held, too_long + held_long)
        _write_cache(key, data)
        if data.truncated:
            log.warning("text corpus %s: %d %s(s) longer than seq_len=%d tokens were cut short"
                        " (raise seq_len to keep them whole)", corpus.name, data.truncated,
                        cfg.unit, cfg.seq_len)
        log.info("text corpus %s: %d training rows, %d held out, %d tokens per row",
                 corpus.name, len(train), len(held), cfg.seq_len)
    _HELDOUT[dataset_key(cfg)] = data.heldout
    return data
