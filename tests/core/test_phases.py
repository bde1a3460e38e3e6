"""The training step as phases: which phases a run has, lazy R1 as its own D step with
StyleGAN2's Adam rescaling, and the rescaling kept through resume and roll-back."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
import torch

import ganx
from ganx.core.checkpoint import load_checkpoint
from ganx.core.config import TrainConfig
from ganx.core.losses import (
    LeastSquares,
    NonSaturating,
    RelativisticPairing,
    Wasserstein,
    decision_boundary,
)
from ganx.core.networks import lazy_ratio
from ganx.core.phases import Accumulator, StepRunner, plan_phases
from ganx_toy import plugin as toy_plugin

from ..conftest import SMALL, TOY_SMALL


def names(cfg):
    return [(p.name, p.interval, p.gain) for p in plan_phases(cfg)]


def test_the_phases_of_a_step():
    assert names(TrainConfig(r1_gamma=0.0)) == [("D main", 1, 1.0), ("G main", 1, 1.0)]
    assert names(TrainConfig(r1_gamma=1.0, r1_interval=16)) == [
        ("D main", 1, 1.0), ("D reg", 16, 16.0), ("G main", 1, 1.0)]


@pytest.mark.parametrize(("gamma", "interval", "ratio"), [
    (1.0, 16, 16 / 17), (1.0, 4, 0.8), (1.0, 1, 1.0), (0.0, 16, 1.0)])
def test_lazy_ratio_follows_stylegan2(gamma, interval, ratio):
    assert lazy_ratio(TrainConfig(r1_gamma=gamma, r1_interval=interval)) == pytest.approx(ratio)


def d_adam(payload):
    group = payload["opt_d"]["param_groups"][0]
    return group["lr"], tuple(group["betas"])


def test_lazy_r1_rescales_d_adam_and_keeps_it_on_resume(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"))
    settings = {**TOY_SMALL, "r1_gamma": 1.0, "r1_interval": 4}
    options = {**SMALL, "steps": 8, "d_lr": 1e-3, "g_lr": 1e-3, "log_every": 4}
    run = tmp_path / "run"
    first = ganx.train("toy", host=host, run_dir=str(run), settings=settings, **options)
    payload = load_checkpoint(first.checkpoint)
    ratio = 4 / 5
    lr, betas = d_adam(payload)
    b0, b1 = payload["config"]["train"]["betas"]
    assert lr == pytest.approx(1e-3 * ratio)
    assert betas == pytest.approx((b0 ** ratio, b1 ** ratio))
    assert payload["opt_g"]["param_groups"][0]["lr"] == pytest.approx(1e-3)  # G is not lazy
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert all("r1" in r for r in rows if r["kind"] == "train")  # R1 ran every 4 D steps
    second = ganx.train("toy", host=host, run_dir=str(run), resume=True, settings=settings,
                        **{**options, "steps": 12})
    lr2, betas2 = d_adam(load_checkpoint(second.checkpoint))
    assert lr2 == pytest.approx(lr) and betas2 == pytest.approx(betas)


def test_r1_every_step_stays_inside_d_main(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"))
    result = ganx.train("toy", host=host, run_dir=str(tmp_path / "run"),
                        settings={**TOY_SMALL, "r1_gamma": 1.0, "r1_interval": 1},
                        **{**SMALL, "d_lr": 1e-3})
    lr, _ = d_adam(load_checkpoint(result.checkpoint))
    assert lr == pytest.approx(1e-3)  # no lazy phase, no rescaling


class Watcher(torch.nn.Module):
    """A discriminator that records the real logits the engine hands it (as ADA's does)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def observe_real_logits(self, logits):
        self.seen.append(logits[0])


def runner_for(name, loss, caplog):
    nets = SimpleNamespace(D=Watcher())
    with caplog.at_level(logging.WARNING, logger="ganx"):
        runner = StepRunner(domain=None, dcfg=None, cfg=TrainConfig(loss=name), nets=nets,
                            policy=None, loss_fn=loss, next_batch=None, latent=None, label=None)
    return runner, nets.D


@pytest.mark.parametrize(("name", "loss", "rt", "centred"), [
    ("nonsaturating", NonSaturating(), 1.0, [0.2, 0.7, 0.9]),
    ("lsgan", LeastSquares(), 1 / 3, [-0.3, 0.2, 0.4]),  # targets 0 and 1: undecided at 0.5
])
def test_the_overfitting_heuristic_counts_from_the_losss_boundary(name, loss, rt, centred,
                                                                   caplog):
    runner, watcher = runner_for(name, loss, caplog)
    acc = Accumulator()
    runner._watch([torch.tensor([0.2, 0.7, 0.9])], acc)
    assert acc.sums["rt"].item() == pytest.approx(rt)
    torch.testing.assert_close(watcher.seen[0], torch.tensor(centred))
    assert not caplog.records


def test_ada_under_a_loss_without_a_boundary_warns(caplog):
    runner_for("wasserstein", Wasserstein(), caplog)
    assert "loss wasserstein fixes no real/generated boundary" in caplog.text
    assert decision_boundary(RelativisticPairing()) is None
    assert decision_boundary(object()) == 0.0  # a registered loss without the attribute
