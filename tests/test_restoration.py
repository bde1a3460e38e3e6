"""`ganx.restoration`: the restoration task the image, audio and medical domains share, and the
`--input` walk over a user's files."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from ganx.core.errors import ConfigError
from ganx.restoration import (
    FileRestorer,
    RestorationTask,
    SkipInput,
    Skipped,
    list_files,
    restore_each,
)

TASK = RestorationTask(given="curves", pass_hint="them (ganx sample RUN --input CSV_OR_FOLDER)",
                       restores="curves", generates="them")


@dataclass
class Cfg:
    task: str = "denoise"


class Recorder(torch.nn.Module):
    def forward(self, z, corrupted):
        self.z = z
        return corrupted * 2


def test_the_latent_is_empty_and_generate_restores_the_reference_inputs():
    net = Recorder()
    corrupted = torch.arange(12.0).reshape(4, 3)
    out = TASK.generate(Cfg(), net, 2, device=torch.device("cpu"),
                        reference=(torch.zeros(4, 3), (corrupted,)))
    assert net.z.shape == (2, 0)
    assert torch.equal(out, corrupted[:2] * 2)  # output i lines up with real sample i
    assert TASK.sample_latent(5, torch.device("cpu")).shape == (5, 0)


def test_generate_without_inputs_says_how_to_pass_them():
    with pytest.raises(ConfigError, match=r"^task=denoise restores given curves; pass them"
                                          r" \(ganx sample RUN --input CSV_OR_FOLDER\)$"):
        TASK.generate(Cfg(), Recorder(), 2, device=torch.device("cpu"), reference=None)


def test_l1_is_weighted_and_named_and_absent_at_weight_zero():
    real, fake = torch.zeros(2, 3), torch.full((2, 3), 0.5)
    assert TASK.l1_loss(real, fake, 100.0) == {"l1": pytest.approx(50.0)}
    assert set(TASK.l1_loss(real, fake, 2.0, name="wave_l1")) == {"wave_l1"}
    assert TASK.l1_loss(real, fake, 0.0) == {}
    assert TASK.l1_loss(real, fake, None) == {}


def test_a_generation_run_refuses_input():
    assert TASK.restoring(Cfg()) and not TASK.restoring(Cfg("generate"))
    with pytest.raises(ConfigError, match=r"^--input restores curves; this run generates them"
                                          r" \(task=generate\)$"):
        TASK.restore_files(Cfg("generate"), restorer(), Path("anything"), Path("out"))


def restorer(kind: str = "curve") -> FileRestorer[str]:
    """Restores a text file by upper-casing it; 'bad' files are skipped."""

    def restore(path: Path) -> str:
        text = path.read_text()
        if text == "bad":
            raise SkipInput("not a curve")
        return text.upper()

    return FileRestorer(suffixes={".csv"}, output_suffix=".out",
                        restore=restore, write=lambda text, path: path.write_text(text),
                        kind=kind, companions=(".mask.csv",))


def files(root: Path, contents: dict[str, str]) -> None:
    for name, text in contents.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_a_folder_is_restored_keeping_its_structure(tmp_path, caplog):
    files(tmp_path / "in", {"a.csv": "x", "deep/b.CSV": "y", "deep/c.csv": "bad",
                            "a.mask.csv": "m", ".hidden/d.csv": "z", "notes.txt": "t"})
    with caplog.at_level(logging.WARNING, logger="ganx"):
        written = TASK.restore_files(Cfg(), restorer(), tmp_path / "in", tmp_path / "out")
    assert written == [tmp_path / "out" / "a.out", tmp_path / "out" / "deep" / "b.out"]
    assert (tmp_path / "out" / "deep" / "b.out").read_text() == "Y"
    assert [r.getMessage() for r in caplog.records] == [
        f"skipping {tmp_path / 'in' / 'deep' / 'c.csv'}: not a curve"]


def test_a_single_file_is_taken_whatever_its_suffix(tmp_path):
    files(tmp_path, {"in/sub/one.txt": "q"})
    written = TASK.restore_files(Cfg(), restorer(), tmp_path / "in" / "sub" / "one.txt",
                                 tmp_path / "out")
    assert written == [tmp_path / "out" / "one.out"]


@pytest.mark.parametrize(("make", "message"), [
    (lambda root: None, "no such file or folder"),
    (lambda root: files(root, {"x.txt": "t"}), "no curve files found"),
    (lambda root: files(root, {"x.csv": "bad"}), "no file could be restored (see the warnings)"),
])
def test_nothing_to_restore_is_a_one_line_config_error(tmp_path, make, message):
    make(tmp_path / "in")
    with pytest.raises(ConfigError) as error:
        TASK.restore_files(Cfg(), restorer(), tmp_path / "in", tmp_path / "out")
    assert str(error.value) == f"--input {tmp_path / 'in'}: {message}"


def test_list_files_picks_suffixes_and_leaves_out_hidden_and_companion_files(tmp_path):
    files(tmp_path, {"b.PNG": "", "a.png": "", "a.mask.png": "", ".git/c.png": "", "d.jpg": ""})
    assert list_files(tmp_path, {".png"}, (".mask.png",)) == [tmp_path / "a.png",
                                                              tmp_path / "b.PNG"]


def test_restore_each_collects_listed_and_restore_time_skips_in_order():
    told: list[Skipped] = []

    def restore(name: str) -> str:
        if name == "b":
            raise SkipInput("unreadable")
        return name * 2

    result = restore_each(["a", Skipped(Path("listed"), "no header"), "b", "c"], restore,
                          lambda name, out: [Path(out)], path_of=Path, on_skip=told.append)
    assert result.written == [Path("aa"), Path("cc")]
    assert [str(s) for s in result.skipped] == ["listed: no header", "b: unreadable"]
    assert told == result.skipped


def test_errors_while_writing_are_not_skips():
    def write(name: str, out: str) -> list[Path]:
        raise SkipInput("a writer must not skip: the run's error propagates")

    with pytest.raises(SkipInput):
        restore_each(["a"], str.upper, write, path_of=Path, on_skip=None)
