"""
The replies a L{tests.harness.upstream.ScriptedUpstream} plays, and how a
streamed one is played:

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IDelayedCall
from twisted.python.failure import Failure
from twisted.web.server import NOT_DONE_YET, Request

from tests.harness.chunks import Comment, encode

if TYPE_CHECKING:
    from tests.harness.upstream import ScriptedUpstream

Chunk = dict[str, Any] | bytes | Comment


class Reply:
    """
    Base class of the scripted replies.
    """

    def render(self, request: Request, upstream: "ScriptedUpstream") -> bytes | int:
        raise NotImplementedError()


def errorBody(message: str, type: str, code: str | None = None) -> dict[str, Any]:
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
        upstream.checkTiming(self)
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
        self._upstream.inProgress.add(self._request)
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
        self._upstream.inProgress.discard(self._request)

    def _lost(self, reason: Failure) -> None:
        self.gone = True
        self._upstream.inProgress.discard(self._request)
        if self._call is not None and self._call.active():
            self._call.cancel()
        if not self.dropping:
            self._upstream.clientLeft()
