"""`ganx report`: one self-contained HTML page per run, from real short runs (toy, image) and from
run directories holding the files other domains write (audio, text, volumes)."""

from __future__ import annotations

import base64
import html
import json
import math
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ganx.report import read_run, render_report, write_report
from ganx.report.charts import format_tick, nice_ticks
from ganx.report.samples import collect_samples, series_of, spread, step_of

from ..conftest import TOY_SMALL, run_ganx

URL_ATTRIBUTES = {"src", "href", "poster", "srcset", "action", "data", "formaction", "background"}


class Page(HTMLParser):
    """The tags and attributes of a page, and its text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags
                if t == tag and all(v in a.get(k, "").split() for k, v in attrs.items())]


def external_references(text: str) -> list[str]:
    """Every URL the page would fetch: attributes that are not data: URIs or #anchors, CSS
    url(...) that is not data:, and @import."""
    page = Page(text)
    found = [f"{tag} {name}={value[:60]}" for tag, attrs in page.tags
             for name, value in attrs.items()
             if name in URL_ATTRIBUTES and not value.startswith(("data:", "#"))]
    found += [m for m in re.findall(r"url\(\s*['\"]?([^)'\"]*)", text)
              if not m.startswith("data:")]
    found += re.findall(r"@import[^;]*", text)
    return found


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    """A short real run of the toy plugin, with evaluation, an R1 penalty and 4 snapshots."""
    import ganx

    run_dir = tmp_path_factory.mktemp("toy") / "run"
    ganx.train("toy", run_dir=str(run_dir), settings=TOY_SMALL, steps=16, batch_size=32,
               device="cpu", precision="fp32", log_every=2, sample_every=4, checkpoint_every=8,
               n_samples=64, eval_every=8, eval_samples=64, r1_interval=2)
    return run_dir


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> Path:
    """A short real run of the image plugin (Fashion-MNIST subset, 16x16, tiny DCGAN)."""
    import ganx

    root = tmp_path_factory.mktemp("image")
    old = os.environ.get("GANX_HOME")
    os.environ["GANX_HOME"] = str(root / "home")
    try:
        ganx.train("image", run_dir=str(root / "run"), settings={"resolution": 16, "width": 8},
                   steps=4, batch_size=8, device="cpu", precision="fp32", log_every=2,
                   sample_every=2, checkpoint_every=4, n_samples=16, eval_every=-1)
    finally:
        if old is None:
            os.environ.pop("GANX_HOME", None)
        else:
            os.environ["GANX_HOME"] = old
    return root / "run"


def rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def embedded(page: Page, tag: str) -> list[bytes]:
    return [base64.b64decode(a["src"].split(",", 1)[1]) for a in page.all(tag)]


# -- real runs ----------------------------------------------------------------------------------


def test_toy_run_report_has_curves_samples_config_and_versions(toy_run):
    path = write_report(toy_run)
    assert path == toy_run / "report.html"
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    assert external_references(text) == []

    charts = page.all("svg", **{"class": "chart"})
    titles = [a["aria-label"] for a in charts]
    for expected in ("discriminator loss (loss_d)", "generator loss (loss_g)", "R1 penalty (r1)",
                     "throughput (samples/s)", "modes_covered", "high_quality"):
        assert expected in titles
    # the loss_d line has one vertex per training row of metrics.jsonl
    train_rows = [r for r in rows(toy_run) if r["kind"] == "train"]
    loss_d_svg = re.search(r'aria-label="discriminator loss \(loss_d\)".*?</svg>', text).group(0)
    vertices = re.search(r'<polyline class="line" points="([^"]+)"', loss_d_svg).group(1).split()
    assert len(vertices) == len(train_rows) == 8

    # 4 snapshots: the newest large, then all four over time, embedded byte for byte
    images = embedded(page, "img")
    samples = sorted((toy_run / "samples").glob("step-*.png"))
    assert [p.name for p in samples] == [f"step-{s:08d}.png" for s in (4, 8, 12, 16)]
    assert images == [samples[-1].read_bytes()] + [p.read_bytes() for p in samples]
    assert "4 other file(s) (.csv)" in text  # the writer's CSV files are named, not shown

    body = " ".join(page.text)
    assert "ganx-toy 0.1.0" in body and "finished: 16 steps" in body
    assert "mixture" in body and "ring" in body and "nonsaturating" in body
    assert "device" in body and "cpu" in body


def test_image_run_report_shows_the_grids_over_time(image_run):
    text = render_report(image_run)
    page = Page(text)
    assert external_references(text) == []
    grids = [(image_run / "samples" / f"step-{s:08d}.png").read_bytes() for s in (2, 4)]
    assert embedded(page, "img") == [grids[-1], *grids]
    from PIL import Image

    width = Image.open(image_run / "samples" / "step-00000004.png").width
    newest = page.all("img")[0]
    # a grid of 16x16 images is small: shown enlarged by a whole factor with sharp pixels
    assert newest["class"] == "pixelated" and int(newest["width"]) == width * (560 // width)
    assert "ganx " in " ".join(page.text) and "resolution" in text


def test_cli_writes_the_report_without_importing_torch(toy_run, tmp_path):
    out = tmp_path / "pages" / "toy.html"
    code = ("import sys\nfrom ganx.cli.main import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\n"
            "print('torch imported:', 'torch' in sys.modules, 'exit', code)\n")
    result = subprocess.run([sys.executable, "-c", code, "report", str(toy_run), "--out",
                             str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [str(out), "torch imported: False exit 0"]
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not [p for p in out.parent.iterdir() if p.name != "toy.html"]  # no temporaries left


def test_versions_come_from_the_snapshot_when_config_toml_is_missing(toy_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(toy_run, run)
    (run / "config.toml").unlink()
    data = read_run(run)
    assert data.versions["plugin"] == "ganx-toy 0.1.0"
    assert data.versions["python"] == platform.python_version()
    assert data.config_source == "checkpoints/step-00000016.pt"
    assert data.config["domain"]["hidden"] == TOY_SMALL["hidden"]
    assert "ganx-toy 0.1.0" in render_report(run)


# -- what a running run looks like --------------------------------------------------------------


def png(path: Path, colour: tuple[int, int, int] = (200, 30, 30), size: int = 8) -> bytes:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), colour).save(path)
    return path.read_bytes()


def wav(path: Path, seconds: float = 0.25, rate: int = 8000) -> None:
    """A 440 Hz tone as 16-bit PCM WAV."""
    import wave

    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(seconds * rate)
    frames = b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate)))
                      for i in range(n))
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(frames)


def fake_run(root: Path, steps: int = 40, rows_: list[dict] | None = None) -> Path:
    run = root / "run"
    (run / "samples").mkdir(parents=True)
    (run / "config.toml").write_text(
        f'plugin = "audio"\n\n[train]\nsteps = {steps}\n\n[domain]\nsample_rate = 8000\n\n'
        '[versions]\nganx = "0.1.0"\nplugin = "ganx 0.1.0"\n')
    lines = [json.dumps(r) for r in rows_ or [
        {"step": s, "kind": "train", "time": 1000.0 + s, "loss_d": 1.0 / s, "loss_g": 0.5 + s}
        for s in (10, 20)]]
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return run


def test_audio_text_and_volume_samples(tmp_path):
    run = fake_run(tmp_path)
    for step in (10, 20, 30, 40):
        tag = f"step-{step:08d}"
        png(run / "samples" / f"{tag}.png")  # the spectrogram picture
        for clip in range(2):
            wav(run / "samples" / tag / f"{clip:02d}.wav")
        (run / "samples" / f"{tag}.txt").write_text(f"sample <b>{step}</b> & more\n")
        (run / "samples" / f"{tag}.nii.gz").write_bytes(b"\x1f\x8b not really a volume")
    text = render_report(run)
    page = Page(text)
    assert external_references(text) == []
    audio = page.all("audio")
    # the newest of 3 evenly spaced snapshots first: steps 40, 20 (or 30), 10, two clips each
    assert len(audio) == 6 and all(a["src"].startswith("data:audio/wav;base64,") for a in audio)
    assert base64.b64decode(audio[0]["src"].split(",")[1]) == \
        (run / "samples" / "step-00000040" / "00.wav").read_bytes()
    assert "3 of 4 snapshots" in text
    # text samples, newest first, escaped
    assert "sample &lt;b&gt;40&lt;/b&gt; &amp; more" in text and "<b>40</b>" not in text
    assert text.index("sample &lt;b&gt;40") < text.index("sample &lt;b&gt;10")
    assert "4 volume file(s) (NIfTI/DICOM) are not shown" in html.unescape(text)


def test_a_running_run_skips_half_written_files_and_lines(tmp_path):
    run = fake_run(tmp_path, steps=100)
    whole = png(run / "samples" / "step-00000010.png")
    half = png(run / "samples" / "step-00000020.png", size=64)
    (run / "samples" / "step-00000020.png").write_bytes(half[: len(half) // 2])
    with (run / "metrics.jsonl").open("a") as fh:
        fh.write('{"step": 30, "kind": "tra')  # the line the trainer is writing
    text = html.unescape(render_report(run))
    assert embedded(Page(text), "img") == [whole]
    assert "1 file(s) still being written or damaged were left out: step-00000020.png" in text
    assert "1 line(s) of metrics.jsonl could not be read" in text
    assert "step 20 of 100 (running, or stopped" in text


def test_rollbacks_and_non_finite_values_are_marked(tmp_path):
    run = fake_run(tmp_path, rows_=[
        {"step": 10, "kind": "train", "loss_d": 1.2, "loss_g": 0.8},
        {"step": 20, "kind": "train", "loss_d": None, "loss_g": 0.9},
        {"step": 20, "kind": "event", "event": "rollback", "reason": "non-finite loss_d",
         "bad_step": 20, "lr_scale": 0.5},
        {"step": 30, "kind": "train", "loss_d": 1.1, "loss_g": 0.7},
        {"step": 5, "kind": "pretrain", "mle": 3.0},
        {"step": 30, "kind": "evaluate", "w1": 0.25},
    ])
    text = render_report(run)
    assert "discriminator loss (loss_d) (1 non-finite)" in text
    assert text.count('<line class="event"') == 4  # on each of loss_d, loss_g, mle and w1
    assert "rollback: reason non-finite loss_d, bad_step 20, lr_scale 0.5" in text
    w1 = re.search(r'aria-label="w1".*?</svg>', text).group(0)
    assert "<circle" in w1 and "<polyline" not in w1  # `ganx evaluate` rows are dots


def test_errors_are_one_line_with_exit_code_2(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_ganx("report", str(tmp_path / "empty"))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"ganx: error: {tmp_path / 'empty'} is not a ganx run"
                                     " directory: it has no config.toml, metrics.jsonl or"
                                     " checkpoints/")
    run = fake_run(tmp_path)
    result = run_ganx("report", str(run), "--snapshots", "0")
    assert result.returncode == 2 and "--snapshots" in result.stderr
    (run / "config.toml").write_text("plugin = [")
    result = run_ganx("report", str(run))
    assert result.returncode == 2 and "config.toml is not valid TOML" in result.stderr


# -- the parts ----------------------------------------------------------------------------------


def test_sample_names_give_step_and_series():
    assert step_of(Path("step-00000200.png")) == 200
    assert step_of(Path("step-00000200/03-input.wav")) == 200
    assert step_of(Path("grid.png")) is None
    assert series_of(Path("step-00000200.png")) == ""
    assert series_of(Path("step-00000200_gm.png")) == "gm"
    assert series_of(Path("grid.png")) == "grid"


def test_snapshots_over_time_are_evenly_spaced_and_end_with_the_newest(tmp_path):
    assert spread(list(range(10)), 4) == [0, 3, 6, 9]
    assert spread([1, 2], 5) == [1, 2] and spread(list(range(5)), 1) == [4]
    for step in range(100, 3100, 100):
        png(tmp_path / f"step-{step:08d}.png")
        png(tmp_path / f"step-{step:08d}_mask.png", colour=(0, 0, 0))
    samples = collect_samples(tmp_path, snapshots=5)
    assert list(samples.images) == ["samples", "mask"]
    assert [s.step for s in samples.images["samples"]] == [100, 800, 1500, 2300, 3000]
    assert samples.image_counts == {"samples": 30, "mask": 30}


def test_chart_ticks_are_round_numbers():
    assert nice_ticks(0, 10) == [0, 2.5, 5, 7.5, 10]
    assert nice_ticks(0.61, 0.79) == pytest.approx([0.65, 0.7, 0.75])
    assert nice_ticks(0, 20000) == [0, 5000, 10000, 15000, 20000]
    assert [format_tick(t, [0, 2.5]) for t in (0, 2.5)] == ["0.0", "2.5"]
    assert format_tick(0.75, [0.7, 0.75]) == "0.75"
    assert format_tick(15000, [10000, 15000]) == "15k"


# -- in a real browser --------------------------------------------------------------------------

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
PROBE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const images = [...document.images];
  const audio = [...document.querySelectorAll("audio")];
  document.body.setAttribute("data-probe", JSON.stringify({
    images: images.length,
    decoded: images.filter(i => i.complete && i.naturalWidth > 0).length,
    charts: document.querySelectorAll("svg.chart").length,
    marks: document.querySelectorAll("svg.chart polyline, svg.chart circle").length,
    durations: audio.map(a => a.duration),
    resources: performance.getEntriesByType("resource").map(e => e.name),
  }));
}, 500));
</script>"""


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no headless Chromium (apt-get install chromium)")


