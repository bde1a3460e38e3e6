"""Every command and every whole Python program in the README and the docs, run the way a reader
would run them, so the docs cannot rot.

Each page's commands run in order in a sandbox folder of their own (a later command may use the
run an earlier one made), through the real `ganx` entry point, with small example inputs where a
page names the reader's own files (`~/photos`, `noisy-recordings/`, ...). Training commands are
shortened: the options in `SHORTEN` are appended (a later option wins in click), so each command
still parses, resolves its config, builds its data and models, trains, samples and evaluates,
only for a few steps on small models. A command that cannot run on a CPU-only test machine (CUDA,
several processes, installing packages) is checked as far as it can be here (parsed and resolved
with `--dry-run`, or its flags looked up in the script's `--help`), and `NOT_RUN_REASONS` says why
and which other test covers it. Python blocks that are whole programs (not excerpts of a plugin's
modules) run in the same sandbox, with `ganx.train` shortened the same way.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import subprocess
import sys
import textwrap
import wave
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import pytest
from PIL import Image

from ganx.cli.main import main

REPO = Path(__file__).resolve().parents[2]
# cli-help.md holds the commands' help texts (generated, checked by tests/docs/test_docs.py)
PAGES = [REPO / "README.md", *sorted(p for p in (REPO / "docs").rglob("*.md")
                                     if p.name != "cli-help.md")]
COMMAND = re.compile(r"^(?:\$ )?(ganx|torchrun|python3?|pip|\.venv/bin/\S+)\s")

# appended to `ganx train` per domain: small models, small data, a few steps
SHRINK_DOMAIN = {
    "image": ["--set", "width=16"],
    "toy": ["--set", "n_points=512", "--set", "hidden=16", "--set", "depth=2"],
    "audio": ["--set", "digits_clips=20", "--set", "segment=4096", "--set", "width=2",
              "--set", "d_width=2", "--set", "latent_dim=8", "--set", "digit_metrics=false"],
    "text": ["--set", "vocab_size=300", "--set", "seq_len=24", "--set", "g_dim=32",
             "--set", "g_layers=1", "--set", "g_heads=2", "--set", "d_dim=32",
             "--set", "d_layers=1", "--set", "d_heads=2", "--set", "mle_steps=1"],
    "medical": ["--set", "resolution=16", "--set", "width=8", "--set", "latent_dim=16"],
}
SHORTEN = ["--batch-size", "8", "--set", "eval_samples=16", "--set", "n_samples=8",
           "--no-progress"]

NOT_RUN_REASONS = {
    "cuda": "needs a CUDA device: resolved here with --dry-run (or parsed); the GPU benchmarks run"
            " it on a GPU machine",
    "processes": "starts several processes: resolved here with --dry-run;"
                 " tests/core/test_distributed.py trains with two",
    "install": "installs packages: .ci/run does it in a fresh venv on every CI run, and"
               " tests/cli/test_plugin_new.py installs a generated plugin in a fresh venv",
    "installed-plugin": "needs the plugin the page installs: tests/cli/test_plugin_new.py"
                        " generates, installs, trains and reports one in a fresh venv",
    "benchmark": "a benchmark script (minutes to hours): its flags are checked against its --help",
    "missing-data": "its dataset is not installed on this machine: resolved with --dry-run",
    "server": "serves until stopped: parsed here; tests/tools/test_serve.py starts it, drives"
              " its page in Chromium and stops it",
}


@dataclass
class Command:
    page: Path
    line: int
    tokens: list[str]

    @property
    def text(self) -> str:
        return shlex.join(self.tokens)

    def __str__(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}: {self.text}"


def documented_commands(page: Path) -> list[Command]:
    """Command lines in the page's fenced code blocks (continuations joined, comments dropped)."""
    found: list[Command] = []
    inside, pending, start = False, "", 0
    for number, raw in enumerate(page.read_text().splitlines(), 1):
        line = raw.strip()
        if line.startswith("```"):
            inside, pending = not inside, ""
            continue
        if not inside:
            continue
        if pending:
            pending += " " + line.rstrip("\\").strip()
            if not line.endswith("\\"):
                found.append(Command(page, start, shlex.split(pending, comments=True)))
                pending = ""
        elif COMMAND.match(line):
            start = number
            if line.endswith("\\"):
                pending = line.rstrip("\\").strip()
            else:
                found.append(Command(page, number, shlex.split(line, comments=True)))
    return found


@dataclass
class PythonSnippet:
    page: Path
    line: int
    code: str


