"""
A scripted Chat Completions upstream: a twisted.web resource that answers
with canned replies and records what it was sent.

In memory::

    upstream = ScriptedUpstream(reactor=clock)
    upstream.queue(Stream([text("Hel"), text("lo"), finish("stop")]),
                   JSONReply({"error": {"message": "slow down"}}, status=429))
    client = StubTreq(upstream.resource)     # flush() after each step

On a real loopback port::

    port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
        Site(upstream.resource))
    self.addCleanup(port.stopListening)
    self.addCleanup(upstream.abortAll)       # if a Hang may still be open

Routes (below C{prefix}, default C{/v1}):

  - C{POST /v1/chat/completions}: the next reply, from C{respond(body,
    received)} if a callable was given, else from the L{queue} (a 500 with
    an OpenAI error envelope when the queue is empty);
  - C{GET /v1/models}: C{models} (a one-model list by default);
  - anything else: 404 (405 for a wrong method), OpenAI error envelope.

Every request is recorded in C{requests} as a L{ReceivedRequest}.
C{disconnects} counts clients that went away before a streamed reply
finished (seen through C{notifyFinish}), not the connections a L{Drop}
cut itself; L{ScriptedUpstream.whenDisconnected} waits for the next one.

Replies:

  - L{Stream}: SSE chunks (dicts, raw bytes or L{Comment}), then
    C{data: [DONE]} unless C{done=False}; C{interval} seconds apart (needs
    C{reactor}); headers are flushed before the first chunk.
  - L{JSONReply}: a plain JSON (or raw bytes) body with any status.
  - L{Hang}: headers (unless C{headers=False}) and C{chunks}, then nothing.
  - L{Drop}: like L{Stream}, then the connection is closed (or aborted
    with C{abort=True}) without C{[DONE]}.

A reply holds no per-request state, so one instance may be served many
times.
"""

import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from tests.harness.chunks import Comment, encode

__all__ = [
    "Comment",
    "DEFAULT_MODELS",
    "Drop",
    "Hang",
    "JSONReply",
    "ReceivedRequest",
    "Reply",
    "ScriptedUpstream",
    "Stream",
]

DEFAULT_MODELS: dict[str, Any] = {
    "object": "list",
    "data": [{"id": "model-a", "object": "model", "created": 0, "owned_by": "test"}],
}

Chunk = dict[str, Any] | bytes | Comment


