"""The engine end to end on the CPU: exact resume, roll-back on divergence, run-dir safety."""

from __future__ import annotations

import json
import platform
import tomllib

import pytest
import torch

import ganx
from ganx.core.checkpoint import list_snapshots, load_checkpoint
from ganx.core.errors import CheckpointError, ConfigError, RunError
from ganx.testing import domain_plugin
from ganx_toy import plugin as toy_plugin
from ganx_toy.domain import ToyDomain

from ..conftest import SMALL, TOY_SMALL


@pytest.fixture
def host(host_with):
    return host_with((toy_plugin, "toy"))


def train(host, run_dir, **options):
    settings = {**TOY_SMALL, **options.pop("settings", {})}
    return ganx.train("toy", host=host, run_dir=str(run_dir), settings=settings,
                      **{**SMALL, **options})


def weights(path):
    return load_checkpoint(path)


def assert_same_state(a, b):
    for key in ("G", "D", "G_ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs"
    assert a["opt_d"]["state"][0]["exp_avg"].equal(b["opt_d"]["state"][0]["exp_avg"])


@pytest.mark.parametrize("loss", ["nonsaturating", "hinge"])
def test_resume_continues_bit_for_bit(host, tmp_path, loss):
    full = train(host, tmp_path / "full", loss=loss, steps=20)
    half = train(host, tmp_path / "split", loss=loss, steps=10)
    assert half.step == 10
    resumed = ganx.train("toy", host=host, run_dir=str(tmp_path / "split"), resume=True,
                         steps=20)
    assert resumed.step == 20
    assert_same_state(weights(full.checkpoint), weights(resumed.checkpoint))
    rows = [json.loads(x) for x in (tmp_path / "split" / "metrics.jsonl").open()]
    assert [r["step"] for r in rows if r["kind"] == "train"] == [5, 10, 15, 20]


def test_snapshot_holds_everything_needed(host, tmp_path):
    result = train(host, tmp_path / "run", steps=10)
    snap = load_checkpoint(result.checkpoint)
    for key in ("G", "D", "G_ema", "opt_g", "opt_d", "scalers", "rng", "noise", "data", "step",
                "config", "versions"):
        assert key in snap, key
    assert set(snap["rng"]) >= {"python", "numpy", "torch"}
    assert snap["config"]["plugin"] == "toy" and snap["config"]["domain"]["hidden"] == 16
    assert snap["versions"]["ganx"] == ganx.__version__
    assert (tmp_path / "run" / "config.toml").read_text().startswith('plugin = "toy"')
    # what the run was made with, for reproducing it
    recorded = tomllib.loads((tmp_path / "run" / "config.toml").read_text())["versions"]
    assert recorded["python"] == platform.python_version()
    assert recorded["torch"] == torch.__version__.split("+")[0]
    assert snap["versions"] == recorded


def test_fresh_run_refuses_a_run_dir_with_snapshots(host, tmp_path):
    train(host, tmp_path / "run", steps=10)
    before = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    with pytest.raises(ConfigError, match="already holds checkpoints; pass --resume"):
        train(host, tmp_path / "run", steps=10)
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == before


def test_resume_falls_back_past_a_corrupt_snapshot(host, tmp_path):
    run = train(host, tmp_path / "run", steps=20)
    newest = run.checkpoint
    newest.write_bytes(newest.read_bytes()[:100])  # truncated
    resumed = ganx.train("toy", host=host, run_dir=str(tmp_path / "run"), resume=True, steps=20)
    assert resumed.step == 20
    full = train(host, tmp_path / "full", steps=20)
    assert_same_state(weights(full.checkpoint), weights(resumed.checkpoint))


def test_run_dir_of_another_domain_is_refused(host_with, tmp_path):
    class Other(ToyDomain):
        name = "other"

    OtherPlugin = domain_plugin(Other())

    host = host_with((toy_plugin, "toy"), (OtherPlugin, "other"))
    train(host, tmp_path / "run", steps=10)
    with pytest.raises(ConfigError, match="holds checkpoints of domain 'toy', not 'other'"):
        ganx.train("other", host=host, run_dir=str(tmp_path / "run"), resume=True)


def test_a_locked_run_dir_is_refused(host, tmp_path):
    from ganx.core.rundir import locked

    with locked(tmp_path / "run"), pytest.raises(ConfigError, match="in use by another"):
        train(host, tmp_path / "run", steps=10)


# -- divergence ----------------------------------------------------------------------------------

class NaNWindow:
    """Makes the discriminator's output NaN for forward calls in [start, stop)."""

    def __init__(self, start, stop):
        self.start, self.stop, self.calls = start, stop, 0


def nan_host(host_with, window):
    from ganx_toy.models import Discriminator

    class Poisoned(Discriminator):
        def forward(self, x):
            window.calls += 1
            out = super().forward(x)
            return out * float("nan") if window.start <= window.calls < window.stop else out

    class Diverging(ToyDomain):
        name = "diverging"

        def build_discriminator(self, cfg):
            return Poisoned(cfg.hidden, cfg.depth)

    Plugin = domain_plugin(Diverging())

    return host_with((toy_plugin, "toy"), (Plugin, "diverging"))


def test_non_finite_loss_rolls_back_and_training_continues(host_with, tmp_path):
    window = NaNWindow(start=34, stop=40)  # 3 D calls per step: steps 12-13 turn NaN
    host = nan_host(host_with, window)
    result = ganx.train("diverging", host=host, run_dir=str(tmp_path / "run"),
                        settings=TOY_SMALL, **SMALL)
    assert result.step == 20
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").open()]
    events = [r for r in rows if r["kind"] == "event"]
    assert len(events) == 1 and events[0]["event"] == "rollback" and events[0]["step"] == 10
    assert events[0]["lr_scale"] == 0.5
    snap = load_checkpoint(result.checkpoint)
    g_lr = snap["config"]["train"]["g_lr"]
    assert snap["lr_scale"] == 0.5 and snap["opt_g"]["param_groups"][0]["lr"] == 0.5 * g_lr
    train_rows = [r for r in rows if r["kind"] == "train"]
    assert all(r["loss_d"] is not None for r in train_rows)


def test_repeated_divergence_stops_with_the_reason_and_last_good_snapshot(host_with, tmp_path):
    host = nan_host(host_with, NaNWindow(start=34, stop=10**9))
    with pytest.raises(RunError, match=r"training diverged: non-finite .*last good snapshot: .*"
                                       r"step-00000010\.pt"):
        ganx.train("diverging", host=host, run_dir=str(tmp_path / "run"), settings=TOY_SMALL,
                   **SMALL)
    steps = [s for s, _ in list_snapshots(tmp_path / "run" / "checkpoints")]
    assert steps == [10, 0]  # nothing bad was saved


# -- sampling -------------------------------------------------------------------------------------

def test_load_and_generate_is_reproducible(host, tmp_path):
    result = train(host, tmp_path / "run", steps=10)
    model = ganx.load(result.run_dir, host=host)
    assert model.step == 10
    assert torch.equal(model.generate(32, seed=3), model.generate(32, seed=3))
    assert not torch.equal(model.generate(32, seed=3), model.generate(32, seed=4))
    with pytest.raises(CheckpointError):
        bad = tmp_path / "bad.pt"
        bad.write_bytes(b"not a checkpoint")
        ganx.load(bad, host=host)


# -- engine options -------------------------------------------------------------------------------

@pytest.mark.parametrize("options", [
    {"loss": "wasserstein", "gp_weight": 10.0, "r1_gamma": 0.0, "d_steps": 2},
    {"loss": "lsgan", "r1_gamma": 1.0, "r1_interval": 1},
    {"loss": "minimax", "precision": "bf16"},
    {"loss": "hinge", "d_lr": 4e-4, "ema_half_life": 0},
])
def test_losses_regularizers_and_precisions_train(host, tmp_path, options):
    result = train(host, tmp_path / "run", steps=10, log_every=10, **options)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").open()]
    last = [r for r in rows if r["kind"] == "train"][-1]
    assert last["loss_d"] is not None and last["loss_g"] is not None
    assert -1 <= last["rt"] <= 1  # E[sign(D(real))], logged for every run
    if options.get("gp_weight"):
        assert last["gp"] is not None and last["gp"] >= 0
    if options.get("r1_interval") == 1:
        assert last["r1"] is not None and last["r1"] >= 0
    assert result.precision == options.get("precision", "fp32")


def test_ema_follows_its_half_life(host, tmp_path):
    # a half-life of one batch: each step moves G_ema half way to G
    result = train(host, tmp_path / "run", steps=1, ema_half_life=16, ema_rampup=0,
                   batch_size=16)
    snap = load_checkpoint(result.checkpoint)
    # the step-0 snapshot holds the initial weights (G_ema == G at the start)
    start = load_checkpoint(tmp_path / "run" / "checkpoints" / "step-00000000.pt")
    for name, ema in snap["G_ema"].items():
        expected = 0.5 * start["G_ema"][name] + 0.5 * snap["G"][name]
        assert torch.allclose(ema, expected, atol=1e-6), name


def test_unknown_loss_names_the_nearest(host, tmp_path):
    with pytest.raises(ConfigError, match="unknown loss 'hinj'; did you mean 'hinge'"):
        train(host, tmp_path / "run", loss="hinj")


def test_a_plugin_whose_builder_fails_is_named(host_with, tmp_path):
    class Broken(ToyDomain):
        name = "broken"

        def build_generator(self, cfg):
            return "not a module"

    Plugin = domain_plugin(Broken())

    host = host_with((toy_plugin, "toy"), (Plugin, "broken"))
    with pytest.raises(RunError, match="domain 'broken': build_generator returned str"):
        ganx.train("broken", host=host, run_dir=str(tmp_path / "run"), settings=TOY_SMALL,
                   **SMALL)


def test_a_generator_that_does_not_fit_the_discriminator_is_named(host_with, tmp_path):
    from torch import nn

    class Misfit(ToyDomain):
        name = "misfit"

        def build_generator(self, cfg):
            return nn.Linear(cfg.latent_dim, 3)  # 3-D points for a 2-D discriminator

    Plugin = domain_plugin(Misfit())

    host = host_with((toy_plugin, "toy"), (Plugin, "misfit"))
    with pytest.raises(RunError, match=r"domain 'misfit': the first training step failed .*"
                                       r"generator's output fits the discriminator"):
        ganx.train("misfit", host=host, run_dir=str(tmp_path / "run"), settings=TOY_SMALL,
                   **SMALL)
