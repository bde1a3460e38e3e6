"""Standing statistics (`ema_standing_stats`): the EMA generator's batch-norm statistics are its
own, recomputed on a fixed set of latents whenever it is shown, and training is unchanged."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganx
from ganx.core.checkpoint import load_checkpoint
from ganx.core.rng import stream_seed
from ganx.core.standing import batch_norms, recompute_batch_norm_stats
from ganx.plugins.image.domain import ImageConfig, ImageDomain

from .test_training import assert_same_state

SETTINGS = {"resolution": 16, "width": 8, "latent_dim": 8, "d_norm": "spectral"}
RUN = {"steps": 4, "batch_size": 8, "device": "cpu", "precision": "fp32", "log_every": 2,
       "sample_every": 2, "checkpoint_every": 2, "n_samples": 4, "eval_every": -1}


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "home"))


def train(run_dir, **options):
    return ganx.train("image", run_dir=str(run_dir), settings=SETTINGS, **{**RUN, **options})


def norm_buffers(state):
    return {k: v for k, v in state.items() if k.endswith(("running_mean", "running_var"))}


def test_the_ema_generator_keeps_statistics_of_its_own_weights(tmp_path):
    path = train(tmp_path / "run", ema_standing_stats=32).checkpoint
    snap = load_checkpoint(path)
    ema, raw = norm_buffers(snap["G_ema"]), norm_buffers(snap["G"])
    assert ema and all(not torch.equal(ema[k], raw[k]) for k in ema)
    # the same recomputation from the stored weights gives the stored statistics
    model = ganx.load(path)
    G = model.generator
    for m in batch_norms(G):
        m.reset_running_stats()
    assert recompute_batch_norm_stats(model.domain, model.config, G, 32,
                                      device=torch.device("cpu"),
                                      seed=stream_seed(0, "standing_stats"), batch_size=8)
    for key, value in norm_buffers(G.state_dict()).items():
        torch.testing.assert_close(value, ema[key])
    assert not G.training and all(m.momentum == 0.1 for m in batch_norms(G))


def test_by_default_the_statistics_are_copied_from_the_generator(tmp_path):
    snap = load_checkpoint(train(tmp_path / "run").checkpoint)
    ema, raw = norm_buffers(snap["G_ema"]), norm_buffers(snap["G"])
    assert ema and all(torch.equal(ema[k], raw[k]) for k in ema)


def test_training_and_resume_are_unchanged(tmp_path):
    plain = load_checkpoint(train(tmp_path / "plain").checkpoint)
    full = load_checkpoint(train(tmp_path / "full", ema_standing_stats=16).checkpoint)
    for key in ("G", "D"):
        for name, tensor in plain[key].items():
            assert torch.equal(tensor, full[key][name]), f"{key}.{name}"
    train(tmp_path / "split", ema_standing_stats=16, steps=2)
    resumed = ganx.train("image", run_dir=str(tmp_path / "split"), resume=True,
                         settings=SETTINGS, **{**RUN, "ema_standing_stats": 16})
    assert_same_state(full, load_checkpoint(resumed.checkpoint))


def test_a_generator_without_batch_norm_is_left_alone():
    net = nn.Sequential(nn.Linear(8, 8))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert not recompute_batch_norm_stats(ImageDomain(), ImageConfig(), net, 16,
                                          device=torch.device("cpu"), seed=0, batch_size=8)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
