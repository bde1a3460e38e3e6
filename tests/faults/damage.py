"""One hypothesis strategy for damaged files, shared by the loader fuzz tests."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st


@st.composite
def damaged_bytes(draw: Callable, good: bytes, random_size: int = 512,
                  max_flips: int = 8) -> bytes:
    """`good` damaged one way: replaced by random bytes, bit-flipped, truncated, or spliced."""
    kind = draw(st.sampled_from(["random", "flip", "truncate", "splice"]))
    data = bytearray(good)
    if kind == "random":
        return draw(st.binary(max_size=random_size))
    if kind == "flip":
        for _ in range(draw(st.integers(1, max_flips))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    else:
        i = draw(st.integers(0, len(data)))
        data[i:i] = draw(st.binary(min_size=1, max_size=64))
    return bytes(data)
