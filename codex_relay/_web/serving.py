"""
Web plumbing shared by the relay's resources: OpenAI error envelopes for
unknown paths and methods, and running a request's work under client-gone
and timeout cancellation.
"""

from collections.abc import Callable, Coroutine
from typing import Any, cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request

from codex_relay._core.errors import RelayError
from codex_relay._core.stream.response import failedResponse
from codex_relay._core.sse import encodeEvent
from codex_relay._web.ids import newId, now

log = Logger()


def writeError(request: Request, error: RelayError) -> None:
    """
    Answer with C{error}'s status and OpenAI envelope.
    """
    request.setResponseCode(error.status)
    request.setHeader(b"content-type", b"application/json")
    for name, value in error.headers.items():
        request.setHeader(name.encode("ascii"), value.encode("ascii"))
    request.write(error.body())
    request.finish()


class Watch:
    """
    What L{serve} tells the work it runs, and what the work tells L{serve}
    about how to end a stream it could not end itself.
    """

    gone = False
    timedOut: str | None = None
    _timer: Any = None
    _clock: IReactorTime | None = None
    _since = 0.0
    _why = ""
    _running: Any = None

    def runs(self, running: Deferred[Any]) -> None:
        """
        C{running} is the work: L{_cancel} stops it.
        """
        self._running = running

    def _cancel(self) -> None:
        """
        Stop the work (it sees L{gone} or L{timedOut} say why).
        """
        if self._running is not None and not self._running.called:
            self._running.cancel()

    def limitTime(self, seconds: float, why: str) -> None:
        """
        Give the work C{seconds} in all from its start, instead of what
        L{serve} gave it (a route's own total timeout).
        """
        if self._timer is not None and self._timer.active():
            self._why = why
            clock = cast(IReactorTime, self._clock)  # set with the timer, by serve
            self._timer.reset(max(0.0, self._since + seconds - clock.seconds()))

    def failedEvent(self, message: str) -> bytes:
        """
        The last event of a stream the work left open: a C{response.failed}
        that echoes nothing of the request.
        """
        return encodeEvent({
            "type": "response.failed", "sequence_number": 0,
            "response": failedResponse(newId("resp_"), now(), "server_error", message)})


def serve(request: Request, work: Callable[[], Coroutine[Any, Any, None]], state: Watch,
          reactor: IReactorTime, seconds: float, why: str) -> None:
    """
    Run C{work()} for C{request}: a client that goes away cancels it, and so
    does C{seconds} passing, with C{state.gone} or C{state.timedOut} (set to
    C{why}) telling the two apart.

    Whatever happens, the request ends: if the work fails or returns with
    the request still open, a last resort (as klein's) answers a 500
    envelope, or ends a started stream with a minimal C{response.failed}.
    """
    # Subscribe before anything runs: a late notifyFinish never fires (twisted#4899).
    finished = request.notifyFinish()
    # The timer exists before the work runs: its first steps may move it.
    state._clock, state._since, state._why = reactor, reactor.seconds(), why
    timer = state._timer = reactor.callLater(seconds, lambda: expire())
    running = Deferred.fromCoroutine(work())
    state.runs(running)

    def clientGone(reason: Any) -> None:
        state.gone = True
        running.cancel()

    def expire() -> None:
        state.timedOut = state._why
        running.cancel()

    def ended(result: Any) -> None:
        if timer.active():
            timer.cancel()
        if isinstance(result, Failure) and not state.gone:
            log.failure("serving {path}", result, path=request.path.decode("latin-1"))
        if not state.gone and not request.finished:
            if not isinstance(result, Failure):
                log.error("serving {path}: the work left the request open",
                          path=request.path.decode("latin-1"))
            _lastResort(request, state, result)

    finished.addErrback(clientGone)
    running.addBoth(ended)


def _lastResort(request: Request, state: Watch, result: Any) -> None:
    reason = type(result.value).__name__ if isinstance(result, Failure) else "unfinished"
    message = "The relay failed ({}).".format(reason)
    try:
        if not request.startedWriting:
            writeError(request, RelayError(500, message, "server_error", "server_error"))
            return
        contentType = request.responseHeaders.getRawHeaders(b"content-type", [b""])[0]
        if b"event-stream" in contentType:
            request.write(state.failedEvent(message))
        request.finish()
    except Exception:
        log.failure("ending {path} after a failure", path=request.path.decode("latin-1"))
        request.loseConnection()


_METHODS = ("GET", "POST", "DELETE")


class EnvelopeResource(Resource):
    """
    A resource whose unsupported methods and unknown children answer with
    an OpenAI error envelope rather than Twisted's HTML pages.
    """

    def getChild(self, path: bytes, request: Request) -> IResource:
        return ErrorResource(RelayError(
            404, "Unknown path {}.".format(request.path.decode("latin-1")),
            code="not_found"))

    def render(self, request: Request) -> bytes | int:
        method = request.method.decode("latin-1")
        # A leaf answers for its own path only: /v1/responses/ID is not
        # /v1/responses (a POST there must not start a new response).
        if not any(hasattr(self, "render_" + m) for m in _METHODS) or (
                self.isLeaf and any(request.postpath or ())):
            return cast(int, self.getChild(b"", request).render(request))
        if not hasattr(self, "render_" + method):
            request.setHeader(b"allow", b", ".join(
                m.encode() for m in _METHODS if hasattr(self, "render_" + m)))
            writeError(request, RelayError(
                405, "Method {} is not allowed on {}.".format(
                    method, request.path.decode("latin-1")), code="method_not_allowed"))
            return NOT_DONE_YET
        return cast("bytes | int", super().render(request))


class ErrorResource(EnvelopeResource):
    isLeaf = True

    def __init__(self, error: RelayError) -> None:
        super().__init__()
        self._error = error

    def render(self, request: Request) -> bytes | int:
        writeError(request, self._error)
        return NOT_DONE_YET


