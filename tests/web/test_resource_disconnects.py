"""
A client that leaves, in memory: the upstream request is cancelled at
once, before or after its headers, and the relay writes nothing more to
the lost connection.
"""

import json
from io import BytesIO
from typing import Any

from twisted.internet.defer import CancelledError
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.web.client import ResponseNeverReceived
from twisted.web.server import Request, Site
from twisted.web.test.requesthelper import DummyChannel

from tests.harness.chunks import text
from tests.harness.fakehttp import HangingHTTP
from tests.harness.upstream import Hang, Stream
from tests.harness.memory import HELLO, LogCapture, RelayTestCase, responsesRequest, streamRequest


class DisconnectTests(RelayTestCase):
    """
    A client that leaves cancels the upstream request at once, before or
    after the upstream headers, and the relay writes nothing more.
    """

    def setUp(self) -> None:
        self.log = LogCapture(self)
        super().setUp()

    def assertCleanlyGone(self) -> None:
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertEqual(self.log.errors(), [])
        self.assertTrue(any("client-gone" in line for line in self.log.texts()))
        self.assertQuiet()

    def test_beforeHeaders(self) -> None:
        self.upstream.queue(Hang(headers=False))
        d = self.relay.request("POST", "/v1/responses", json=streamRequest())
        self.assertEqual(len(self.upstream.requests), 1)
        self.assertNoResult(d)
        d.cancel()
        self.relay.pump()
        self.failureResultOf(d, ResponseNeverReceived, CancelledError)
        self.assertCleanlyGone()

    def test_beforeHeadersNotStreaming(self) -> None:
        self.upstream.queue(Hang(headers=False))
        d = self.relay.request("POST", "/v1/responses", json=responsesRequest())
        d.cancel()
        self.relay.pump()
        self.failureResultOf(d, ResponseNeverReceived, CancelledError)
        self.assertCleanlyGone()

    def test_midStream(self) -> None:
        self.upstream.queue(Hang([text("Hel")]))
        collector = self.collect(self.post(streamRequest()))
        self.assertEqual(collector.types()[-1], "response.output_text.delta")
        received = collector.body()
        collector.leave()
        self.relay.pump()
        self.successResultOf(collector.finished)
        self.assertEqual(collector.body(), received)
        self.assertCleanlyGone()

    def test_midStreamWithChunksPending(self) -> None:
        """
        Chunks the upstream had scheduled are never sent once the client
        left.
        """
        self.upstream.queue(Stream(HELLO, interval=1))
        collector = self.collect(self.post(streamRequest()))
        collector.leave()
        self.relay.pump()
        self.relay.advance(10)
        self.assertCleanlyGone()

    def test_modelsBeforeHeaders(self) -> None:
        self.makeRelay(http=HangingHTTP())
        d = self.relay.request("GET", "/v1/models")
        self.assertEqual(len(self.relay.http.pending), 1)
        d.cancel()
        self.relay.pump()
        self.failureResultOf(d, ResponseNeverReceived, CancelledError)
        self.assertTrue(self.relay.http.pending[0].called)
        self.assertEqual(self.log.errors(), [])


class WatchedRequest(Request):
    """
    A request that records what the relay writes to it after its
    connection was lost (which L{Request} would silently drop).
    """

    lost = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lateWrites: list[bytes] = []

    def connectionLost(self, reason: Failure) -> None:
        self.lost = True
        super().connectionLost(reason)

    def write(self, data: bytes) -> None:
        if self.lost:
            self.lateWrites.append(data)
        super().write(data)


class DeadRequestTests(RelayTestCase):
    """
    Once the client's connection is lost, the relay writes nothing more,
    whatever the upstream still does.
    """

    def render(self, body: dict[str, Any]) -> tuple[WatchedRequest, BytesIO]:
        """
        Process a POST on a real L{Request} over a L{DummyChannel}; the
        request and what reached its transport.
        """
        channel = DummyChannel()
        channel.site = Site(self.relay.resource)
        request = WatchedRequest(channel)
        data = json.dumps(body).encode()
        request.gotLength(len(data))
        request.handleContentChunk(data)
        request.requestReceived(b"POST", b"/v1/responses", b"HTTP/1.1")
        self.relay.pump()
        return request, channel.transport.written

    def leave(self, request: WatchedRequest) -> None:
        request.connectionLost(Failure(ConnectionDone()))
        self.relay.pump()

    def assertSilent(self, request: WatchedRequest) -> None:
        self.relay.advance(1000)
        self.assertEqual(request.lateWrites, [])
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()

    def test_streaming(self) -> None:
        self.upstream.queue(Stream(HELLO, interval=1))
        request, written = self.render(streamRequest())
        self.assertIn(b"event: response.output_text.delta", written.getvalue())
        self.leave(request)
        self.assertSilent(request)

    def test_beforeHeaders(self) -> None:
        self.upstream.queue(Hang(headers=False))
        request, written = self.render(streamRequest())
        self.assertEqual(written.getvalue(), b"")
        self.leave(request)
        self.assertSilent(request)
        self.assertEqual(written.getvalue(), b"")

    def test_notStreaming(self) -> None:
        self.upstream.queue(Hang(headers=False))
        request, written = self.render(responsesRequest())
        self.leave(request)
        self.assertSilent(request)
        self.assertEqual(written.getvalue(), b"")
