"""The house's arrows: cli -> plugins -> public blocks (nn, metrics, restoration) -> core.

A built-in domain is an ordinary plugin: it imports only what a third party can import, never
another plugin's modules, so each could be cut out into its own package. core knows nothing of
plugins, the CLI or the public blocks built on it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ganx"
DOMAINS = ("image", "audio", "text", "medical")


def imports_in(source: str, package: str) -> set[str]:
    """Every module `source` (a module of `package`) imports, relative imports resolved."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imported_modules(path: Path) -> set[str]:
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    return imports_in(path.read_text(encoding="utf-8"), package)


def files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_builtin_domain_imports_no_other_plugin(domain):
    others = (*(f"ganx.plugins.{d}" for d in DOMAINS if d != domain), "ganx.plugins.engine")
    offences = [f"{path.relative_to(SRC)} imports {module}"
                for path in files(SRC / "plugins" / domain)
                for module in sorted(imported_modules(path))
                if module.startswith(others)]
    assert offences == []


@pytest.mark.parametrize("layer", ["core", "nn", "metrics"])
def test_lower_layers_do_not_import_higher_ones(layer):
    folder = SRC / layer
    if not folder.is_dir():
        pytest.skip(f"ganx.{layer} does not exist")
    higher = ["ganx.plugins", "ganx.cli", "ganx.api", "ganx.planning", "click", "pluggy"]
    if layer == "core":
        higher += ["ganx.nn", "ganx.metrics", "ganx.restoration"]
    offences = [f"{path.relative_to(SRC)} imports {module}" for path in files(folder)
                for module in sorted(imported_modules(path))
                if any(module == h or module.startswith(h + ".") for h in higher)]
    assert offences == []


def test_the_import_checker_sees_relative_and_absolute_imports():
    assert "ganx.plugins.image.writer.save_grid" in imports_in(
        "from ganx.plugins.image.writer import save_grid\n", "ganx.plugins.audio")
    assert "ganx.plugins.image.sources" in imports_in(
        "from ..image import sources\n", "ganx.plugins.audio")
    assert "ganx.plugins.audio.writer" in imports_in("from . import writer\n",
                                                     "ganx.plugins.audio")
