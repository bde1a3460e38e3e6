"""Tokenizers for the text domain: a byte-level BPE trained offline on the corpus with
`tokenizers` (cached by corpus digest and vocabulary size), or a local tokenizer the user
passes (a `tokenizer.json`, or a GPT-2 style `vocab.json` + `merges.txt`).

A run's tokenizer is also stored inside its generator (see `models.TextGenerator`), so a snapshot
samples and decodes on a machine without the cache. `TextTokenizer.key` names a tokenizer in the
caches of this process and of GANX_HOME. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganx.core import cache
from ganx.core.errors import ConfigError, RunError

log = logging.getLogger("ganx")

EOS = "<|endoftext|>"
PAD = "<pad>"
MIN_VOCAB = 300  # 256 byte symbols, the special tokens and a few merges
# names under which tokenizers commonly keep their special tokens, most usual first
EOS_NAMES = (EOS, "</s>", "<eos>", "<|eos|>", "[SEP]", "<|end_of_text|>")
BOS_NAMES = (EOS, "<s>", "<bos>", "<|begin_of_text|>", "[CLS]")
PAD_NAMES = (PAD, "<|pad|>", "[PAD]", "<unk>")


@dataclass
class TextTokenizer:
    """A `tokenizers.Tokenizer` with the ids the domain needs."""

    tokenizer: Any
    key: str
    bos_id: int
    eos_id: int
    pad_id: int

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.get_vocab_size(with_added_tokens=True))

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Iterable[int], stop_at_eos: bool = True) -> str:
        """Text of a row of ids: up to the first end token (when `stop_at_eos`), special tokens
        and pads left out, bytes that do not form UTF-8 characters dropped, outer space
        trimmed."""
        kept = []
        for i in ids:
            i = int(i)
            if i == self.eos_id and stop_at_eos:
                break
            if i not in (self.eos_id, self.pad_id, self.bos_id) and 0 <= i < self.vocab_size:
                kept.append(i)
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        return text.replace("\ufffd", "").strip()

    def decode_batch(self, rows: Iterable[Iterable[int]], stop_at_eos: bool = True) -> list[str]:
        return [self.decode(row, stop_at_eos) for row in rows]

    def to_json(self) -> str:
        return self.tokenizer.to_str()


# -- the byte-level BPE ---------------------------------------------------------------------------

def train_bpe(texts: Iterable[str], vocab_size: int) -> Any:
    """A byte-level BPE (GPT-2 style: every byte is a symbol, so any text round-trips) with
    `vocab_size` tokens at most, the end-of-text and pad tokens first (ids 0 and 1)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2,
                                  special_tokens=[EOS, PAD], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def cache_dir() -> Path:
    return cache.domain_dir("text")


def bpe_key(cfg: Any) -> str:
    """A BPE trained on the training units of a corpus: named by the corpus, the vocabulary size
    and what decides the held-out split."""
    split = hashlib.sha256(f"{cfg.unit}|{cfg.min_words}|{cfg.holdout}".encode()).hexdigest()
    return f"bpe-{cfg.corpus_id[:24]}-{cfg.vocab_size}-train-{split[:8]}"


def _write_atomic(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a cache that cannot be written only costs time
        log.warning("could not write the tokenizer cache %s: %s", path, exc.strerror or exc)


# -- special tokens -------------------------------------------------------------------------------

def _first_id(tokenizer: Any, names: Sequence[str]) -> int | None:
    for name in names:
        found = tokenizer.token_to_id(name)
        if found is not None:
            return int(found)
    return None


def special_ids(tokenizer: Any, where: str,
                overrides: dict[str, int | None] | None = None) -> tuple[int, int, int]:
    """(bos, eos, pad) ids: from `overrides` (a checkpoint's config) where given, else by the
    usual token names; bos and pad fall back to eos (as in GPT-2)."""
    overrides = overrides or {}
    eos = overrides.get("eos")
    if eos is None:
        eos = _first_id(tokenizer, EOS_NAMES)
    if eos is None:
        raise ConfigError(f"tokenizer {where}: no end-of-text token (looked for "
                          f"{', '.join(EOS_NAMES)}); add one to the tokenizer")
    bos = overrides.get("bos")
    if bos is None:
        bos = _first_id(tokenizer, BOS_NAMES)
    pad = overrides.get("pad")
    if pad is None:
        pad = _first_id(tokenizer, PAD_NAMES)
    return (eos if bos is None else bos), eos, (eos if pad is None else pad)


# -- finding a run's tokenizer --------------------------------------------------------------------

_LOADED: dict[str, TextTokenizer] = {}


def _dir_key(path: Path) -> str:
    """Names a local tokenizer by its path and its files' sizes and times (an edited file is a
    new tokenizer)."""
    files = [path] if path.is_file() else [path / n for n in ("tokenizer.json", "vocab.json",
                                                              "merges.txt")]
    stamp = ";".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files
                     if f.is_file())
    return "dir-" + hashlib.sha256(f"{path.resolve()}|{stamp}".encode()).hexdigest()[:24]


