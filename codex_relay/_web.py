"""
Web plumbing shared by the relay's resources: OpenAI error envelopes for
unknown paths and methods, and running a request's work under client-gone
and timeout cancellation.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request

from ._errors import RelayError

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
    What L{serve} tells the work it runs.
    """

    gone = False
    timedOut: str | None = None


def serve(request: Request, work: Callable[[], Coroutine[Any, Any, None]], state: Any,
           reactor: Any, seconds: float, why: str) -> None:
    """
    Run C{work()} for C{request}: a client that goes away cancels it, and so
    does C{seconds} passing, with C{state.gone} or C{state.timedOut} (set to
    C{why}) telling the two apart.
    """
    # Subscribe before anything runs: a late notifyFinish never fires (twisted#4899).
    finished = request.notifyFinish()
    running = Deferred.fromCoroutine(work())

    def clientGone(reason: Any) -> None:
        state.gone = True
        running.cancel()

    def expire() -> None:
        state.timedOut = why
        running.cancel()

    finished.addErrback(clientGone)
    timer = reactor.callLater(seconds, expire)
    running.addBoth(lambda result: (timer.cancel() if timer.active() else None, result)[1])
    running.addErrback(lambda failure: None if state.gone else log.failure(
        "serving {path}", failure, path=request.path.decode("latin-1")))


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
        if not any(hasattr(self, "render_" + m) for m in ("GET", "POST")) or (
                self.isLeaf and any(request.postpath)):
            return self.getChild(b"", request).render(request)
        if not hasattr(self, "render_" + method):
            request.setHeader(b"allow", b", ".join(
                m.encode() for m in ("GET", "POST") if hasattr(self, "render_" + m)))
            writeError(request, RelayError(
                405, "Method {} is not allowed on {}.".format(
                    method, request.path.decode("latin-1")), code="method_not_allowed"))
            return NOT_DONE_YET
        return super().render(request)


class ErrorResource(EnvelopeResource):
    isLeaf = True

    def __init__(self, error: RelayError) -> None:
        super().__init__()
        self._error = error

    def render(self, request: Request) -> bytes | int:
        writeError(request, self._error)
        return NOT_DONE_YET


