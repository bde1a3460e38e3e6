"""The restoration task that domains restoring corrupted inputs share (pix2pix style): the image,
audio and medical domains, and any third-party domain built the same way.

A restoration generator is called as `G(empty_latent, corrupted)`: it takes no noise (the latent
is (N, 0)), only the corrupted input its domain makes from a clean sample in `prepare_batch`.
Everything a restoration domain does beside its corruption and its file reading and writing is
the same everywhere and lives here:

- `RestorationTask`: the empty latent, the weighted L1 distance to the clean sample, generating
  from the corrupted inputs of a reference batch, and refusing `--input` on a generation run.
- `FileRestorer`: `ganx sample RUN --input FILE_OR_FOLDER`. It walks a file or a folder, picks
  files by suffix, restores each with the domain's function, writes each output under the output
  folder at the input's path relative to the input folder, and reports unusable files.
- `restore_each`: the loop under `FileRestorer`, for inputs that are not one file each (the
  medical domain restores volumes, and a DICOM series is a folder of files).

A domain keeps one `RestorationTask` and delegates to it when its config's `task` is not
"generate" (docs/reference/nn.md shows a whole domain). This module imports torch only when a
function runs, so a domain module may import it at the top: plugin discovery imports domain
modules and must stay fast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from ganx.core.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger("ganx")

GENERATE = "generate"
"""The `task` of a run that generates from noise; any other task restores."""

Input = TypeVar("Input")
Output = TypeVar("Output")


class SkipInput(Exception):
    """Raised by a domain's restore function for an input it cannot use (unreadable, no mask, a
    channel count the run cannot restore): the input is skipped and `str(exc)` is reported as
    the reason, in one line."""


@dataclass(frozen=True)
class Skipped:
    """An input that was not restored, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def warn_skipped(skipped: Skipped) -> None:
    """The default report of a skipped input: a warning `skipping PATH: REASON` as it happens."""
    log.warning("skipping %s: %s", skipped.path, skipped.reason)


class Restored(NamedTuple):
    written: list[Path]
    """Every file written, in input order."""
    skipped: list[Skipped]
    """The inputs that were not restored, in input order."""


def restore_each(inputs: Iterable[Input | Skipped], restore: Callable[[Input], Output],
                 write: Callable[[Input, Output], list[Path]], *,
                 path_of: Callable[[Input], Path],
                 on_skip: Callable[[Skipped], None] | None = warn_skipped) -> Restored:
    """Restore and write each input, one at a time, in order.

    `inputs` may hold `Skipped` entries for inputs found unusable while listing them. `restore`
    raises `SkipInput` for an input it cannot use; `write` writes one restored output and returns
    the paths it wrote; `path_of` names an input in reports. `on_skip` is told of each skipped
    input as it is skipped (None: they are only collected, for a report of the caller's own).
    """
    written: list[Path] = []
    skipped: list[Skipped] = []
    for item in inputs:
        if isinstance(item, Skipped):
            skip = item
        else:
            try:
                output = restore(item)
            except SkipInput as exc:
                skip = Skipped(path_of(item), str(exc))
            else:  # only restoring may skip an input: errors while writing are the run's
                written += write(item, output)
                continue
        skipped.append(skip)
        if on_skip is not None:
            on_skip(skip)
    return Restored(written, skipped)