def tokenizer_source(cfg: Any) -> Path | None:
    """The user's tokenizer folder or file: `tokenizer`, else a `generator` checkpoint folder
    that holds tokenizer files, else None (a BPE trained on the corpus)."""
    if cfg.tokenizer:
        return Path(cfg.tokenizer).expanduser()
    if cfg.generator:
        folder = Path(cfg.generator).expanduser()
        if (folder / "tokenizer.json").is_file() or (folder / "vocab.json").is_file():
            return folder
        raise ConfigError(f"generator {cfg.generator}: no tokenizer.json or vocab.json +"
                          " merges.txt there; pass the tokenizer it was trained with"
                          " (--set tokenizer=DIR)")
    return None


def key_for(cfg: Any) -> str:
    """The cache key of the tokenizer `cfg` asks for."""
    source = tokenizer_source(cfg)
    if source is not None:
        return _dir_key(source)
    if not cfg.corpus_id:
        raise RunError("text config has no corpus_id yet (resolve_config fills it in)")
    return bpe_key(cfg)


def _checkpoint_specials(folder: Path) -> dict[str, int | None]:
    """bos/eos/pad ids from a transformers checkpoint's config.json, where it sets them."""
    config = folder / "config.json"
    if not config.is_file():
        return {}
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found: dict[str, int | None] = {}
    for name in ("bos", "eos", "pad"):
        value = data.get(f"{name}_token_id")
        if isinstance(value, list):
            value = value[0] if value else None
        found[name] = value if isinstance(value, int) else None
    return found


def load_local(source: Path) -> Any:
    """A `tokenizers.Tokenizer` from a tokenizer.json file, a folder holding one, or a folder
    with GPT-2 style vocab.json + merges.txt."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    if not source.exists():
        raise ConfigError(f"tokenizer {source}: no such file or folder")
    file = source if source.is_file() else source / "tokenizer.json"
    try:
        if file.is_file():
            return Tokenizer.from_file(str(file))
        vocab, merges = source / "vocab.json", source / "merges.txt"
        if vocab.is_file() and merges.is_file():
            tokenizer = Tokenizer(models.BPE.from_file(str(vocab), str(merges)))
            tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            tokenizer.decoder = decoders.ByteLevel()
            return tokenizer
    except Exception as exc:  # tokenizers raises plain Exceptions for malformed files
        raise ConfigError(f"tokenizer {source}: cannot be read ({exc})") from None
    raise ConfigError(f"tokenizer {source}: expected tokenizer.json, or vocab.json and"
                      " merges.txt (a GPT-2 style byte-level BPE)")


def _wrap(tokenizer: Any, key: str, where: str, cfg: Any) -> TextTokenizer:
    overrides = _checkpoint_specials(Path(cfg.generator).expanduser()) if cfg.generator else {}
    bos, eos, pad = special_ids(tokenizer, where, overrides)
    return TextTokenizer(tokenizer, key, bos, eos, pad)


def get(cfg: Any, texts: Iterable[str] | None = None) -> TextTokenizer:
    """The tokenizer `cfg` names: from this process, a local folder, the GANX_HOME cache, or
    (with `texts`, the corpus) a BPE trained now and cached. RunError when it is nowhere."""
    key = key_for(cfg)
    if key in _LOADED:
        return _LOADED[key]
    source = tokenizer_source(cfg)
    if source is not None:
        found = _wrap(load_local(source), key, str(source), cfg)
    else:
        from tokenizers import Tokenizer

        path = cache_dir() / "tokenizers" / f"{key}.json"
        if path.is_file():
            tokenizer = Tokenizer.from_file(str(path))
        elif texts is not None:
            if cfg.vocab_size < MIN_VOCAB:
                raise ConfigError(f"vocab_size {cfg.vocab_size}: use {MIN_VOCAB} or more (a"
                                  " byte-level BPE starts from 256 byte symbols)")
            tokenizer = train_bpe(texts, cfg.vocab_size)
            _write_atomic(path, tokenizer.to_str())
            log.info("trained a byte-level BPE with %d tokens on the training units (cached in %s)",
                     tokenizer.get_vocab_size(), path)
        else:
            raise RunError(f"the tokenizer of this run ({key}) is not in {path.parent} and the"
                           " snapshot carries none; train again or pass --set tokenizer=DIR")
        found = _wrap(tokenizer, key, key, cfg)
    _LOADED[key] = found
    return found


def register_json(cfg: Any, text: str) -> TextTokenizer:
    """Make a tokenizer serialised in a snapshot (see `TextTokenizer.to_json`) the one `cfg`
    names in this process."""
    from tokenizers import Tokenizer

    key = key_for(cfg)
    known = _LOADED.get(key)
    if known is not None and known.to_json() == text:
        return known
    found = _wrap(Tokenizer.from_str(text), key, key, cfg)
    _LOADED[key] = found
    return found


def lookup(cfg: Any) -> TextTokenizer | None:
    """The tokenizer `cfg` names when it can be had without the corpus, else None."""
    try:
        return get(cfg)
    except (RunError, ConfigError):
        return None