def runnable_python(page: Path) -> list[PythonSnippet]:
    """The page's ```python blocks that are whole programs: not excerpts of a plugin's modules
    (relative imports, `...` left out, hook or class definitions shown for reading)."""
    found, block, start, inside = [], [], 0, False
    for number, raw in enumerate(page.read_text().splitlines(), 1):
        if raw.strip().startswith("```"):
            if inside:
                code = textwrap.dedent("\n".join(block))
                excerpt = re.search(r"^from \.|\.\.\.|^@|^class |^def ", code, re.MULTILINE)
                if not excerpt:
                    found.append(PythonSnippet(page, start, code))
                inside = False
            elif raw.strip() == "```python":
                inside, block, start = True, [], number
            continue
        if inside:
            block.append(raw)
    return found


def test_commands_are_found():
    """The extractor itself: continuation lines, comments and `$ ` prompts."""
    commands = [c.text for page in PAGES for c in documented_commands(page)]
    assert "ganx train --plugin image" in commands
    assert any(c.startswith("torchrun --nnodes 2") and c.endswith("my-gan-run") for c in commands)
    assert not any("#" in c for c in commands)
    assert len(commands) > 50
    programs = [s.page.name for page in PAGES for s in runnable_python(page)]
    assert {"README.md", "getting-started.md", "reports.md", "writing.md"} <= set(programs)


# -- inputs a page asks the reader to bring ------------------------------------------------------


