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

The replies (L{Stream}, L{JSONReply}, L{Hang}, L{Drop}) are in
L{tests.harness.replies}; import them from here with the upstream.
"""

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.web.resource import Resource
from twisted.web.server import Request

from tests.harness.chunks import Comment
from tests.harness.replies import Drop, Hang, JSONReply, Reply, Stream, errorBody

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
        self.inProgress: set[Request] = set()

    def queue(self, *replies: Reply) -> None:
        """
        Add replies for the next chat requests, used in order.
        """
        for reply in replies:
            self.checkTiming(reply)
        self._replies.extend(replies)

    def checkTiming(self, reply: Reply) -> None:
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
        for request in list(self.inProgress):
            if request.channel is not None:
                request.channel.transport.abortConnection()
        self.inProgress.clear()

    def clientLeft(self) -> None:
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
            errorBody("ScriptedUpstream: no reply queued", "server_error"), status=500
        )

    def _render(self, request: Request) -> bytes | int:
        received = self._record(request)
        routes = {
            self.prefix + "/chat/completions": "POST",
            self.prefix + "/models": "GET",
        }
        if received.path not in routes:
            reply: Reply = JSONReply(
                errorBody(
                    f"no route {received.path}", "invalid_request_error", "not_found"
                ),
                status=404,
            )
        elif received.method != routes[received.path]:
            reply = JSONReply(
                errorBody(f"{received.method} not allowed", "invalid_request_error"),
                status=405,
            )
        elif received.method == "GET":
            reply = JSONReply(self.models)
        else:
            reply = self._next(received)
        return reply.render(request, self)
