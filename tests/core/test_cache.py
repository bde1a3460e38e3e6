"""The on-disk cache: atomic writes, no pickles, contents verified by their SHA-256."""

from __future__ import annotations

import logging
import os
import zipfile

import numpy as np
import pytest

from ganx.core import cache
from ganx.plugins.image import sources as image_sources


def arrays():
    return {"images": np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
            "classes": np.array(["a", "b"], dtype=str)}


def test_round_trip_under_ganx_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "home"))
    path = cache.domain_dir("image") / "x.npz"
    cache.save_arrays(path, "test cache", arrays())
    loaded = cache.load_arrays(path, "test cache")
    assert path.parent == tmp_path / "home" / "image"
    assert loaded is not None and loaded.keys() == arrays().keys()
    assert all(np.array_equal(loaded[k], v) for k, v in arrays().items())
    assert [p.name for p in path.parent.iterdir()] == ["x.npz"]  # no temporary left


def test_edited_contents_are_refused(tmp_path, caplog):
    path = tmp_path / "x.npz"
    cache.save_arrays(path, "test cache", arrays())
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    edited = bytearray(members["images.npy"])
    edited[-1] ^= 0xFF  # a valid file whose data changed: only the checksum can tell
    members["images.npy"] = bytes(edited)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with caplog.at_level(logging.WARNING, logger="ganx"):
        assert cache.load_arrays(path, "test cache") is None
    assert "do not match their checksum" in caplog.text and str(path) in caplog.text


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04truncated"])
def test_unreadable_files_are_ignored(tmp_path, content, caplog):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="ganx"):
        assert cache.load_arrays(path, "test cache") is None
    assert "ignoring unreadable test cache" in caplog.text


def test_a_file_without_a_checksum_or_with_pickles_is_not_used(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, **arrays())  # written by something else: no checksum
    assert cache.load_arrays(plain, "test cache") is None
    hostile = tmp_path / "hostile.npz"
    np.savez(hostile, obj=np.array([{"a": 1}], dtype=object))
    assert cache.load_arrays(hostile, "test cache") is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_cache_only_warns(tmp_path, caplog):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    with caplog.at_level(logging.WARNING, logger="ganx"):
        cache.save_arrays(folder / "x.npz", "test cache", arrays())
    assert "could not write the test cache" in caplog.text


def test_an_unwritable_cache_only_warns_even_as_root(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="ganx"):
        cache.save_arrays(blocker / "sub" / "x.npz", "test cache", arrays())
    assert "could not write the test cache" in caplog.text


def test_a_damaged_image_cache_is_rebuilt(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "home"))
    folder = tmp_path / "pics"
    folder.mkdir()
    rng = np.random.default_rng(0)
    from PIL import Image
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    first = image_sources.load(str(folder), 16, 3)
    [cached] = (tmp_path / "home" / "image").glob("*.npz")
    cached.write_bytes(cached.read_bytes()[:100])
    with caplog.at_level(logging.WARNING, logger="ganx"):
        again = image_sources.load(str(folder), 16, 3)
    assert "ignoring unreadable image cache" in caplog.text
    assert np.array_equal(first.images, again.images)
    assert cache.load_arrays(cached, "image cache") is not None  # written anew
