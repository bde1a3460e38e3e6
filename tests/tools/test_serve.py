"""`ganx serve`: the JSON API (caps, determinism under concurrent requests, clean shutdown) and
the page in a real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

import ganx
from ganx.tools.serve import MAX_N, BadRequest, Demo

from ..conftest import REPO


def test_a_seed_gives_the_same_bytes_and_requests_are_capped(trained):
    demo = Demo(ganx.load(trained("image-conditional")))
    first = demo.grid(3, 4, 1.0, label=2)
    assert first == demo.grid(3, 4, 1.0, label=2) and first != demo.grid(4, 4, 1.0, label=2)
    assert len(first["pictures"]) == 1 and not first["clips"] and not first["lines"]
    for call, message in ((lambda: demo.grid(0, MAX_N + 1, 1.0), "n: use 1 to 64"),
                          (lambda: demo.grid(0, 4, 1.5), "truncation: use 0 to 1"),
                          (lambda: demo.grid(0, 4, 1.0, label=10), "label: use 0 to 9"),
                          (lambda: demo.grid(0, 4, 1.0, prompt="hi"), "text runs only"),
                          (lambda: demo.path(0, 1, 500, 1.0), "frames: use 2 to 32")):
        with pytest.raises(BadRequest, match=message):
            call()


def test_audio_and_text_runs_answer_clips_and_lines(trained):
    clips = Demo(ganx.load(trained("audio-wavegan"))).grid(0, 3, 1.0)
    assert len(clips["clips"]) == 3 and clips["clips"][0].startswith("data:audio/wav;base64,")
    text = Demo(ganx.load(trained("text")))
    lines = text.grid(0, 3, 1.0, prompt="the cat")["lines"]
    assert len(lines) == 3 and all(line.startswith("the cat") for line in lines)
    with pytest.raises(BadRequest, match="prompt: at most 200"):
        text.grid(0, 3, 1.0, prompt="x" * 201)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def server(trained, tools_home):
    """`ganx serve` on a free loopback port; yields (base URL, process)."""
    port = free_port()
    env = {**os.environ, "GANX_HOME": str(tools_home),
           "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen([sys.executable, "-m", "ganx", "serve",
                                str(trained("image")), "--port", str(port)],
                               env=env, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:  # wait until it answers (loading torch takes a while)
        try:
            if get(base + "/api/info")[0] == 200:
                break
        except OSError:
            pass
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "ganx serve did not start"
        time.sleep(0.2)
    yield base, process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_concurrent_requests_do_not_mix_and_sigterm_stops_cleanly(server):
    base, process = server
    urls = [f"{base}/api/grid.png?seed={i % 3}&n=9" for i in range(12)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(get, urls))
    assert all(status == 200 for status, _ in answers)
    for seed in range(3):
        assert len({body for i, (_, body) in enumerate(answers) if i % 3 == seed}) == 1
    assert answers[0][1] != answers[1][1]
    status, body = get(f"{base}/api/grid?n=1000")
    assert status == 400 and json.loads(body) == {"error": "n: use 1 to 64"}
    assert get(f"{base}/report")[0] == 404
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert "stopped (signal 15)" in (process.stderr.read() if process.stderr else "")


CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "",
                             shutil.which("chromium-browser") or "") if p and os.path.exists(p)),
                None)
DRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)


@pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                    reason="no Chromium/chromedriver (apt-get install chromium chromium-driver)")
def test_the_page_draws_a_grid_and_redraws_it_for_a_new_seed(server, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, _ = server
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        browser.get(base + "/")
        wait = WebDriverWait(browser, 60)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#grid img"))
        assert browser.title == "ganx serve" and "image run" in browser.find_element(
            By.ID, "title").text
        before = browser.find_element(By.CSS_SELECTOR, "#grid img").get_attribute("src")
        seed = browser.find_element(By.ID, "seed")
        browser.execute_script("arguments[0].value = '7';"
                               " arguments[0].dispatchEvent(new Event('change'))", seed)
        wait.until(lambda b: b.find_element(By.ID, "grid").get_attribute("data-seq") == "2")
        after = browser.find_element(By.CSS_SELECTOR, "#grid img").get_attribute("src")
        assert after.startswith("data:image/png;base64,") and after != before
        status, expected = get(f"{base}/api/grid?seed=7&n=16")
        assert status == 200 and json.loads(expected)["pictures"][0] == after
        shot = tmp_path / "page.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 1000
    finally:
        browser.quit()


def test_the_readme_test_command_installs_the_browser():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    for text in (readme, ci):
        assert "chromium" in text and "chromium-driver" in text


def test_medical_runs_answer_slices_and_restoration_runs_are_refused(trained):
    from ganx.core.errors import ConfigError

    slices = Demo(ganx.load(trained("medical"))).grid(0, 4, 0.5)
    assert slices["pictures"] and all(p.startswith("data:image/png;base64,")
                                      for p in slices["pictures"])
    with pytest.raises(ConfigError, match="has no latent"):
        Demo(ganx.load(trained("image-denoise")))
