"""
codex-relay: the OpenAI Responses API, relayed onto Chat Completions.

Public API:
  - L{start}: run the relay as a child process;
  - L{RelayConfig}, L{TranslationSettings}: configuration values;
  - L{relayResource}: the resource tree, to mount in an existing site;
  - L{RelayService}: an IService owning the upstream pool (and, optionally,
    listening ports).
"""

from ._config import RelayConfig
from ._launch import RelayStartError, start
from ._resource import relayResource
from ._service import RelayService
from ._settings import TranslationSettings
from ._version import __version__

__all__ = [
    "RelayConfig",
    "RelayService",
    "RelayStartError",
    "TranslationSettings",
    "__version__",
    "relayResource",
    "start",
]
