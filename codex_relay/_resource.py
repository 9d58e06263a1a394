"""
The Resource tree: C{/v1/responses}, C{/v1/models}, C{/health}, and an
OpenAI error envelope for everything else.
"""

import json
from collections.abc import Callable, Coroutine
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request

import treq

from ._config import RelayConfig
from ._errors import RelayError, mapUpstreamError
from ._exchange import ResponsesExchange, unreachable, writeError
from ._upstream import UpstreamClient

log = Logger()


def _serve(request: IRequest, work: Callable[[], Coroutine[Any, Any, None]], state: Any,
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


class _EnvelopeResource(Resource):
    """
    A resource whose unsupported methods and unknown children answer with
    an OpenAI error envelope rather than Twisted's HTML pages.
    """

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        return ErrorResource(RelayError(
            404, "Unknown path {}.".format(request.path.decode("latin-1")),
            code="not_found"))

    def render(self, request: IRequest) -> bytes:
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


class ErrorResource(_EnvelopeResource):
    isLeaf = True

    def __init__(self, error: RelayError) -> None:
        super().__init__()
        self._error = error

    def render(self, request: IRequest) -> bytes:
        writeError(request, self._error)
        return NOT_DONE_YET


class ResponsesResource(_EnvelopeResource):
    """
    C{POST /v1/responses}.
    """

    isLeaf = True

    def __init__(self, config: RelayConfig, client: UpstreamClient, reactor: Any) -> None:
        super().__init__()
        self._config = config
        self._client = client
        self._reactor = reactor

    def render_GET(self, request: IRequest) -> int:
        # Codex with supports_websockets = true asks to upgrade here first;
        # 426 makes it fall back to HTTP at once, where 405 costs five retries.
        upgrade = (request.getHeader(b"upgrade") or b"").lower()
        if upgrade == b"websocket":
            writeError(request, RelayError(
                426, "codex-relay serves the Responses API over HTTP streaming, not "
                "WebSocket; set supports_websockets = false.", code="websocket_unsupported"))
        else:
            request.setHeader(b"allow", b"POST")
            writeError(request, RelayError(
                405, "Method GET is not allowed on /v1/responses; POST a request.",
                code="method_not_allowed"))
        return NOT_DONE_YET

    def render_POST(self, request: IRequest) -> int:
        exchange = ResponsesExchange(self._config, self._client, self._reactor, request)
        _serve(request, exchange.run, exchange, self._reactor, self._config.totalTimeout,
               "The response took longer than {:g} seconds.".format(
                   self._config.totalTimeout))
        return NOT_DONE_YET


class ModelsResource(_EnvelopeResource):
    """
    C{GET /v1/models}, proxied with the relay's credentials.
    """

    isLeaf = True

    def __init__(self, config: RelayConfig, client: UpstreamClient, reactor: Any) -> None:
        super().__init__()
        self._config = config
        self._client = client
        self._reactor = reactor

    def render_GET(self, request: IRequest) -> int:
        state = _Watch()
        # The whole model list is due within the headers timeout.
        _serve(request, lambda: self._proxy(request, state), state, self._reactor,
               self._config.headersTimeout,
               "The upstream sent no model list within {:g} seconds.".format(
                   self._config.headersTimeout))
        return NOT_DONE_YET

    async def _proxy(self, request: IRequest, state: "_Watch") -> None:
        authorization = request.getHeader(b"authorization")
        try:
            response = await self._client.getModels(
                authorization.decode("latin-1") if authorization else None)
            body = await treq.content(response)
        except Exception as error:
            if not request.finished and request.channel is not None:
                writeError(request, RelayError(
                    504, state.timedOut, "server_error", "upstream_timeout")
                    if state.timedOut else unreachable(error, "model list"))
            return
        if response.code >= 300:  # redirects are not followed: an error too
            writeError(request, mapUpstreamError(response.code, body, None,
                                                 self._config.retryAfter))
            return
        try:
            json.loads(body)
        except ValueError:
            writeError(request, RelayError(502, "The upstream model list is not JSON.",
                                           "server_error", "bad_upstream_response"))
            return
        request.setHeader(b"content-type", b"application/json")
        request.write(body)
        request.finish()


class _Watch:
    gone = False
    timedOut: str | None = None


class HealthResource(_EnvelopeResource):
    isLeaf = True

    def render_GET(self, request: IRequest) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return b'{"status":"ok"}'


def relayResource(config: RelayConfig, reactor: Any,
                  client: UpstreamClient | None = None) -> IResource:
    """
    The relay's resource tree, to serve or to mount under an existing one.

    @param client: the upstream client; one with its own pool is made when
        omitted (close it with the service that owns it).
    """
    if client is None:
        client = UpstreamClient.fromConfig(reactor, config)
    root = _EnvelopeResource()
    v1 = _EnvelopeResource()
    root.putChild(b"v1", v1)
    root.putChild(b"health", HealthResource())
    v1.putChild(b"responses", ResponsesResource(config, client, reactor))
    v1.putChild(b"models", ModelsResource(config, client, reactor))
    return root


class LimitedRequest(Request):
    """
    A request that stops storing its body past a size limit, so a huge
    upload cannot fill memory or disk; the resource then answers 413.
    """

    bodyTooLarge = False
    _received = 0

    def __init__(self, *args: Any, maxBodyBytes: int = 32 * 1024 * 1024,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.maxBodyBytes = maxBodyBytes

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > self.maxBodyBytes:
            self.bodyTooLarge = True
        super().gotLength(None if self.bodyTooLarge else length)

    def handleContentChunk(self, data: bytes) -> None:
        self._received += len(data)
        if self._received > self.maxBodyBytes:
            self.bodyTooLarge = True
        if not self.bodyTooLarge:
            super().handleContentChunk(data)
