"""Named registries for losses and metrics, filled by plugins through hooks.

An entry is either the object itself or a lazy reference "package.module:attribute", resolved on
first use, so a plugin can register torch-backed code without importing torch at discovery.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import ConfigError, did_you_mean

T = TypeVar("T")


class DuplicateNameError(ValueError):
    """Two plugins registered the same name."""


@dataclass
class Entry(Generic[T]):
    name: str
    target: T | str
    owner: str

    def resolve(self) -> T:
        if isinstance(self.target, str):
            module, _, attr = self.target.partition(":")
            obj = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
            self.target = obj
        return self.target  # type: ignore[return-value]


class Registry(Generic[T]):
    """Name -> object (or lazy "module:attr" reference), with the plugin that registered it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def add(self, name: str, target: T | str, owner: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if name in self._entries:
            other = self._entries[name].owner
            raise DuplicateNameError(f"{self.kind} '{name}' is already registered by {other}")
        self._entries[name] = Entry(name, target, owner)

    def get(self, name: str) -> T:
        try:
            entry = self._entries[name]
        except KeyError:
            hint = did_you_mean(name, self._entries)
            raise ConfigError(f"unknown {self.kind} '{name}'{hint}") from None
        return entry.resolve()

    def owner(self, name: str) -> str:
        return self._entries[name].owner

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
