"""
Responses over WebSocket (C{GET /v1/responses} with C{Upgrade: websocket}),
as Codex speaks it: each C{response.create} text message is one request,
answered by its events, one text frame each.  The connection remembers its
own chain, so a request may send only what is new after
C{previous_response_id} even with C{store: false}; a chain begun elsewhere
comes from the store.
"""

from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import Request
from twisted.web.websocket import WebSocketTransport

from codex_relay._core.errors import RelayError, invalidRequest
from codex_relay._core.stream.response import mapUsage, responseSkeleton
from codex_relay._core.stored import wantsStore
from codex_relay._providers.client_keys import ClientKey
from codex_relay._web.conversations import Histories, storeUnavailable
from codex_relay._web.context import RelayContext
from codex_relay._web.exchange import ResponsesExchange
from codex_relay._web.ids import newId, now
from codex_relay._web.limits import parseJSONBody
from codex_relay._web.outlet import WebSocketOutlet, errorEvent

log = Logger()

# Close codes (RFC 6455 §7.4.1).
GOING_AWAY = 1001
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
# How many responses of its own chain one connection remembers.
_CHAIN = 8
# How many requests may wait for the one in progress.
_PENDING = 4


class _BoundedBuffer:
    """
    Where C{twisted.web.websocket} gathers a message's fragments, with the
    bound it lacks: without one, a client could make the relay hold a
    message of any size before it is delivered.  Past C{limit} characters
    (each at least one byte), the fragments are dropped and C{overflow} is
    called, once; the exact byte count is checked on delivery.
    """

    def __init__(self, empty: str | bytes, limit: int, overflow: Callable[[], None]) -> None:
        self._empty = empty
        self._limit = limit
        self._overflow = overflow
        self._parts: list[Any] = []
        self._size = 0

    def add(self, new: str | bytes | bytearray) -> None:
        if self._size > self._limit:
            return
        self._size += len(new)
        if self._size > self._limit:
            self._parts = []
            self._overflow()
        else:
            self._parts.append(new)

    def done(self) -> Any:
        parts, self._parts, self._size = self._parts, [], 0
        return self._empty.join(parts)


class ResponsesWebSocketFactory:
    """
    Makes the protocol of each upgraded C{/v1/responses} connection.

    @param client: the client key the upgrade was admitted with, if any.
    """

    def __init__(self, context: RelayContext, client: ClientKey | None = None) -> None:
        self._context = context
        self._client = client

    def buildProtocol(self, request: Request) -> "ResponsesWebSocket":
        authorization = request.getHeader(b"authorization")
        return ResponsesWebSocket(
            self._context, request,
            authorization.decode("latin-1") if authorization else None, self._client)


