"""
Every stream ends, whatever the upstream or the relay got wrong on the way
(issue 7): the body protocols L{TranslatingBody} and L{RelayedBody} in
memory, and the relay on loopback against upstreams that never end their
line.

A fault of the upstream (a line or event past the size limit) fails the
body's C{done} with L{UpstreamTooLarge}; a fault of the relay (translator,
encoder) fails it with its own exception, so the exchange can tell them
apart.
"""

import json
import re
import tracemalloc
from typing import Any

import treq
from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import ResponseDone
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from codex_relay import RelayConfig, RelayService, TranslationSettings
from codex_relay._web.body import TranslatingBody
from codex_relay._core.errors import UpstreamTooLarge
from codex_relay._core.stream.passthrough import PassthroughStream
from codex_relay._web.body import RelayedBody
from codex_relay._core.request.translate import translateRequest
from codex_relay._providers.config_file import parseRoutingTable
from codex_relay._core.sse import MAX_EVENT_BYTES, SSEEvent, SSETooLarge
from codex_relay._run.tap import Options, configFromOptions
from codex_relay._core.stream.translator import StreamTranslator
from tests.harness import chunks as C
from tests.harness.oracle import checkStream
from tests.harness.responses import RESPONSE_ID, frames, upstreamEvents
from tests.harness.sockets import trackConnections, webClient

SETTINGS = TranslationSettings(secret=b"faults")
REQUEST = {"model": "model-a", "input": "hi", "stream": True}
READ = 64 * 1024
ENDLESS = 50 * 1024 * 1024


def translator(request: dict = REQUEST) -> StreamTranslator:
    return StreamTranslator(request, translateRequest(request, SETTINGS), SETTINGS)


class Emitted:
    """
    An C{emit} callable that keeps the batches, or raises C{error} once.
    """

    def __init__(self, error: Exception | None = None) -> None:
        self.batches: list[list[dict]] = []
        self.error = error

    def __call__(self, events: list[dict]) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        self.batches.append(events)

    @property
    def types(self) -> list[str]:
        return [event["type"] for batch in self.batches for event in batch]


class BodyTestMixin:
    """
    A body protocol on a L{StringTransport} and a L{Clock}.
    """

    def connect(self, body: Any) -> Any:
        self.clock = Clock()
        self.transport = StringTransport()
        body.makeConnection(self.transport)
        return body