def _png_folder(folder: Path, n: int, size: tuple[int, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        pixels = rng.integers(0, 255, (size[1] // 4, size[0] // 4, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize(size, Image.BILINEAR).save(folder / f"img{i:02d}.png")


def _wav_folder(folder: Path, n: int, rate: int, seconds: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    for i in range(n):
        tone = 0.4 * np.sin(2 * math.pi * (220 + 40 * i) * t) + 0.05 * rng.standard_normal(t.size)
        with wave.open(str(folder / f"clip{i:02d}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes((np.clip(tone, -1, 1) * 32767).astype("<i2").tobytes())


def _nifti_folder(folder: Path, n: int, modality: str, seed: int) -> None:
    import nibabel as nib

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    grid = np.stack(np.meshgrid(*(np.linspace(-1, 1, s) for s in (40, 40, 6)), indexing="ij"))
    radius = np.sqrt(grid[0] ** 2 + grid[1] ** 2)
    for i in range(n):
        if modality == "ct":  # air, skull, brain in Hounsfield units
            volume = np.where(radius < 0.9, np.where(radius < 0.75, 40.0, 900.0), -1000.0)
        else:  # an MR-like phantom in arbitrary units
            volume = np.where(radius < 0.85, 300.0 + 200.0 * (radius < 0.4), 0.0)
        volume = volume + rng.normal(0, 10, volume.shape)
        nib.save(nib.Nifti1Image(volume.astype(np.float32), np.diag([4.0, 4.0, 4.0, 1.0])),
                 str(folder / f"scan{i}.nii.gz"))


def make_reader_inputs(sandbox: Path, home: Path) -> None:
    _png_folder(home / "photos", 12, (48, 40), seed=0)
    _png_folder(sandbox / "noisy-photos", 2, (45, 37), seed=1)
    _wav_folder(home / "recordings", 4, 22050, 1.0, seed=2)
    _wav_folder(sandbox / "noisy-recordings", 1, 16000, 0.7, seed=3)
    notes = sandbox / "my-notes"
    notes.mkdir()
    words = ["the", "king", "sees", "a", "rose", "by", "the", "sea", "and", "my", "friend",
             "calls", "the", "moon"]
    rng = np.random.default_rng(4)
    sentences = [" ".join(rng.choice(words, 7)) + "." for _ in range(300)]
    (notes / "a.txt").write_text("\n".join(sentences[:150]) + "\n")
    (notes / "b.md").write_text("\n".join(sentences[150:]) + "\n")
    (sandbox / "tweets.jsonl").write_text(
        "".join(json.dumps({"body": s, "id": i}) + "\n" for i, s in enumerate(sentences)))
    _nifti_folder(home / "scans" / "ct", 2, "ct", seed=5)
    for folder, seed in (("scans/mr", 6), ("scans/new", 7), ("mr/train", 8), ("mr/new", 9)):
        _nifti_folder(home / folder, 2 if "new" not in folder else 1, "mr", seed=seed)


# -- turning a documented command into what this test runs ---------------------------------------


def _value(argv: list[str], flag: str) -> str | None:
    for i, arg in enumerate(argv[:-1]):
        if arg == flag:
            return argv[i + 1]
    return None


def _fill_placeholders(argv: list[str], sandbox: Path, home: Path) -> list[str]:
    filled = []
    for arg in argv:
        if arg.startswith("~/"):
            arg = str(home / arg[2:])
        if "<timestamp>" in arg:  # the newest run an earlier command of the page made
            prefix = arg.split("<timestamp>")[0]
            runs = sorted(sandbox.glob(prefix + "*"), key=lambda p: p.stat().st_mtime)
            assert runs, f"no earlier command made a run matching {prefix}<timestamp>"
            arg = str(runs[-1])
        filled.append(arg)
    return filled


def _fashion_mnist_installed() -> bool:
    from ganx.plugins.image.domain import ImageDomain

    return any(name == "fashion-mnist" and missing is None
               for name, _, missing in ImageDomain().datasets())


def plan(argv: list[str]) -> tuple[list[str], str | None]:
    """The ganx arguments to run for a documented `ganx ...` command, and the reason it is only
    resolved (`--dry-run`) rather than run, if it is."""
    verb = argv[0] if argv else ""
    if verb == "train":
        plugin = _value(argv, "--plugin") or _value(argv, "-p") or ""
        steps = "5" if "--resume" in argv and "--steps" in argv else "3"
        extra = ["--steps", steps, *SHORTEN, *SHRINK_DOMAIN.get(plugin, [])]
        if "--profile" in argv:
            extra += ["--profile", "2"]
        if "cuda" in (_value(argv, "--device") or ""):
            return [*argv, "--dry-run"], "cuda"
        if "--nproc" in argv:
            return [*argv, "--dry-run"], "processes"
        if _value(argv, "--data") == "fashion-mnist" and not _fashion_mnist_installed():
            return [*argv, "--dry-run"], "missing-data"
        return [*argv, *extra], None
    if verb == "evaluate":
        return [*argv, "-n", "16"], None
    if verb == "bench":
        if "cuda" in (_value(argv, "--device") or ""):
            return argv, "cuda"
        return [*argv, "--steps", "1", "--warmup", "1", "--rounds", "1", "--batch-size", "8"], None
    if argv[:2] == ["data", "prepare"]:
        return [*argv, "--set", "digits_clips=20"], None
    if verb == "serve":
        return argv, "server"
    if verb == "invert":
        return [*argv, "--steps", "2", "--features", "random"], None
    return argv, None


def run_ganx_in_process(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def parse_only(argv: list[str]) -> None:
    """Click parses the command (its options and their types) without running it."""
    from ganx.cli.main import cli
    from ganx.plugins.host import get_host

    get_host().add_commands(cli)
    command: click.Command = cli
    ctx = command.make_context("ganx", list(argv))
    while isinstance(command, click.Group):
        # a group's context keeps the subcommand's name and arguments unparsed
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        name, command, args = command.resolve_command(ctx, rest)
        assert command is not None, f"no command {name!r}"
        ctx = command.make_context(name, args, parent=ctx)


def check_script_flags(argv: list[str]) -> None:
    script = REPO / argv[0]
    assert script.is_file(), f"{argv[0]} does not exist"
    shown = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                           text=True, timeout=120, cwd=REPO)
    assert shown.returncode == 0, shown.stderr
    for flag in (a for a in argv[1:] if a.startswith("--")):
        assert flag.split("=")[0] in shown.stdout, f"{argv[0]} has no {flag}"


def ganx_argv(tokens: list[str]) -> tuple[list[str] | None, str | None]:
    """The ganx arguments in a documented command, or None with the reason it runs no ganx
    here; of `a && b && ganx ...` only the ganx part runs (the rest installs)."""
    parts: list[list[str]] = [[]]
    for token in tokens:
        if token == "&&":
            parts.append([])
        else:
            parts[-1].append(token)
    argv = parts[-1]
    if argv[0] == "torchrun":
        return argv[argv.index("ganx") + 1:], "processes"
    if argv[0] in ("python", "python3") and argv[1].startswith("benchmarks/"):
        return None, "benchmark"
    if not re.fullmatch(r"(\.venv/bin/)?ganx", argv[0]):
        return None, "install"
    return argv[1:], None


def page_id(page: Path) -> str:
    return str(page.relative_to(REPO))


def run_command(command: Command, sandbox: Path, home: Path) -> str | None:
    """Run (or check) one documented command; a failure as a line, or None."""
    argv, reason = ganx_argv(command.tokens)
    if reason == "benchmark":
        check_script_flags(command.tokens[1:])
        return None
    if argv is None:
        return None  # installation: see NOT_RUN_REASONS["install"]
    if command.page.name == "template.md" and argv[:2] != ["plugin", "new"] and any(
            "wave" in arg for arg in argv):
        parse_only([arg.replace("<timestamp>", "20260101-000000") for arg in argv])
        return None  # NOT_RUN_REASONS["installed-plugin"]
    argv = _fill_placeholders(argv, sandbox, home)
    planned, dry_reason = plan(argv)
    reason = reason or dry_reason
    if reason in ("cuda", "processes", "server") and argv[0] != "train":
        parse_only(planned)
        return None
    if reason in ("cuda", "processes", "missing-data") and "--dry-run" not in planned:
        planned = [*planned, "--dry-run"]
    code = run_ganx_in_process(planned)
    return None if code == 0 else f"{command} -> exit {code} (ran: ganx {shlex.join(planned)})"


def run_python(snippet: PythonSnippet, sandbox: Path) -> str | None:
    """Run a documented Python program in the sandbox, `<timestamp>` runs filled in."""
    def newest(match: re.Match[str]) -> str:
        runs = sorted(sandbox.glob(match.group(1) + "*"), key=lambda p: p.stat().st_mtime)
        return str(runs[-1]) if runs else match.group(0)

    code = re.sub(r"(runs/[\w.-]+?)<timestamp>", newest, snippet.code)
    try:
        exec(compile(code, f"{snippet.page.name}:{snippet.line}", "exec"), {"__name__": "doc"})
    except Exception as exc:  # the failure is the test's finding, reported with the others
        return f"{snippet.page.relative_to(REPO)}:{snippet.line}: python -> {exc!r}"
    return None


def shortened_train(real_train):
    """`ganx.train` as the docs call it, for a few steps (the docs' own steps are for readers)."""
    def train(plugin=None, **kwargs):
        small = dict(pair.split("=", 1) for pair in SHRINK_DOMAIN.get(plugin, [])[1::2])
        settings = {**small, **(kwargs.pop("settings", None) or {})}
        return real_train(plugin, **{**kwargs, "steps": 3, "batch_size": 8,
                                     "settings": settings})
    return train


@pytest.mark.parametrize("page", [p for p in PAGES if documented_commands(p)
                                  or runnable_python(p)], ids=page_id)
def test_every_documented_command_runs(page, tmp_path, tmp_path_factory, monkeypatch):
    import ganx

    sandbox, home = tmp_path / "work", tmp_path / "home"
    sandbox.mkdir()
    make_reader_inputs(sandbox, home)
    monkeypatch.chdir(sandbox)
    monkeypatch.setenv("HOME", str(home))
    # one cache for all pages: the spoken digits, tokenizers and feature networks are made once
    monkeypatch.setenv("GANX_HOME", str(_shared_cache(tmp_path_factory)))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(ganx, "train", shortened_train(ganx.train))
    # in the order a reader meets them: a program may use the run a command made, and back
    steps: list[Command | PythonSnippet] = [*documented_commands(page), *runnable_python(page)]
    failures = []
    for step in sorted(steps, key=lambda item: item.line):
        if isinstance(step, Command):
            failure = run_command(step, sandbox, home)
        else:
            failure = run_python(step, sandbox)
        if failure:
            failures.append(failure)
    assert not failures, "documented commands failed:\n" + "\n".join(failures)


_CACHE: list[Path] = []


def _shared_cache(factory) -> Path:
    if not _CACHE:
        _CACHE.append(factory.mktemp("ganx-home"))
    return _CACHE[0]


def test_the_not_run_reasons_are_all_used():
    """No stale excuse: every reason names a command some page still has."""
    texts = [c.text for page in PAGES for c in documented_commands(page)]
    installs = ("pip", "python3 -m venv", ".venv/bin/pip")
    used = {"install": any(t.startswith(installs) for t in texts),
            "cuda": any("--device cuda" in t for t in texts),
            "processes": any("--nproc" in t or t.startswith("torchrun") for t in texts),
            "installed-plugin": any("--plugin wave" in t for t in texts),
            "benchmark": any(t.startswith("python benchmarks/") for t in texts),
            "missing-data": any("--data fashion-mnist" in t for t in texts),
            "server": any(t.startswith("ganx serve") for t in texts)}
    assert set(used) == set(NOT_RUN_REASONS)
    assert all(used.values()), [k for k, v in used.items() if not v]
