"""
The relay's HTTP client for its upstreams: one persistent pool, no shared
cookies, no redirects, verified TLS, and requests that go out without
delay.  POSTs, the hot path, go straight to the pool's L{Agent}; the rest
goes through a treq client on the same agent.
"""

from http.cookiejar import DefaultCookiePolicy
from typing import Any

from hyperlink import URL
from zope.interface import implementer

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.internet.ssl import Certificate, trustRootFromCertificates
from twisted.logger import Logger
from twisted.web.client import (
    Agent,
    BrowserLikePolicyForHTTPS,
    HTTPConnectionPool,
    RequestTransmissionFailed,
    ResponseNeverReceived,
    URI,
)
from twisted.web.error import SchemeNotSupported
from twisted.web._newclient import RequestNotSent
from twisted.web.http_headers import Headers
from twisted.web.iweb import (
    IAgent, IAgentEndpointFactory, IBodyProducer, IPolicyForHTTPS, IResponse)

from treq.client import HTTPClient
from treq.cookies import IndexableCookieJar

from codex_relay._web.config import RelayConfig
from codex_relay._web.nodelay import noDelay
from codex_relay._web.reactor import IRelayReactor

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


@implementer(IAgentEndpointFactory)
class OncePerOrigin:
    """
    The endpoint of each upstream origin made once, with its TLS settings:
    Twisted's agent makes a new one for every request, and the
    browser-like TLS policy builds a new OpenSSL context each time (about
    0.15 ms).  Endpoints only describe where to connect: one serves every
    connection to its origin.
    """

    def __init__(self, reactor: IRelayReactor, tls: IPolicyForHTTPS,
                 connectTimeout: float) -> None:
        self._reactor = reactor
        self._tls = tls
        self._connectTimeout = connectTimeout
        self._endpoints: dict[tuple[bytes, bytes, int], IStreamClientEndpoint] = {}

    def endpointForURI(self, uri: URI) -> IStreamClientEndpoint:
        key = (uri.scheme, uri.host, uri.port)
        endpoint = self._endpoints.get(key)
        if endpoint is None:
            if uri.scheme not in (b"http", b"https"):
                raise SchemeNotSupported("Unsupported scheme: {!r}".format(uri.scheme))
            endpoint = HostnameEndpoint(self._reactor, uri.host.decode("ascii"), uri.port,
                                        timeout=self._connectTimeout)
            if uri.scheme == b"https":
                endpoint = wrapClientTLS(self._tls.creatorForNetloc(uri.host, uri.port),
                                         endpoint)
            self._endpoints[key] = endpoint
        return endpoint


class DirectHTTP:
    """
    The relay's HTTP client, with treq's C{post} and C{get}: a POST goes
    straight to the agent, with its URL encoded once per URL, where treq
    would parse it, pass a cookie jar and wrap the response on every
    request; a GET goes through treq.

    @param agent: an agent on the service's pool.
    """

    def __init__(self, agent: IAgent) -> None:
        self._agent = agent
        # A jar that accepts nothing: one tenant's cookies must never reach another.
        noCookies = IndexableCookieJar(policy=DefaultCookiePolicy(allowed_domains=()))
        self._treq = HTTPClient(agent, cookiejar=noCookies,
                                data_to_body_producer=BytesProducer)
        self._uris: dict[str, bytes] = {}

    def post(self, url: str, data: bytes, headers: dict[str, list[str]],
             **treqOptions: Any) -> Deferred[IResponse]:
        """
        POST C{data} to C{url}; fires with the response once its headers
        arrived, its body unread.  Redirects are never followed.

        @param treqOptions: treq's C{unbuffered} and C{allow_redirects},
            which are what this client does anyway.
        """
        uri = self._uris.get(url)
        if uri is None:
            if len(self._uris) > 1024:  # URLs come from the routes; bound it anyway
                self._uris.clear()
            uri = self._uris[url] = URL.from_text(url).to_uri().to_text().encode("ascii")
        posting: Deferred[IResponse] = self._agent.request(
            b"POST", uri, Headers(headers), BytesProducer(data))
        return posting

    def get(self, url: str, **treqOptions: Any) -> Deferred[Any]:
        getting: Deferred[Any] = self._treq.get(url, **treqOptions)
        return getting


def buildHTTPClient(reactor: IRelayReactor, config: RelayConfig, connectTimeout: float,
                    pool: HTTPConnectionPool) -> DirectHTTP:
    """
    The relay's client on C{pool}, whose connections time out after
    C{connectTimeout} seconds.
    """
    tls = BrowserLikePolicyForHTTPS(trustRoot=_trustRoot(config.upstreamCA))
    return DirectHTTP(Agent.usingEndpointFactory(
        reactor, OncePerOrigin(reactor, tls, connectTimeout), pool=pool))


def buildPool(reactor: IReactorTime) -> HTTPConnectionPool:
    pool = RetryingPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 128  # idle connections kept, not a concurrency cap
    pool.cachedConnectionTimeout = 90
    return pool