class TranslatingBodyTests(BodyTestMixin, SynchronousTestCase):
    def body(self, emit: Emitted, maxEventBytes: int = MAX_EVENT_BYTES,
             translate: StreamTranslator | None = None) -> TranslatingBody:
        self.translator = translate or translator()
        return self.connect(TranslatingBody(self.translator, emit, Clock(), 10,
                                            maxEventBytes))

    def test_endlessLine(self) -> None:
        """
        A C{data:} line that never ends, in 64 KiB reads: once past the
        limit, C{done} fails with L{UpstreamTooLarge} and the upstream is
        stopped; the rest of the reads are not even looked at.
        """
        emit = Emitted()
        body = self.body(emit)
        body.dataReceived(C.encode(C.text("Hi")) + b"data: ")
        fed = 0
        while not body.done.called and fed < ENDLESS:
            body.dataReceived(b"x" * READ)
            fed += READ
        failure = self.failureResultOf(body.done, UpstreamTooLarge)
        self.assertIsInstance(failure.value.__cause__, SSETooLarge)
        self.assertEqual(str(failure.value), "An upstream SSE line is larger than {} bytes."
                         .format(MAX_EVENT_BYTES))
        self.assertLessEqual(fed, MAX_EVENT_BYTES + READ)
        self.assertEqual(self.transport.producerState, "stopped")
        self.assertEqual(emit.types, ["response.output_item.added",
                                      "response.content_part.added",
                                      "response.output_text.delta"])
        body.dataReceived(b"x" * READ)  # drained, unread
        # The exchange then ends the stream through the translator.
        self.assertEqual(self.translator.fail("server_error", str(failure.value))[-1]["type"],
                         "response.failed")

    def test_limit(self) -> None:
        """
        The limit is the one given; an event just under it passes.
        """
        emit = Emitted()
        body = self.body(emit, maxEventBytes=1000)
        body.dataReceived(C.encode(C.text("x" * 500)))
        self.assertEqual(len(emit.batches), 1)
        body.dataReceived(C.encode(C.text("x" * 1000)))
        self.failureResultOf(body.done, UpstreamTooLarge)

    def test_endedTooLarge(self) -> None:
        """
        The last event, completed by the end of the body, is held to the
        limit too.
        """
        body = self.body(Emitted(), maxEventBytes=100)
        body.dataReceived(b"data: " + b"x" * 60 + b"\n")
        body.dataReceived(b"data: " + b"x" * 60)
        body.connectionLost(Failure(ResponseDone()))
        self.failureResultOf(body.done, UpstreamTooLarge)

    def test_translatorBug(self) -> None:
        """
        An exception of the translator fails C{done} as it is: the relay's
        bug, not the upstream's.  What was translated before it is emitted
        first.
        """
        emit = Emitted()
        body = self.body(emit)
        feedEvent = self.translator.feedEvent

        def feedOrBreak(event: SSEEvent) -> list[dict]:
            if "boom" in event.data:
                raise KeyError("boom")
            return feedEvent(event)

        self.patch(self.translator, "feedEvent", feedOrBreak)
        body.dataReceived(C.sse(C.text("Hi"), C.text("boom"), C.text("never")))
        failure = self.failureResultOf(body.done, KeyError)
        self.assertNotIsInstance(failure.value, UpstreamTooLarge)
        self.assertEqual(emit.types, ["response.output_item.added",
                                      "response.content_part.added",
                                      "response.output_text.delta"])
        self.assertEqual(self.transport.producerState, "stopped")

    def test_emitBug(self) -> None:
        """
        An exception of C{emit} (encoding or writing) fails C{done} as it
        is.
        """
        body = self.body(Emitted(TypeError("not serialisable")))
        body.dataReceived(C.sse(C.text("Hi")))
        self.failureResultOf(body.done, TypeError)
        self.assertEqual(self.transport.producerState, "stopped")

    def test_emitBugAtTheEnd(self) -> None:
        """
        So does one while the end of the body is translated.
        """
        body = self.body(Emitted(TypeError("not serialisable")))
        body.dataReceived(b"data: " + json.dumps(C.text("Hi")).encode())
        body.connectionLost(Failure(ResponseDone()))
        self.failureResultOf(body.done, TypeError)

    def test_emitBugOnTheTerminal(self) -> None:
        """
        When the batch that failed to go out held the terminal event, the
        translator says so: its C{terminal} is there, for the exchange to
        see that what reached the client did not end the stream.
        """
        emit = Emitted()
        body = self.body(emit)
        body.dataReceived(C.encode(C.text("Hi")))
        emit.error = TypeError("not serialisable")
        body.dataReceived(C.encode(C.finish("stop")) + b"data: [DONE]\n\n")
        self.failureResultOf(body.done, TypeError)
        self.assertTrue(self.translator.finished)
        self.assertNotIn(self.translator.terminal,
                         [event for batch in emit.batches for event in batch])
        self.assertEqual(self.translator.nextSequence,
                         self.translator.terminal["sequence_number"] + 1)


class RelayedBodyTests(BodyTestMixin, SynchronousTestCase):
    def test_endlessEvent(self) -> None:
        """
        An event that never ends, held back by the passthrough: once past
        the limit, C{done} fails with L{UpstreamTooLarge}; the complete
        events before it went through.
        """
        forwarded: list[bytes] = []
        stream = PassthroughStream(REQUEST)
        body = self.connect(RelayedBody(stream, forwarded.append, Clock(), 10))
        created = b'data: {"type": "response.created", "response": {"id": "resp_1"}}\n\n'
        body.dataReceived(created + b"data: ")
        fed = 0
        while not body.done.called and fed < ENDLESS:
            body.dataReceived(b"x" * READ)
            fed += READ
        failure = self.failureResultOf(body.done, UpstreamTooLarge)
        self.assertIn("larger than {} bytes".format(MAX_EVENT_BYTES), str(failure.value))
        self.assertLessEqual(fed, MAX_EVENT_BYTES + READ)
        self.assertEqual(forwarded, [created])
        self.assertEqual(self.transport.producerState, "stopped")
        [failed] = stream.fail("server_error", str(failure.value))
        self.assertEqual((failed["response"]["id"], failed["sequence_number"]), ("resp_1", 1))

    def test_limitGiven(self) -> None:
        """
        A limit given to the body replaces the stream's.
        """
        stream = PassthroughStream(REQUEST)
        body = self.connect(RelayedBody(stream, [].append, Clock(), 10, maxEventBytes=100))
        self.assertEqual(stream.maxEventBytes, 100)
        body.dataReceived(b"data: " + b"x" * 101)
        self.failureResultOf(body.done, UpstreamTooLarge)


