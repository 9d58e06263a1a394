"""
The relay's configuration: one frozen value built from options or code.
"""

import os
from dataclasses import dataclass, field

from codex_relay._core.errors import DEFAULT_RETRY_AFTER
from codex_relay._providers.client_keys import ClientKeys
from codex_relay._providers.routes import RoutingTable
from codex_relay._providers.config_file import singleUpstream
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.sse import MAX_EVENT_BYTES
from codex_relay._store.interface import DEFAULT_RETENTION

DEFAULT_UPSTREAM = "https://openrouter.ai/api/v1"
DEFAULT_PORT = 4444
DEFAULT_MAX_BODY = 32 * 1024 * 1024


@dataclass(frozen=True)
class RelayConfig:
    """
    @ivar upstream: the Chat Completions base URL (ending before
        C{/chat/completions}).
    @ivar apiKey: sent upstream as a Bearer token; when L{None}, the
        client's own C{Authorization} header is forwarded.
    @ivar upstreamCA: a PEM bundle that replaces the platform trust store.
    @ivar connectTimeout: seconds to connect to the upstream.
    @ivar headersTimeout: seconds from sending the request until the
        upstream's response headers.
    @ivar idleTimeout: seconds the upstream body may stay silent.
    @ivar totalTimeout: seconds one response may take in all.
    @ivar maxBodyBytes: the largest client request body accepted.
    @ivar maxEventBytes: the largest line or event of an upstream stream
        accepted; past it the response fails.
    @ivar retryAfter: the C{Retry-After} given on a 429 when the upstream
        names no delay.
    @ivar profile: the provider profile of C{upstream}; detected from its
        host when L{None}.
    @ivar routes: upstreams and routes from a configuration file; when set,
        C{upstream}, C{apiKey} and C{profile} are not used.
    @ivar store: where L{RelayService} keeps responses: C{memory},
        C{sqlite[:PATH]} (the default: a file under the user's state
        directory), C{redis://HOST:PORT/DB}, or C{none}.
    @ivar retention: seconds a stored response is kept.
    @ivar websocket: serve Responses over WebSocket; otherwise an upgrade
        gets 426, and clients use HTTP.
    @ivar clientKeys: the tokens clients must present (C{--client-keys});
        L{None} admits every client.
    """

    upstream: str = DEFAULT_UPSTREAM
    apiKey: str | None = None
    upstreamCA: str | None = None
    connectTimeout: float = 10.0
    headersTimeout: float = 300.0
    idleTimeout: float = 300.0
    totalTimeout: float = 3600.0
    maxBodyBytes: int = DEFAULT_MAX_BODY
    maxEventBytes: int = MAX_EVENT_BYTES
    retryAfter: int = DEFAULT_RETRY_AFTER
    translation: TranslationSettings = field(
        default_factory=lambda: TranslationSettings(secret=os.urandom(32))
    )
    profile: str | None = None
    routes: RoutingTable | None = None
    store: str = "sqlite"
    retention: float = DEFAULT_RETENTION
    websocket: bool = True
    clientKeys: ClientKeys | None = None

    def routingTable(self) -> RoutingTable:
        """
        Where requests go: the configured routes, or everything to
        C{upstream}.
        """
        if self.routes is not None:
            return self.routes
        return singleUpstream(self.upstream, self.apiKey, self.profile)

    def __repr__(self) -> str:
        # Never let a key reach a log line through a repr.
        return "RelayConfig(upstream={!r}, apiKey={})".format(
            self.upstream, "<set>" if self.apiKey else None)