@dataclass
class ReceivedRequest:
    """
    One request as the upstream saw it.

    @ivar headers: lower-case names; repeated headers joined with C{", "}.
    @ivar json: the decoded body, or L{None} if it was not JSON.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any


class Reply:
    """
    Base class of the scripted replies.
    """

    def render(self, request: Request, upstream: "ScriptedUpstream") -> bytes | int:
        raise NotImplementedError()


def _errorBody(message: str, type: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


def _setHeaders(
    request: Request, defaults: dict[str, str], headers: dict[str, str]
) -> None:
    merged = {k.lower(): v for k, v in defaults.items()}
    merged.update({k.lower(): v for k, v in headers.items()})
    for name, value in merged.items():
        request.setHeader(name.encode("latin-1"), value.encode("latin-1"))


@dataclass
class JSONReply(Reply):
    """
    A complete JSON answer: an error, or a non-streaming completion.
    """

    body: dict[str, Any] | list[Any] | bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def render(self, request: Request, upstream: "ScriptedUpstream") -> bytes:
        request.setResponseCode(self.status)
        _setHeaders(request, {"content-type": "application/json"}, self.headers)
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode("utf-8")


@dataclass
class Stream(Reply):
    """
    An SSE answer.  C{interval} seconds pass between chunks (and before
    C{[DONE]}); the first chunk goes out with the headers.
    """

    chunks: Sequence[Chunk] = ()
    done: bool = True
    interval: float = 0.0
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    lineEnd: str = "\n"

    def blocks(self) -> list[bytes]:
        blocks = [encode(c, self.lineEnd) for c in self.chunks]
        if self.done:
            end = self.lineEnd.encode("ascii")
            blocks.append(b"data: [DONE]" + end + end)
        return blocks

    def end(self, request: Request, player: "_Player") -> None:
        request.finish()

    def render(self, request: Request, upstream: "ScriptedUpstream") -> int:
        upstream._checkTiming(self)
        request.setResponseCode(self.status)
        _setHeaders(
            request,
            {"content-type": "text/event-stream", "cache-control": "no-cache"},
            self.headers,
        )
        # Twisted sends the headers with the first write only (P10).
        request.write(b"")
        _Player(upstream, request, self.blocks(), self.interval, self.end).start()
        return NOT_DONE_YET


@dataclass
class Drop(Stream):
    """
    Stream C{chunks}, then cut the connection without C{[DONE]} or the
    final empty chunk, so the client sees a truncated body.

    @ivar abort: C{abortConnection} (an RST on TCP) instead of
        C{loseConnection}.  On real sockets an abort discards what is still
        in the write buffer, so the chunks may never arrive; the default
        close delivers them first.  In memory both deliver them.
    """

    done: bool = False
    abort: bool = False

    def end(self, request: Request, player: "_Player") -> None:
        player.dropping = True
        transport = request.channel.transport
        if self.abort:
            transport.abortConnection()
        else:
            transport.loseConnection()


@dataclass
class Hang(Reply):
    """
    Send the headers (unless C{headers} is false) and C{chunks}, then never
    finish.  The client's departure is counted in C{disconnects}.
    """

    chunks: Sequence[Chunk] = ()
    headers: bool = True
    status: int = 200

    def render(self, request: Request, upstream: "ScriptedUpstream") -> int:
        if self.headers:
            request.setResponseCode(self.status)
            _setHeaders(request, {"content-type": "text/event-stream"}, {})
            request.write(b"")
            for chunk in self.chunks:
                request.write(encode(chunk))
        _Player(upstream, request, [], 0.0, None).start()
        return NOT_DONE_YET


class _Player:
    """
    Writes the blocks of one streamed reply, then ends it; stops when the
    client goes away.
    """

    def __init__(
        self,
        upstream: "ScriptedUpstream",
        request: Request,
        blocks: list[bytes],
        interval: float,
        end: Callable[[Request, "_Player"], None] | None,
    ) -> None:
        self._upstream = upstream
        self._request = request
        self._blocks = blocks
        self._interval = interval
        self._end = end
        self._next = 0
        self._call: IDelayedCall | None = None
        self.gone = False
        self.dropping = False

    def start(self) -> None:
        self._upstream._open.add(self._request)
        # Subscribe before anything can end the request (P2).
        self._request.notifyFinish().addCallbacks(self._finished, self._lost)
        self._step()

    def _step(self) -> None:
        self._call = None
        while not self.gone and self._next < len(self._blocks):
            if self._next and self._interval:
                self._call = self._upstream.reactor.callLater(  # type: ignore[union-attr]
                    self._interval, self._write
                )
                return
            self._write(step=False)
        if not self.gone:
            self._finish()

    def _write(self, step: bool = True) -> None:
        self._request.write(self._blocks[self._next])
        self._next += 1
        if step:
            self._step()

    def _finish(self) -> None:
        self._call = None
        end, self._end = self._end, None
        if end is not None and not self.gone:
            end(self._request, self)

    def _finished(self, _: object) -> None:
        self._upstream._open.discard(self._request)

    def _lost(self, reason: Failure) -> None:
        self.gone = True
        self._upstream._open.discard(self._request)
        if self._call is not None and self._call.active():
            self._call.cancel()
        if not self.dropping:
            self._upstream._clientLeft()


class _UpstreamResource(Resource):
    isLeaf = True

    def __init__(self, upstream: "ScriptedUpstream") -> None:
        super().__init__()
        self._upstream = upstream

    def render(self, request: Request) -> bytes | int:  # type: ignore[override]
        return self._upstream._render(request)


class ScriptedUpstream:
    """
    The script and the records of a fake Chat Completions upstream.

    @ivar resource: the resource to serve (C{StubTreq} or C{Site}).
    @ivar requests: every request received, in order.
    @ivar disconnects: clients that left before their streamed reply ended.
    @ivar models: the body of C{GET /v1/models}.
    @ivar reactor: used for C{interval} timing only.
    """

    def __init__(
        self,
        respond: Callable[[Any, ReceivedRequest], Reply] | None = None,
        reactor: IReactorTime | None = None,
        models: dict[str, Any] | None = None,
        prefix: str = "/v1",
    ) -> None:
        self.respond = respond
        self.reactor = reactor
        self.models = DEFAULT_MODELS if models is None else models
        self.prefix = prefix.rstrip("/")
        self.requests: list[ReceivedRequest] = []
        self.disconnects = 0
        self.resource = _UpstreamResource(self)
        self._replies: deque[Reply] = deque()
        self._waiters: list[Deferred[None]] = []
        self._open: set[Request] = set()

    def queue(self, *replies: Reply) -> None:
        """
        Add replies for the next chat requests, used in order.
        """
        for reply in replies:
            self._checkTiming(reply)
        self._replies.extend(replies)

    def _checkTiming(self, reply: Reply) -> None:
        if getattr(reply, "interval", 0) and self.reactor is None:
            raise ValueError(
                f"{reply!r} has an interval: use ScriptedUpstream(reactor=...)"
            )

    @property
    def pending(self) -> int:
        """
        How many queued replies are still unused.
        """
        return len(self._replies)

    def whenDisconnected(self) -> Deferred[None]:
        """
        A Deferred that fires at the next client disconnect.
        """
        d: Deferred[None] = Deferred()
        self._waiters.append(d)
        return d

    def abortAll(self) -> None:
        """
        Abort the connections of replies still in progress (test cleanup on
        real sockets, e.g. after a L{Hang}).
        """
        for request in list(self._open):
            if request.channel is not None:
                request.channel.transport.abortConnection()
        self._open.clear()

    def _clientLeft(self) -> None:
        self.disconnects += 1
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(None)

    def _record(self, request: Request) -> ReceivedRequest:
        body = request.content.read() if request.content is not None else b""
        try:
            decoded = json.loads(body) if body else None
        except ValueError:
            decoded = None
        headers = {
            name.decode("latin-1").lower(): ", ".join(
                v.decode("latin-1") for v in values
            )
            for name, values in request.requestHeaders.getAllRawHeaders()
        }
        received = ReceivedRequest(
            method=request.method.decode("ascii"),
            path=request.path.decode("utf-8"),
            headers=headers,
            body=body,
            json=decoded,
        )
        self.requests.append(received)
        return received

    def _next(self, received: ReceivedRequest) -> Reply:
        if self.respond is not None:
            return self.respond(received.json, received)
        if self._replies:
            return self._replies.popleft()
        return JSONReply(
            _errorBody("ScriptedUpstream: no reply queued", "server_error"), status=500
        )

    def _render(self, request: Request) -> bytes | int:
        received = self._record(request)
        routes = {
            self.prefix + "/chat/completions": "POST",
            self.prefix + "/models": "GET",
        }
        if received.path not in routes:
            reply: Reply = JSONReply(
                _errorBody(
                    f"no route {received.path}", "invalid_request_error", "not_found"
                ),
                status=404,
            )
        elif received.method != routes[received.path]:
            reply = JSONReply(
                _errorBody(f"{received.method} not allowed", "invalid_request_error"),
                status=405,
            )
        elif received.method == "GET":
            reply = JSONReply(self.models)
        else:
            reply = self._next(received)
        return reply.render(request, self)
