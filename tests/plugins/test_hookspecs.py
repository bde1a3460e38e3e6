"""Every hook is documented in docs/reference/hooks.md with its real arguments."""

import inspect
import re

from ganx.plugins import hookspecs

from ..conftest import REPO


def test_every_hook_is_documented_with_its_arguments():
    text = (REPO / "docs" / "reference" / "hooks.md").read_text()
    documented = dict(re.findall(r"^### `(ganx_\w+)\(([^)]*)\)`", text, flags=re.M))
    assert set(documented) == set(hookspecs.HOOK_NAMES)
    for name in hookspecs.HOOK_NAMES:
        real = list(inspect.signature(getattr(hookspecs, name)).parameters)
        assert [a.strip() for a in documented[name].split(",") if a.strip()] == real, name
        assert getattr(hookspecs, name).__doc__, f"{name} has no docstring"
