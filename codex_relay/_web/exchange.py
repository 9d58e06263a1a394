"""
One C{POST /v1/responses}: read and translate the client's request, call the
upstream, and stream (or return) the translated answer.  A route with
C{api = "responses"} skips translation: the request and the answer pass
through (L{codex_relay._core.stream.passthrough}).
"""

import json
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.logger import Logger

from codex_relay._providers.adapt import adaptRequest, contentFilter, healedCalls
from codex_relay._web.body import PacedBody, RelayedBody, TranslatingBody
from codex_relay._core.errors import RelayError, upstreamJSONObject
from codex_relay._providers.client_keys import ClientKey, permittedRoute
from codex_relay._core.stream.passthrough import PassthroughStream, forwardedBody
from codex_relay._core.request.tools import Notice
from codex_relay._core.request.translate import translateRequest
from codex_relay._providers.routes import RESPONSES, Route
from codex_relay._core.sse import encodeEvent
from codex_relay._core.stream.translator import StreamTranslator
from codex_relay._core.stream.response import (
    DELTA_EVENTS, KEPT_EVENTS, TERMINAL_EVENTS, failedResponse)
from codex_relay._web.activity import Outcome, printable
from codex_relay._web.calls import UpstreamCall, isSSE
from codex_relay._web.context import RelayContext
from codex_relay._web.ids import newId, now
from codex_relay._web.failures import classify
from codex_relay._core.stored import inputItems, wantsStore
from codex_relay._web.conversations import Expanded, Histories
from codex_relay._web.outlet import Outlet
from codex_relay._web.serving import Watch

log = Logger()