def list_files(root: Path, suffixes: Collection[str], companions: Collection[str] = ()
               ) -> list[Path]:
    """The files under `root` (recursively, sorted) whose suffix, lower-cased, is in
    `suffixes`; hidden files and folders (a name starting with '.') are left out, and so are
    companion files (a name ending in one of `companions`)."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts)
                  and not p.name.endswith(tuple(companions)))


@dataclass(frozen=True)
class FileRestorer(Generic[Output]):
    """Restores a user's files one by one: `--input` of `ganx sample`.

    `restore` reads one file, makes the generator's input from it (a user's file is the degraded
    input itself, or the domain derives the input from it) and runs the generator; it raises
    `SkipInput` for a file it cannot use. `write` writes a restored output to a path whose folder
    exists. A restored `photos/a/b.jpg` is written to `OUT/a/b<output_suffix>` for
    `--input photos`, and to `OUT/b<output_suffix>` for `--input photos/a/b.jpg`.
    """

    suffixes: Collection[str]
    """Suffixes of the files picked from a folder, lower case with the dot (".png"); matched
    case-insensitively. A single file given as `--input` is taken whatever its suffix."""
    output_suffix: str
    """Suffix of the restored files (".png")."""
    restore: Callable[[Path], Output]
    write: Callable[[Output, Path], None]
    kind: str = "input"
    """What the files are, in the error for a folder without any: "no image files found"."""
    companions: Collection[str] = ()
    """Name endings of files that go with an input rather than being one (".mask.png")."""

    def find(self, source: Path) -> tuple[Path, list[Path]]:
        """(root, files) of `--input source`; a ConfigError when there is nothing to restore."""
        if source.is_file():
            return source.parent, [source]
        if source.is_dir():
            files = list_files(source, self.suffixes, self.companions)
            if not files:
                raise ConfigError(f"--input {source}: no {self.kind} files found")
            return source, files
        raise ConfigError(f"--input {source}: no such file or folder")

    def restore_files(self, source: Path, out_dir: Path) -> list[Path]:
        """Restore every file of `source` into `out_dir` and return the paths written; skipped
        files are reported as warnings, and a ConfigError says when none could be restored."""
        root, files = self.find(source)

        def write(path: Path, output: Output) -> list[Path]:
            target = out_dir / path.relative_to(root).with_suffix(self.output_suffix)
            target.parent.mkdir(parents=True, exist_ok=True)
            self.write(output, target)
            return [target]

        written = restore_each(files, self.restore, write, path_of=lambda path: path).written
        if not written:
            raise ConfigError(f"--input {source}: no file could be restored (see the warnings)")
        return written


@dataclass(frozen=True)
class RestorationTask:
    """What a restoration domain delegates to when its config's `task` is not "generate".

    The four texts fill the errors users see, so each domain words them for its own data:
    `task=denoise restores given {given}; pass {pass_hint}` when samples are asked of a
    restoration run without inputs, and `--input restores {restores}; this run generates
    {generates} (task=generate)` when files are given to a generation run.
    """

    given: str = "inputs"
    """What `generate` restores: "images"."""
    pass_hint: str = "them (ganx sample RUN --input FILE_OR_FOLDER)"
    """How to pass them."""
    restores: str = "files"
    """What `--input` restores: "recordings"."""
    generates: str = "samples"
    """What a generation run makes instead: "audio"."""

    @staticmethod
    def restoring(cfg: Any) -> bool:
        """Whether a run restores: its config's `task` is not "generate"."""
        return bool(cfg.task != GENERATE)

    @staticmethod
    def sample_latent(n: int, device: torch.device) -> torch.Tensor:
        """The latent of a restoration generator: empty, (n, 0); it needs no noise."""
        import torch

        return torch.empty(n, 0, device=device)

    @staticmethod
    def l1_loss(real: torch.Tensor, fake: torch.Tensor, weight: float | None,
                name: str = "l1") -> dict[str, torch.Tensor]:
        """The weighted mean absolute distance of the restored `fake` to the clean `real`, as an
        extra generator loss term called `name` (pix2pix weighs it 100); none for weight 0."""
        if not weight:
            return {}
        return {name: weight * (fake.float() - real).abs().mean()}

    def generate(self, cfg: Any, generator_net: nn.Module, n: int, *, device: torch.device,
                 reference: tuple[torch.Tensor, tuple[torch.Tensor, ...]] | None
                 ) -> torch.Tensor:
        """Restore the first `n` corrupted inputs of `reference` (real samples and their
        conditions from `prepare_batch`: the corrupted input is the one condition), so output
        i lines up with real sample i."""
        if reference is None:
            raise ConfigError(f"task={cfg.task} restores given {self.given}; pass"
                              f" {self.pass_hint}")
        _, (corrupted,) = reference
        restored: torch.Tensor = generator_net(self.sample_latent(n, device), corrupted[:n])
        return restored

    def require_restoring(self, cfg: Any) -> None:
        """A ConfigError when a generation run is given files to restore."""
        if not self.restoring(cfg):
            raise ConfigError(f"--input restores {self.restores}; this run generates"
                              f" {self.generates} (task={GENERATE})")

    def restore_files(self, cfg: Any, files: FileRestorer[Any], source: Path,
                      out_dir: Path) -> list[Path]:
        """`Domain.restore_files`: the files of `source` restored by `files` into `out_dir`."""
        self.require_restoring(cfg)
        return files.restore_files(source, out_dir)
