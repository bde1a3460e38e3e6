"""A misbehaving plugin: whatever it does wrong, the error names the plugin and the method."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganx
from ganx.core.errors import RunError
from ganx.testing import domain_plugin
from ganx_toy import plugin as toy_plugin
from ganx_toy.domain import ToyDomain

from ..conftest import SMALL, TOY_SMALL


def _raise(self, *args, **kwargs):
    raise ValueError("boom")


def sample_latent(self, cfg, n, *, device, generator):
    raise ValueError("boom")


def prepare_batch(self, cfg, batch):
    raise ValueError("boom")


class Text(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return "not logits"


FAULTS = {
    "dataset-raises": ("build_dataset", _raise, r"failed in build_dataset: ValueError: boom"),
    "dataset-wrong-type": ("build_dataset", lambda self, cfg, data: [1, 2, 3],
                           r"build_dataset returned list"),
    "generator-raises": ("build_generator", _raise, r"failed in build_generator: .*boom"),
    "generator-wrong-type": ("build_generator", lambda self, cfg: "G",
                             r"build_generator returned str, not a torch.nn.Module"),
    "discriminator-raises": ("build_discriminator", _raise,
                             r"failed in build_discriminator: .*boom"),
    "discriminator-output": ("build_discriminator", lambda self, cfg: Text(),
                             r"the discriminator returned str"),
    "discriminator-no-parameters": ("build_discriminator", lambda self, cfg: nn.Identity(),
                                    r"build_discriminator returned a module without trainable"),
    "misfit": ("build_generator", lambda self, cfg: nn.Linear(cfg.latent_dim, 3),
               r"first training step failed .*generator's output fits the discriminator"),
    "latent-raises": ("sample_latent", sample_latent,
                      r"failed in sample_latent at step 1: ValueError: boom"),
    "prepare-raises": ("prepare_batch", prepare_batch,
                       r"failed in prepare_batch at step 1: ValueError: boom"),
    "writer-raises": ("write_samples", _raise, r"failed in write_samples: ValueError: boom"),
    "writer-wrong-return": ("write_samples", lambda self, cfg, s, out, tag: None, None),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_error_names_the_plugin_and_the_method(host_with, tmp_path, fault):
    method, impl, message = FAULTS[fault]
    broken = type("Broken", (ToyDomain,), {"name": "broken", method: impl})
    host = host_with((toy_plugin, "toy"), (domain_plugin(broken()), "broken"))
    run = lambda: ganx.train("broken", host=host, run_dir=str(tmp_path / "run"),  # noqa: E731
                             settings=TOY_SMALL, **SMALL)
    if message is None:  # tolerated: the writer's return value is informational
        assert run().step == SMALL["steps"]
        return
    with pytest.raises(RunError, match=message) as info:
        run()
    assert "domain 'broken'" in str(info.value)
