"""A snapshot write that fails (disk full, permission denied): the previous snapshot stays
intact, the error names the path and the reason, and the run exits 1 without a traceback."""

from __future__ import annotations

import pytest

from ganx.core.checkpoint import list_snapshots, load_checkpoint

from .common import TOY_ARGS, ganx_with_patch

FAIL_THIRD_WRITE = """
import errno, os
from ganx.core import checkpoint
_open, calls = os.open, [0]
def failing_open(path, flags, *args, **kwargs):
    if str(path).endswith(".tmp"):
        calls[0] += 1
        if calls[0] >= 3:
            raise OSError(errno.{code}, os.strerror(errno.{code}), str(path))
    return _open(path, flags, *args, **kwargs)
checkpoint.os.open = failing_open
"""
FAIL_FSYNC = """
import errno, os
_fsync, calls = os.fsync, [0]
def failing_fsync(fd):
    calls[0] += 1
    # two fsyncs per snapshot (file, folder): the third snapshot's bytes went out, then the
    # disk filled up before they were durable
    if calls[0] >= 5:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    _fsync(fd)
os.fsync = failing_fsync
"""


@pytest.mark.parametrize(("patch", "reason"), [
    (FAIL_THIRD_WRITE.format(code="ENOSPC"), "No space left on device"),
    (FAIL_THIRD_WRITE.format(code="EACCES"), "Permission denied"),
    (FAIL_FSYNC, "No space left on device"),
], ids=["enospc-open", "eacces", "enospc-fsync"])
def test_failed_snapshot_write_keeps_the_previous_one(tmp_path, patch, reason):
    run = tmp_path / "run"
    done = ganx_with_patch(patch, "train", *TOY_ARGS, "--steps", "20", "--set",
                           "checkpoint_every=5", "--run-dir", str(run))
    assert done.returncode == 1, done.stderr
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ganx: error: could not write snapshot ")
    assert str(run / "checkpoints" / "step-00000010.pt") in last_line and reason in last_line
    assert "Traceback" not in done.stderr
    snaps = list_snapshots(run / "checkpoints")
    assert [s for s, _ in snaps] == [5, 0]  # the two good ones, intact and loadable
    for _, path in snaps:
        load_checkpoint(path)
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.endswith(".tmp")]


def test_resume_after_a_full_disk_continues(tmp_path):
    run = tmp_path / "run"
    ganx_with_patch(FAIL_THIRD_WRITE.format(code="ENOSPC"), "train", *TOY_ARGS, "--steps", "20",
                    "--set", "checkpoint_every=5", "--run-dir", str(run))
    done = ganx_with_patch("", "train", *TOY_ARGS, "--steps", "20", "--set",
                           "checkpoint_every=5", "--run-dir", str(run), "--resume")
    assert done.returncode == 0, done.stderr
    assert list_snapshots(run / "checkpoints")[0][0] == 20
