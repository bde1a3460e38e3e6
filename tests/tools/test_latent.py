"""Latent tools: `ganx sample --truncation`, `ganx interpolate`, `ganx invert`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ganx
from ganx.core.errors import ConfigError
from ganx.tools.interpolate import interpolate
from ganx.tools.invert import invert, read_targets
from ganx.tools.latent import (
    conditional_labels,
    decode,
    generate,
    interpolation_path,
    seed_latents,
    slerp,
)

from ..conftest import run_ganx


def test_slerp_keeps_the_norm_and_hits_the_ends():
    a, b = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 3.0]])
    assert torch.equal(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-6)
    middle = slerp(a, b, 0.5)
    assert torch.allclose(middle.norm(), torch.tensor(3.0)) and torch.allclose(middle[0, 0],
                                                                               middle[0, 1])
    assert torch.allclose(slerp(a, 2 * a, 0.5), 1.5 * a)  # parallel: lerp
    path = interpolation_path([a, b, -a], 5, "z")
    assert len(path) == 5 and torch.equal(path[0:1], a) and torch.allclose(path[4:5], -a)
    assert torch.allclose(path[2:3], b, atol=1e-6)


@pytest.mark.parametrize("kind", ["image", "image-stylegan2", "image-conditional",
                                  "audio-wavegan", "medical"])
def test_truncation_one_is_plain_sampling_and_zero_the_mean(trained, kind):
    model = ganx.load(trained(kind))
    plain = model.generate(6, seed=4, batch_size=4)
    assert torch.equal(generate(model, 6, seed=4, psi=1.0, batch_size=4), plain)
    mean = generate(model, 3, seed=4, psi=0.0)
    if conditional_labels(model, 2) is None:  # one class: the mean latent gives one sample
        assert torch.allclose(mean[0], mean[1], atol=1e-6) and not torch.allclose(
            plain[0], plain[1])
    half = generate(model, 3, seed=4, psi=0.5)
    assert not torch.allclose(half, plain[:3]) and not torch.allclose(half, mean)


def test_stylegan2_truncation_moves_toward_w_avg(trained):
    model = ganx.load(trained("image-stylegan2"))
    net = model.generator
    expected = net.synthesis(net.w_avg[None].expand(2, -1))
    assert torch.allclose(generate(model, 2, seed=0, psi=0.0), expected, atol=1e-6)


def test_the_cli_samples_with_truncation(trained, tmp_path):
    run = trained("image-stylegan2")
    result = run_ganx("sample", str(run), "-n", "4", "--truncation", "0.7", "--out",
                      str(tmp_path / "t"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t" / "sample.png").is_file()
    bad = run_ganx("sample", str(run), "--truncation", "1.5")
    assert bad.returncode == 2 and "--truncation 1.5: use a value from 0" in bad.stderr


@pytest.mark.parametrize("kind", ["image", "image-stylegan2", "audio-wavegan", "medical"])
def test_interpolation_starts_and_ends_at_the_seeds_samples(trained, kind):
    model = ganx.load(trained(kind))
    frames = interpolate(model, ["3", "8"], 5)
    assert torch.allclose(frames[0], model.generate(1, seed=3)[0], atol=1e-5)
    assert torch.allclose(frames[-1], model.generate(1, seed=8)[0], atol=1e-5)
    assert not torch.allclose(frames[2], frames[0])


def test_interpolate_writes_a_strip_and_animations_for_pictures(trained, tmp_path):
    from PIL import Image

    out = tmp_path / "path"
    result = run_ganx("interpolate", str(trained("image")), "--seeds", "1", "2", "3",
                      "--frames", "7", "--out", str(out))
    assert result.returncode == 0, result.stderr
    strip = Image.open(out / "strip.png")
    assert strip.size == (2 + 7 * 18, 2 + 18)  # one row of 16 px frames
    for name in ("interpolation.gif", "interpolation.webp"):
        assert Image.open(out / name).n_frames == 7


def test_interpolate_writes_a_wav_per_frame_and_one_joined_for_audio(trained, tmp_path):
    import soundfile as sf

    out = tmp_path / "clips"
    result = run_ganx("interpolate", str(trained("audio")), "--seeds", "1", "2", "--frames",
                      "4", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len(list((out / "frames").glob("*.wav"))) == 4
    joined, rate = sf.read(out / "interpolation.wav")
    assert rate == 8000 and len(joined) == 4 * 4096


def test_interpolate_writes_text_lines(trained, tmp_path):
    result = run_ganx("interpolate", str(trained("text")), "--seeds", "1", "2", "--frames", "5",
                      "--out", str(tmp_path / "lines"))
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "lines" / "frames.txt").read_text().splitlines()) == 5


def test_interpolate_refuses_bad_requests(trained, tmp_path):
    run = str(trained("image"))
    one = run_ganx("interpolate", run, "--seeds", "1", "--frames", "4")
    assert one.returncode == 2 and "at least two end points" in one.stderr
    many = run_ganx("interpolate", run, "--seeds", "1", "2", "--frames", "10000")
    assert many.returncode == 2 and "--frames 10000: use 2 to 512" in many.stderr
    word = run_ganx("interpolate", run, "--seeds", "1", "cat", "--frames", "4")
    assert word.returncode == 2 and "integer seeds or .npy" in word.stderr
    restoring = run_ganx("interpolate", str(trained("image-denoise")), "--seeds", "1", "2")
    assert restoring.returncode == 2 and "has no latent" in restoring.stderr


@pytest.mark.parametrize("kind", ["image", "image-stylegan2"])
def test_inversion_reconstructs_a_generated_image(trained, kind):
    model = ganx.load(trained(kind))
    target = model.generate(1, seed=11)
    start = invert(model, target, steps=1, lr=0.0, features="random")
    found = invert(model, target, steps=40, lr=0.05, features="random")
    assert all(b > a + 1.0 for a, b in zip(start.psnr, found.psnr, strict=True))
    assert found.space == ("w" if kind == "image-stylegan2" else "z")
    again = decode(model, found.latents, space=found.space).cpu()
    assert torch.allclose(again, found.reconstructions, atol=1e-6)


def test_the_cli_inverts_a_file_and_interpolates_from_its_latent(trained, tmp_path):
    from ganx.metrics import save_image_grid

    run = trained("image")
    model = ganx.load(run)
    picture = save_image_grid(model.generate(1, seed=5), tmp_path / "mine.png", nrow=1,
                              padding=0)
    out = tmp_path / "inv"
    result = run_ganx("invert", str(run), "--input", str(picture), "--steps", "20",
                      "--features", "random", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "mine: PSNR" in result.stderr and (out / "reconstruction.png").is_file()
    latent = np.load(out / "mine.z.npy")
    assert latent.shape == (1, 16)
    path = run_ganx("interpolate", str(run), "--seeds", str(out / "mine.z.npy"), "4",
                    "--frames", "3", "--out", str(tmp_path / "p"))
    assert path.returncode == 0, path.stderr
    first = decode(model, torch.from_numpy(latent)).cpu()
    assert torch.allclose(interpolate(model, [str(out / "mine.z.npy"), "4"], 3)[0], first[0],
                          atol=1e-6)


def test_medical_volumes_invert_slice_by_slice(trained, tmp_path):
    from ..plugins.medical.test_medical_data import head_phantom, write_nifti

    model = ganx.load(trained("medical"))
    volume = write_nifti(tmp_path / "scan.nii.gz", head_phantom((24, 24, 8)))
    targets, names = read_targets(model, volume, limit=3)
    assert targets.shape[1:] == model.generate(1).shape[1:] and len(names) == len(targets)
    found = invert(model, targets, steps=5, features="none")
    assert len(found.psnr) == len(targets) and all(np.isfinite(found.ssim))


def test_inverting_audio_is_refused_in_one_line(trained, tmp_path):
    model = ganx.load(trained("audio"))
    with pytest.raises(ConfigError, match="invert applies to image and medical runs"):
        invert(model, torch.zeros(1, 1, 4096), steps=1)
    assert seed_latents(model, 2, 0).shape == (2, 8)
