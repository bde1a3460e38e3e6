"""The documentation site builds with MkDocs in strict mode (warnings are errors): every page is in
the navigation, and every link and anchor between pages resolves."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from ..conftest import REPO


def nav_pages() -> list[str]:
    text = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:"):]
    return re.findall(r":\s+(\S+\.md)\s*$", nav, flags=re.MULTILINE)


def test_every_docs_page_is_in_the_navigation():
    pages = sorted(str(p.relative_to(REPO / "docs")) for p in (REPO / "docs").rglob("*.md"))
    listed = nav_pages()
    assert sorted(listed) == pages, "add the page to nav: in mkdocs.yml (or remove it from there)"
    assert len(listed) == len(set(listed))


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs is not installed")
def test_site_builds_in_strict_mode(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                             str(REPO / "mkdocs.yml"), "--site-dir", str(site)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    for page in nav_pages():
        built = site / ("index.html" if page == "index.md" else page.removesuffix(".md")
                        + "/index.html")
        assert built.is_file(), f"{page} was not built"
    reports = (site / "guide" / "reports" / "index.html").read_text(encoding="utf-8")
    assert "ganx report runs/image-20261128-120000" in reports
