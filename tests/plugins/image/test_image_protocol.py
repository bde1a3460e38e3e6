"""Every image metric value ganx writes carries its protocol: metrics.jsonl at eval points,
`ganx evaluate` (its JSON and the row it appends), `--reference` and `--eval-seeds`."""

from __future__ import annotations

import json

import pytest

import ganx
from ganx.core.errors import ConfigError
from ganx.core.metric_protocol import MetricProtocol
from ganx.metrics.image_features import random_extractor
from tests.conftest import run_ganx

SETTINGS = {"resolution": 16, "width": 8, "latent_dim": 8}
RUN = {"steps": 2, "batch_size": 8, "device": "cpu", "precision": "fp32", "log_every": 1,
       "sample_every": 2, "checkpoint_every": 2, "n_samples": 4, "eval_every": 0,
       "eval_samples": 24}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANX_HOME", str(home))
        mp.setenv("GANX_IMAGE_FEATURES", "random")
        mp.setenv("GANX_CPU_BF16", "0")
        run = ganx.train("image", run_dir=str(home.parent / "run"), settings=SETTINGS, **RUN)
    return run.run_dir


@pytest.fixture(autouse=True)
def features(run_dir, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(run_dir.parent / "home"))
    monkeypatch.setenv("GANX_IMAGE_FEATURES", "random")


def rows(run_dir, kind):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [row for row in map(json.loads, lines) if row["kind"] == kind]


def test_eval_rows_carry_the_whole_protocol(run_dir):
    (row,) = rows(run_dir, "eval")
    protocol = MetricProtocol.from_dict(row["protocol"])
    net = random_extractor(1)
    assert protocol.features == "image-random"
    assert protocol.features_sha256 == net.weights_sha256 and len(net.weights_sha256) == 64
    assert protocol.resize.startswith("adaptive-average-pool")
    assert (protocol.n_generated, protocol.n_real) == (24, 24) == (row["n_fake"], row["n_real"])
    assert (protocol.reference, protocol.reference_split) == ("default", "train")
    assert protocol.reference_count == 8000 and len(protocol.reference_digest) == 64
    assert (protocol.generator, protocol.seed, protocol.precision, protocol.device) == (
        "ema", 0, "fp32", "cpu")
    assert protocol.ganx_version and protocol.torch_version


def test_evaluate_json_gives_values_protocol_and_every_seed(run_dir):
    done = run_ganx("evaluate", str(run_dir), "-n", "16", "--eval-seeds", "2", "--json",
                    env={"GANX_IMAGE_FEATURES": "random"})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["seeds"] == [0, 1] and len(out["per_seed"]) == 2
    fids = [r["fid"] for r in out["per_seed"]]
    assert fids[0] != fids[1]
    assert out["fid"] == pytest.approx(sum(fids) / 2)
    assert out["sd"]["fid"] == pytest.approx(abs(fids[0] - fids[1]) / 2 ** 0.5)
    assert out["protocol"]["n_generated"] == 16 and out["protocol"]["seed"] == 0
    (row,) = rows(run_dir, "evaluate")
    assert row["protocol"] == out["protocol"] and row["seeds"] == [0, 1]


def test_reference_test_and_train_are_different_sets(run_dir):
    if ganx.load(run_dir).domain.heldout_dataset(ganx.load(run_dir).config, "") is None:
        pytest.skip("Fashion-MNIST's test split (Debian dataset-fashion-mnist) is not installed")
    test = ganx.evaluation(run_dir, n=16, reference="test")
    train = ganx.evaluation(run_dir, n=16, reference="train")
    assert test.protocol.reference_split == "test" and test.protocol.reference_count == 10000
    assert test.protocol.reference_digest != train.protocol.reference_digest
    assert test.protocol.differences(train.protocol) == ["reference_split", "reference_count",
                                                "reference_digest"]


