"""Cutting documents into training units and holding some out for evaluation.

- `line`: every non-blank line (whitespace collapsed) is a unit: verse, dialogue, one sentence
  per line files.
- `sentence`: paragraphs (separated by blank lines) are joined and cut after `.`, `!` or `?`.
- `window`: documents stay whole; they are later encoded as one token stream cut into fixed
  windows of `seq_len` tokens.

Units with fewer than `min_words` words are dropped (speaker names, stage cues). The held-out
share is drawn with a fixed seed, so every run on the same corpus holds out the same units.
"""

from __future__ import annotations

import math
import random
import re
from typing import Literal

Unit = Literal["line", "sentence", "window"]
SPLIT_SEED = 1234
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=\S)")
_PARAGRAPH = re.compile(r"\n\s*\n")


def _words(text: str) -> int:
    return len(text.split())


def sentences(text: str) -> list[str]:
    """Sentences of a document: paragraphs flattened and cut after sentence-final marks."""
    found = []
    for paragraph in _PARAGRAPH.split(text):
        flat = " ".join(paragraph.split())
        if flat:
            found.extend(s.strip() for s in _SENTENCE_END.split(flat) if s.strip())
    return found


def split_units(documents: list[str], unit: Unit, min_words: int) -> list[str]:
    """The documents as units of kind `unit` (for `window`: the non-blank documents)."""
    if unit == "window":
        return [doc for doc in documents if doc.strip()]
    units = []
    for doc in documents:
        pieces = doc.split("\n") if unit == "line" else sentences(doc)
        for piece in pieces:
            flat = " ".join(piece.split())
            if flat and _words(flat) >= min_words:
                units.append(flat)
    return units


def holdout_count(n: int, share: float) -> int:
    """How many of `n` units to hold out: at least one when `share` > 0 and n >= 2."""
    if share <= 0 or n < 2:
        return 0
    return min(n - 1, max(1, math.ceil(n * share)))


def holdout_split(units: list[str], unit: Unit, share: float,
                  seed: int = SPLIT_SEED) -> tuple[list[str], list[str]]:
    """(training units, held-out units). Lines and sentences are drawn at random (fixed seed);
    windowed documents are held out whole when there are at least 10 of them, otherwise the
    last `share` of each document (cut at a line break) is held out."""
    if unit == "window" and len(units) < 10:
        train, held = [], []
        for doc in units:
            cut = _cut_point(doc, share)
            train.append(doc[:cut])
            if doc[cut:].strip():
                held.append(doc[cut:])
        return [d for d in train if d.strip()], held
    k = holdout_count(len(units), share)
    order = list(range(len(units)))
    random.Random(seed).shuffle(order)
    held_idx = set(order[:k])
    train = [u for i, u in enumerate(units) if i not in held_idx]
    held = [u for i, u in enumerate(units) if i in held_idx]
    return train, held


def _cut_point(doc: str, share: float) -> int:
    if share <= 0:
        return len(doc)
    target = int(len(doc) * (1.0 - share))
    newline = doc.rfind("\n", 0, target)
    return newline + 1 if newline > 0 else target
