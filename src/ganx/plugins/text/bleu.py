"""BLEU as text-GAN papers report it (Texygen, TextGAN-PyTorch): every generated sentence is
scored against the whole reference set with sentence BLEU, and the scores are averaged.

Sentence BLEU-n here matches NLTK's `sentence_bleu(references, hypothesis, weights=(1/n,)*n,
smoothing_function=SmoothingFunction().method1)`:

- modified n-gram precision p_k: each n-gram's count clipped by its largest count in any single
  reference, divided by the hypothesis's n-gram count (at least 1);
- method1 smoothing: a p_k with no matches becomes 0.1 / (its denominator);
- no unigram match at all gives 0;
- brevity penalty exp(1 - r / c) when the hypothesis length c is not above r, the reference
  length closest to c (the shorter one on ties);
- BLEU-n = brevity penalty * exp(mean of log p_k, k = 1..n).

The largest count of each n-gram over the references is computed once, so scoring N hypotheses
against M references costs O((N + M) * words) rather than O(N * M). Self-BLEU (Zhu et al. 2018)
scores each generated sentence against all the *other* generated sentences; the top two counts
of each n-gram make leaving one out exact.

Words: lowercased runs of letters/digits, and single punctuation marks.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Sequence

EPSILON = 0.1  # NLTK's method1
_WORD = re.compile(r"\w+|[^\w\s]")

Ngram = tuple[str, ...]


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngram_counts(tokens: Sequence[str], n: int) -> Counter[Ngram]:
    return Counter(tuple(tokens[i: i + n]) for i in range(len(tokens) - n + 1))


class _Lengths:
    """A multiset of reference lengths that answers 'closest to c' (shorter on ties), with one
    occurrence of a given length optionally left out."""

    def __init__(self, lengths: Sequence[int]) -> None:
        self.count = Counter(lengths)
        self.sorted = sorted(self.count)

    def closest(self, c: int, leave_out: int | None = None) -> int | None:
        def usable(length: int) -> bool:
            return self.count[length] - (1 if length == leave_out else 0) > 0

        i = bisect.bisect_left(self.sorted, c)
        below = next((self.sorted[j] for j in range(i - 1, -1, -1) if usable(self.sorted[j])),
                     None)
        above = next((self.sorted[j] for j in range(i, len(self.sorted))
                      if usable(self.sorted[j])), None)
        if below is None or above is None:
            return above if below is None else below
        return below if c - below <= above - c else above


class _MaxCounts:
    """Per n-gram: the largest count in any reference, how many references reach it, and the
    second-largest value (for leaving one reference out)."""

    def __init__(self) -> None:
        self.top: dict[Ngram, int] = {}
        self.top_refs: dict[Ngram, int] = {}
        self.second: dict[Ngram, int] = {}

    def add(self, counts: Counter[Ngram]) -> None:
        for gram, c in counts.items():
            top = self.top.get(gram, 0)
            if c > top:
                if top:
                    self.second[gram] = top
                self.top[gram], self.top_refs[gram] = c, 1
            elif c == top:
                self.top_refs[gram] += 1
            elif c > self.second.get(gram, 0):
                self.second[gram] = c

    def get(self, gram: Ngram, own: int = 0) -> int:
        """The largest reference count of `gram`, leaving out a reference that has it `own`
        times (0: leave nothing out)."""
        top = self.top.get(gram, 0)
        if own and own == top and self.top_refs[gram] == 1:
            return self.second.get(gram, 0)
        return top


class References:
    """A reference set prepared for BLEU-1..max_n of many hypotheses."""

    def __init__(self, references: Sequence[Sequence[str]], max_n: int = 5) -> None:
        self.max_n = max_n
        self.lengths = _Lengths([len(r) for r in references])
        self.max_counts = [_MaxCounts() for _ in range(max_n + 1)]
        for ref in references:
            for n in range(1, max_n + 1):
                self.max_counts[n].add(ngram_counts(ref, n))
        self.size = len(references)

    def sentence_bleu(self, hypothesis: Sequence[str], n: int, *,
                      leave_out_self: bool = False) -> float:
        """BLEU-n of one hypothesis; with `leave_out_self` the hypothesis is itself one of the
        references and is left out (self-BLEU)."""
        if not 1 <= n <= self.max_n:
            raise ValueError(f"BLEU-{n}: this reference set was prepared up to {self.max_n}")
        c = len(hypothesis)
        r = self.lengths.closest(c, c if leave_out_self else None)
        if c == 0 or r is None:
            return 0.0
        log_sum = 0.0
        for k in range(1, n + 1):
            counts = ngram_counts(hypothesis, k)
            table = self.max_counts[k]
            matches = sum(min(cnt, table.get(g, own=cnt if leave_out_self else 0))
                          for g, cnt in counts.items())
            total = max(1, sum(counts.values()))
            if matches == 0:
                if k == 1:
                    return 0.0
                log_sum += math.log(EPSILON / total)
            else:
                log_sum += math.log(matches / total)
        brevity = 1.0 if c > r else math.exp(1.0 - r / c)
        return brevity * math.exp(log_sum / n)


def bleu(hypotheses: Sequence[Sequence[str]], references: References | Sequence[Sequence[str]],
         n: int) -> float:
    """Mean sentence BLEU-n of the hypotheses against the whole reference set."""
    if not isinstance(references, References):
        references = References(references, n)
    if not hypotheses or references.size == 0:
        return 0.0
    return sum(references.sentence_bleu(h, n) for h in hypotheses) / len(hypotheses)


def self_bleu(hypotheses: Sequence[Sequence[str]], n: int,
              prepared: References | None = None) -> float:
    """Mean BLEU-n of each hypothesis against all the others (higher: less diverse)."""
    if len(hypotheses) < 2:
        return 0.0
    refs = prepared or References(hypotheses, n)
    return sum(refs.sentence_bleu(h, n, leave_out_self=True) for h in hypotheses) / len(
        hypotheses)


def distinct(hypotheses: Sequence[Sequence[str]], n: int) -> float:
    """Distinct-n (Li et al. 2016): distinct n-grams over all n-grams in the samples."""
    seen: set[Ngram] = set()
    total = 0
    for h in hypotheses:
        grams = [tuple(h[i: i + n]) for i in range(len(h) - n + 1)]
        seen.update(grams)
        total += len(grams)
    return len(seen) / total if total else 0.0