def run_browser(page: Path, tmp_path: Path, *args: str) -> tuple[str, list[str]]:
    """Open `page` in headless Chromium with name resolution blocked, and return its stdout and
    the http(s)/ws URLs the page itself asked the network for (from Chromium's net log;
    the browser's own background requests carry no page origin and are left out)."""
    netlog = tmp_path / f"netlog-{len(list(tmp_path.glob('netlog-*')))}.json"
    command = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--disable-background-networking", "--disable-extensions",
               f"--user-data-dir={tmp_path / 'profile'}", '--host-resolver-rules=MAP * ~NOTFOUND',
               f"--log-net-log={netlog}", "--virtual-time-budget=5000", *args,
               page.resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requested = [e["params"]["url"] for e in log["events"]
                 if e["type"] == start_job and e.get("params", {}).get("initiator")
                 not in (None, "not an origin")
                 and re.match(r"(https?|wss?)://", e["params"].get("url", ""))]
    return result.stdout, requested


def probe(page: Path, tmp_path: Path) -> tuple[dict, list[str]]:
    """Load a copy of `page` with a probe script appended; what it found, and the requests."""
    copy = tmp_path / f"probe-{page.name}"
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                    encoding="utf-8")
    dom, requested = run_browser(copy, tmp_path, "--dump-dom")
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the probe did not run"
    return json.loads(html.unescape(found.group(1))), requested


