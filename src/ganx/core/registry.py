"""Named registries for losses, metrics and callbacks, filled by plugins through hooks.

An entry is either the object itself or a lazy reference "package.module:attribute", resolved on
first use, so a plugin can register torch-backed code without importing torch at discovery. The
plugin host checks each reference when the plugin loads (`reference_problem`: the module is found
and defines the attribute, read from its source without running it).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import ConfigError, RunError, did_you_mean

T = TypeVar("T")


class DuplicateNameError(ValueError):
    """Two plugins registered the same name."""


@dataclass
class Entry(Generic[T]):
    name: str
    target: T | str
    owner: str

    def resolve(self, kind: str) -> T:
        if isinstance(self.target, str):
            module, _, attr = self.target.partition(":")
            try:
                obj: Any = importlib.import_module(module)
                for part in attr.split("."):
                    obj = getattr(obj, part)
            except (ImportError, AttributeError) as exc:
                raise RunError(f"{kind} '{self.name}' of {self.owner}: cannot load"
                               f" {self.target!r} ({type(exc).__name__}: {exc})") from exc
            self.target = obj
        return self.target  # type: ignore[return-value]


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def reference_problem(reference: str) -> str | None:
    """What is wrong with a lazy "package.module:attribute" reference, or None when the module
    exists and defines the attribute at top level (or cannot be read, e.g. compiled code: then
    only the first use can tell). Imports the module's parent packages, never the module."""
    module, sep, attr = reference.partition(":")
    if not sep or not module or not attr:
        return f"{reference!r} is not a \"package.module:attribute\" reference"
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        return f"{reference!r}: cannot find module {module!r} ({type(exc).__name__}: {exc})"
    if spec is None:
        return f"{reference!r}: there is no module {module!r}"
    origin = spec.origin
    if not origin or not origin.endswith(".py"):
        return None
    try:
        with open(origin, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    first = attr.split(".")[0]
    names = _top_level_names(tree)
    if first not in names:
        return f"{reference!r}: module {module!r} defines no {first!r}{did_you_mean(first, names)}"
    return None


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
        return entry.resolve(self.kind)

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
