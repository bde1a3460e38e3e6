"""Learning-rate decay (`lr_decay_start`): constant rates, then a linear fall toward zero at the
last step; a function of the step, so a resumed run continues the same schedule bit for bit."""

from __future__ import annotations

import dataclasses

import pytest

import ganx
from ganx.core.callbacks import Callback
from ganx.core.checkpoint import load_checkpoint
from ganx.core.config import TrainConfig
from ganx.core.errors import ConfigError
from ganx.core.networks import lr_decay_factor
from ganx_toy import plugin as toy_plugin

from ..conftest import SMALL, TOY_SMALL
from .test_callbacks import callbacks_plugin
from .test_training import assert_same_state

DECAY = {**SMALL, "lr_decay_start": 0.25, "g_lr": 1e-3, "d_lr": 4e-3}


def test_the_factor_is_one_until_the_start_then_falls_linearly():
    cfg = dataclasses.replace(TrainConfig(), steps=10, lr_decay_start=0.5)
    assert [lr_decay_factor(cfg, s) for s in range(10)] == pytest.approx(
        [1, 1, 1, 1, 1, 1.0, 0.8, 0.6, 0.4, 0.2])
    constant = dataclasses.replace(cfg, lr_decay_start=1.0)
    assert {lr_decay_factor(constant, s) for s in range(10)} == {1.0}


class StopAtStep10(Callback):
    def on_record(self, run, step, kind, values):
        if step == 10:
            run.request_stop("halfway")


def test_the_rates_fall_and_a_resumed_run_continues_the_schedule(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"))
    full = ganx.train("toy", host=host, run_dir=str(tmp_path / "full"), settings=TOY_SMALL,
                      **DECAY)
    last = load_checkpoint(full.checkpoint)
    # the rates of the last step (19 of 20): 1 / 15 of the configured ones (decay from step 5)
    assert last["opt_g"]["param_groups"][0]["lr"] == pytest.approx(1e-3 / 15)
    first = load_checkpoint(tmp_path / "full" / "checkpoints" / "step-00000000.pt")
    d_lr = first["opt_d"]["param_groups"][0]["lr"]  # with the lazy-regulariser factor
    assert last["opt_d"]["param_groups"][0]["lr"] == pytest.approx(d_lr / 15)

    stopping = host_with((toy_plugin, "toy"),
                         (callbacks_plugin(stop_at_10=StopAtStep10), "ganx-stop"))
    half = ganx.train("toy", host=stopping, run_dir=str(tmp_path / "split"), settings=TOY_SMALL,
                      **DECAY)
    assert half.step == 10
    resumed = ganx.train("toy", host=host, run_dir=str(tmp_path / "split"), resume=True,
                         settings=TOY_SMALL, **DECAY)
    assert resumed.step == 20
    assert_same_state(last, load_checkpoint(resumed.checkpoint))


def test_a_constant_run_keeps_its_rates(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"))
    run = ganx.train("toy", host=host, run_dir=str(tmp_path / "run"), settings=TOY_SMALL,
                     **{**DECAY, "lr_decay_start": 1.0})
    assert load_checkpoint(run.checkpoint)["opt_g"]["param_groups"][0]["lr"] == 1e-3


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_a_start_outside_the_run_is_refused(host_with, tmp_path, value):
    host = host_with((toy_plugin, "toy"))
    with pytest.raises(ConfigError, match=r"lr_decay_start must lie in \[0, 1\]"):
        ganx.train("toy", host=host, run_dir=str(tmp_path / "run"), settings=TOY_SMALL,
                   **{**DECAY, "lr_decay_start": value})
