"""Calling a plugin's Domain methods: a plugin's bug becomes one line that names the plugin, the
domain and the method. No torch here: the CLI plans runs (`--dry-run`) through these calls."""

from __future__ import annotations

from typing import Any

from .compat import ADAPTER_CODE
from .domain import Domain, describe
from .errors import GanxError, RunError

__all__ = ["call_domain", "plugin_method"]


def call_domain(domain: Domain[Any], method: str, *args: Any, **kwargs: Any) -> Any:
    """Call a domain method; a plugin bug becomes a RunError naming the plugin, the domain and
    the method (a `GanxError` the method raised on purpose passes through unchanged)."""
    try:
        return getattr(domain, method)(*args, **kwargs)
    except GanxError:
        raise
    except NotImplementedError as exc:
        raise RunError(f"{describe(domain)} does not implement {method}: {exc}") from exc
    except Exception as exc:
        raise RunError(
            f"{describe(domain)} failed in {method}: {type(exc).__name__}: {exc}"
        ) from exc


def plugin_method(exc: BaseException, domain: Domain[Any]) -> str | None:
    """The method of `domain` the engine called, if `exc` came from inside it."""
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_locals.get("self") is domain and frame.f_code is not ADAPTER_CODE:
            return frame.f_code.co_name
        tb = tb.tb_next
    return None
