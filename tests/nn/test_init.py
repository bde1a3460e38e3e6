"""`ganx.nn`: the public names, and that `import ganx` does not import it (nor torch)."""

from __future__ import annotations

import subprocess
import sys

import ganx.nn


def test_every_public_name_is_exported():
    for name in ganx.nn.__all__:
        assert name == "POLICIES" or getattr(ganx.nn, name).__module__.startswith("ganx.nn")
    assert {"MLP", "DCGANGenerator", "DCGANDiscriminator", "ResNetGenerator",
            "ResNetDiscriminator", "UNetGenerator", "PatchDiscriminator",
            "AugmentedDiscriminator", "parse_policy", "restore_image", "corrupt"} <= set(
        ganx.nn.__all__)


def test_import_ganx_does_not_import_the_networks():
    code = ("import sys, ganx, ganx.restoration, ganx.plugins.image, ganx.plugins.audio,"
            " ganx.plugins.medical; print('ganx.nn' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]
