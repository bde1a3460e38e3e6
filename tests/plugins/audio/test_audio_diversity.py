"""Against per-class collapse and weak conditioning: the mode-seeking term, the specgan
discriminator's minibatch standard deviation and the generator's class-conditional batch norm, on
their own and together in a conditional run on the spoken digits."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
import torch

import ganx
from ganx.core.config import apply_settings
from ganx.core.errors import ConfigError
from ganx.plugins import audio as audio_plugin
from ganx.plugins.audio.diversity import (
    _masked_pairs_loss,
    _selected_pairs_loss,
    mode_seeking_loss,
    same_class_pairs,
)
from ganx.plugins.audio.domain import AudioConfig, AudioDomain
from ganx.plugins.audio.specgan import ClassBatchNorm, SpecGANDiscriminator, SpecGANGenerator
from ganx.testing import DomainContract

from .test_audio_specgan import RATE, SEGMENT, SPECGAN

AGAINST_COLLAPSE: dict[str, Any] = {**SPECGAN, "conditional": True, "minibatch_std": 4,
                                    "mode_seeking": 1.0, "class_norm": True}


class TestSpecGANAgainstCollapse(DomainContract):
    """Both components on: training, sampling and exact resume on the spoken digits."""

    domain = AudioDomain()
    plugin = audio_plugin
    settings: ClassVar[dict[str, Any]] = AGAINST_COLLAPSE


def test_pairs_are_the_clips_asked_for_the_same_class():
    i, j = same_class_pairs(torch.tensor([3, 5, 3, 5, 3]), 5)
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 2), (0, 4), (1, 3), (2, 4)]
    i, j = same_class_pairs(None, 3)  # unconditional: every pair
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2)]


def test_near_copies_cost_more_than_varied_clips_and_the_gradient_pushes_them_apart():
    torch.manual_seed(0)
    labels = torch.tensor([1, 1, 2, 2])
    base = torch.rand(4, 1, 16, 16)
    copies = base.clone()
    copies[1], copies[3] = copies[0] + 0.01, copies[2] + 0.01
    assert mode_seeking_loss(copies, labels) > 10 * mode_seeking_loss(base, labels)

    fake = copies.clone().requires_grad_(True)
    mode_seeking_loss(fake, labels).backward()
    moved = fake.detach() - 0.01 * fake.grad
    before = (copies[0] - copies[1]).abs().mean()
    assert (moved[0] - moved[1]).abs().mean() > before


@pytest.mark.parametrize("labels", [torch.tensor([3, 5, 3, 5, 3, 1]), None,
                                    torch.tensor([0, 1, 2, 3, 4, 5])])
def test_the_accelerator_form_gives_the_cpu_form_s_loss_and_gradient(labels):
    fake = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    selected, masked = _selected_pairs_loss(fake, labels), _masked_pairs_loss(fake, labels)
    assert masked.item() == pytest.approx(selected.item(), rel=1e-5)
    (g_selected,) = torch.autograd.grad(selected, fake)
    (g_masked,) = torch.autograd.grad(masked, fake)
    torch.testing.assert_close(g_masked, g_selected, rtol=1e-4, atol=1e-7)


def test_the_accelerator_form_never_reads_a_value_on_the_host():
    # meta tensors have no values: reading one back (a device synchronisation on a GPU) raises
    fake = torch.empty(16, 1, 32, 32, device="meta", requires_grad=True)
    labels = torch.empty(16, dtype=torch.long, device="meta")
    assert mode_seeking_loss(fake, labels).device.type == "meta"
    with pytest.raises((NotImplementedError, RuntimeError)):
        _selected_pairs_loss(fake, labels)


def test_a_batch_without_a_same_class_pair_costs_nothing_and_keeps_the_graph():
    fake = torch.rand(3, 1, 8, 8, requires_grad=True)
    loss = mode_seeking_loss(fake, torch.tensor([0, 1, 2]))
    assert loss.item() == 0.0
    loss.backward()
    assert fake.grad is not None and not fake.grad.any()


def test_minibatch_std_lets_the_discriminator_see_a_batch_of_copies():
    torch.manual_seed(0)
    spec = torch.rand(4, 1, 128, 128) * 2 - 1
    copies = spec[:1].repeat(4, 1, 1, 1)
    with_std = SpecGANDiscriminator(SEGMENT, RATE, 2, minibatch_std=4).eval()
    without = SpecGANDiscriminator(SEGMENT, RATE, 2).eval()
    # the same clip is judged differently beside copies of itself than beside other clips
    assert not torch.allclose(with_std(spec)[0], with_std(copies)[0])
    assert torch.allclose(without(spec)[0], without(copies)[0], atol=1e-6)


def test_class_norm_lets_the_class_steer_every_stage():
    torch.manual_seed(0)
    z = torch.randn(1, 8).repeat(2, 1)
    labels = torch.tensor([3, 4])
    plain = SpecGANGenerator(8, SEGMENT, RATE, 2, num_classes=10).eval()
    steered = SpecGANGenerator(8, SEGMENT, RATE, 2, num_classes=10, class_norm=True).eval()
    for g in (plain, steered):
        assert g.embed is not None
        torch.nn.init.zeros_(g.embed.weight)  # the class no longer reaches the input
    norms = [m for m in steered.modules() if isinstance(m, ClassBatchNorm)]
    assert len(norms) == 6
    for norm in norms:
        torch.nn.init.normal_(norm.shift.weight)
    out = steered(z, labels)
    assert not torch.allclose(out[0], out[1])
    same = plain(z, labels)
    assert torch.allclose(same[0], same[1])
    # without class_norm the parameters keep their names: older snapshots load
    assert "body.0.weight" in plain.state_dict()
    out.sum().backward()
    assert all(norm.scale.weight.grad is not None for norm in norms)


def test_the_settings_are_checked():
    def resolve(**settings: Any) -> AudioConfig:
        cfg = apply_settings(AudioConfig(), {**SPECGAN, **settings}, "test")
        return AudioDomain().resolve_config(cfg, "")

    assert resolve(minibatch_std=4).minibatch_std == 4
    specgan, wavegan = resolve(), resolve(generator="wavegan")
    assert (specgan.minibatch_std, specgan.mode_seeking) == (4, 0.005)  # unset: on for specgan
    assert (wavegan.minibatch_std, wavegan.mode_seeking) == (0, 0.0)
    with pytest.raises(ConfigError, match=r"minibatch_std 4: only the specgan discriminator has"
                                          r" it \(discriminator is wavegan\); use 0"):
        resolve(generator="wavegan", minibatch_std=4)
    with pytest.raises(ConfigError, match=r"mode_seeking -1\.0: use 0 \(off\) or more"):
        resolve(mode_seeking=-1.0)
    with pytest.raises(ConfigError, match="class_norm: applies to the specgan generator of a"
                                          " conditional run"):
        resolve(class_norm=True)
    assert resolve(class_norm=True, conditional=True).class_norm


def test_a_conditional_run_logs_the_term(tmp_path):
    ganx.train("audio", settings=AGAINST_COLLAPSE, steps=3, batch_size=8, log_every=1,
               run_dir=str(tmp_path / "run"), device="cpu", eval_every=-1,
               sample_every=100, checkpoint_every=100)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    logged = [r["mode_seeking"] for r in rows if r["kind"] == "train"]
    assert logged and all(value >= 0 for value in logged)


def test_snapshots_from_before_the_settings_load_without_them():
    from ganx.core.config import stored_domain_config

    old = stored_domain_config(AudioConfig, {"generator": "specgan", "sample_rate": 8000},
                               "old.pt")
    assert (old.minibatch_std, old.mode_seeking) == (0, 0.0)
