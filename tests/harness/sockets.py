"""
Shared test harness.
"""

import json
import time
from dataclasses import dataclass, field
from typing import Any
import httpx2
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IProtocolFactory
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.server import Site
from treq.client import HTTPClient
from tests.harness import oracle
from tests.harness.upstream import ScriptedUpstream


class ServerConnections:
    """
    The server-side connections a factory accepted, so a test can close
    whatever its clients left open: an open HTTP channel keeps a timeout
    pending, which trial reports as a dirty reactor.
    """

    def __init__(self, factory: IProtocolFactory) -> None:
        self._transports: list[Any] = []
        build = factory.buildProtocol

        def buildProtocol(address: Any) -> Any:
            protocol = build(address)
            self._track(protocol)
            return protocol

        factory.buildProtocol = buildProtocol  # type: ignore[method-assign]

    def _track(self, protocol: Any) -> None:
        makeConnection = protocol.makeConnection

        def tracked(transport: Any) -> None:
            self._transports.append(transport)
            makeConnection(transport)

        protocol.makeConnection = tracked

    def _open(self) -> list[Any]:
        return [t for t in self._transports if t.connected]

    async def closeAll(self, timeout: float = 5.0) -> None:
        """
        Abort the connections still open and wait until they are gone.
        """
        for transport in self._open():
            transport.abortConnection()
        deadline = time.monotonic() + timeout
        while self._open() and time.monotonic() < deadline:
            await deferLater(reactor, 0.01, lambda: None)


def trackConnections(case: TestCase, factory: IProtocolFactory) -> ServerConnections:
    """
    Track C{factory}'s connections and close them when C{case} ends, after
    every cleanup added later (cleanups run last-in, first-out).
    """
    connections = ServerConnections(factory)
    case.addCleanup(connections.closeAll)
    return connections


async def serveUpstream(case: TestCase, upstream: ScriptedUpstream) -> str:
    """
    Serve C{upstream} on a loopback port for the length of C{case}.

    @return: its base URL, ending in C{/v1}.
    """
    site = Site(upstream.resource)
    site.noisy = False
    trackConnections(case, site)
    port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(site)
    case.addCleanup(port.stopListening)
    case.addCleanup(upstream.abortAll)
    return "http://127.0.0.1:{}/v1".format(port.getHost().port)


def webClient(case: TestCase) -> HTTPClient:
    """
    A treq client with its own pool, closed when C{case} ends.
    """
    pool = HTTPConnectionPool(reactor, persistent=True)
    case.addCleanup(pool.closeCachedConnections)
    return HTTPClient(Agent(reactor, pool=pool))


@dataclass
class Exchange:
    """
    One HTTP exchange of the SDK, as it crossed the wire.
    """

    method: str
    url: str
    requestBody: bytes
    status: int
    headers: httpx2.Headers
    chunks: list[bytes] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


class _Tee(httpx2.SyncByteStream):
    def __init__(self, stream: httpx2.SyncByteStream, sink: list[bytes]) -> None:
        self._stream = stream
        self._sink = sink

    def __iter__(self):  # type: ignore[override]
        for data in self._stream:
            self._sink.append(data)
            yield data

    def close(self) -> None:
        self._stream.close()


class RecordingTransport(httpx2.HTTPTransport):
    """
    An httpx transport that keeps a copy of every request and response body,
    exactly as the SDK's parser received it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle_request(request)
        exchange = Exchange(request.method, str(request.url), request.read(),
                            response.status_code, response.headers)
        self.exchanges.append(exchange)
        response.stream = _Tee(response.stream, exchange.chunks)  # type: ignore[arg-type]
        return response


def checkExchanges(case: TestCase, exchanges: list["Exchange"]) -> None:
    """
    Hold everything an SDK received to the oracle: streams, Response bodies,
    and the OpenAI envelope of errors.
    """
    for exchange in exchanges:
        if exchange.status >= 400:
            error = json.loads(exchange.body)["error"]
            case.assertEqual(sorted(error), ["code", "message", "param", "type"])
        elif "event-stream" in exchange.headers["content-type"]:
            oracle.checkStream(exchange.body)
        elif exchange.url.endswith("/responses"):
            oracle.checkResponse(json.loads(exchange.body))


def streamOf(case: TestCase, exchange: "Exchange") -> list[dict[str, Any]]:
    """
    The SSE events an SDK received in C{exchange}, checked by the oracle.
    """
    case.assertEqual(exchange.status, 200, exchange.body[:2000])
    case.assertEqual(exchange.headers["content-type"].split(";")[0], "text/event-stream")
    return oracle.checkStream(exchange.body)


async def serveRelay(case: TestCase, config: Any, **options: Any) -> tuple[Any, str]:
    """
    A L{RelayService} for C{config} on a loopback port, its connections
    tracked and everything stopped when the test ends; the service and its
    base URL (C{http://127.0.0.1:PORT/v1}).
    """
    from codex_relay import RelayService

    service = RelayService(config, reactor, listen=["tcp:0:interface=127.0.0.1"], **options)
    trackConnections(case, service.site)
    service.startService()
    case.addCleanup(service.stopService)
    [port] = await service.listening
    return service, "http://127.0.0.1:{}/v1".format(port.getHost().port)