# -- On loopback ----------------------------------------------------------------


def peakRSS() -> int | None:
    """
    The process's peak resident set since L{resetPeakRSS}, in bytes, or
    L{None} where Linux's C{/proc} cannot tell.
    """
    try:
        with open("/proc/self/status") as status:
            match = re.search(r"VmHWM:\s+(\d+) kB", status.read())
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def resetPeakRSS() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


class _Endless:
    """
    A pull producer that writes C{head}, then C{READ}-byte pieces of one
    line that never ends, up to C{ENDLESS} bytes, as fast as the reader
    takes them.
    """

    def __init__(self, request: Request, head: bytes) -> None:
        self.request = request
        self.written = 0
        self.stopped = False
        request.write(head)

    def resumeProducing(self) -> None:
        if self.stopped:
            return
        if self.written >= ENDLESS:
            self.stopped = True
            self.request.unregisterProducer()
            self.request.finish()
            return
        self.request.write(b"x" * READ)  # a new object each time, as a real body
        self.written += READ

    def stopProducing(self) -> None:
        self.stopped = True


class EndlessUpstream(Resource):
    """
    An upstream that answers C{/v1/chat/completions} and C{/v1/responses}
    with an SSE body: C{head}, then a line without end.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.head = b""
        self.producers: list[_Endless] = []

    def render_POST(self, request: Request) -> int:
        request.setHeader(b"content-type", b"text/event-stream")
        producer = _Endless(request, self.head)
        self.producers.append(producer)
        request.notifyFinish().addBoth(lambda _: setattr(producer, "stopped", True))
        request.registerProducer(producer, False)
        return NOT_DONE_YET


ROUTES = """\
default_upstream = "chat"

[upstreams.chat]
base_url = "{url}"

[upstreams.native]
base_url = "{url}"
api = "responses"

