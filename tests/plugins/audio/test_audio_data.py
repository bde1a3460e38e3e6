"""The audio domain's data: the synthesised spoken digits, folders of recordings (formats, rates,
channels, segments, bad files) and the cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from ganx.core.errors import ConfigError, RunError
from ganx.plugins.audio import digits, sources

from ...conftest import run_ganx

LAYOUT = sources.Layout(sample_rate=16000, channels=1, segment=4096)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "ganx-home"))


def tone(seconds: float, rate: int, channels: int = 1, freq: float = 440.0,
         level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = level * np.sin(2 * np.pi * freq * t)
    return np.stack([wave * (c + 1) / channels for c in range(channels)], axis=1)


def test_spoken_digits_are_synthesised_once_and_deterministically(tmp_path, monkeypatch):
    folder = digits.prepare(20, seed=3)
    files = sorted(folder.rglob("*.flac"))
    assert len(files) == 20
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(digits.DIGITS)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 3 and [u["digit"] for u in manifest["utterances"]][:3] == [0, 1, 2]
    info = sf.info(str(files[0]))
    assert info.samplerate == 22050 and info.channels == 1
    assert 0.1 < info.duration <= digits.MAX_SECONDS
    first = files[0].read_bytes()
    assert digits.prepare(20, seed=3) == folder  # cached: nothing is synthesised again
    # another cache, the same seed: the same audio; another seed: other voices
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "second"))
    again = digits.prepare(20, seed=3)
    assert sorted(again.rglob("*.flac"))[0].read_bytes() == first
    other = digits.plan(20, 4, digits.variants(digits.espeak_binary()))
    assert [u.voice for u in other] != [u["voice"] for u in manifest["utterances"]]


def test_missing_espeak_says_how_to_install(monkeypatch):
    monkeypatch.setattr(digits.shutil, "which", lambda name: None)
    with pytest.raises(RunError, match="apt-get install espeak-ng"):
        digits.prepare(20, seed=0)
    assert digits.missing() == "apt-get install espeak-ng"


def test_spoken_digits_load_as_labelled_segments():
    data = sources.load("", sources.Layout(16000, 1, 16384), digits_clips=20, digits_seed=0)
    assert data.waves.shape == (20, 1, 16384) and data.waves.dtype == np.int16
    assert data.classes == list(digits.DIGITS)  # label i is digit i
    assert np.bincount(data.labels).tolist() == [2] * 10 and data.labels[0] == 8  # eight/
    peaks = np.abs(data.waves.astype(np.int32)).max(axis=(1, 2))
    assert (peaks > 0.9 * 32768).all()  # normalised to 95% of full scale


def test_folder_of_mixed_formats_rates_channels_and_bad_files(tmp_path, caplog):
    root = tmp_path / "recordings"
    root.mkdir()
    sf.write(root / "stereo44k.wav", tone(0.5, 44100, channels=2), 44100)
    sf.write(root / "long8k.flac", tone(1.1, 8000), 8000)  # 4.3 segments of 4096 at 16 kHz
    sf.write(root / "clip.ogg", tone(0.1, 22050), 22050, format="OGG", subtype="VORBIS")
    sf.write(root / "clip.mp3", tone(0.2, 16000), 16000, format="MP3")
    (root / "notes.wav").write_text("not audio")
    sf.write(root / "empty.wav", np.zeros((0, 1)), 16000)
    sf.write(root / "silent.flac", np.zeros((1600, 1)), 16000)
    (root / "readme.txt").write_text("ignored: not an audio extension")
    with caplog.at_level("WARNING", logger="ganx"):
        data = sources.load(str(root), LAYOUT)
    # 2 segments (0.5 s at 16 kHz = 8000 samples: one full, a tail of 3904 >= 2048) + 4 + 1 + 1
    assert data.waves.shape == (8, 1, 4096) and data.labels is None
    assert "skipped 3 unusable audio file(s)" in caplog.text
    assert "notes.wav" in caplog.text and "empty.wav" in caplog.text
    # the cache answers the second time, without decoding
    cached = list((tmp_path / "ganx-home" / "audio" / "segments").glob("*.npz"))
    assert len(cached) == 1
    assert np.array_equal(sources.load(str(root), LAYOUT).waves, data.waves)


def test_short_clips_are_centred_and_long_ones_cut():
    wave = np.ones((1, 10), dtype=np.float32)
    (piece,) = sources.segments(wave, 16)
    assert piece[0].tolist() == [0, 0, 0] + [1] * 10 + [0, 0, 0]
    pieces = sources.segments(np.ones((1, 40), dtype=np.float32), 16)
    assert len(pieces) == 3 and pieces[2][0, :8].tolist() == [1] * 8  # tail of 8 kept, padded
    assert len(sources.segments(np.ones((1, 39), dtype=np.float32), 16)) == 2  # tail of 7 dropped


def test_resampling_keeps_the_pitch(tmp_path):
    sf.write(tmp_path / "a.wav", tone(0.5, 44100, freq=1000.0), 44100)
    data = sources.load(str(tmp_path), sources.Layout(8000, 1, 4096, normalize=False))
    spectrum = np.abs(np.fft.rfft(data.waves[0, 0].astype(np.float64)))
    assert abs(np.argmax(spectrum) * 8000 / 4096 - 1000.0) < 4.0


def test_channels_kept_mixed_or_repeated(tmp_path):
    sf.write(tmp_path / "s.wav", tone(0.3, 16000, channels=2), 16000)
    assert sources.peek_channels(str(tmp_path)) == 2
    stereo = sources.load(str(tmp_path), sources.Layout(16000, 2, 4096))
    assert stereo.waves.shape[1] == 2
    assert not np.array_equal(stereo.waves[:, 0], stereo.waves[:, 1])
    mono = sources.match_channels(tone(0.1, 16000).T, 2)
    assert mono.shape[0] == 2 and np.array_equal(mono[0], mono[1])
    with pytest.raises(ValueError, match="3 channels"):
        sources.match_channels(np.zeros((3, 10)), 2)


def test_class_subfolders_are_labels(tmp_path):
    for name, freq in (("dogs", 300.0), ("cats", 900.0)):
        (tmp_path / name).mkdir()
        sf.write(tmp_path / name / "a.wav", tone(0.2, 16000, freq=freq), 16000)
    data = sources.load(str(tmp_path), LAYOUT)
    assert data.classes == ["cats", "dogs"] and sorted(data.labels.tolist()) == [0, 1]


@pytest.mark.parametrize(("make", "message"), [
    (lambda root: None, "no such folder"),
    (lambda root: root.mkdir(), "no audio files found"),
    (lambda root: (root.mkdir(), (root / "x.wav").write_text("nope")), "could be used"),
])
def test_unusable_folders_are_config_errors(tmp_path, make, message):
    root = tmp_path / "data"
    make(root)
    with pytest.raises(ConfigError, match=message):
        sources.load(str(root), LAYOUT)


def test_unknown_dataset_name_suggests_the_nearest():
    with pytest.raises(ConfigError, match="did you mean 'spoken-digits'"):
        sources.load("spoken-digit", LAYOUT)


def test_cli_reports_a_folder_with_nothing_usable(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.wav").write_text("nope")
    result = run_ganx("train", "--plugin", "audio", "--data", str(tmp_path / "bad"),
                      "--steps", "1", "--device", "cpu", "--run-dir", str(tmp_path / "run"),
                      env={"GANX_HOME": str(tmp_path / "home")})
    assert result.returncode == 2, result.stderr
    assert "none of the 1 audio files could be used" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_prepares_spoken_digits(tmp_path):
    home = tmp_path / "home"
    result = run_ganx("data", "prepare", "spoken-digits", "--set", "digits_clips=10",
                      env={"GANX_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    folder = result.stdout.strip().splitlines()[-1]
    assert folder.startswith(str(home)) and len(list((home).rglob("*.flac"))) == 10
    listed = run_ganx("data", "list", "--plugin", "audio")
    assert "spoken-digits  [available]" in listed.stdout
    unknown = run_ganx("data", "prepare", "spoken-digts")
    assert unknown.returncode == 2 and "did you mean 'spoken-digits'" in unknown.stderr
