"""
The relay wired in memory (L{InMemoryRelay}): scripted upstreams, the
relay's resource tree and the client, all on StubTreq and timed by one
L{MemoryReactorClock}; L{RelayTestCase} and its assertions over it.
"""

import json
from typing import Any
import treq
from treq.testing import StubTreq
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from codex_relay import RelayConfig, relayResource
from codex_relay._web.upstream import UpstreamClient
from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.oracle import checkStream, parseSSE
from tests.harness.upstream import ScriptedUpstream


RELAY = "http://relay.test"


UPSTREAM = "http://upstream.test/v1"


HELLO = [text("Hel"), text("lo"), finish("stop"), chunk(choices=False, usage=usage(3, 2))]


def responsesRequest(**fields: Any) -> dict[str, Any]:
    """
    A minimal valid Responses request, with C{fields} added or replaced.
    """
    return dict({"model": "model-a", "input": "hi"}, **fields)


def streamRequest(**fields: Any) -> dict[str, Any]:
    return responsesRequest(stream=True, **fields)


class Collector(Protocol):
    """
    Records a body as it arrives; L{leave} hangs up like a client.
    """

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.finished: Deferred[None] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data.append(data)

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        self.finished.callback(None)

    def leave(self) -> None:
        self.transport.stopProducing()  # type: ignore[union-attr]

    def body(self) -> bytes:
        return b"".join(self.data)

    def types(self) -> list[str]:
        return [data["type"] for _, data in parseSSE(self.body())]


class LogCapture:
    """
    Every log event published while a test runs.
    """

    def __init__(self, testCase: SynchronousTestCase) -> None:
        self.events: list[dict[str, Any]] = []
        observer = self.events.append
        globalLogPublisher.addObserver(observer)
        testCase.addCleanup(globalLogPublisher.removeObserver, observer)

    def texts(self) -> list[str]:
        return [formatEvent(e) or "" for e in self.events]

    def errors(self) -> list[str]:
        return [
            formatEvent(e) or repr(e) for e in self.events
            if e.get("log_level") in (LogLevel.error, LogLevel.critical)
            or e.get("log_failure") is not None or e.get("isError")
        ]


class InMemoryRelay:
    """
    The relay wired in memory: scripted upstream, its StubTreq, the relay's
    resource tree and the client's StubTreq, all timed by one
    L{MemoryReactorClock}.
    """

    def __init__(self, http: Any = None, scripted: ScriptedUpstream | None = None,
                 pooled: bool = False, record: bool = False,
                 upstreams: dict[str, ScriptedUpstream] | None = None,
                 **config: Any) -> None:
        """
        @param http: the relay's HTTP client, instead of a StubTreq of the
            scripted upstream.
        @param scripted: the upstream to serve, instead of a new one.
        @param pooled: give the relay its real pooled client, connecting
            through the clock's L{MemoryReactorClock.tcpClients}.
        @param record: wrap the upstream's StubTreq in a L{RecordingHTTP}.
        @param upstreams: scripted upstreams by base URL, for a relay whose
            routes name several: its client is an L{UpstreamsByURL}.
        """
        self.clock = MemoryReactorClock()
        self.upstream = scripted or ScriptedUpstream(reactor=self.clock)
        self.upstreamStub = StubTreq(self.upstream.resource)
        self.config = RelayConfig(**dict({"upstream": UPSTREAM}, **config))
        self.stubs = [self.upstreamStub]
        if upstreams is not None:
            http = UpstreamsByURL(upstreams)
            self.stubs += http.stubs.values()
        self.http = http or (RecordingHTTP(self.upstreamStub) if record
                             else self.upstreamStub)
        client = (UpstreamClient.fromConfig(self.clock, self.config) if pooled
                  else UpstreamClient(self.clock, self.config, self.http))
        self.resource = relayResource(self.config, self.clock, client)
        self.client = StubTreq(self.resource)

    def pump(self) -> None:
        """
        Move bytes both ways, on both sides, until nothing moves.
        """
        for _ in range(100):
            moved = False
            for stub in (self.client, *self.stubs):
                # StubTreq.flush does not say whether anything moved; its
                # iosim pumps do.
                for connection in list(stub._agent._pumps):
                    moved = connection.flush() or moved
                stub.flush()
            if any(c.getTime() <= self.clock.seconds() for c in self.clock.getDelayedCalls()):
                # What waits for the reactor's next turn (the rest of a read
                # after its first delta) runs, as the reactor would.
                self.clock.advance(0)
                moved = True
            if not moved:
                return
        raise AssertionError("the relay and its upstream never went quiet")

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.pump()

    def request(self, method: str, path: str, **kwargs: Any) -> Deferred[Any]:
        """
        Send a request to the relay and pump; the result may be pending.
        """
        d = self.client.request(method, RELAY + path, unbuffered=True, **kwargs)
        self.pump()
        return d


