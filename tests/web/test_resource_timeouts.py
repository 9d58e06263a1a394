"""
The upstream timeouts, in memory on one L{MemoryReactorClock}: headers,
idle and total, each a 504 before the stream or C{response.failed} during
it, with the upstream dropped; and the idle clock stopped while the client
holds the stream.
"""

import json

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from codex_relay import TranslationSettings
from codex_relay._web.body import TranslatingBody, UpstreamIdle
from codex_relay._core.request.translate import translateRequest
from codex_relay._providers.config_file import parseRoutingTable
from codex_relay._core.stream.translator import StreamTranslator
from codex_relay._web.ids import newId, now
from tests.harness.chunks import text
from tests.harness.oracle import checkStream
from tests.harness.upstream import Hang, Stream
from tests.harness.memory import HELLO, RelayTestCase, UPSTREAM, streamRequest


class TimeoutTests(RelayTestCase):
    def test_headers(self) -> None:
        """
        No upstream headers within C{headersTimeout}: a 504 envelope, and
        the upstream request is aborted.
        """
        self.makeRelay(headersTimeout=20, idleTimeout=5, totalTimeout=100)
        self.upstream.queue(Hang(headers=False))
        d = self.relay.request("POST", "/v1/responses", json=streamRequest())
        self.relay.advance(19.9)
        self.assertNoResult(d)
        self.assertEqual(self.upstream.disconnects, 0)
        self.relay.advance(0.1)
        error = self.assertError(self.successResultOf(d), 504, "upstream_timeout",
                                 "server_error")
        self.assertIn("20 seconds", error["message"])
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()

    def test_idle(self) -> None:
        """
        An upstream silent for C{idleTimeout} after streaming started: the
        stream ends with C{response.failed}, and the upstream is dropped.
        """
        self.makeRelay(idleTimeout=30)
        self.upstream.queue(Hang([text("Hel")]))
        collector = self.collect(self.post(streamRequest()))
        self.relay.advance(29)
        self.assertNoResult(collector.finished)
        self.assertEqual(self.upstream.disconnects, 0)
        self.relay.advance(1)
        self.successResultOf(collector.finished)
        response = self.assertFailedStream(checkStream(collector.body()), "server_error")
        self.assertIn("30 seconds", response["error"]["message"])
        self.assertEqual(response["output"][0]["status"], "incomplete")
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()

    def test_idleResetByData(self) -> None:
        """
        Each chunk restarts the idle clock.
        """
        self.makeRelay(idleTimeout=5)
        self.upstream.queue(Stream(HELLO, interval=4))
        collector = self.collect(self.post(streamRequest()))
        for _ in HELLO:
            self.relay.advance(4)
        self.successResultOf(collector.finished)
        self.assertEqual(checkStream(collector.body())[-1]["type"], "response.completed")
        self.assertQuiet()

    def test_totalBeforeHeaders(self) -> None:
        self.makeRelay(headersTimeout=300, totalTimeout=10)
        self.upstream.queue(Hang(headers=False))
        d = self.relay.request("POST", "/v1/responses", json=streamRequest())
        self.relay.advance(10)
        error = self.assertError(self.successResultOf(d), 504, "upstream_timeout")
        self.assertIn("10 seconds", error["message"])
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()

    def test_upstreamTotalTimeout(self) -> None:
        """
        An upstream's own C{total_timeout} replaces the relay-wide one for
        the requests routed to it.  (It used to be parsed and never read.)
        """
        table = parseRoutingTable(
            '[upstreams.quick]\nbase_url = "{}"\ntotal_timeout = 7\n'.format(UPSTREAM), {})
        self.makeRelay(headersTimeout=300, totalTimeout=100, routes=table)
        self.upstream.queue(Hang(headers=False))
        d = self.relay.request("POST", "/v1/responses", json=streamRequest())
        self.relay.advance(6)
        self.assertNoResult(d)
        self.relay.advance(1)
        error = self.assertError(self.successResultOf(d), 504, "upstream_timeout")
        self.assertIn("7 seconds", error["message"])
        self.assertQuiet()

    def test_totalWhileStreaming(self) -> None:
        """
        An upstream that keeps sending within the idle timeout is still cut
        at the total timeout.
        """
        self.makeRelay(idleTimeout=5, totalTimeout=10)
        self.upstream.queue(Stream([text(str(i)) for i in range(10)], interval=4))
        collector = self.collect(self.post(streamRequest()))
        for _ in range(3):
            self.relay.advance(4)
        self.successResultOf(collector.finished)
        events = checkStream(collector.body())
        response = self.assertFailedStream(events, "server_error")
        self.assertIn("10 seconds", response["error"]["message"])
        self.assertEqual(response["output"][0]["content"][0]["text"], "012")
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()


class PausedIdleClockTests(SynchronousTestCase):
    """
    The body protocol's idle clock stops while the client holds the stream
    (in memory the transports cannot pause, so L{TranslatingBody} is driven
    by hand here; the loopback tests cover it on real sockets).
    """

    def setUp(self) -> None:
        self.clock = Clock()
        request = streamRequest()
        settings = TranslationSettings(secret=b"s")
        translator = StreamTranslator(request, translateRequest(request, settings), settings,
                                      ids=newId, clock=now)
        self.emitted: list[dict] = []
        self.body = TranslatingBody(translator, self.emitted.extend, self.clock, 10)
        self.transport = StringTransport()
        self.body.makeConnection(self.transport)

    def test_dataAfterPause(self) -> None:
        """
        Data still arriving after the pause does not restart the clock, and
        the silence of a paused upstream is not idleness.
        """
        assert self.body.producer is not None
        self.body.producer.pauseProducing()
        self.assertEqual(self.transport.producerState, "paused")
        self.body.dataReceived(b"data: " + json.dumps(text("Hel")).encode() + b"\n\n")
        self.clock.advance(60)
        self.assertNoResult(self.body.done)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.body.producer.resumeProducing()
        self.clock.advance(9)
        self.assertNoResult(self.body.done)
        self.clock.advance(1)
        self.failureResultOf(self.body.done, UpstreamIdle)
        self.assertEqual(self.transport.producerState, "stopped")
