"""
The upstream HTTP client: one persistent pool and one treq client per
service, no shared cookies, no redirects, verified TLS.
"""

from http.cookiejar import DefaultCookiePolicy
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.ssl import Certificate, trustRootFromCertificates
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool

from treq.client import HTTPClient
from treq.cookies import IndexableCookieJar


from ._config import RelayConfig
from ._routes import Upstream
from ._version import __version__

USER_AGENT = "codex-relay/" + __version__


def _trustRoot(path: str | None) -> Any:
    if path is None:
        return None
    with open(path, "rb") as pem:
        data = pem.read()
    blocks = [b"-----BEGIN CERTIFICATE-----" + block
              for block in data.split(b"-----BEGIN CERTIFICATE-----")[1:]]
    return trustRootFromCertificates([Certificate.loadPEM(b) for b in blocks])


def _httpClient(reactor: Any, pool: HTTPConnectionPool, config: RelayConfig,
                connectTimeout: float) -> HTTPClient:
    agent = Agent(
        reactor,
        contextFactory=BrowserLikePolicyForHTTPS(trustRoot=_trustRoot(config.upstreamCA)),
        connectTimeout=connectTimeout,
        pool=pool,
    )
    # A jar that accepts nothing: one tenant's cookies must never reach another.
    noCookies = IndexableCookieJar(policy=DefaultCookiePolicy(allowed_domains=()))
    return HTTPClient(agent, cookiejar=noCookies)


def buildHTTPClient(reactor: Any, config: RelayConfig) -> tuple[HTTPClient, HTTPConnectionPool]:
    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 16  # idle connections kept, not a concurrency cap
    pool.cachedConnectionTimeout = 90
    pool.retryAutomatically = False  # never replay a POST to a model
    return _httpClient(reactor, pool, config, config.connectTimeout), pool


class UpstreamClient:
    """
    Sends requests to the upstreams, all over one HTTP client and pool.

    @param http: a treq C{HTTPClient} (or C{StubTreq} in tests).
    """

    def __init__(self, reactor: IReactorTime, config: RelayConfig, http: Any,
                 pool: HTTPConnectionPool | None = None) -> None:
        self._reactor = reactor
        self._config = config
        self._http = http
        self._pool = pool
        self._byConnectTimeout: dict[float, HTTPClient] = {}

    def _client(self, upstream: Upstream) -> Any:
        # An upstream with its own connect timeout gets its own agent, on the same pool.
        timeout = upstream.connectTimeout
        if timeout is None or self._pool is None or timeout == self._config.connectTimeout:
            return self._http
        if timeout not in self._byConnectTimeout:
            self._byConnectTimeout[timeout] = _httpClient(
                self._reactor, self._pool, self._config, timeout)
        return self._byConnectTimeout[timeout]

    @classmethod
    def fromConfig(cls, reactor: Any, config: RelayConfig) -> "UpstreamClient":
        http, pool = buildHTTPClient(reactor, config)
        return cls(reactor, config, http, pool)

    def _headers(self, upstream: Upstream, authorization: str | None,
                 accept: str) -> dict[str, list[str]]:
        headers = {"Accept": [accept], "User-Agent": [USER_AGENT]}
        if upstream.apiKey:
            headers["Authorization"] = ["Bearer " + upstream.apiKey]
        elif authorization:
            headers["Authorization"] = [authorization]
        return headers

    def post(self, upstream: Upstream, path: str, body: bytes, stream: bool,
             authorization: str | None) -> Deferred:
        """
        POST a JSON body to C{path} under the upstream's base URL; fires
        with the L{IResponse} once the headers arrive, its body still
        streaming.
        """
        headers = self._headers(
            upstream, authorization, "text/event-stream" if stream else "application/json")
        headers["Content-Type"] = ["application/json"]
        return self._client(upstream).post(
            upstream.baseURL + path, data=body, headers=headers,
            unbuffered=True, allow_redirects=False)

    def getModels(self, upstream: Upstream, authorization: str | None) -> Deferred:
        return self._client(upstream).get(
            upstream.baseURL + "/models",
            headers=self._headers(upstream, authorization, "application/json"),
            unbuffered=True, allow_redirects=False)

    def close(self) -> Deferred | None:
        if self._pool is None:
            return None
        return self._pool.closeCachedConnections()
