"""ganx-toy passes ganx's domain contract."""

from typing import ClassVar

import pytest
import torch

from ganx.testing import DomainContract
from ganx_toy import plugin
from ganx_toy.domain import ToyDomain
from ganx_toy.metrics import mode_metrics


class TestToyDomain(DomainContract):
    domain = ToyDomain()
    plugin = plugin
    settings: ClassVar[dict[str, int]] = {"n_points": 256, "hidden": 16, "depth": 2}


def test_metrics_on_exact_mode_centres():
    cfg = ToyDomain.Config(mixture="grid")
    from ganx_toy import mixtures

    centres = torch.as_tensor(mixtures.centers("grid"), dtype=torch.float32).repeat(4, 1)
    perfect = mode_metrics(centres, centres, cfg)
    assert perfect == {"modes_covered": 25.0, "modes_balanced": 25.0, "modes_total": 25.0,
                       "high_quality": 1.0}
    # everything on one mode, plus one far-away point
    collapsed = torch.cat([centres[:1].repeat(99, 1), torch.tensor([[10.0, 10.0]])])
    result = mode_metrics(collapsed, centres, cfg)
    assert result["modes_covered"] == 1.0 and result["high_quality"] == pytest.approx(0.99)
    # 3 sigma is the edge of high quality
    sigma = mixtures.std("grid")
    edge = centres[:1] + torch.tensor([[2.9 * sigma, 0.0], [3.1 * sigma, 0.0]])
    assert mode_metrics(edge, centres, cfg)["high_quality"] == 0.5
