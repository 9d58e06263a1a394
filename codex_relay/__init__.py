"""
codex-relay: the OpenAI Responses API, relayed onto Chat Completions.

Public API:
  - L{start}: run the relay as a child process;
  - L{RelayConfig}, L{TranslationSettings}: configuration values;
  - L{relayResource}: the resource tree, to mount in an existing site;
  - L{RelayService}: an IService owning the upstream pool (and, optionally,
    listening ports).

The names are imported on first use, so that importing the sans-IO core
(C{codex_relay._core}) does not load Twisted.  The packages, lowest first:
C{_core} (sans-IO translation), C{_providers} (profiles, adaptation,
routing), C{_web} (the Twisted shell), C{_run} (service, tap, CLI), C{_tools}
(setup commands and doctor); docs/ARCHITECTURE.md draws the data path.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._core.settings import TranslationSettings
    from ._run.launch import RelayStartError, start
    from ._run.service import RelayService
    from ._web.config import RelayConfig
    from ._web.resource import relayResource

_PUBLIC = {
    "RelayConfig": "._web.config",
    "RelayService": "._run.service",
    "RelayStartError": "._run.launch",
    "TranslationSettings": "._core.settings",
    "relayResource": "._web.resource",
    "start": "._run.launch",
}

__all__ = [
    "RelayConfig",
    "RelayService",
    "RelayStartError",
    "TranslationSettings",
    "__version__",
    "relayResource",
    "start",
]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError("module 'codex_relay' has no attribute {!r}".format(name))
    value = getattr(import_module(_PUBLIC[name], __name__), name)
    globals()[name] = value  # once
    return value
