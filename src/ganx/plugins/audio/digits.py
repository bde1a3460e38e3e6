"""The `spoken-digits` dataset: "zero" to "nine" synthesised offline with espeak-ng.

An SC09-like set (the ten digit words of the Speech Commands data that WaveGAN was measured on),
made from espeak-ng's English voices and voice variants at random pitches and speeds. Clip i says
digit i mod 10, so every digit has the same number of clips; each clip's voice, variant, pitch
and speed come from a NumPy generator seeded with the dataset seed, so a seed and a size always
give the same parameters, and with the same espeak-ng release the same audio.

The clips are written once into the ganx cache as FLAC files at espeak-ng's own 22,050 Hz, one
subfolder per digit word, so the set is an ordinary folder of recordings: the folder loader
resamples and segments it like a user's data. espeak-ng (GPL-3) is called as a program, never
bundled.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ganx.core import cache
from ganx.core.errors import ConfigError, RunError

log = logging.getLogger("ganx")

NAME = "spoken-digits"
VERSION = 1
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
          "en-029")
"""espeak-ng's own English voices (the MBROLA ones need extra packages)."""
EXCLUDED_VARIANTS = frozenset({"whisper", "whisperf", "Demonic", "fast"})
"""Variants that make a digit word unintelligible or chop it: whispering, a pitch-shifted growl,
and one that ignores the speed."""
PITCH = (20, 80)
SPEED = (110, 220)
"""Words per minute; at the slowest the longest word lasts about 0.65 s after trimming."""
MAX_SECONDS = 0.95
TRIM_LEVEL = 0.02
"""Leading and trailing audio quieter than this share of the clip's peak is cut (plus 20 ms)."""
INSTALL_HINT = ("install espeak-ng (Debian/Ubuntu: apt-get install espeak-ng; Fedora: dnf install"
                " espeak-ng; macOS: brew install espeak-ng), or train on your own recordings"
                " with --data FOLDER")


@dataclass(frozen=True)
class Utterance:
    index: int
    digit: int
    voice: str
    variant: str
    pitch: int
    speed: int

    @property
    def word(self) -> str:
        return DIGITS[self.digit]

    @property
    def relpath(self) -> str:
        return f"{self.word}/{self.index:05d}.flac"


def espeak_binary() -> str | None:
    return shutil.which("espeak-ng")


def missing() -> str | None:
    """None when espeak-ng can be run here, else how to install it."""
    return None if espeak_binary() else "apt-get install espeak-ng"


def _require_espeak() -> str:
    binary = espeak_binary()
    if binary is None:
        raise RunError(f"the {NAME} dataset is synthesised with espeak-ng, which is not"
                       f" installed: {INSTALL_HINT}")
    return binary


def espeak_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return " ".join(out.stdout.split()[:6])


def variants(binary: str) -> list[str]:
    """The voice variants installed with espeak-ng, by file name, sorted; the excluded ones and
    names with spaces left out."""
    out = subprocess.run([binary, "--voices=variant"], capture_output=True, text=True,
                         check=False).stdout
    names = set()
    for line in out.splitlines()[1:]:
        parts = line.split()
        if parts and parts[-1].startswith("!v/"):
            names.add(parts[-1][3:])
    return sorted(n for n in names if n not in EXCLUDED_VARIANTS and " " not in n)


def plan(n: int, seed: int, variant_names: list[str]) -> list[Utterance]:
    """The parameters of every clip: digit i mod 10; voice, variant, pitch and speed drawn from a
    generator seeded with `seed`."""
    if n < 10:
        raise ConfigError(f"digits_clips {n}: use at least 10 (one clip per digit)")
    rng = np.random.default_rng(seed)
    pool = ["", *variant_names]  # "" is the voice's own default variant
    out = []
    for i in range(n):
        out.append(Utterance(
            i, i % 10, VOICES[int(rng.integers(len(VOICES)))], pool[int(rng.integers(len(pool)))],
            int(rng.integers(PITCH[0], PITCH[1] + 1)), int(rng.integers(SPEED[0], SPEED[1] + 1))))
    return out


def trim(wave: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing near-silence, keeping a 20 ms margin."""
    level = np.abs(wave.astype(np.float32))
    loud = np.nonzero(level > TRIM_LEVEL * max(float(level.max()), 1.0))[0]
    if len(loud) == 0:
        return wave[:0]
    margin = rate // 50
    return wave[max(loud[0] - margin, 0): loud[-1] + margin + 1]


def synthesise(binary: str, utt: Utterance) -> tuple[np.ndarray, int]:
    """One utterance as int16 samples and their rate, trimmed and at most MAX_SECONDS long."""
    import soundfile as sf

    voice = f"{utt.voice}+{utt.variant}" if utt.variant else utt.voice
    result = subprocess.run([binary, "-v", voice, "-p", str(utt.pitch), "-s", str(utt.speed),
                             "--stdout", utt.word], capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        raise RunError(f"espeak-ng failed for {voice!r} saying {utt.word!r}:"
                       f" {result.stderr.decode(errors='replace').strip()[:200]}")
    wave, rate = sf.read(io.BytesIO(result.stdout), dtype="int16")
    if wave.ndim > 1:
        wave = wave[:, 0]
    wave = trim(wave, rate)
    return wave[: int(MAX_SECONDS * rate)], rate


def cache_root() -> Path:
    return cache.domain_dir("audio")


def dataset_dir(n: int, seed: int, binary: str | None = None) -> Path:
    """Where the set of `n` clips from `seed` lives (or will) in the cache."""
    binary = binary or _require_espeak()
    key = hashlib.sha256(f"{VERSION}|{n}|{seed}|{espeak_version(binary)}".encode())
    return cache_root() / NAME / f"n{n}-seed{seed}-{key.hexdigest()[:12]}"


def is_complete(folder: Path) -> bool:
    return (folder / "manifest.json").is_file()


def prepare(n: int, seed: int, *, workers: int | None = None) -> Path:
    """Synthesise the set of `n` clips from `seed` into the cache unless it is there already;
    returns its folder (one subfolder per digit word, FLAC files, manifest.json)."""
    binary = _require_espeak()
    folder = dataset_dir(n, seed, binary)
    if is_complete(folder):
        return folder
    utterances = plan(n, seed, variants(binary))
    log.info("synthesising the %s dataset: %d clips with espeak-ng (once) into %s", NAME, n,
             folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for word in DIGITS:
            (staging / word).mkdir()
        workers = workers or min(8, 2 * (os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda u: _write_clip(binary, u, staging), utterances))
        manifest = {"name": NAME, "version": VERSION, "seed": seed, "clips": n,
                    "espeak_ng": espeak_version(binary), "license": "generated with espeak-ng",
                    "utterances": [asdict(u) for u in utterances]}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=0))
        try:
            staging.rename(folder)
        except OSError:  # another process finished the same set first
            if not is_complete(folder):
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def _write_clip(binary: str, utt: Utterance, root: Path) -> None:
    import soundfile as sf

    wave, rate = synthesise(binary, utt)
    sf.write(root / utt.relpath, wave, rate, format="FLAC", subtype="PCM_16")


def word_labels() -> dict[str, int]:
    """Folder name -> digit value."""
    return {word: i for i, word in enumerate(DIGITS)}