class RelayTestCase(SynchronousTestCase):
    """
    Helpers over an L{InMemoryRelay} made in L{setUp} (tests needing other
    settings call L{makeRelay}).
    """

    def setUp(self) -> None:
        self.makeRelay()

    def makeRelay(self, **kwargs: Any) -> InMemoryRelay:
        self.relay = InMemoryRelay(**kwargs)
        self.upstream = self.relay.upstream
        self.clock = self.relay.clock
        return self.relay

    def respond(self, method: str, path: str, **kwargs: Any) -> Any:
        """
        The relay's response (headers received).
        """
        return self.successResultOf(self.relay.request(method, path, **kwargs))

    def post(self, body: Any, **kwargs: Any) -> Any:
        if isinstance(body, bytes):
            return self.respond("POST", "/v1/responses", data=body,
                                headers={"Content-Type": "application/json"}, **kwargs)
        return self.respond("POST", "/v1/responses", json=body, **kwargs)

    def content(self, response: Any) -> bytes:
        d = treq.content(response)
        self.relay.pump()
        return self.successResultOf(d)

    def collect(self, response: Any) -> Collector:
        collector = Collector()
        response.deliverBody(collector)
        self.relay.pump()
        return collector

    def assertStream(self, response: Any, allowCodexCodes: bool = False) -> list[dict]:
        """
        A complete, oracle-valid SSE answer; its events.
        """
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["text/event-stream; charset=utf-8"])
        self.assertEqual(response.headers.getRawHeaders("cache-control"), ["no-cache"])
        return checkStream(self.content(response), allowCodexCodes=allowCodexCodes)

    def stream(self, body: Any = None, allowCodexCodes: bool = False) -> list[dict]:
        return self.assertStream(self.post(body or streamRequest()), allowCodexCodes)

    def assertFailedStream(self, events: list[dict], code: str) -> dict:
        """
        C{events} end with C{response.failed} carrying C{code}; the response.
        """
        self.assertEqual(events[-1]["type"], "response.failed")
        response = events[-1]["response"]
        self.assertEqual(response["status"], "failed")
        self.assertEqual(response["error"]["code"], code)
        return response

    def assertError(self, response: Any, status: int, code: str | None,
                    type: str | None = None, param: str | None = None) -> dict:
        """
        An OpenAI error envelope with exactly C{status} and C{code}; the error.
        """
        body = self.content(response)
        self.assertEqual(response.code, status, body[:500])
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["application/json"])
        envelope = json.loads(body)
        self.assertEqual(list(envelope), ["error"])
        error = envelope["error"]
        self.assertEqual(error["code"], code, body)
        self.assertEqual(sorted(error), ["code", "message", "param", "type"])
        self.assertIsInstance(error["message"], str)
        self.assertTrue(error["message"])
        self.assertNotIn("Traceback", error["message"])
        if type is not None:
            self.assertEqual(error["type"], type)
        if param is not None:
            self.assertEqual(error["param"], param)
        return error

    def assertQuiet(self) -> None:
        """
        No timer of the relay is left running.
        """
        self.assertEqual(self.clock.getDelayedCalls(), [])


class RecordingHTTP:
    """
    Passes requests on to C{http}, recording each call's method, URL and
    keyword arguments.
    """

    def __init__(self, http: Any) -> None:
        self._http = http
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def post(self, url: str, **kwargs: Any) -> Deferred[Any]:
        self.calls.append(("POST", url, kwargs))
        return self._http.post(url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Deferred[Any]:
        self.calls.append(("GET", url, kwargs))
        return self._http.get(url, **kwargs)


class UpstreamsByURL:
    """
    The relay's HTTP client in memory for several scripted upstreams: each
    request goes to the StubTreq of the upstream whose base URL begins its
    URL.
    """

    def __init__(self, upstreams: dict[str, ScriptedUpstream]) -> None:
        self.stubs = {url.rstrip("/") + "/": StubTreq(upstream.resource)
                      for url, upstream in upstreams.items()}

    def _stub(self, url: str) -> Any:
        for base, stub in self.stubs.items():
            if url.startswith(base):
                return stub
        raise AssertionError("no scripted upstream serves " + url)

    def post(self, url: str, **kwargs: Any) -> Deferred[Any]:
        posting: Deferred[Any] = self._stub(url).post(url, **kwargs)
        return posting

    def get(self, url: str, **kwargs: Any) -> Deferred[Any]:
        getting: Deferred[Any] = self._stub(url).get(url, **kwargs)
        return getting
