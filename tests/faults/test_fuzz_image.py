"""Fuzzing the image loader with random and mutated bytes: never a hang, never an uncaught
exception; every file is either loaded (and then decodes the same every time) or skipped and
counted."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganx.core.errors import ConfigError
from ganx.plugins.image import sources

from .damage import damaged_bytes

EXTENSIONS = [".png", ".jpg", ".bmp", ".webp", ".tif"]


def valid_bytes(fmt: str) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (12, 10, 3), dtype=np.uint8))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


VALID = {ext: valid_bytes(fmt) for ext, fmt in
         zip(EXTENSIONS, ["PNG", "JPEG", "BMP", "WEBP", "TIFF"], strict=True)}


@st.composite
def damaged_file(draw):
    ext = draw(st.sampled_from(EXTENSIONS))
    return ext, draw(damaged_bytes(VALID[ext]))


@settings(max_examples=60, deadline=10_000, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(files=st.lists(damaged_file(), min_size=1, max_size=6))
def test_damaged_images_are_loaded_or_skipped_never_crash(tmp_path_factory, files):
    root: Path = tmp_path_factory.mktemp("fuzz")
    (root / "good.png").write_bytes(VALID[".png"])
    for i, (ext, data) in enumerate(files):
        (root / f"f{i}{ext}").write_bytes(data)
    try:
        first = sources.load_folder(root, 8, 3)
    except ConfigError as exc:  # only when nothing at all is usable; good.png always is
        pytest.fail(f"a folder with one good image failed: {exc}")
    n_files = len(files) + 1
    assert 1 <= len(first.images) <= n_files
    assert first.images.dtype == np.uint8 and first.images.shape[1:] == (3, 8, 8)
    # what loads, loads the same way again: no state leaks between decodes
    second = sources.load_folder(root, 8, 3)
    assert np.array_equal(first.images, second.images)


def test_only_damaged_files_is_a_clear_error(tmp_path):
    for i, ext in enumerate(EXTENSIONS):
        (tmp_path / f"bad{i}{ext}").write_bytes(b"\\x00garbage" * (i + 1))
    with pytest.raises(ConfigError, match="none of the 5 image files could be read"):
        sources.load_folder(tmp_path, 8, 0)