def test_chromium_renders_the_report_offline(toy_run, tmp_path):
    report = write_report(toy_run, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    _, requested = run_browser(report, tmp_path, "--window-size=1280,2600",
                               f"--screenshot={shot}")
    assert requested == []
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 22)
    assert colours is not None and len(colours) > 100, "the screenshot is blank"

    def near(target: tuple[int, int, int]) -> int:
        return sum(n for n, c in colours
                   if all(abs(a - b) <= 6 for a, b in zip(c, target, strict=True)))

    assert near((31, 111, 180)) > 500, "no chart lines on screen"  # charts.PALETTE[0]
    assert near((200, 60, 60)) > 100, "no toy sample (its red mode circles) on screen"

    found, requested = probe(report, tmp_path)
    assert requested == []
    assert [r for r in found["resources"] if not r.startswith("data:")] == []
    assert found["images"] == 5 and found["decoded"] == 5
    assert found["charts"] >= 8 and found["marks"] >= found["charts"]


def test_chromium_plays_the_audio_samples(tmp_path):
    run = fake_run(tmp_path)
    wav(run / "samples" / "step-00000020" / "00.wav", seconds=0.5)
    found, requested = probe(write_report(run), tmp_path)
    assert requested == []
    assert found["durations"] == [pytest.approx(0.5, abs=0.01)]


