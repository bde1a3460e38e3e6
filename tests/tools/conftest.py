"""Tiny trained runs of every built-in domain, trained once per session (a few steps each)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

RUN: dict[str, Any] = {"steps": 2, "batch_size": 4, "device": "cpu", "precision": "fp32",
                       "log_every": 1, "sample_every": 2, "eval_every": -1, "n_samples": 4,
                       "checkpoint_every": 2}

IMAGE = {"resolution": 16, "width": 8, "latent_dim": 16}
SETTINGS: dict[str, dict[str, Any]] = {
    "image": IMAGE,
    "image-stylegan2": {**IMAGE, "arch": "stylegan2"},
    "image-conditional": {**IMAGE, "conditional": True},
    "audio": {"digits_clips": 20, "sample_rate": 8000, "segment": 4096, "width": 2,
              "latent_dim": 8},
    "medical": {"resolution": 16, "width": 8, "latent_dim": 16},
    "text": {"vocab_size": 300, "seq_len": 24, "g_dim": 32, "g_layers": 1, "g_heads": 2,
             "d_dim": 32, "d_layers": 1, "d_heads": 2, "mle_steps": 1},
    "audio-wavegan": {"digits_clips": 20, "sample_rate": 8000, "segment": 4096, "width": 2,
                      "latent_dim": 8, "generator": "wavegan"},
    "audio-ddsp": {"digits_clips": 20, "sample_rate": 8000, "segment": 4096, "width": 2,
                   "latent_dim": 8, "generator": "ddsp"},
    "image-denoise": {**IMAGE, "task": "denoise"},
}


def write_corpus(folder: Path, n: int = 200) -> Path:
    rng = random.Random(0)
    words = ["the cat", "a dog", "sees", "loves", "the moon", "a rose"]
    folder.mkdir(parents=True, exist_ok=True)
    lines = [" ".join(rng.choice(words) for _ in range(3)) + "." for _ in range(n)]
    (folder / "corpus.txt").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="session")
def tools_home(tmp_path_factory):
    return tmp_path_factory.mktemp("tools-home")


@pytest.fixture(autouse=True)
def _tools_cache(tools_home, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tools_home))
    monkeypatch.setenv("GANX_IMAGE_FEATURES", "random")  # fast feature nets in tests


@pytest.fixture(scope="session")
def trained(tmp_path_factory, tools_home):
    """`trained(kind)`: the run directory of a tiny trained run of `kind` (see SETTINGS)."""
    import os

    import ganx

    runs: dict[str, Path] = {}

    def make(kind: str) -> Path:
        if kind not in runs:
            old = os.environ.get("GANX_HOME")
            os.environ["GANX_HOME"] = str(tools_home)
            try:
                domain = kind.split("-")[0]
                run_dir = tmp_path_factory.mktemp(f"run-{kind}")
                data = str(write_corpus(run_dir / "corpus")) if domain == "text" else None
                extra = {"data": data} if data else {}
                ganx.train(domain, settings=SETTINGS[kind], run_dir=str(run_dir / "run"),
                           **RUN, **extra)
            finally:
                if old is None:
                    os.environ.pop("GANX_HOME", None)
                else:
                    os.environ["GANX_HOME"] = old
            runs[kind] = run_dir / "run"
        return runs[kind]

    return make
