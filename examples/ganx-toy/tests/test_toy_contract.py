"""ganx-toy passes ganx's domain contract."""

import re
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from ganx.core import errors as ganx_errors
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


SPIRAL = Path(__file__).parent / "data" / "spiral.csv"
"""A user's data file: 400 points on a spiral around (3, -1)."""


class TestToyOnAUserFile(DomainContract):
    """The same contract on the user's own points (`--data spiral.csv`)."""

    domain = ToyDomain()
    plugin = plugin
    settings: ClassVar[dict[str, int]] = {"hidden": 16, "depth": 2}
    data = str(SPIRAL)


def test_the_fitted_placement_is_kept_and_used_without_the_file(tmp_path):
    import shutil

    import ganx

    data = tmp_path / "points.csv"
    shutil.copy(SPIRAL, data)
    run = ganx.train("toy", data=str(data), steps=30, batch_size=64, device="cpu",
                     precision="fp32", log_every=10, eval_every=-1, run_dir=str(tmp_path / "run"),
                     settings={"hidden": 16, "depth": 2})
    fitted = run.run_dir.joinpath("config.toml").read_text()
    assert "[fitted.state]" in fitted and 'source = "points.csv"' in fitted
    data.unlink()  # sampling needs the fitted state, not the data
    model = ganx.load(run.run_dir)
    x, y = model.config.fitted["offset"]
    assert x == pytest.approx(3.0, abs=0.5) and y == pytest.approx(-1.0, abs=0.5)
    assert model.generator.offset == (x, y)
    assert model.generate(8, seed=1).shape == (8, 2)


@pytest.mark.parametrize(("content", "message"), [
    ("x,y\n1,2\n3\n", "line 3 is '3'; expected two numbers, x,y"),
    ("1,2\n", "1 point(s); a GAN needs at least 2"),
])
def test_a_bad_points_file_is_one_line_naming_it(tmp_path, content, message):
    from ganx_toy.points import read_points

    path = tmp_path / "p.csv"
    path.write_text(content)
    with pytest.raises(ganx_errors.ConfigError, match=re.escape(f"--data {path}: {message}")):
        read_points(str(path))
