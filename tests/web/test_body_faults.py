"""
Every stream ends, whatever the upstream or the relay got wrong on the way
(issue 7): the body protocols L{TranslatingBody} and L{RelayedBody} in
memory.

A fault of the upstream (a line or event past the size limit) fails the
body's C{done} with L{UpstreamTooLarge}; a fault of the relay (translator,
encoder) fails it with its own exception, so the exchange can tell them
apart.
"""

import json
from typing import Any

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import ResponseDone

from codex_relay._web.body import TranslatingBody
from codex_relay._core.errors import UpstreamTooLarge
from codex_relay._core.stream.passthrough import PassthroughStream
from codex_relay._web.body import RelayedBody
from codex_relay._web.ids import newId, now
from codex_relay._core.sse import MAX_EVENT_BYTES, SSEEvent, SSETooLarge
from codex_relay._core.stream.translator import StreamTranslator
from tests.harness import chunks as C
from tests.harness.emitted import Emitted, translator
from tests.harness.eventsize import ENDLESS, READ, REQUEST


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
        clock = Clock()
        body = self.connect(TranslatingBody(self.translator, emit, clock, 10, maxEventBytes))
        self.clock = clock
        return body

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
        self.clock.advance(0)  # the rest of the read, after the first delta's turn
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
        stream = PassthroughStream(REQUEST, ids=newId, clock=now)
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
        stream = PassthroughStream(REQUEST, ids=newId, clock=now)
        body = self.connect(RelayedBody(stream, [].append, Clock(), 10, maxEventBytes=100))
        self.assertEqual(stream.maxEventBytes, 100)
        body.dataReceived(b"data: " + b"x" * 101)
        self.failureResultOf(body.done, UpstreamTooLarge)
