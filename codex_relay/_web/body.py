"""
The upstream body protocols: L{PacedBody} receives an upstream body paced
by the client (backpressure) and bounded by an idle timeout;
L{TranslatingBody} turns Chat SSE bytes into translated events on top of
it.  (The passthrough of a Responses upstream is another L{PacedBody}, in
L{codex_relay._core.stream.passthrough}.)
"""

from typing import Any, Callable, cast

from zope.interface import implementer

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer, IReactorTime
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss

from codex_relay._core.errors import UpstreamTooLarge
from codex_relay._core.sse import MAX_EVENT_BYTES, SSEDecoder, SSEEvent, SSETooLarge
from codex_relay._core.stream.passthrough import PassthroughStream
from codex_relay._core.stream.response import DELTA_EVENTS
from codex_relay._core.stream.translator import StreamTranslator


class UpstreamIdle(Exception):
    """
    The upstream sent nothing for longer than the idle timeout.
    """




# The most a whole upstream answer read into memory may be: an error body,
# a non-streamed completion, a model list.
MAX_WHOLE_BODY = 16 * 1024 * 1024


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

    def __init__(self, clock: IReactorTime, idleTimeout: float) -> None:
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
        self._step(self.received, data)

    def _step(self, handle: Callable[..., bool], *args: Any) -> None:
        """
        C{handle(*args)}: the body's next step, which says whether the
        response is now complete.
        """
        try:
            complete = handle(*args)
        except Exception:
            # As treq's _BodyCollector does: a body we cannot handle ends
            # the response with the reason, and stops the upstream.
            self._end()
            self.done.errback(Failure())
            self.transport.stopProducing()  # type: ignore[union-attr]
            return
        if complete:
            self._complete()

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:
        self._end()
        if self.done.called:
            return  # finished early or cancelled: nothing more to report
        if not reason.check(ResponseDone, PotentialDataLoss):
            self.done.errback(reason)
            return
        try:
            self.ended()
        except Exception:
            self.done.errback(Failure())
        else:
            self.done.callback(None)

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

    def _cancel(self, _: Deferred[Any]) -> None:
        self._end()
        if self.transport is not None:
            self.transport.stopProducing()  # type: ignore[attr-defined]


class _AfterWrites:
    """
    Calls C{f} once the reactor has polled for I/O, so that what was written
    before is on its way first.  A call scheduled while handling a read
    runs before the next poll; one scheduled from that call runs after it.
    """

    def __init__(self, clock: IReactorTime, f: Callable[[], None]) -> None:
        self._f = f
        self._call = clock.callLater(0, self._again, clock)

    def _again(self, clock: IReactorTime) -> None:
        self._call = clock.callLater(0, self._f)

    def cancel(self) -> None:
        if self._call.active():
            self._call.cancel()


