"""
L{serve}'s last resort: whatever the work does, the request ends.  Driven
with a real L{Request} on Twisted's C{DummyChannel}, and through the relay
with an upstream answer that breaks the relay itself.
"""

import json
from typing import Any

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import Request
from twisted.web.test.requesthelper import DummyChannel

from codex_relay._web.serving import Watch, serve
from tests.harness.oracle import checkStream
from tests.harness.memory import LogCapture, RelayTestCase, streamRequest
from tests.harness.upstream import Stream


def newRequest() -> Request:
    request = Request(DummyChannel())
    request.method = b"POST"
    request.path = b"/v1/responses"
    request.clientproto = b"HTTP/1.1"
    # A finished request lets go of its channel; the test keeps the transport.
    request.testTransport = request.channel.transport  # type: ignore[attr-defined]
    return request


def written(request: Request) -> bytes:
    return request.testTransport.written.getvalue()  # type: ignore[attr-defined]


class Broken(Exception):
    pass


class ServeTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.log = LogCapture(self)
        self.clock = Clock()

    def serve(self, work: Any) -> Request:
        request = newRequest()
        serve(request, work, Watch(), self.clock, 10, "too slow")
        return request

    def test_failsBeforeHeaders(self) -> None:
        """
        A failure before anything was written is a 500 envelope that names
        the exception, never the upstream; it is logged with its traceback.
        """
        async def work() -> None:
            raise Broken("details stay in the log")

        request = self.serve(work)
        self.assertTrue(request.finished)
        raw = written(request)
        self.assertIn(b"500 Internal Server Error", raw)
        envelope = json.loads(raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n")[1])
        self.assertEqual(envelope["error"]["code"], "server_error")
        self.assertIn("Broken", envelope["error"]["message"])
        self.assertNotIn("upstream", envelope["error"]["message"])
        self.assertEqual(len(self.flushLoggedErrors(Broken)), 1)

    def test_failsMidStream(self) -> None:
        """
        A failure after a stream started ends it with a minimal
        C{response.failed} that echoes nothing of the request.
        """
        async def work() -> None:
            request.setHeader(b"content-type", b"text/event-stream")
            request.write(b"event: response.created\ndata: {}\n\n")
            raise Broken()

        request = newRequest()
        serve(request, work, Watch(), self.clock, 10, "too slow")
        self.assertTrue(request.finished)
        body = written(request).split(b"\r\n\r\n", 1)[1]
        self.assertIn(b"event: response.failed", body)
        failed = json.loads(body.split(b"event: response.failed\ndata: ")[1].split(b"\n")[0])
        self.assertEqual(failed["response"]["status"], "failed")
        self.assertEqual(failed["response"]["model"], "")
        self.assertEqual(failed["response"]["error"]["code"], "server_error")
        self.flushLoggedErrors(Broken)

    def test_leftOpen(self) -> None:
        """
        Work that returns without finishing the request does not hang it.
        """
        async def work() -> None:
            pass

        request = self.serve(work)
        self.assertTrue(request.finished)
        self.assertIn(b"500 Internal Server Error", written(request))
        self.assertTrue(any("left the request open" in t for t in self.log.texts()))

    def test_lastResortFails(self) -> None:
        """
        When even the last resort cannot write, the connection is closed.
        """
        class Unwritable(Watch):
            def failedEvent(self, message: str) -> bytes:
                raise Broken("cannot encode")

        async def work() -> None:
            request.setHeader(b"content-type", b"text/event-stream")
            request.write(b": started\n\n")
            raise ValueError("first")

        request = newRequest()
        serve(request, work, Unwritable(), self.clock, 10, "too slow")
        self.assertTrue(request.testTransport.disconnected)  # type: ignore[attr-defined]
        self.flushLoggedErrors(ValueError, Broken)


class RelayFaultTests(RelayTestCase):
    """
    A relay fault is a 500 relay error, and a stream it breaks still ends.
    """

    def test_relayFaultMidStream(self) -> None:
        """
        A healer that raises on the upstream's text (a relay bug) ends the
        stream with C{response.failed} and logs the traceback.
        """
        class Exploding:
            filters: list = []

            def feed(self, text: str) -> list:
                raise Broken("healer bug")

            def flush(self) -> list:
                return []

        self.upstream.queue(Stream([{"choices": [{"index": 0, "delta": {
            "content": "hi"}}]}]))
        # A route whose healer is broken: the relay's own code fails.
        from codex_relay._web import exchange as _exchange
        self.patch(_exchange, "contentFilter", lambda *a, **k: Exploding())
        events = checkStream(self.content(self.post(streamRequest())))
        self.assertEqual(events[-1]["type"], "response.failed")
        self.assertEqual(events[-1]["response"]["error"]["code"], "server_error")
        self.assertEqual(len(self.flushLoggedErrors(Broken)), 1)

    def test_relayFaultBeforeStream(self) -> None:
        """
        The same fault in a non-streamed answer is a 500, not a 502.
        """
        from codex_relay._web import exchange as _exchange
        self.patch(_exchange, "translateRequest", lambda *a, **k: 1 / 0)
        error = self.assertError(self.post(streamRequest()), 500, "server_error")
        self.assertIn("ZeroDivisionError", error["message"])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
