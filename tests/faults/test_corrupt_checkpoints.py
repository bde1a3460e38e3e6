"""Corrupt or hostile checkpoints: a clear message naming the file, and `--resume` falls back to
the previous good snapshot; pickled code in a checkpoint is refused and never runs."""

from __future__ import annotations

import os
import random

import pytest
import torch

from ganx.core import checkpoint as ckpt
from ganx.core.errors import CheckpointError

from ..conftest import run_ganx
from .common import TOY_ARGS

ARGS = [*TOY_ARGS, "--set", "checkpoint_every=5"]


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("good") / "run"
    done = run_ganx("train", *ARGS, "--steps", "10", "--run-dir", str(run))
    assert done.returncode == 0, done.stderr
    return run


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip_bit(path, seed):
    data = bytearray(path.read_bytes())
    i = random.Random(seed).randrange(len(data) // 8, len(data) * 7 // 8)
    data[i] ^= 1 << random.Random(seed + 1).randrange(8)
    path.write_bytes(bytes(data))


def flip_in_weights(path):
    """Flip one bit in the middle of the largest tensor record (the weights themselves)."""
    import struct
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset
                                                    + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.file_size // 2] ^= 0x10
    path.write_bytes(bytes(data))


def rewrite(path, **changes):
    payload = ckpt.load_checkpoint(path)
    payload.update(changes)
    torch.save(payload, path)


CORRUPTIONS = {
    "truncated": (truncate, "truncated or corrupt"),
    "empty": (lambda p: p.write_bytes(b""), "truncated or corrupt"),
    "wrong-version": (lambda p: rewrite(p, format_version=99), "checkpoint format 99"),
    "not-ganx": (lambda p: torch.save({"weights": torch.zeros(3)}, p), "not a ganx checkpoint"),
}
CORRUPTIONS["bit-flip"] = (flip_in_weights, "checksum mismatch")


def same_payload(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            same_payload(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(
            same_payload(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_a_damaged_snapshot_is_a_clear_error(good_run, tmp_path, kind):
    damage, message = CORRUPTIONS[kind]
    path = tmp_path / "step-00000010.pt"
    path.write_bytes((good_run / "checkpoints" / path.name).read_bytes())
    damage(path)
    with pytest.raises(CheckpointError, match=message) as info:
        ckpt.load_checkpoint(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_flipped_bits_are_detected_or_harmless(good_run, tmp_path):
    """A flipped bit is either caught (CRC-32 of every record) or landed in alignment padding
    and changed nothing: never a silently different model."""
    original_path = good_run / "checkpoints" / "step-00000010.pt"
    original = ckpt.load_checkpoint(original_path)
    detected = 0
    trials = 200
    for seed in range(trials):
        path = tmp_path / f"flip-{seed}.pt"
        path.write_bytes(original_path.read_bytes())
        flip_bit(path, seed)
        try:
            loaded = ckpt.load_checkpoint(path)
        except CheckpointError as exc:
            assert str(path) in str(exc)
            detected += 1
            continue
        assert same_payload(original, loaded), f"seed {seed}: a flipped bit changed the payload"
    assert detected >= trials // 2, detected


@pytest.mark.parametrize("kind", ["truncated", "bit-flip", "wrong-version"])
def test_resume_falls_back_past_a_damaged_newest_snapshot(good_run, tmp_path, kind):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    CORRUPTIONS[kind][0](run / "checkpoints" / "step-00000010.pt")
    done = run_ganx("train", *ARGS, "--steps", "15", "--run-dir", str(run), "--resume")
    assert done.returncode == 0, done.stderr
    assert "step-00000010.pt" in done.stderr and "skipping" in done.stderr.lower()
    assert "resumed toy from" in done.stderr and "step-00000005.pt at step 5" in done.stderr
    assert ckpt.load_checkpoint(run / "checkpoints" / "step-00000015.pt")["step"] == 15


def test_all_snapshots_damaged_is_exit_1_with_the_reason(good_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    for _, path in ckpt.list_snapshots(run / "checkpoints"):
        truncate(path)
    done = run_ganx("train", *ARGS, "--steps", "15", "--run-dir", str(run), "--resume")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "no usable snapshot" in done.stderr.lower() or "corrupt" in done.stderr.lower()


def test_wrong_domain_is_refused(good_run, tmp_path):
    path = tmp_path / "step-00000010.pt"
    path.write_bytes((good_run / "checkpoints" / path.name).read_bytes())
    rewrite(path, domain="image")
    done = run_ganx("sample", str(path), "-n", "4", "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert "holds domain 'image' but its config is for 'toy'" in done.stderr
    assert "Traceback" not in done.stderr


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("where", ["top", "inside-state-dict"])
def test_pickled_code_is_refused_and_never_runs(good_run, tmp_path, where):
    marker = tmp_path / "code-ran"
    payload = ckpt.load_checkpoint(good_run / "checkpoints" / "step-00000010.pt")
    if where == "top":
        payload["extra"] = Payload(marker)
    else:
        payload["G"]["evil"] = Payload(marker)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    path = run / "checkpoints" / "step-00000010.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="refused to load"):
        ckpt.load_checkpoint(path)
    for args in (["sample", str(path), "-n", "2", "--out", str(tmp_path / "o")],
                 ["train", *ARGS, "--steps", "15", "--run-dir", str(run), "--resume"]):
        done = run_ganx(*args)
        assert done.returncode != 0 and "refused to load" in done.stderr
    assert not marker.exists()
