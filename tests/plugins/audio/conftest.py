"""The audio tests' shared cache."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """One GANX_HOME for the audio test modules that only read the tiny spoken-digit set (it is
    synthesised once); a module that needs a cache of its own defines this fixture itself."""
    monkeypatch.setenv("GANX_HOME", str(tmp_path_factory.getbasetemp() / "ganx-home-audio"))
