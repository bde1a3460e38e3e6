"""The image domain's data: named sets, folders (with bad files), labels, the cache."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ganx.core.errors import ConfigError
from ganx.plugins.image import sources


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "ganx-home"))


def write_images(root, names, size=(20, 12), mode="RGB"):
    rng = np.random.default_rng(0)
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(path)


def test_shipped_fashion_mnist_subset_loads_offline():
    data = sources.load("", 32, 0)
    assert data.images.shape == (8000, 1, 32, 32) and data.images.dtype == np.uint8
    assert np.bincount(data.labels).tolist() == [800] * 10
    assert data.classes[0] == "t-shirt/top"


def test_folder_with_class_subfolders_bad_files_and_formats(tmp_path, caplog):
    root = tmp_path / "photos"
    write_images(root, ["cats/a.png", "cats/b.jpg", "dogs/c.webp", "dogs/deep/d.bmp",
                        "dogs/e.tiff"])
    (root / "dogs" / "notes.png").write_text("not an image")
    good = root / "cats" / "b.jpg"
    (root / "cats" / "truncated.jpg").write_bytes(good.read_bytes()[:200])
    (root / "readme.txt").write_text("ignored: not an image extension")
    with caplog.at_level("WARNING", logger="ganx"):
        data = sources.load(str(root), 16, 0)
    assert data.images.shape == (5, 3, 16, 16)
    assert data.classes == ["cats", "dogs"] and data.labels.tolist() == [0, 0, 1, 1, 1]
    assert "skipped 2 unreadable file(s)" in caplog.text and "notes.png" in caplog.text
    # the second load comes from the cache
    again = sources.load(str(root), 16, 0)
    assert np.array_equal(again.images, data.images)
    assert list((tmp_path / "ganx-home" / "image").glob("*.npz"))


def test_grey_folder_stays_grey_and_channels_can_be_forced(tmp_path):
    write_images(tmp_path / "g", ["a.png", "b.png"], mode="L")
    assert sources.load(str(tmp_path / "g"), 16, 0).images.shape == (2, 1, 16, 16)
    assert sources.load(str(tmp_path / "g"), 16, 3).images.shape == (2, 3, 16, 16)
    assert sources.peek(str(tmp_path / "g")) == (1, 0)


def test_centre_crop_keeps_the_middle(tmp_path):
    image = np.zeros((10, 30), dtype=np.uint8)
    image[:, 10:20] = 255  # a white square in the middle of a wide image
    Image.fromarray(image, "L").save(tmp_path / "wide.png")
    data = sources.load(str(tmp_path), 10, 1)
    assert data.images.min() == 255


@pytest.mark.parametrize(("make", "message"), [
    (lambda root: None, "no such folder"),
    (lambda root: root.mkdir(), "no image files found"),
    (lambda root: (root.mkdir(), (root / "x.png").write_text("nope")), "could be read"),
])
def test_unusable_folders_are_config_errors(tmp_path, make, message):
    root = tmp_path / "data"
    make(root)
    with pytest.raises(ConfigError, match=message):
        sources.load(str(root), 16, 0)


def test_unknown_dataset_name_suggests_the_nearest():
    with pytest.raises(ConfigError, match="did you mean 'fashion-mnist'"):
        sources.load("fashion-mnst", 32, 0)
