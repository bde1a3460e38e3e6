"""Compatibility with domains written against older versions of the Domain contract.

The engine calls every Domain method with the full signature. A subclass whose override lacks a
parameter added to the contract since (it was once passed only to overrides that took it) is
adapted when the class is defined: the override is wrapped to drop that keyword, and a
DeprecationWarning names the class, the method and the parameter. This is the only place ganx
looks at a plugin method's signature.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

ADDED_PARAMETERS: dict[str, tuple[str, ...]] = {
    "generate": ("reference", "first"),
    "write_samples": ("reference",),
    "extra_generator_losses": ("generator_net",),
}
"""Method -> keyword parameters the contract gained after plugins were written against it."""


def accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether `fn` takes a keyword argument `name`."""
    params = inspect.signature(fn).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _dropping(fn: Callable[..., Any], names: tuple[str, ...]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def adapted(self: Any, *args: Any, **kwargs: Any) -> Any:
        for name in names:
            kwargs.pop(name, None)
        return fn(self, *args, **kwargs)

    adapted.__ganx_adapted__ = True  # type: ignore[attr-defined]
    return adapted


ADAPTER_CODE = _dropping(lambda self: None, ()).__code__
"""The code object of every adapter, so error reports can look through it to the method."""


def adapt_old_signatures(cls: type) -> None:
    """Wrap `cls`'s own overrides that lack parameters of `ADDED_PARAMETERS`."""
    for method, added in ADDED_PARAMETERS.items():
        fn = cls.__dict__.get(method)
        if not inspect.isfunction(fn) or getattr(fn, "__ganx_adapted__", False):
            continue
        missing = tuple(name for name in added if not accepts(fn, name))
        if not missing:
            continue
        warnings.warn(
            f"{cls.__module__}.{cls.__qualname__}.{method} does not take"
            f" {', '.join(missing)}; ganx calls it without for now, but add"
            f" {'them' if len(missing) > 1 else 'it'} to the signature (see the Domain reference"
            " in docs/plugins/writing.md)",
            DeprecationWarning, stacklevel=3)
        setattr(cls, method, _dropping(fn, missing))
