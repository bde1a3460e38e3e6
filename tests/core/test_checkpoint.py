"""Snapshots: atomic writes, refusal of corrupt, foreign and hostile files."""

import os

import pytest
import torch

from ganx.core import checkpoint as ckpt
from ganx.core.errors import CheckpointError, RunError


def payload(step=1):
    return {"format": ckpt.FORMAT, "format_version": ckpt.FORMAT_VERSION, "step": step,
            "G": {"w": torch.ones(3)}}


def test_round_trip_and_listing(tmp_path):
    for step in (1, 20, 300):
        ckpt.save_atomic(payload(step), tmp_path / ckpt.snapshot_name(step))
    assert [s for s, _ in ckpt.list_snapshots(tmp_path)] == [300, 20, 1]
    loaded = ckpt.load_checkpoint(tmp_path / ckpt.snapshot_name(20))
    assert loaded["step"] == 20 and torch.equal(loaded["G"]["w"], torch.ones(3))
    ckpt.prune(tmp_path, keep=2)
    assert [s for s, _ in ckpt.list_snapshots(tmp_path)] == [300, 20]


def test_failed_write_keeps_the_previous_snapshot(tmp_path, monkeypatch):
    good = tmp_path / ckpt.snapshot_name(1)
    ckpt.save_atomic(payload(1), good)
    before = good.read_bytes()

    def disk_full(obj, fh):
        fh.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    target = tmp_path / ckpt.snapshot_name(2)
    with pytest.raises(RunError, match=r"could not write snapshot .*step-00000002\.pt: No space"):
        ckpt.save_atomic(payload(2), target)
    assert not target.exists()
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [good.name]  # no temporary left


def test_stale_temporaries_are_removed(tmp_path):
    stale = tmp_path / ".step-00000002.pt.1234.tmp"
    stale.write_bytes(b"half a snapshot")
    ckpt.save_atomic(payload(1), tmp_path / ckpt.snapshot_name(1))
    assert ckpt.remove_stale_temporaries(tmp_path) == [stale]
    assert [s for s, _ in ckpt.list_snapshots(tmp_path)] == [1]


def test_truncated_snapshot_is_a_clear_error(tmp_path):
    path = tmp_path / ckpt.snapshot_name(1)
    ckpt.save_atomic(payload(1), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        ckpt.load_checkpoint(path)


def test_foreign_file_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="not a ganx checkpoint"):
        ckpt.load_checkpoint(path)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        ckpt.load_checkpoint(text)


class Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = ""


def test_pickled_code_is_refused_and_never_runs(tmp_path):
    global MARKER
    MARKER = str(tmp_path / "pwned")
    path = tmp_path / "evil.pt"
    torch.save({"format": ckpt.FORMAT, "format_version": 1, "payload": Exploit()}, path)
    with pytest.raises(CheckpointError, match="refused to load"):
        ckpt.load_checkpoint(path)
    assert not os.path.exists(MARKER)