class TranslatingBody(PacedBody):
    """
    Receives an upstream Chat SSE body, feeds it through the decoder and the
    translator, and hands each batch of events to C{emit}.  L{done} fires
    once the translator has produced its terminal event, or the body ended.

    The first delta does not wait for the rest of its read: the events up
    to it are emitted, and the rest of the read is translated once the
    reactor has written them (L{_AfterWrites}).  Later reads are translated
    whole, their events emitted in one batch.

    L{done} fails with L{UpstreamTooLarge} when a line or event of the body
    is larger than C{maxEventBytes}: the upstream's fault.  Any other
    exception, from the translator or from C{emit}, is the relay's own bug
    and fails L{done} as it is; events translated before it are emitted
    first, so the client's stream stays in step with the translator's.
    """

    def __init__(
        self,
        translator: StreamTranslator,
        emit: Callable[[list[dict[str, Any]]], None],
        clock: IReactorTime,
        idleTimeout: float,
        maxEventBytes: int = MAX_EVENT_BYTES,
    ) -> None:
        super().__init__(clock, idleTimeout)
        self._decoder = SSEDecoder(maxEventBytes)
        self._translator = translator
        self._emit = emit
        self._awaitingDelta = True
        # While the first delta is being written: the rest of its read, and
        # what came after it (bytes, then how the body ended).
        self._release: _AfterWrites | None = None
        self._heldEvents: list[SSEEvent] = []
        self._heldData: list[bytes] = []
        self._heldLoss: Failure | None = None

    def received(self, data: bytes) -> bool:
        if self._release is not None:
            self._heldData.append(data)
            return False
        try:
            decoded = self._decoder.feed(data)
        except SSETooLarge as error:
            raise UpstreamTooLarge(str(error)) from error
        return self._translate(decoded)

    def ended(self) -> None:
        try:
            decoded = self._decoder.close()
        except SSETooLarge as error:
            raise UpstreamTooLarge(str(error)) from error
        self._translate(decoded)

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:
        if self._release is not None:
            self._heldLoss = reason
            return
        super().connectionLost(reason)

    def _translate(self, decoded: list[SSEEvent]) -> bool:
        translator = self._translator
        events: list[dict[str, Any]] = []
        try:
            for index, event in enumerate(decoded):
                new = translator.feedEvent(event)
                events.extend(new)
                if self._awaitingDelta and any(e["type"] in DELTA_EVENTS for e in new):
                    self._awaitingDelta = False
                    if index + 1 < len(decoded):
                        ready, events = events, []  # not emitted again if emit raises
                        self._emit(ready)
                        self._hold(decoded[index + 1:])
                        return False
        except BaseException:
            if events:
                self._emit(events)
            raise
        if events:
            self._emit(events)
        return translator.finished

    def _hold(self, rest: list[SSEEvent]) -> None:
        self._heldEvents = rest
        self._release = _AfterWrites(self._clock, self._released)

    def _released(self) -> None:
        self._release = None
        events, data, loss = self._heldEvents, self._heldData, self._heldLoss
        self._heldEvents, self._heldData, self._heldLoss = [], [], None
        if self.done.called:
            return  # cancelled, or timed out, meanwhile
        self._step(self._translate, events)
        for part in data:
            self.dataReceived(part)
        if loss is not None:
            self.connectionLost(loss)

    def _end(self) -> None:
        super()._end()
        if self._release is not None:
            self._release.cancel()
            self._release = None


class CollectedBody(PacedBody):
    """
    A whole upstream body read into memory, up to C{limit} bytes; past it,
    L{done} fails with L{UpstreamTooLarge} and the upstream is stopped.
    """

    def __init__(self, clock: IReactorTime, idleTimeout: float, limit: int) -> None:
        super().__init__(clock, idleTimeout)
        self._limit = limit
        self._size = 0
        self._parts: list[bytes] = []

    def received(self, data: bytes) -> bool:
        self._size += len(data)
        if self._size > self._limit:
            raise UpstreamTooLarge(
                "The upstream answer is larger than {} bytes.".format(self._limit))
        self._parts.append(data)
        return False

    @property
    def content(self) -> bytes:
        return b"".join(self._parts)


def readBody(response: Any, clock: IReactorTime, idleTimeout: float,
             limit: int = MAX_WHOLE_BODY) -> "Deferred[bytes]":
    """
    The whole body of C{response}, bounded by C{limit} bytes and by the idle
    timeout; cancelling the result stops the upstream transport.
    """
    body = CollectedBody(clock, idleTimeout, limit)
    response.deliverBody(body)
    return body.done.addCallback(lambda _: body.content)


class RelayedBody(PacedBody):
    """
    The upstream's Responses stream, handed to C{forward} as the
    L{PassthroughStream} releases it.  L{done} fires once the terminal
    event went through, or the body ended; it fails with L{UpstreamTooLarge}
    on an event larger than C{maxEventBytes} (when given, it replaces the
    stream's limit).
    """

    def __init__(self, stream: PassthroughStream, forward: Callable[[bytes], None],
                 clock: IReactorTime, idleTimeout: float,
                 maxEventBytes: int | None = None) -> None:
        super().__init__(clock, idleTimeout)
        self._stream = stream
        self._forward = forward
        if maxEventBytes is not None:
            stream.maxEventBytes = maxEventBytes

    def received(self, data: bytes) -> bool:
        try:
            ready = self._stream.feed(data)
        except SSETooLarge as error:
            raise UpstreamTooLarge(str(error)) from error  # the upstream's fault
        if ready:
            self._forward(ready)
        return self._stream.finished

    def ended(self) -> None:
        rest = self._stream.close()
        if rest:
            self._forward(rest)
