"""
Every stream ends (issue 7), on loopback: the relay in front of upstreams
whose SSE line never ends fails the response once past the event size
limit, with its memory bounded; and that limit as configured, from
L{RelayConfig}, C{--max-event-bytes} or C{CODEX_RELAY_MAX_EVENT_BYTES}.
"""

import json
import re
import tracemalloc
from typing import Any

import treq
from twisted.internet import reactor
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from codex_relay import RelayConfig, RelayService
from codex_relay._providers.config_file import parseRoutingTable
from codex_relay._core.sse import MAX_EVENT_BYTES
from codex_relay._run.tap import Options, configFromOptions
from tests.harness import chunks as C
from tests.harness.eventsize import ENDLESS, READ, REQUEST, SETTINGS
from tests.harness.oracle import checkStream
from tests.harness.responses import RESPONSE_ID, frames, upstreamEvents
from tests.harness.sockets import trackConnections, webClient, serveRelay


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
        self.service, base = await serveRelay(self, RelayConfig(
            routes=parseRoutingTable(ROUTES.format(url=url), {}, "relay.toml"),
            translation=SETTINGS))
        self.url = base + "/responses"
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