[[routes]]
model = "native"
upstream = "native"
"""


class EndlessLineTests(TestCase):
    """
    The relay on loopback in front of an upstream whose SSE line never
    ends: it fails the response once past the limit, and its memory stays
    bounded (where the decoder once held all 50 MiB, and more to join it).
    """

    timeout = 60

    async def setUp(self) -> None:
        self.upstream = EndlessUpstream()
        site = Site(self.upstream)
        site.noisy = False
        trackConnections(self, site)
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        url = "http://127.0.0.1:{}/v1".format(port.getHost().port)
        self.service = RelayService(
            RelayConfig(routes=parseRoutingTable(ROUTES.format(url=url), {}, "relay.toml"),
                        translation=SETTINGS),
            reactor, listen=["tcp:0:interface=127.0.0.1"])
        trackConnections(self, self.service.site)
        self.service.startService()
        self.addCleanup(self.service.stopService)
        [relayPort] = await self.service.listening
        self.url = "http://127.0.0.1:{}/v1/responses".format(relayPort.getHost().port)
        self.web = webClient(self)

    async def exchange(self, request: dict) -> tuple[Any, bytes, int, int | None]:
        """
        POST C{request}; the response, its body, the peak of Python
        allocations meanwhile and the growth of the peak resident set (if
        Linux tells).
        """
        resetRSS = resetPeakRSS()
        before = peakRSS() if resetRSS else None
        tracemalloc.start()
        try:
            response = await self.web.post(self.url, data=json.dumps(request).encode(),
                                           headers={"Content-Type": ["application/json"]})
            body = await treq.content(response)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        after = peakRSS() if resetRSS else None
        [producer] = self.upstream.producers
        # Cut off near the limit, not after 50 MiB.
        self.assertLess(producer.written, 16 * MAX_EVENT_BYTES)
        return response, body, peak, (after - before) if before is not None and after else None

    def assertBounded(self, peak: int, rss: int | None) -> None:
        self.assertLess(peak, 8 * MAX_EVENT_BYTES)
        if rss is not None:
            self.assertLess(rss, 48 * 1024 * 1024)

    async def test_translated(self) -> None:
        """
        A Chat stream: C{response.failed} once streaming has started, its
        message naming the limit; the message begun before is closed.
        """
        self.upstream.head = C.encode(C.text("Hi")) + b"data: "
        response, body, peak, rss = await self.exchange(REQUEST)
        self.assertBounded(peak, rss)
        self.assertEqual(response.code, 200)
        events = checkStream(body)
        self.assertEqual([event["type"] for event in events][-3:], [
            "response.content_part.done", "response.output_item.done", "response.failed"])
        error = events[-1]["response"]["error"]
        self.assertEqual(error["code"], "server_error")
        self.assertIn("larger than {} bytes".format(MAX_EVENT_BYTES), error["message"])

    async def test_translatedBeforeStreaming(self) -> None:
        """
        A request that did not ask to stream: an HTTP 502.
        """
        response, body, peak, rss = await self.exchange(dict(REQUEST, stream=False))
        self.assertBounded(peak, rss)
        self.assertEqual(response.code, 502)
        error = json.loads(body)["error"]
        self.assertEqual(error["code"], "upstream_error")
        self.assertIn("larger than {} bytes".format(MAX_EVENT_BYTES), error["message"])

    async def test_passthrough(self) -> None:
        """
        A Responses upstream, whose first events went through: the relay
        appends C{response.failed}.
        """
        self.upstream.head = b"".join(frames(upstreamEvents()[:2])) + b"data: "
        response, body, peak, rss = await self.exchange(dict(REQUEST, model="native"))
        self.assertBounded(peak, rss)
        self.assertEqual(response.code, 200)
        events = checkStream(body)
        self.assertEqual([event["type"] for event in events],
                         ["response.created", "response.in_progress", "response.failed"])
        self.assertEqual(events[-1]["response"]["id"], RESPONSE_ID)
        self.assertIn("larger than {} bytes".format(MAX_EVENT_BYTES),
                      events[-1]["response"]["error"]["message"])

    async def test_passthroughBeforeStreaming(self) -> None:
        """
        A Responses upstream whose first event never ends: an HTTP 502.
        """
        self.upstream.head = b"data: "
        response, body, peak, rss = await self.exchange(dict(REQUEST, model="native"))
        self.assertBounded(peak, rss)
        self.assertEqual(response.code, 502)
        self.assertIn("larger than", json.loads(body)["error"]["message"])


class ConfiguredLimitTests(TestCase):
    """
    C{RelayConfig.maxEventBytes} reaches the body protocols.
    """

    timeout = 20

    async def test_configured(self) -> None:
        upstream = EndlessUpstream()
        upstream.head = b"data: "
        site = Site(upstream)
        site.noisy = False
        trackConnections(self, site)
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        url = "http://127.0.0.1:{}/v1".format(port.getHost().port)
        service = RelayService(
            RelayConfig(routes=parseRoutingTable(ROUTES.format(url=url), {}, "relay.toml"),
                        translation=SETTINGS, maxEventBytes=4096),
            reactor, listen=["tcp:0:interface=127.0.0.1"])
        trackConnections(self, service.site)
        service.startService()
        self.addCleanup(service.stopService)
        [relayPort] = await service.listening
        web = webClient(self)
        for model in ("model-a", "native"):
            response = await web.post(
                "http://127.0.0.1:{}/v1/responses".format(relayPort.getHost().port),
                data=json.dumps(dict(REQUEST, model=model, stream=False)).encode(),
                headers={"Content-Type": ["application/json"]})
            body = await treq.content(response)
            self.assertEqual(response.code, 502, model)
            self.assertIn("larger than 4096 bytes", json.loads(body)["error"]["message"])


class OptionTests(SynchronousTestCase):
    """
    C{--max-event-bytes} and C{CODEX_RELAY_MAX_EVENT_BYTES}.
    """

    def config(self, argv: list[str], environ: dict[str, str] | None = None) -> RelayConfig:
        options = Options(environ=environ or {})
        options.parseOptions(argv)
        return configFromOptions(options)

    def test_default(self) -> None:
        self.assertEqual(self.config([]).maxEventBytes, MAX_EVENT_BYTES)
        self.assertEqual(RelayConfig().maxEventBytes, 1024 * 1024)

    def test_option(self) -> None:
        self.assertEqual(self.config(["--max-event-bytes", "2048"]).maxEventBytes, 2048)
        self.assertEqual(self.config([], {"CODEX_RELAY_MAX_EVENT_BYTES": "4096"}).maxEventBytes,
                         4096)

    def test_positive(self) -> None:
        self.assertRaises(UsageError, self.config, ["--max-event-bytes", "0"])