class ResponsesExchange(Watch):
    """
    The life of one Responses request.  L{run} writes every outcome to the
    client, unless the client has gone; what it cannot write, L{serve}'s
    last resort ends.
    """

    _producing = False  # the upstream body is the outlet's producer

    def __init__(self, context: "RelayContext", outlet: Outlet,
                 local: Histories | None = None) -> None:
        """
        @param local: the chain of the WebSocket connection the request
            came on.
        """
        self._context = context
        self._config = context.config
        self._client = context.client
        self._reactor = context.reactor
        self._outlet = outlet
        self._local = local
        self._translator: StreamTranslator | None = None
        self._passthrough: PassthroughStream | None = None
        self._streaming = False
        self._ended = False  # a terminal event reached the client
        self._status = 200
        self._wroteJSON = False
        # Keeps a finished response (set once the request is expanded).
        self._keep: Callable[[dict[str, Any]], Awaitable[None]] | None = None
        self._keeping: Deferred[None] = succeed(None)
        self._model = "-"
        self._routeName = "-"
        self._errorCode: str | None = None
        self._firstDelta: float | None = None
        self._started = self._reactor.seconds()
        # The client key's name, and the key, set by the resource that admitted it.
        self.client = "-"
        self.key: ClientKey | None = None

    @property
    def answered(self) -> bool:
        """
        Whether the client has its whole answer: a terminal event, a JSON
        body or an error.
        """
        return self._ended or self._status != 200 or self._wroteJSON

    def lastResort(self, message: str) -> None:
        """
        End an exchange that could not end itself.
        """
        events = self._events
        if self._streaming and (events is None or events.finished):
            self._endStream(message)
        else:  # a stream's own failure closes its open items first
            self._fail(RelayError(500, message, "server_error", "server_error"))

    async def run(self) -> None:
        self._context.activity.began(self)
        try:
            await self._relay()
        except Exception as error:
            if self.gone:
                return
            # A response being kept ends with its own terminal event.
            await self._keeping
            answer = classify(error, self.timedOut)
            if answer.status == 500:
                log.failure("{model}: relay error", model=self._model)
            elif not isinstance(error, RelayError):
                log.warn("{model}: upstream failed: {error!r}", model=self._model,
                         error=error)
            self._fail(answer)
        finally:
            self._context.activity.ended(self, self._outcome())

    def failedEvent(self, message: str) -> bytes:
        # The ids the stream already announced, and nothing the client sent.
        return encodeEvent(self.failedEventObject(message))

    def failedEventObject(self, message: str) -> dict[str, Any]:
        events = self._events
        started = getattr(events, "response", None) or {}
        responseId, createdAt = started.get("id"), started.get("created_at")
        return {
            "type": "response.failed",
            "sequence_number": getattr(events, "nextSequence", 0),
            "response": failedResponse(
                responseId if isinstance(responseId, str) else newId("resp_"),
                createdAt if isinstance(createdAt, int) else now(),
                "server_error", message)}

    async def _relay(self) -> None:
        body = self._outlet.readBody(self._config.maxBodyBytes)
        route = None
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            # As the logs and metrics see it: a lone surrogate cannot be written.
            self._model = printable(body["model"])
            route = permittedRoute(self._context.table, self.key, body["model"])
            self._routeName = route.upstream.name if route is not None else "-"
        if route is not None and route.api == RESPONSES:
            # Nothing to translate: the upstream judges the request itself.
            await self._passThrough(body, route)
            return
        settings = self._context.settingsFor(route)
        conversations = self._context.conversations
        owner = conversations.owner(self._outlet.authorization)
        expanded = await conversations.expand(body, owner, self._local)
        chat = translateRequest(expanded.body, settings)
        self._keep = partial(conversations.keep, expanded, owner, store=wantsStore(body),
                             local=self._local)
        if route is None:
            raise RelayError(404, "No upstream serves the model '{}'.".format(self._model),
                             code="model_not_found", param="model")
        self._limitTime(route)
        notes = adaptRequest(
            chat.body, route.profile, route.upstreamModel, extraParams=route.extraParams,
            dropParams=(*route.dropParams, *self._context.learned.rejected(
                route.upstream.name, route.upstreamModel)),
            withholdTools=route.withholdTools, heal=route.heal,
            maxTokensField=settings.maxTokensField, reasoningField=settings.reasoningField)
        for warning in chat.warnings:
            if not isinstance(warning, Notice):
                log.warn("{model}: {note}", model=self._model, note=printable(str(warning)))
            elif self._context.firstNotice(warning.key):
                log.info("{note} (said once per process)", note=warning)
        for note in notes:
            log.info("{model}: {note}", model=self._model, note=printable(note))
        healer = contentFilter(route.profile, route.heal, chat.body.get("tools"))
        translator = self._translator = StreamTranslator(
            body, chat, settings, contentFilter=healer, ids=newId, clock=now)
        response = await self._call(route).send(chat)
        if isSSE(response):
            if chat.stream:
                self._startStream()
            await self._streamBody(response, route)
            self._emit(translator.finish())
            for warning in translator.warnings:
                log.warn("{model}: {note}", model=self._model, note=printable(str(warning)))
        else:
            # A whole completion, asked for or not: read it before any byte
            # goes out, so a bad body is still an HTTP error.
            completion = upstreamJSONObject(await self._call(route).content(response))
            if chat.stream:
                self._startStream()
            self._emit(translator.feedChunk(completion))
            self._emit(translator.finish(doneMarker=True))
        if healedCalls(healer):
            log.warn("{model}: healed {count} tool call(s) leaked into the text (dsml)",
                     model=self._model, count=healedCalls(healer))
        await self._keeping
        if not chat.stream:
            self._writeJSON(translator.response)
        else:
            self._endStream()

    async def _keepThen(self, keep: "Callable[[dict[str, Any]], Awaitable[None]]",
                        terminal: dict[str, Any]) -> None:
        """
        Keep the response, then write its terminal event: a client that
        continues it at once finds it.
        """
        try:
            await keep(terminal["response"])
        except CancelledError:
            raise
        except Exception as error:
            # The answer stands; only continuing it by id will fail.  The
            # store's failure, not the relay's: no traceback.
            log.error("{model}: storing the response failed: {error!r}",
                      model=self._model, error=error)
        self._write([terminal])

    async def _passThrough(self, body: dict[str, Any], route: Route) -> None:
        """
        Relay C{body} to a route whose upstream serves C{/responses} itself,
        with only C{model} renamed, and its answer back unchanged: a stream
        byte for byte (ended with C{response.failed} if the upstream's
        lacks a terminal event), a whole body with the upstream's status.
        No translation, profile adaptation or parameter retry applies.

        On a WebSocket, a C{previous_response_id} of the connection's own
        chain is expanded here: the upstream never saw that chain (Codex
        sends C{store: false}), so it gets the whole history instead.
        """
        self._limitTime(route)
        stream = self._passthrough = PassthroughStream(body, ids=newId, clock=now)
        expanded, owner = await self._expandLocally(body)
        call = self._call(route)
        response = await call.post("/responses",
                                    forwardedBody(expanded.body, route.upstreamModel),
                                    body.get("stream") is True)
        if response.code >= 300:
            raise call.error(response, await call.content(response))
        if not isSSE(response):
            raw = await call.content(response)
            stream.whole(raw)
            self._writeJSON(raw, response.code)
            return
        # The stream starts with the first whole event: until then an
        # error is still an HTTP error.
        await self._pump(response, RelayedBody(
            stream, self._forward, self._reactor,
            self._client.idleTimeout(route.upstream),
            self._config.maxEventBytes), register=True)
        if not stream.finished:
            raise RelayError(502, "The upstream's stream ended without a terminal event.",
                             "server_error", "upstream_error")
        if self._local is not None and stream.response.get("status") in (
                "completed", "incomplete") and isinstance(stream.response.get("id"), str):
            await self._context.conversations.keep(expanded, owner, stream.response, False,
                                                   self._local)
        if not self.gone:
            self._endStream()

    async def _expandLocally(self, body: dict[str, Any]) -> tuple[Expanded, str]:
        conversations = self._context.conversations
        owner = conversations.owner(self._outlet.authorization)
        previous = body.get("previous_response_id")
        if self._local is not None and isinstance(previous, str) and (
                self._local.get(owner, previous) is not None):
            return await conversations.expand(body, owner, self._local), owner
        received = inputItems(body.get("input"))
        return Expanded(body, received, received, None, []), owner

    def _limitTime(self, route: Route) -> None:
        total = route.upstream.totalTimeout
        if total is not None:
            self.limitTime(total, "The response took longer than {:g} seconds.".format(total))

    def _forward(self, data: bytes) -> None:
        if not self._streaming:
            self._startStream()
        if not self.gone:
            self._outlet.writeStreamBytes(data)
            self._ended = self._passthrough is not None and self._passthrough.finished

    def _call(self, route: Route) -> UpstreamCall:
        return UpstreamCall(self._context, route, self._outlet.authorization, self,
                            self._model, self.key)

    def _startStream(self) -> None:
        self._outlet.startStream()
        self._streaming = True
        if self._translator is not None:
            self._emit(self._translator.start())

    def _emit(self, events: list[dict[str, Any]]) -> None:
        keep = self._keep
        if keep is not None and events and events[-1]["type"] in KEPT_EVENTS:
            self._keep = None
            self._write(events[:-1])
            self._keeping = Deferred.fromCoroutine(self._keepThen(keep, events[-1]))
            return
        self._write(events)

    def _write(self, events: list[dict[str, Any]]) -> None:
        if self._firstDelta is None and any(e["type"] in DELTA_EVENTS for e in events):
            self._firstDelta = self._reactor.seconds() - self._started
        if self._streaming and not self.gone and events:
            self._outlet.writeEvents(events)
            self._ended = events[-1]["type"] in TERMINAL_EVENTS

    def _endStream(self, message: str = "The stream ended without a terminal event.") -> None:
        """
        Finish a started stream, never without its terminal event.
        """
        if not self._ended:
            self._outlet.writeEvents([self.failedEventObject(message)])
            self._ended = True
        self._outlet.finish()

    async def _streamBody(self, response: Any, route: Route) -> None:
        assert self._translator is not None
        await self._pump(response, TranslatingBody(
            self._translator, self._emit, self._reactor,
            self._client.idleTimeout(route.upstream),
            self._config.maxEventBytes), register=self._streaming)

    async def _pump(self, response: Any, body: PacedBody, register: bool) -> None:
        """
        Deliver the upstream body into C{body} and wait until it is done;
        with C{register}, a client that stops reading pauses the upstream.
        """
        response.deliverBody(body)
        producer = body.producer if register else None
        registered = self._producing = producer is not None
        if producer is not None:
            self._outlet.registerProducer(producer)
        try:
            await body.done
        finally:
            self._producing = False
            if registered and not self.gone:
                self._outlet.unregisterProducer()

    def _writeJSON(self, response: dict[str, Any] | bytes, status: int = 200) -> None:
        if self.gone:
            return
        self._status = status
        self._wroteJSON = True
        self._outlet.writeJSON(response if isinstance(response, bytes)
                               else json.dumps(response).encode("utf-8"), status)

    @property
    def _events(self) -> StreamTranslator | PassthroughStream | None:
        """
        What makes the Responses events: the translator, or the watched
        passthrough stream.
        """
        return self._translator if self._translator is not None else self._passthrough

    def _fail(self, error: RelayError) -> None:
        if self.gone:
            return
        events = self._events
        if self._streaming and events is not None:
            code = error.code if error.code in (
                "context_length_exceeded", "insufficient_quota", "rate_limit_exceeded"
            ) else "server_error"
            self._emit(events.fail(code, error.message))
            self._endStream(error.message)
            return
        self._status = error.status
        self._errorCode = error.code
        self._outlet.writeError(error)

    def _outcome(self) -> Outcome:
        events = self._events
        finished = events is not None and events.finished
        response = events.response if events is not None else {}
        error = response.get("error") if finished else None
        return Outcome(
            transport=self._outlet.transport, route=self._routeName, model=self._model,
            client=self.client, http=self._status,
            status=(response.get("status") or "-") if finished else "-",
            code=error.get("code") if isinstance(error, dict) else self._errorCode,
            usage=events.usage if events is not None else None,
            firstDelta=self._firstDelta, seconds=self._reactor.seconds() - self._started,
            gone=self.gone)

    def shutDown(self, message: str) -> None:
        """
        The relay is stopping: end at once, with a retryable C{server_error}
        so that Codex tries again elsewhere.
        """
        if self.answered or self.gone:
            return
        if self._producing:  # a request must not finish with a producer registered
            self._producing = False
            self._outlet.unregisterProducer()
        self.lastResort(message)
        self.gone = True
        self._cancel()
