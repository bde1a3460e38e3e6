"""The public surface of ganx.metrics: every exported name resolves, and importing the package or
the numpy-only distances does not import torch."""

from __future__ import annotations

import subprocess
import sys

import ganx.metrics


def test_every_exported_name_resolves_and_is_listed():
    assert sorted(ganx.metrics.__all__) == sorted(ganx.metrics._LAZY)
    for name in ganx.metrics.__all__:
        assert getattr(ganx.metrics, name) is not None
    assert set(ganx.metrics.__all__) <= set(dir(ganx.metrics))


def test_numpy_distances_do_not_import_torch_until_the_frechet_distance():
    code = (
        "import sys\n"
        "import ganx.metrics\n"
        "assert 'numpy' not in sys.modules and 'torch' not in sys.modules\n"
        "import numpy as np\n"
        "from ganx.metrics import (density_coverage, frechet_distance,"
        " kernel_inception_distance, precision_recall)\n"
        "x = np.random.default_rng(0).normal(size=(20, 3))\n"
        "kernel_inception_distance(x, x + 1); precision_recall(x, x); density_coverage(x, x)\n"
        "assert 'torch' not in sys.modules\n"
        "frechet_distance(x, x + 1)\n"
        "assert 'torch' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
