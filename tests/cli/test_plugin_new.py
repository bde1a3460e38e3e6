"""`ganx plugin new NAME`: the package it writes installs, passes its own tests and trains."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from ganx.plugin_template import check_name, fields, render

from ..conftest import run_ganx


def test_files_are_filled_in_for_a_name_with_a_dash():
    files = render("my-gan")
    assert sorted(str(p) for p in files) == [
        ".gitignore", "README.md", "pyproject.toml", "src/ganx_my_gan/__init__.py",
        "src/ganx_my_gan/domain.py", "src/ganx_my_gan/metrics.py", "src/ganx_my_gan/models.py",
        "tests/test_domain.py"]
    project = tomllib.loads(files[Path("pyproject.toml")])
    assert project["project"]["name"] == "ganx-my-gan"
    assert project["project"]["entry-points"]["ganx"] == {"my-gan": "ganx_my_gan"}
    for path, text in files.items():
        if path.suffix == ".py":
            compile(text, str(path), "exec")
    assert 'name = "my-gan"' in files[Path("src/ganx_my_gan/domain.py")]
    assert "class MyGanDomain(ganx.Domain):" in files[Path("src/ganx_my_gan/domain.py")]
    assert fields("my-gan")["Class"] == "MyGan"


@pytest.mark.parametrize(("name", "message"), [
    ("My Thing", "plugin name 'My Thing' is not valid: use lowercase letters, digits, '-' and"
                 " '_', starting with a letter, at most 40 characters (e.g. 'my_thing')"),
    ("2d", "plugin name '2d' is not valid"),
    ("toy_", "plugin name 'toy_' is not valid"),
    ("class", "plugin name 'class' is a Python keyword"),
    ("image", "plugin name 'image' is taken: an installed plugin already uses it"),
])
def test_bad_names_are_one_line_errors_with_exit_code_2(tmp_path, name, message):
    result = run_ganx("plugin", "new", name, "--dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"ganx: error: {message}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_not_overwritten(tmp_path):
    (tmp_path / "ganx-mine").mkdir()
    (tmp_path / "ganx-mine" / "keep.txt").write_text("mine")
    result = run_ganx("plugin", "new", "mine", "--dir", str(tmp_path))
    assert result.returncode == 2 and "ganx-mine already exists" in result.stderr
    assert [p.name for p in (tmp_path / "ganx-mine").iterdir()] == ["keep.txt"]


def test_names_the_check_accepts():
    for name in ("wave", "my-gan", "ct_2d", "a" * 40):
        check_name(name)


def _setuptools_can_build_editables() -> bool:
    """pip --no-build-isolation builds with this environment's setuptools: it needs PEP 660
    (64) and bdist_wheel (built in from 70.1, else the wheel package)."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    from importlib.metadata import version

    major, minor = (int(x) for x in version("setuptools").split(".")[:2])
    return (major, minor) >= (70, 1) or (
        major >= 64 and importlib.util.find_spec("wheel") is not None)


def make_venv(path: Path) -> Path:
    """A venv that sees this environment's packages (torch, ganx, pytest, pip) without
    installing them again, and installs into its own site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    if sys.prefix != sys.base_prefix:  # inside a venv: its packages are not the system's
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                               "get_paths()['purelib'])"], capture_output=True, text=True,
                              check=True).stdout.strip()
        parent = sysconfig.get_paths()["purelib"]
        Path(site, "_ganx_parent_env.pth").write_text(
            f"import site; site.addsitedir({parent!r})\n", encoding="utf-8")
    return python


def test_new_plugin_installs_passes_its_tests_and_trains(tmp_path):
    if not _setuptools_can_build_editables():
        pytest.skip("needs setuptools>=70.1 (or setuptools>=64 and wheel) to install offline")
    result = run_ganx("plugin", "new", "wave", "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    package = tmp_path / "ganx-wave"
    assert result.stdout.splitlines()[0] == f"wrote {package}"
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if Path(ruff).exists():
        lint = subprocess.run([ruff, "check", "--no-cache", str(package)], capture_output=True,
                              text=True, cwd=package)
        assert lint.returncode == 0, lint.stdout

    python = make_venv(tmp_path / "venv")
    env = {**os.environ, "GANX_HOME": str(tmp_path / "home"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps",
                              "--no-build-isolation", "--no-index", "-q", "-e", str(package)],
                             capture_output=True, text=True, env=env, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr

    tests = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(package / "tests")], capture_output=True, text=True, env=env,
                           cwd=package, timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert "9 passed" in tests.stdout

    run = tmp_path / "run"
    train = subprocess.run([str(python), "-m", "ganx", "train", "--plugin", "wave", "--steps",
                            "5", "--device", "cpu", "--run-dir", str(run), "--no-progress"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert train.returncode == 0, train.stderr[-3000:]
    assert f"snapshot: {run / 'checkpoints' / 'step-00000005.pt'}" in train.stdout
    assert "w1: " in train.stdout  # the plugin's metric, registered through its entry point
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "step-00000005.csv", "step-00000005.png"]
    assert len((run / "samples" / "step-00000005.csv").read_text().splitlines()) == 1 + 1000

    report = subprocess.run([str(python), "-m", "ganx", "report", str(run)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert report.returncode == 0, report.stderr
    assert "ganx-wave 0.1.0" in (run / "report.html").read_text(encoding="utf-8")
