"""The engine's optional domain hooks: multi-discriminator outputs with feature matching, the
generator-only pretraining phase, per-step schedules, custom generator losses, model metrics."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
import torch
from torch import nn

import ganx
from ganx.core.checkpoint import load_checkpoint
from ganx.core.domain import DiscriminatorOutput
from ganx.core.losses import NonSaturating, d_loss_over, feature_matching, split_output
from ganx.testing import domain_plugin
from ganx_toy import plugin as toy_plugin
from ganx_toy.domain import ToyDomain
from ganx_toy.models import Discriminator

from ..conftest import SMALL, TOY_SMALL


class TwoScaleDiscriminator(nn.Module):
    """Two toy discriminators, one on x and one on 2x, returning logits and hidden features."""

    def __init__(self, hidden: int, depth: int) -> None:
        super().__init__()
        self.heads = nn.ModuleList(Discriminator(hidden, depth) for _ in range(2))

    def forward(self, x: torch.Tensor) -> DiscriminatorOutput:
        logits, features = [], []
        for scale, head in zip((1.0, 2.0), self.heads, strict=True):
            hidden = head.net[:-1](x * scale)
            features.append(hidden)
            logits.append(head.net[-1](hidden).squeeze(1))
        return DiscriminatorOutput(logits=logits, features=features)


class MultiScaleToy(ToyDomain):
    name = "multiscale"
    train_defaults: ClassVar[dict[str, float]] = {"feature_matching": 2.0}

    def build_discriminator(self, cfg):
        return TwoScaleDiscriminator(cfg.hidden, cfg.depth)


class PretrainedToy(ToyDomain):
    """Pretrains G to reproduce real points from their own coordinates as latents (a stand-in for
    maximum likelihood), records each step it was called at, and reports a model metric."""

    name = "pretrained"

    def __init__(self) -> None:
        self.seen_steps: list[int] = []
        self.custom_loss_calls = 0

    def sample_latent(self, cfg, n, *, device, generator):
        return torch.randn(n, 2, device=device, generator=generator)

    def build_generator(self, cfg):
        return nn.Sequential(nn.Linear(2, cfg.hidden), nn.LeakyReLU(0.2), nn.Linear(cfg.hidden, 2))

    def pretrain_steps(self, cfg):
        return 8

    def pretrain_loss(self, cfg, generator_net, real, conditions):
        return {"loss_mle": (generator_net(real) - real).square().mean()}

    def on_train_step(self, cfg, step, total_steps, generator_net):
        self.seen_steps.append(step)

    def generator_adversarial_loss(self, cfg, generator_net, fake, d_fake, g_loss):
        self.custom_loss_calls += 1
        return 2.0 * g_loss(d_fake)

    def model_metrics(self, cfg, generator_net, reference, device):
        real = reference[0].to(device)
        return {"reconstruction": float((generator_net(real) - real).square().mean())}


def rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").open()]


def test_split_output_accepts_tensors_lists_and_feature_outputs():
    t = torch.zeros(3)
    assert split_output(t)[0][0] is not None and split_output(t)[1] == []
    assert len(split_output([t, t])[0]) == 2
    out = DiscriminatorOutput(logits=[t], features=[t, t])
    assert len(split_output(out)[1]) == 2
    for bad in ("logits", [], [t, "x"]):
        with pytest.raises(TypeError):
            split_output(bad)


def test_losses_sum_over_sub_discriminators_and_features_match():
    loss = NonSaturating()
    real, fake = torch.randn(4), torch.randn(4)
    both = d_loss_over(loss, [real, real], [fake, fake])
    assert torch.allclose(both, 2 * loss.d_loss(real, fake))
    a, b = torch.ones(2, 3), torch.zeros(2, 3)
    assert feature_matching([a, 2 * a], [b, b]).item() == pytest.approx(3.0)


def test_multi_discriminator_with_feature_matching_trains_and_resumes(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"), (domain_plugin(MultiScaleToy()), "multiscale"))
    common = {"settings": TOY_SMALL, **SMALL}
    full = ganx.train("multiscale", host=host, run_dir=str(tmp_path / "full"), **common)
    train_rows = [r for r in rows(tmp_path / "full") if r["kind"] == "train"]
    assert train_rows and all(r["fm"] > 0 for r in train_rows)
    assert load_checkpoint(full.checkpoint)["config"]["train"]["feature_matching"] == 2.0

    ganx.train("multiscale", host=host, run_dir=str(tmp_path / "split"),
               **{**common, "steps": 10})
    resumed = ganx.train("multiscale", host=host, run_dir=str(tmp_path / "split"),
                         resume=True, steps=20)
    a, b = load_checkpoint(full.checkpoint), load_checkpoint(resumed.checkpoint)
    for name, tensor in a["G"].items():
        assert torch.equal(tensor, b["G"][name])


def test_feature_matching_off_leaves_no_fm_term(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"), (domain_plugin(MultiScaleToy()), "multiscale"))
    ganx.train("multiscale", host=host, run_dir=str(tmp_path / "run"), settings=TOY_SMALL,
               **{**SMALL, "steps": 5}, feature_matching=0.0)
    assert all("fm" not in r for r in rows(tmp_path / "run"))


def test_pretraining_phase_then_adversarial_steps(host_with, tmp_path):
    domain = PretrainedToy()
    host = host_with((toy_plugin, "toy"), (domain_plugin(domain), "pretrained"))
    result = ganx.train("pretrained", host=host, run_dir=str(tmp_path / "run"),
                        settings=TOY_SMALL, **{**SMALL, "steps": 20, "log_every": 4,
                                               "eval_every": 0})
    assert result.step == 20
    assert domain.seen_steps == list(range(20))
    assert domain.custom_loss_calls == 12  # adversarial G steps only
    kinds = {r["step"]: r["kind"] for r in rows(tmp_path / "run") if r["kind"] != "eval"}
    assert [kinds[s] for s in (4, 8, 12, 16, 20)] == ["pretrain"] * 2 + ["train"] * 3
    pre_rows = [r for r in rows(tmp_path / "run") if r["kind"] == "pretrain"]
    assert all("loss_mle" in r and "loss_d" not in r for r in pre_rows)
    assert "reconstruction" in result.metrics
    snap = load_checkpoint(result.checkpoint)
    assert snap["opt_pre"]["param_groups"][0]["lr"] == pytest.approx(1e-3)


def test_pretraining_resumes_bit_for_bit(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"), (domain_plugin(PretrainedToy()), "pretrained"))
    common = {"settings": TOY_SMALL, **SMALL}
    full = ganx.train("pretrained", host=host, run_dir=str(tmp_path / "full"), **common)
    ganx.train("pretrained", host=host, run_dir=str(tmp_path / "split"), **{**common, "steps": 5})
    resumed = ganx.train("pretrained", host=host, run_dir=str(tmp_path / "split"), resume=True,
                         steps=20)
    a, b = load_checkpoint(full.checkpoint), load_checkpoint(resumed.checkpoint)
    for key in ("G", "D", "G_ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name}"


class LikelihoodToy(ToyDomain):
    """An extra generator loss computed through the generator itself (as a text domain's MLE
    term is), and one from a plugin written before the hook took `generator_net`."""

    name = "likelihood"

    def __init__(self) -> None:
        self.seen_nets: list[nn.Module] = []

    def extra_generator_losses(self, cfg, real, conditions, fake, generator_net=None):
        self.seen_nets.append(generator_net)
        z = torch.zeros(real.shape[0], cfg.latent_dim, device=real.device)
        return {"loss_pull": 0.1 * (generator_net(z) - real).square().mean()}


class OldSignatureToy(ToyDomain):
    name = "old-signature"

    def extra_generator_losses(self, cfg, real, conditions, fake):
        return {"loss_l1": 0.1 * (fake - real).abs().mean()}


def test_extra_generator_losses_get_the_generator_being_trained(host_with, tmp_path):
    domain = LikelihoodToy()
    host = host_with((toy_plugin, "toy"), (domain_plugin(domain), "likelihood"),
                     (domain_plugin(OldSignatureToy()), "old-signature"))
    result = ganx.train("likelihood", host=host, run_dir=str(tmp_path / "run"),
                        settings=TOY_SMALL, **{**SMALL, "steps": 6, "log_every": 2})
    assert len(domain.seen_nets) == 6
    assert all(isinstance(net, nn.Module) for net in domain.seen_nets)
    # the trained generator itself (its weights end up in the snapshot), not the EMA copy
    snap = load_checkpoint(result.checkpoint)
    trained = domain.seen_nets[-1].state_dict()
    assert all(torch.equal(trained[k].cpu(), v) for k, v in snap["G"].items())
    assert all("loss_pull" in r for r in rows(tmp_path / "run") if r["kind"] == "train")

    ganx.train("old-signature", host=host, run_dir=str(tmp_path / "old"), settings=TOY_SMALL,
               **{**SMALL, "steps": 4, "log_every": 2})
    assert all("loss_l1" in r for r in rows(tmp_path / "old") if r["kind"] == "train")


class ChunkRecordingToy(ToyDomain):
    name = "chunks"

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def generate(self, cfg, generator_net, n, *, device, rng, first=0):
        self.calls.append((first, n))
        return super().generate(cfg, generator_net, n, device=device, rng=rng)


def test_generate_is_told_where_each_chunk_starts():
    """Large requests are drawn in chunks; `first` lets per-sample choices (a cycle of class
    labels) continue across them, whatever the batch size."""
    from ganx.core.sampling import generate

    domain = ChunkRecordingToy()
    cfg = domain.Config(**TOY_SMALL)
    out = generate(domain, cfg, domain.build_generator(cfg), 10, device=torch.device("cpu"),
                   seed=0, batch_size=4)
    assert out.shape[0] == 10 and domain.calls == [(0, 4), (4, 4), (8, 2)]