def test_the_network_check_sees_a_request(tmp_path):
    """The detector itself: a page that fetches from elsewhere is caught."""
    page = tmp_path / "leaky.html"
    page.write_text('<html><body><img src="https://example.com/x.png"></body></html>')
    assert external_references(page.read_text()) == ["img src=https://example.com/x.png"]
    _, requested = run_browser(page, tmp_path, "--dump-dom")
    assert requested == ["https://example.com/x.png"]


def test_the_summary_says_how_the_metrics_were_measured(tmp_path):
    protocol = {"features": "inception", "features_sha256": "ab" * 32,
                "resize": "tf1-legacy-bilinear 299x299", "n_generated": 500, "n_real": 500,
                "reference": "fashion-mnist", "reference_split": "test", "reference_count": 10000,
                "reference_digest": "cd" * 32, "generator": "ema", "seed": 0, "precision": "bf16",
                "device": "cpu", "ganx_version": "0.1.0", "torch_version": "2.11.0",
                "details": {}}
    run = fake_run(tmp_path, rows_=[
        {"step": 40, "kind": "eval", "time": 1.0, "fid": 31.5, "protocol": protocol}])
    text = html.unescape(render_report(run))
    assert ("measured with: inception (tf1-legacy-bilinear 299x299); 500 generated vs 500 real"
            " of fashion-mnist [test, 10000 items]; generator ema, seed 0, bf16 on cpu") in text
    assert "31.5" in text


@pytest.mark.parametrize(("eval_every", "wording"), [
    (-1, "this run was configured not to evaluate (eval_every = -1); score it with ganx evaluate"),
    (0, "no evaluation yet: this run evaluates once, at the end of training"),
    (500, "no evaluation yet: this run evaluates every 500 steps and at the end"),
])
def test_without_evaluation_rows_the_wording_follows_the_config(tmp_path, eval_every, wording):
    run = fake_run(tmp_path)
    config = run / "config.toml"
    text = config.read_text().replace("[train]\n", f"[train]\neval_every = {eval_every}\n")
    config.write_text(text)
    assert wording in html.unescape(render_report(run))