class ResponsesWebSocket:
    """
    One WebSocket connection: its requests in turn, and its chain.
    """

    def __init__(self, context: RelayContext, upgraded: Request,
                 authorization: str | None, client: ClientKey | None = None) -> None:
        self._context = context
        self._upgraded = upgraded
        self._authorization = authorization
        self._client = client
        self._chain = Histories(_CHAIN)
        self._transport: WebSocketTransport | None = None
        self._running: Deferred[None] | None = None
        self._exchange: ResponsesExchange | None = None
        self._closed = False
        self._goingAway = False
        self._pending: deque[dict[str, Any]] = deque()

    def negotiationStarted(self, transport: WebSocketTransport) -> None:
        self._transport = transport
        self._context.activity.sockets.add(self)
        # Twisted 26.10 keeps these two buffers on its wire protocol; were
        # they gone, the check on delivery would still refuse the message.
        limit = self._context.config.maxBodyBytes
        for name, empty in (("_textBuffer", ""), ("_bytesBuffer", b"")):
            if hasattr(transport, name):
                setattr(transport, name, _BoundedBuffer(empty, limit, self._tooBig))

    def goAway(self) -> None:
        """
        The relay is stopping: close (1001) now if no response is in
        progress, else once it has ended.  Requests waiting behind it are
        dropped, and new ones ignored: the client sends them again on its
        next connection.
        """
        self._goingAway = True
        self._pending.clear()
        if self._running is None:
            self._close(GOING_AWAY)

    def negotiationFinished(self) -> None:
        pass

    def pongReceived(self, payload: bytes) -> None:
        pass

    def bytesMessageReceived(self, data: bytes | bytearray) -> None:
        if self._closed:
            return
        if len(data) > self._context.config.maxBodyBytes:
            self._tooBig()
            return
        self._refuse(invalidRequest(
            "Send response.create as a text message; binary messages are not understood.",
            None, "invalid_message"))

    def _tooBig(self) -> None:
        log.info("WS /v1/responses: a message over {limit} bytes; closing",
                 limit=self._context.config.maxBodyBytes)
        self._close(MESSAGE_TOO_BIG)

    def textMessageReceived(self, message: str) -> None:
        if self._closed:
            # The rest of a message cut short by _tooBig.
            return
        limit = self._context.config.maxBodyBytes
        if len(message) > limit and len(message.encode("utf-8")) > limit:
            self._tooBig()
            return
        try:
            body = self._request(message)
        except RelayError as error:
            self._refuse(error)
            return
        if self._goingAway:
            return
        if self._running is None:
            self._begin(body)
        elif len(self._pending) < _PENDING:
            # The client may send the next request as soon as it has the
            # terminal event, before this exchange has wound down: it waits.
            self._pending.append(body)
        else:
            self._refuse(invalidRequest(
                "Too many requests are waiting on this connection; wait for their "
                "terminal events.", None, "too_many_pending"))

    def _begin(self, body: dict[str, Any]) -> None:
        if body.pop("generate", True) is False:
            self._start(self._prewarm(body))
        else:
            self._start(self._respond(body))

    def connectionLost(self, reason: Failure) -> None:
        # Codex ends an exec by dropping the connection: cancel as over HTTP.
        self._closed = True
        self._context.activity.sockets.discard(self)
        if self._exchange is not None:
            self._exchange.gone = True
        if self._running is not None:
            self._running.cancel()

    def _request(self, message: str) -> dict[str, Any]:
        body = parseJSONBody(message.encode("utf-8"))
        if not isinstance(body, dict):
            raise invalidRequest("A message must be a JSON object.", None, "invalid_message")
        kind = body.pop("type", None)
        if kind != "response.create":
            raise invalidRequest(
                "Unknown message type {!r}; this endpoint takes response.create.".format(kind),
                "type", "invalid_message")
        if not isinstance(body.get("generate", True), bool):
            raise invalidRequest("'generate' must be a boolean.", "generate", "invalid_type")
        # Events are the only answer a WebSocket has.
        body["stream"] = True
        return body

    def _start(self, work: Any) -> None:
        running = self._running = Deferred.fromCoroutine(work)
        if self._exchange is not None:
            # Made before the work's first await, so before _running was set.
            self._exchange.runs(running)

        def done(result: object) -> None:
            self._running = self._exchange = None
            if isinstance(result, Failure) and not self._closed:
                log.failure("WS /v1/responses", result)
                self._close(POLICY_VIOLATION if result.check(RelayError) else 1011)
            if self._goingAway:
                self._close(GOING_AWAY)
            if self._pending and not self._closed:
                self._begin(self._pending.popleft())

        running.addBoth(done)

    async def _respond(self, body: dict[str, Any]) -> None:
        assert self._transport is not None
        client, gate = self._client, self._context.gate
        if client is not None and gate is not None:
            try:
                gate.take(client)
            except RelayError as error:
                gate.refused("websocket", client, error)
                self._refuse(error)
                return
        exchange = self._exchange = ResponsesExchange(
            self._context, self._outlet(body), self._chain)
        if client is not None:
            exchange.client, exchange.key = client.name, client
        if self._running is not None:
            exchange.runs(self._running)
        total = self._context.config.totalTimeout
        timer = self._context.reactor.callLater(total, self._expire, exchange, total)
        try:
            await exchange.run()
        finally:
            if timer.active():
                timer.cancel()
        if not exchange.answered and not self._closed:
            # Never leave Codex waiting on a response without an end.
            exchange.lastResort("The relay failed to finish the response.")

    def _expire(self, exchange: ResponsesExchange, seconds: float) -> None:
        exchange.timedOut = "The response took longer than {:g} seconds.".format(seconds)
        if self._running is not None:
            self._running.cancel()

    async def _prewarm(self, body: dict[str, Any]) -> None:
        """
        C{generate: false}: nothing goes upstream.  The input is remembered
        as the start of the chain, and answered by an empty response.
        """
        assert self._transport is not None
        conversations = self._context.conversations
        owner = conversations.owner(self._authorization)
        if not isinstance(body.get("model"), str):
            self._refuse(invalidRequest("'model' must be a string.", "model", "invalid_type"))
            return
        try:
            expanded = await conversations.expand(body, owner, self._chain)
        except RelayError as error:
            self._refuse(error)
            return
        response = responseSkeleton(body, newId("resp_"), now())
        started = [{"type": kind, "sequence_number": number, "response": dict(response)}
                   for number, kind in enumerate(("response.created", "response.in_progress"))]
        response.update(status="completed", completed_at=now(), usage=mapUsage({}))
        try:
            await conversations.keep(expanded, owner, response, wantsStore(body),
                                     self._chain)
        except Exception as error:
            self._refuse(storeUnavailable(error, None))
            return
        self._outlet(body).writeEvents([*started, {
            "type": "response.completed", "sequence_number": 2, "response": response}])

    def _outlet(self, body: dict[str, Any]) -> WebSocketOutlet:
        assert self._transport is not None
        return WebSocketOutlet(self._transport, self._upgraded, body, self._authorization)

    def _refuse(self, error: RelayError) -> None:
        if self._transport is not None and not self._closed:
            self._transport.sendTextMessage(errorEvent(error))

    def _close(self, code: int) -> None:
        if self._transport is not None and not self._closed:
            self._closed = True
            self._transport.loseConnection(code)
