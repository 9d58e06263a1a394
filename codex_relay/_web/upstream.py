"""
The upstreams as the exchange sees them: POSTs and GETs under each
upstream's base URL with its key, over one HTTP client and pool
(L{codex_relay._web.agent}), and their bodies read within limits.
"""

from typing import Any

from twisted.internet.defer import Deferred
from twisted.web.client import HTTPConnectionPool

from codex_relay._web.body import readBody
from codex_relay._web.agent import DirectHTTP, buildHTTPClient, buildPool
from codex_relay._web.config import RelayConfig
from codex_relay._web.reactor import IRelayReactor
from codex_relay._providers.routes import Upstream
from codex_relay._version import __version__

USER_AGENT = "codex-relay/" + __version__


class UpstreamClient:
    """
    Sends requests to the upstreams, all over one HTTP client and pool.

    @param http: a L{DirectHTTP} on C{pool}, or anything with its (and
        treq's) C{post} and C{get}: a C{StubTreq} in tests.
    """

    def __init__(self, reactor: IRelayReactor, config: RelayConfig, http: Any,
                 pool: HTTPConnectionPool | None = None) -> None:
        self._reactor = reactor
        self._config = config
        self._http = http
        self._pool = pool
        self._byConnectTimeout: dict[float, DirectHTTP] = {}

    def _client(self, upstream: Upstream) -> Any:
        # An upstream with its own connect timeout gets its own agent, on the same pool.
        timeout = upstream.connectTimeout
        if timeout is None or self._pool is None or timeout == self._config.connectTimeout:
            return self._http
        if timeout not in self._byConnectTimeout:
            self._byConnectTimeout[timeout] = buildHTTPClient(
                self._reactor, self._config, timeout, self._pool)
        return self._byConnectTimeout[timeout]

    @classmethod
    def fromConfig(cls, reactor: IRelayReactor, config: RelayConfig) -> "UpstreamClient":
        pool = buildPool(reactor)
        return cls(reactor, config, buildHTTPClient(reactor, config, config.connectTimeout, pool),
                   pool)

    def _headers(self, upstream: Upstream, authorization: str | None,
                 accept: str, apiKey: str | None = None) -> dict[str, list[str]]:
        headers = {"Accept": [accept], "User-Agent": [USER_AGENT]}
        key = apiKey or upstream.apiKey
        if key:
            headers["Authorization"] = ["Bearer " + key]
        elif authorization:
            headers["Authorization"] = [authorization]
        return headers

    def post(self, upstream: Upstream, path: str, body: bytes, stream: bool,
             authorization: str | None, apiKey: str | None = None) -> Deferred[Any]:
        """
        POST a JSON body to C{path} under the upstream's base URL; fires
        with the L{IResponse} once the headers arrive, its body still
        streaming.

        @param authorization: the client's header, forwarded when neither
            C{apiKey} nor the upstream has a key.
        @param apiKey: a client key's own upstream key: it wins over the
            upstream's.
        """
        headers = self._headers(
            upstream, authorization, "text/event-stream" if stream else "application/json",
            apiKey)
        headers["Content-Type"] = ["application/json"]
        posting: Deferred[Any] = self._client(upstream).post(
            upstream.baseURL + path, data=body, headers=headers,
            unbuffered=True, allow_redirects=False)
        return posting

    def getModels(self, upstream: Upstream, authorization: str | None,
                  apiKey: str | None = None) -> Deferred[Any]:
        getting: Deferred[Any] = self._client(upstream).get(
            upstream.baseURL + "/models",
            headers=self._headers(upstream, authorization, "application/json", apiKey),
            unbuffered=True, allow_redirects=False)
        return getting

    def idleTimeout(self, upstream: Upstream | None) -> float:
        """
        How long C{upstream}'s body may stay silent: its own setting, else
        the relay's.
        """
        if upstream is None or upstream.idleTimeout is None:
            return self._config.idleTimeout
        return upstream.idleTimeout

    def content(self, response: Any, upstream: Upstream | None = None) -> Deferred[bytes]:
        """
        The whole body of an upstream C{response}, bounded in size and by
        C{upstream}'s idle timeout; cancellable.
        """
        return readBody(response, self._reactor, self.idleTimeout(upstream))

    def close(self) -> Deferred[Any] | None:
        if self._pool is None:
            return None
        closing: Deferred[Any] = self._pool.closeCachedConnections()
        return closing
