"""`ganx compare`: the latest metrics of runs side by side, their curves in one page, refused
when the values were measured under different protocols."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from ganx.core.errors import ConfigError
from ganx.core.metric_protocol import MetricProtocol
from ganx.report.compare import compare_runs, comparison_table, render_comparison

from ..conftest import run_ganx

PROTOCOL = MetricProtocol(features="inception", features_sha256="ab" * 32,
                          resize="tf1-legacy-bilinear 299x299", n_generated=500, n_real=500,
                          reference="fashion-mnist", reference_split="train",
                          reference_count=60000, reference_digest="cd" * 32, seed=0,
                          precision="bf16", device="cpu", ganx_version="0.1.0",
                          torch_version="2.11.0")


def make_run(root: Path, name: str, fids: list[float], **changes) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "config.toml").write_text('plugin = "image"\n\n[train]\nsteps = 300\n')
    protocol = {**PROTOCOL.to_dict(), **changes}
    rows = [{"step": 100 * (i + 1), "kind": "eval", "time": 1.0 + i, "fid": fid, "kid": fid / 1000,
             "protocol": protocol} for i, fid in enumerate(fids)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def test_runs_with_one_protocol_are_tabled_and_charted(tmp_path):
    a = make_run(tmp_path, "a", [80.0, 60.0, 41.5])
    b = make_run(tmp_path, "b", [90.0, 55.25], seed=1)  # another seed: the run itself
    runs = compare_runs([a, b])
    table = comparison_table(runs)
    assert "| metric | a | b |" in table and "| step | 300 | 200 |" in table
    assert "| fid | 41.5 | 55.25 |" in table
    assert "(seeds per run: 0, 1)" in table
    page = html.unescape(render_comparison(runs))
    assert page.count("<svg") == 2  # fid and kid
    assert "inception (tf1-legacy-bilinear 299x299); 500 generated vs 500 real" in page


@pytest.mark.parametrize(("change", "field"), [
    ({"features": "image-classifier"}, "features is 'inception' vs 'image-classifier'"),
    ({"n_generated": 2000}, "n_generated is 500 vs 2000"),
    ({"resize": "bicubic 299x299"}, "resize is"),
    ({"reference_split": "test"}, "reference_split is 'train' vs 'test'"),
    ({"details": {"eval_seeds": 3}}, "details.eval_seeds is None vs 3"),
])
def test_a_protocol_difference_is_refused_naming_the_field(tmp_path, change, field):
    a = make_run(tmp_path, "a", [41.5])
    b = make_run(tmp_path, "b", [40.0], **change)
    with pytest.raises(ConfigError, match="cannot compare a and b: their metrics were measured"
                                          " differently") as info:
        compare_runs([a, b])
    assert field in str(info.value) and "\n" not in str(info.value)


def test_runs_without_evaluations_or_protocols_are_refused(tmp_path):
    a = make_run(tmp_path, "a", [41.5])
    bare = make_run(tmp_path, "bare", [])
    with pytest.raises(ConfigError, match="has no evaluation yet; score it with"):
        compare_runs([a, bare])
    old = tmp_path / "old"
    old.mkdir()
    (old / "metrics.jsonl").write_text(json.dumps({"step": 5, "kind": "eval", "fid": 3.0}) + "\n")
    with pytest.raises(ConfigError, match="records no protocol"):
        compare_runs([a, old])
    with pytest.raises(ConfigError, match="at least two run directories"):
        compare_runs([a])


def test_cli_prints_the_table_writes_the_page_and_refuses_in_one_line(tmp_path):
    a = make_run(tmp_path, "a", [41.5])
    b = make_run(tmp_path, "b", [40.0], seed=4)
    out = tmp_path / "cmp.html"
    done = run_ganx("compare", str(a), str(b), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "| fid | 41.5 | 40 |" in done.stdout and out.is_file()
    c = make_run(tmp_path, "c", [40.0], precision="fp32")
    refused = run_ganx("compare", str(a), str(c))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "ganx: error: cannot compare a and c: their metrics were measured differently:"
        " precision is 'bf16' vs 'fp32'"]
