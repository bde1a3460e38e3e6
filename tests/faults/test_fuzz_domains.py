"""Fuzzing each domain's loader through the public Domain API with random and mutated bytes: a
folder holding one good file and damaged ones never hangs and never raises anything but a clear
ganx error; it loads the good data, and loads it the same way twice."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganx.core.errors import GanxError
from ganx.plugins.host import PluginHost

from .damage import damaged_bytes


def wav_bytes() -> bytes:
    import soundfile

    t = np.arange(8000) / 16000
    out = io.BytesIO()
    soundfile.write(out, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000,
                    format="WAV", subtype="PCM_16")
    return out.getvalue()


def text_bytes() -> bytes:
    lines = [f"line {i}: the quick brown fox jumps over the lazy dog number {i}."
             for i in range(400)]
    return "\n".join(lines).encode()


def nifti_bytes() -> bytes:
    import nibabel

    rng = np.random.default_rng(0)
    volume = np.zeros((24, 24, 8), dtype=np.float32)
    volume[4:20, 4:20, :] = rng.uniform(100, 1000, (16, 16, 8))
    image = nibabel.Nifti1Image(volume, np.eye(4))
    return image.to_bytes()


def dicom_bytes() -> bytes:
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file("CT_small.dcm")).read_bytes()


CASES = {
    # domain: (good file name, good bytes, extensions for damaged files, settings)
    "audio": ("good.wav", wav_bytes, [".wav", ".flac", ".ogg"],
              {"sample_rate": 8000, "segment_seconds": 0.25}),
    "text": ("good.txt", text_bytes, [".txt", ".jsonl"], {}),
    "medical": ("good.nii", nifti_bytes, [".nii", ".nii.gz", ".dcm"], {"resolution": 16}),
}


def domain_and_config(name: str, overrides: dict):
    host = PluginHost()
    host.load_entry_points()
    domain = host.domain(name)
    cfg = domain.Config()
    fields = {f for f in cfg.__dataclass_fields__}
    known = {k: v for k, v in overrides.items() if k in fields}
    import dataclasses

    return domain, dataclasses.replace(cfg, **known)


def size_of(dataset) -> int:
    if isinstance(dataset, torch.Tensor):
        return len(dataset)
    if isinstance(dataset, tuple | list):
        return len(dataset[0])
    return len(dataset)


def first_items(dataset, k: int = 4) -> list[torch.Tensor]:
    if isinstance(dataset, torch.Tensor):
        return [dataset[:k]]
    if isinstance(dataset, tuple | list):
        return [t[:k] for t in dataset]
    items = [dataset[i] for i in range(min(k, len(dataset)))]
    return [torch.as_tensor(np.asarray(i if not isinstance(i, tuple) else i[0])) for i in items]


@st.composite
def damaged(draw, good: bytes, extensions: list[str]):
    return draw(st.sampled_from(extensions)), draw(damaged_bytes(good, 400, 6))


@pytest.mark.parametrize("name", sorted(CASES))
def test_domain_loader_survives_damaged_files(name, tmp_path_factory, monkeypatch):
    good_name, make_good, extensions, overrides = CASES[name]
    good = make_good()
    monkeypatch.setenv("GANX_HOME", str(tmp_path_factory.mktemp("home")))
    domain, base_cfg = domain_and_config(name, overrides)

    @settings(max_examples=15, deadline=60_000, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(files=st.lists(damaged(good, extensions), min_size=1, max_size=4))
    def run(files):
        root = tmp_path_factory.mktemp(f"fuzz-{name}")
        (root / good_name).write_bytes(good)
        for i, (ext, data) in enumerate(files):
            (root / f"damaged{i}{ext}").write_bytes(data)
        try:
            cfg = domain.resolve_config(base_cfg, str(root))
            first = domain.build_dataset(cfg, str(root))
        except GanxError as exc:  # the good file is always usable: damaged ones are skipped
            pytest.fail(f"{name}: one good file and damaged ones failed to load: {exc}")
        assert size_of(first) >= 1
        again = domain.build_dataset(cfg, str(root))
        assert size_of(again) == size_of(first)
        for a, b in zip(first_items(first), first_items(again), strict=True):
            assert torch.equal(torch.as_tensor(a), torch.as_tensor(b))

    run()
