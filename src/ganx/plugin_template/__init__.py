"""`ganx plugin new NAME`: write a ready domain plugin package from the files in `files/`.

Each `*.tmpl` file is a `string.Template`: `$name` (the --plugin value), `$module` (the import
name), `$dist` (the distribution), `$Class` (the class-name prefix) and `$ganx_requirement`.
A path part `__module__` becomes the import name, and a leading `dot-` a leading dot.
"""

from __future__ import annotations

import importlib.metadata as md
import keyword
import os
import re
import shutil
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from ganx.core.errors import ConfigError

NAME = re.compile(r"[a-z][a-z0-9_-]*")
MAX_NAME = 40


def suggest(name: str) -> str:
    """The nearest valid name to a rejected one ('My Thing!' -> 'my_thing')."""
    cleaned = re.sub(r"[^a-z0-9_-]+", "_", name.strip().lower()).strip("_-")
    cleaned = re.sub(r"^[^a-z]+", "", cleaned)[:MAX_NAME].rstrip("_-")
    return cleaned or "mydomain"


def check_name(name: str, taken: set[str] | frozenset[str] = frozenset()) -> None:
    """ConfigError (exit 2) unless `name` can be a domain name, an entry-point name and, with
    '-' as '_', part of a Python package name; and no installed plugin uses it already."""
    if not NAME.fullmatch(name) or name[-1] in "-_" or len(name) > MAX_NAME:
        raise ConfigError(
            f"plugin name {name!r} is not valid: use lowercase letters, digits, '-' and '_',"
            f" starting with a letter, at most {MAX_NAME} characters (e.g. {suggest(name)!r})")
    if keyword.iskeyword(name):
        raise ConfigError(f"plugin name {name!r} is a Python keyword; choose another"
                          f" (e.g. '{name}gan')")
    if name in taken:
        raise ConfigError(f"plugin name {name!r} is taken: an installed plugin already uses it"
                          " (see `ganx plugins`); choose another")


def installed_names() -> set[str]:
    """Domain names and entry-point names of the installed plugins (no torch imported)."""
    from ganx.plugins.host import get_host

    names = {ep.name for ep in md.entry_points(group="ganx")}
    return names | set(get_host().domains.names())


def fields(name: str) -> dict[str, str]:
    """The values the template files are filled in with."""
    module = "ganx_" + name.replace("-", "_")
    try:
        version = md.version("ganx")
        requirement = f"ganx>={version}" if re.fullmatch(r"\d+(\.\d+)*", version) else "ganx"
    except md.PackageNotFoundError:
        requirement = "ganx"
    return {
        "name": name,
        "module": module,
        "dist": f"ganx-{name}",
        "Class": "".join(part.capitalize() for part in re.split(r"[-_]", name)),
        "ganx_requirement": requirement,
    }


def _target(rel: tuple[str, ...], values: dict[str, str]) -> Path:
    parts = [values["module"] if p == "__module__" else p for p in rel]
    parts[-1] = parts[-1].removesuffix(".tmpl")
    if parts[-1].startswith("dot-"):
        parts[-1] = "." + parts[-1][4:]
    return Path(*parts)


def _walk(node: Traversable, rel: tuple[str, ...] = ()):
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            if child.name != "__pycache__":
                yield from _walk(child, (*rel, child.name))
        elif child.name.endswith(".tmpl"):
            yield (*rel, child.name), child


def render(name: str) -> dict[Path, str]:
    """The package's files (relative path -> text) for plugin `name`."""
    values = fields(name)
    root = resources.files(__package__).joinpath("files")
    return {_target(rel, values): Template(node.read_text(encoding="utf-8")).substitute(values)
            for rel, node in _walk(root)}


def create_plugin(name: str, parent: str | Path = ".", *, check_installed: bool = True) -> Path:
    """Write the package `parent/ganx-NAME/` and return its path. The folder appears whole or
    not at all (written beside it, then renamed)."""
    check_name(name, installed_names() if check_installed else frozenset())
    parent = Path(parent)
    dest = parent / f"ganx-{name}"
    if dest.exists():
        raise ConfigError(f"{dest} already exists; remove it or choose another --dir")
    files = render(name)
    staging = parent / f".ganx-{name}.{os.getpid()}.tmp"
    try:
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.replace(staging, dest)
    except OSError as exc:
        raise ConfigError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest
