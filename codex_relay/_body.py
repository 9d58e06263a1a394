"""
The upstream body protocols: L{PacedBody} receives an upstream body paced
by the client (backpressure) and bounded by an idle timeout;
L{TranslatingBody} turns Chat SSE bytes into translated events on top of
it.  (The passthrough of a Responses upstream is another L{PacedBody}, in
L{codex_relay._passthrough}.)
"""

from typing import Any, Callable, cast

from zope.interface import implementer

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss

from ._sse import SSEDecoder
from ._translate_stream import StreamTranslator


class UpstreamIdle(Exception):
    """
    The upstream sent nothing for longer than the idle timeout.
    """


@implementer(IPushProducer)
class _PacingProducer:
    """
    Passes the client's pause/resume to the upstream transport, and stops
    the idle clock while paused: a slow client must not look like a silent
    upstream.
    """

    def __init__(self, body: "PacedBody", transport: IPushProducer) -> None:
        self._body = body
        self._transport = transport

    def pauseProducing(self) -> None:
        self._body._paused = True
        self._body._stopIdleClock()
        self._transport.pauseProducing()

    def resumeProducing(self) -> None:
        self._body._paused = False
        self._body._startIdleClock()
        self._transport.resumeProducing()

    def stopProducing(self) -> None:
        self._transport.stopProducing()


class PacedBody(Protocol):
    """
    Receives an upstream body and hands its bytes to L{received}.  Register
    C{producer} with the client request once the body is delivered, so that
    a client that stops reading pauses the upstream; while it is paused the
    idle clock stands still.

    Subclasses implement L{received} and, optionally, L{ended}.

    @ivar done: fires with L{None} when the upstream body ended (or
        L{received} reported the response complete), or fails with the
        reason it broke off (L{UpstreamIdle} after the idle timeout).
        Cancelling it stops the upstream transport.

    After an early completion the rest of the body is drained unread, so
    the connection can go back to the pool; an upstream that sends nothing
    more for the idle timeout without ending its body loses the connection.
    """

    def __init__(self, clock: Any, idleTimeout: float) -> None:
        self._clock = clock
        self._idleTimeout = idleTimeout
        self._idleCall: Any = None
        self._paused = False
        self.producer: _PacingProducer | None = None
        self.done: Deferred[None] = Deferred(self._cancel)

    def received(self, data: bytes) -> bool:
        """
        Handle the next bytes of the body.

        @return: whether the response is now complete; the rest of the
            body is then drained unread.
        """
        raise NotImplementedError()

    def ended(self) -> None:
        """
        The body ended cleanly, before L{received} reported it complete.
        """

    def connectionMade(self) -> None:
        self.producer = _PacingProducer(self, cast(IPushProducer, self.transport))
        self._startIdleClock()

    def dataReceived(self, data: bytes) -> None:
        if self.done.called:
            return  # the response is already over; just drain the connection
        if not self._paused:
            # The rest of a read still arrives after a pause: it must not
            # restart the idle clock while the client holds the stream.
            self._startIdleClock()
        if self.received(data):
            self._complete()

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:
        self._end()
        if self.done.called:
            return  # finished early or cancelled: nothing more to report
        if reason.check(ResponseDone, PotentialDataLoss):
            self.ended()
            self.done.callback(None)
        else:
            self.done.errback(reason)

    def _complete(self) -> None:
        if self._paused:
            # Nobody will resume the drain once the client's request is done.
            self._paused = False
            self.transport.resumeProducing()  # type: ignore[union-attr]
        self._startIdleClock()
        self.done.callback(None)

    def _end(self) -> None:
        self._stopIdleClock()

    def _startIdleClock(self) -> None:
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.reset(self._idleTimeout)
        else:
            self._idleCall = self._clock.callLater(self._idleTimeout, self._idle)

    def _stopIdleClock(self) -> None:
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.cancel()
        self._idleCall = None

    def _idle(self) -> None:
        self._idleCall = None
        if self.done.called:
            # Complete, and the rest of the body never came.
            self.transport.stopProducing()  # type: ignore[union-attr]
            return
        self._end()
        self.done.errback(UpstreamIdle(
            "The upstream sent nothing for {:g} seconds.".format(self._idleTimeout)))
        self.transport.stopProducing()  # type: ignore[union-attr]

    def _cancel(self, _: Deferred) -> None:
        self._end()
        if self.transport is not None:
            self.transport.stopProducing()  # type: ignore[attr-defined]


class TranslatingBody(PacedBody):
    """
    Receives an upstream Chat SSE body, feeds it through the decoder and the
    translator, and hands each batch of events to C{emit}.  L{done} fires
    once the translator has produced its terminal event, or the body ended.
    """

    def __init__(
        self,
        translator: StreamTranslator,
        emit: Callable[[list[dict]], None],
        clock: Any,
        idleTimeout: float,
    ) -> None:
        super().__init__(clock, idleTimeout)
        self._decoder = SSEDecoder()
        self._translator = translator
        self._emit = emit

    def received(self, data: bytes) -> bool:
        translator = self._translator
        events: list[dict] = []
        for event in self._decoder.feed(data):
            events.extend(translator.feedEvent(event))
        if events:
            self._emit(events)
        return translator.finished

    def ended(self) -> None:
        events = []
        for event in self._decoder.close():
            events.extend(self._translator.feedEvent(event))
        if events:
            self._emit(events)
