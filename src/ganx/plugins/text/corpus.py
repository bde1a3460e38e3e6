"""Where text comes from: the shipped Shakespeare plays, a text file, a folder of text files, or a
JSON-lines file; read leniently, with every problem counted and reported instead of fatal.

- Text files: `.txt`, `.text`, `.md`, `.rst` (and the same gzipped, `.txt.gz`); a file named
  directly may have any extension. JSON lines: `.jsonl`, `.ndjson` (gzipped too), one object per
  line, the text in a field (`text_field`, default "text").
- Bytes that are not UTF-8 are dropped (and counted per file); empty files, binary files and
  unreadable files are skipped; so are JSON lines that do not parse or lack the field.

Nothing here imports torch.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ganx.core.errors import ConfigError, RunError, did_you_mean

log = logging.getLogger("ganx")

TEXT_SUFFIXES = {".txt", ".text", ".md", ".rst"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
DEFAULT = "shakespeare"
SHOWN = 3  # problem paths named in a report


@dataclass
class Corpus:
    """Documents (one per file or JSON line) and what went wrong while reading them."""

    name: str
    documents: list[str]
    digest: str
    """sha256 of the documents' text: identifies the corpus in caches and run configs."""
    skipped: list[str] = field(default_factory=list)
    """'path: reason' of files or JSON lines that gave no text."""
    repaired: list[str] = field(default_factory=list)
    """'path: N invalid byte sequence(s)' of files whose non-UTF-8 bytes were dropped."""

    def report(self) -> None:
        """Log what was skipped or repaired (one warning each, naming the first few)."""
        for what, items in (("skipped", self.skipped),
                            ("dropped non-UTF-8 bytes in", self.repaired)):
            if items:
                more = " ..." if len(items) > SHOWN else ""
                log.warning("text corpus %s: %s %d item(s): %s%s", self.name, what, len(items),
                            "; ".join(items[:SHOWN]), more)


def packaged_files() -> list[Path]:
    """The shipped plays (see data/NOTICE)."""
    root = Path(str(resources.files("ganx.plugins.text") / "data"))
    return sorted(root.glob("*.txt.gz"))


def _suffix(path: Path) -> str:
    """The meaningful suffix: `.txt` for `a.txt` and `a.txt.gz`."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def list_files(root: Path) -> list[Path]:
    """Text and JSON-lines files under `root`, recursively, without hidden ones, sorted."""
    wanted = TEXT_SUFFIXES | JSONL_SUFFIXES
    return sorted(p for p in root.rglob("*") if p.is_file() and _suffix(p) in wanted
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def decode(raw: bytes) -> tuple[str, int]:
    """UTF-8 text (a byte-order mark removed) and the number of invalid UTF-8 byte sequences
    that were dropped. CRLF and CR line ends become LF."""
    try:
        text, bad = raw.decode("utf-8-sig"), 0
    except UnicodeDecodeError:
        replaced = raw.decode("utf-8-sig", errors="replace")
        bad = replaced.count("\ufffd") - raw.decode("utf-8", errors="ignore").count("\ufffd")
        text = replaced.replace("\ufffd", "")
    return unix_newlines(text), bad


def unix_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_bytes(path: Path) -> bytes:
    if path.suffix.lower() == ".gz":
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


def _jsonl_documents(path: Path, text: str, text_field: str,
                     skipped: list[str]) -> list[str]:
    documents = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            skipped.append(f"{path}:{number}: not JSON")
            continue
        value = record.get(text_field) if isinstance(record, dict) else None
        if not isinstance(value, str):
            keys = ", ".join(list(record)[:5]) if isinstance(record, dict) else "none"
            skipped.append(f"{path}:{number}: no string field '{text_field}' (keys: {keys})")
            continue
        if value.strip():
            documents.append(unix_newlines(value))
    return documents


def read_files(files: list[Path], name: str, text_field: str = "text") -> Corpus:
    """Read `files` leniently into a corpus (see the module docstring)."""
    documents: list[str] = []
    skipped: list[str] = []
    repaired: list[str] = []
    digest = hashlib.sha256()
    for path in files:
        try:
            raw = _read_bytes(path)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            skipped.append(f"{path}: unreadable ({type(exc).__name__})")
            continue
        if b"\x00" in raw[:8192]:
            skipped.append(f"{path}: binary (NUL bytes), not text")
            continue
        text, bad = decode(raw)
        if bad:
            repaired.append(f"{path}: {bad} invalid byte sequence(s)")
        if not text.strip():
            skipped.append(f"{path}: empty")
            continue
        if _suffix(path) in JSONL_SUFFIXES:
            found = _jsonl_documents(path, text, text_field, skipped)
        else:
            found = [text]
        for doc in found:
            digest.update(doc.encode("utf-8"))
            digest.update(b"\x00")
        documents.extend(found)
    return Corpus(name, documents, digest.hexdigest(), skipped, repaired)


def load(data: str, text_field: str = "text") -> Corpus:
    """The corpus for `--data`: empty or `shakespeare` for the shipped plays, else a path to a
    text file, a JSON-lines file or a folder of them. Raises ConfigError when nothing usable is
    there; problems inside the data are kept in the result (see `Corpus.report`)."""
    name = data or DEFAULT
    if name == DEFAULT:
        files = packaged_files()
        if not files:
            raise RunError("the shipped Shakespeare corpus is missing from this ganx install"
                           " (ganx/plugins/text/data/*.txt.gz); reinstall ganx")
        return read_files(files, name)
    path = Path(name).expanduser()
    if not path.exists():
        hint = did_you_mean(name, [DEFAULT])
        hint = hint if hint.startswith("; did") else ""
        raise ConfigError(f"--data {name}: no such file or folder (the text domain takes a text"
                          f" file, a .jsonl file, a folder of them, or '{DEFAULT}'){hint}")
    if path.is_dir():
        files = list_files(path)
        if not files:
            raise ConfigError(f"--data {path}: no text files found (looked for "
                              f"{', '.join(sorted(TEXT_SUFFIXES | JSONL_SUFFIXES))}, also"
                              " gzipped, recursively)")
    else:
        files = [path]
    corpus = read_files(files, str(path), text_field)
    if not corpus.documents:
        first = corpus.skipped[0] if corpus.skipped else "no text"
        raise ConfigError(f"--data {path}: no usable text in {len(files)} file(s) (first"
                          f" problem: {first})")
    return corpus


_RECENT: dict[tuple[str, str, str], Corpus] = {}


def _stat_signature(data: str) -> str:
    """Sizes and modification times of the files behind `data`: a cheap change detector."""
    path = Path(data).expanduser()
    if not data or data == DEFAULT or not path.exists():
        return ""
    files = list_files(path) if path.is_dir() else [path]
    return ";".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)


def load_once(data: str, text_field: str = "text") -> Corpus:
    """`load`, remembered in this process while the files are unchanged (start-up reads the
    corpus in `resolve_config` and again in `build_dataset`)."""
    key = (data or DEFAULT, text_field, _stat_signature(data))
    if key in _RECENT:
        return _RECENT[key]
    corpus = load(data, text_field)
    if len(_RECENT) >= 4:
        _RECENT.pop(next(iter(_RECENT)))
    _RECENT[key] = corpus
    return corpus
