"""`ganx bench`: the engine's step and a textbook loop of the same networks, side by side."""

from __future__ import annotations

import ganx.api
from ganx.core.bench import BenchRow, format_table
from ganx_toy import plugin as toy_plugin

from ..conftest import TOY_SMALL, run_ganx


def test_bench_times_the_textbook_loop_and_each_engine_variant(host_with):
    host = host_with((toy_plugin, "toy"))
    rows = ganx.api.bench("toy", settings=TOY_SMALL, steps=3, warmup=1, rounds=2,
                          precisions=("fp32", "fp16"), host=host, device="cpu", batch_size=32)
    # fp16 is skipped on the CPU; both memory formats are timed
    assert [(r.loop, r.precision, r.memory_format) for r in rows] == [
        ("textbook", "fp32", "contiguous"), ("ganx", "fp32", "contiguous"),
        ("ganx", "fp32", "channels_last")]
    assert rows[0].ratio == 1.0
    for row in rows:
        assert row.samples_per_s > 0 and row.peak_memory_mb is None
        assert abs(row.ratio - row.samples_per_s / rows[0].samples_per_s) < 1e-9


def test_table_format():
    rows = [BenchRow("textbook", "fp32", "contiguous", 100.0, None),
            BenchRow("ganx", "bf16", "channels_last", 250.0, 512.0, ratio=2.5)]
    table = format_table(rows, "title")
    assert "| ganx | bf16 | channels_last | 250 | 2.50x | 512 MiB |" in table
    assert "| textbook | fp32 | contiguous | 100 | 1.00x | n/a (CPU) |" in table


def test_bench_through_the_cli(tmp_path):
    out = tmp_path / "bench.md"
    result = run_ganx("bench", "--plugin", "toy", "--device", "cpu", "--steps", "2",
                      "--warmup", "1", "--rounds", "1", "--precision", "fp32",
                      "--set", "n_points=512", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "| textbook | fp32 | contiguous |" in result.stdout
    assert out.read_text().strip() == result.stdout.strip()
