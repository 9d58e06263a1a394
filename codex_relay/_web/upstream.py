"""
The upstream HTTP client: one persistent pool and one treq client per
service, no shared cookies, no redirects, verified TLS.
"""

from http.cookiejar import DefaultCookiePolicy
from typing import Any

from zope.interface import implementer

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.ssl import Certificate, trustRootFromCertificates
from twisted.logger import Logger
from twisted.web.client import (
    Agent,
    BrowserLikePolicyForHTTPS,
    HTTPConnectionPool,
    RequestTransmissionFailed,
    ResponseNeverReceived,
)
from twisted.web._newclient import RequestNotSent
from twisted.web.iweb import IBodyProducer

from treq.client import HTTPClient
from treq.cookies import IndexableCookieJar


from codex_relay._web.body import readBody
from codex_relay._web.config import RelayConfig
from codex_relay._web.nodelay import noDelay
from codex_relay._providers.routes import Upstream
from codex_relay._version import __version__

USER_AGENT = "codex-relay/" + __version__

log = Logger()


@implementer(IBodyProducer)
class BytesProducer:
    """
    A request body written in one go: unlike treq's file producer it can be
    sent again, on a fresh connection.
    """

    def __init__(self, body: bytes) -> None:
        self._body = body
        self.length = len(body)

    def startProducing(self, consumer: Any) -> Deferred[None]:
        consumer.write(self._body)
        return succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class _RetriedOnce:
    """
    A pooled connection being reused: a request it fails before any byte
    of the response arrived is sent once more on a fresh connection.  The
    upstream closed the idle connection as the request went out (llama.cpp
    closes idle keep-alive connections soon), so it never saw the request.
    """

    def __init__(self, connection: Any, newConnection: Any) -> None:
        self._connection = connection
        self._newConnection = newConnection

    def request(self, request: Any) -> Deferred[Any]:
        def failed(reason: Any) -> Any:
            error = reason.value
            if not _retryable(error, request):
                return reason
            log.debug("a reused upstream connection failed before answering "
                      "({error!r}); sending again on a fresh one", error=error)
            return self._newConnection().addCallback(
                lambda connection: connection.request(request))

        sent: Deferred[Any] = self._connection.request(request)
        return sent.addErrback(failed)


def _retryable(error: BaseException, request: Any) -> bool:
    if not isinstance(error, (RequestNotSent, RequestTransmissionFailed,
                              ResponseNeverReceived)):
        return False
    if any(f.check(CancelledError) for f in getattr(error, "reasons", ())):
        return False
    return request.bodyProducer is None or isinstance(request.bodyProducer, BytesProducer)


def immediate(connection: Any) -> Any:
    """
    C{connection}, new, with TCP_NODELAY set (L{noDelay}).
    """
    noDelay(connection.transport)
    return connection


class RetryingPool(HTTPConnectionPool):
    """
    A pool that retries, once and on a fresh connection, a request whose
    reused connection turned out to be closed.  Twisted's own
    C{retryAutomatically} does that only for idempotent methods without a
    body, never for a POST.  Its new connections send without delay
    (L{noDelay}).
    """

    retryAutomatically = False

    def getConnection(self, key: Any, endpoint: Any) -> Deferred[Any]:
        cached = list(self._connections.get(key, ()))

        def fresh() -> Deferred[Any]:
            return self._newConnection(key, endpoint).addCallback(immediate)

        def got(connection: Any) -> Any:
            if connection in cached:
                return _RetriedOnce(connection, fresh)
            return immediate(connection)

        return super().getConnection(key, endpoint).addCallback(got)


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
    return HTTPClient(agent, cookiejar=noCookies, data_to_body_producer=BytesProducer)


def buildHTTPClient(reactor: Any, config: RelayConfig) -> tuple[HTTPClient, HTTPConnectionPool]:
    pool = RetryingPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 16  # idle connections kept, not a concurrency cap
    pool.cachedConnectionTimeout = 90
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