def test_reference_errors_are_one_line(run_dir, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="--reference nowhere: use train, test"):
        ganx.evaluation(run_dir, n=16, reference="nowhere")
    from ganx.plugins.image import sources

    monkeypatch.setattr(sources, "heldout", lambda *args: None)
    with pytest.raises(ConfigError, match="has no test split for data 'default'"):
        ganx.evaluation(run_dir, n=16, reference="test")


def test_compare_two_image_runs_then_refuse_after_another_protocol(run_dir, tmp_path):
    import shutil

    from ganx.report.compare import compare_runs

    first = tmp_path / "first"
    shutil.copytree(run_dir, first)
    kept = [line for line in (first / "metrics.jsonl").read_text().splitlines()
            if json.loads(line)["kind"] != "evaluate"]
    (first / "metrics.jsonl").write_text("\n".join(kept) + "\n")
    second = ganx.train("image", run_dir=str(tmp_path / "second"), settings=SETTINGS,
                        **{**RUN, "seed": 1}).run_dir
    runs = compare_runs([first, second])
    # another training seed, the same real items: the reference set does not follow the run
    assert runs[0].protocol.reference_digest == runs[1].protocol.reference_digest
    assert [r.protocol.seed for r in runs] == [0, 1]
    ganx.evaluation(first, n=16)
    with pytest.raises(ConfigError, match="n_generated is 16 vs 24"):
        compare_runs([first, second])


def test_metric_chooses_which_metrics_evaluate_runs(run_dir):
    everything = ganx.evaluation(run_dir, n=16)
    assert "fid" in everything.values and "memo_close_share" in everything.values
    fid_only = ganx.evaluation(run_dir, n=16, metrics=["image-fid"])
    assert "fid" in fid_only.values and "memo_close_share" not in fid_only.values
    assert fid_only.values["fid"] == pytest.approx(everything.values["fid"])
    memo_only = ganx.evaluation(run_dir, n=16, metrics=["image-memorisation"])
    assert "memo_close_share" in memo_only.values and "fid" not in memo_only.values


def test_an_unknown_metric_is_one_line_naming_the_valid_ones(run_dir):
    done = run_ganx("evaluate", str(run_dir), "-n", "16", "--metric", "image-fd",
                    env={"GANX_IMAGE_FEATURES": "random"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "ganx: error: --metric image-fd: domain 'image' evaluates with image-fid,"
        " image-memorisation"]
    done = run_ganx("evaluate", str(run_dir), "-n", "16", "--metric", "image-fid", "--json",
                    env={"GANX_IMAGE_FEATURES": "random"})
    assert done.returncode == 0, done.stderr
    assert "memo_close_share" not in json.loads(done.stdout)


def test_raw_weights_are_the_trained_generator_and_the_protocol_says_so(run_dir, tmp_path):
    import shutil

    import torch

    # a copy outside the run, so these evaluations append no row to the run's metrics.jsonl
    snapshot = shutil.copy(sorted((run_dir / "checkpoints").glob("*.pt"))[-1], tmp_path)
    payload = torch.load(snapshot, map_location="cpu", weights_only=True)
    # two steps into a run the EMA's ramp-up keeps G_ema all but equal to G: set it apart
    payload["G_ema"] = {k: v * 0.5 if v.is_floating_point() else v
                        for k, v in payload["G_ema"].items()}
    torch.save(payload, snapshot)
    raw = ganx.load(snapshot, weights="raw")
    assert raw.weights == "raw" and ganx.load(snapshot).weights == "ema"
    for key, value in raw.generator.state_dict().items():
        assert torch.equal(value, payload["G"][key]), key
    done = run_ganx("evaluate", str(snapshot), "-n", "16", "--weights", "raw", "--json",
                    env={"GANX_IMAGE_FEATURES": "random"})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["protocol"]["generator"] == "raw"
    assert out["fid"] != ganx.evaluation(snapshot, n=16).values["fid"]
    with pytest.raises(ConfigError, match="weights 'best': use ema"):
        ganx.load(snapshot, weights="best")
