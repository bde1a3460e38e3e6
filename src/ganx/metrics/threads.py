"""Running torch on one CPU thread for a while."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one CPU thread inside the block, then restore the thread count.

    Small steps (a feature classifier's training, the Fréchet distance's eigendecompositions) gain
    little from more threads and lose several times over when the cores are busy: on 2 loaded
    cores a training step took 0.07 s on one thread and 0.2-0.6 s on two, a 2048-d eigh 3 s
    against 41 s. One thread also gives the same trained weights on any CPU.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
