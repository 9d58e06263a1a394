"""
Where one exchange's answer goes: an HTTP response (Server-Sent Events or
one JSON body), or a WebSocket connection (one text frame per event, and
errors as C{error} events).  The exchange writes to either the same way.
"""

import json
from typing import Any, Protocol

from twisted.internet.interfaces import IPushProducer
from twisted.web.server import Request
from twisted.web.websocket import WebSocketTransport

from codex_relay._core.errors import RelayError
from codex_relay._core.sse import SSEDecoder
from codex_relay._core.stream.encoding import EventEncoder
from codex_relay._web.limits import readJSONBody
from codex_relay._web.serving import writeError


class Outlet(Protocol):
    """
    @ivar transport: C{http} or C{websocket}.
    @ivar authorization: the client's C{Authorization} header, if any.
    """

    transport: str
    authorization: str | None

    def readBody(self, limit: int) -> Any:
        """
        The client's request, parsed (a L{RelayError} when it cannot be).
        """

    def startStream(self) -> None:
        """
        Events follow.
        """

    def writeEvents(self, events: list[dict[str, Any]]) -> None:
        ...

    def writeStreamBytes(self, data: bytes) -> None:
        """
        Server-Sent Events passed through as they came.
        """

    def writeJSON(self, body: bytes, status: int) -> None:
        """
        The whole answer, for a client that did not ask for a stream.
        """

    def writeError(self, error: RelayError) -> None:
        """
        C{error}, before any event went out.
        """

    def finish(self) -> None:
        ...

    def registerProducer(self, producer: IPushProducer) -> None:
        ...

    def unregisterProducer(self) -> None:
        ...


class HTTPOutlet:
    """
    The answer to one HTTP request.
    """

    transport = "http"

    def __init__(self, request: Request) -> None:
        self._request = request
        self._encode = EventEncoder().sse
        authorization = request.getHeader(b"authorization")
        self.authorization = authorization.decode("latin-1") if authorization else None

    def readBody(self, limit: int) -> Any:
        return readJSONBody(self._request, limit)

    def startStream(self) -> None:
        request = self._request
        request.setHeader(b"content-type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"x-accel-buffering", b"no")

    def writeEvents(self, events: list[dict[str, Any]]) -> None:
        encode = self._encode
        self._request.write(b"".join([encode(e) for e in events]))

    def writeStreamBytes(self, data: bytes) -> None:
        self._request.write(data)

    def writeJSON(self, body: bytes, status: int) -> None:
        request = self._request
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json")
        request.write(body)
        request.finish()

    def writeError(self, error: RelayError) -> None:
        writeError(self._request, error)

    def finish(self) -> None:
        self._request.finish()

    def registerProducer(self, producer: IPushProducer) -> None:
        self._request.registerProducer(producer, True)

    def unregisterProducer(self) -> None:
        self._request.unregisterProducer()


class WebSocketOutlet:
    """
    The answer to one C{response.create} message on a WebSocket: each event
    its own text frame holding what would be the SSE C{data:} payload.
    """

    transport = "websocket"

    def __init__(self, transport: WebSocketTransport, upgraded: Request, body: Any,
                 authorization: str | None) -> None:
        """
        @param upgraded: the request that became the WebSocket.
        """
        self._transport = transport
        self._upgraded = upgraded
        self._body = body
        self.authorization = authorization
        self._passedThrough: SSEDecoder | None = None
        self._encode = EventEncoder().text

    def readBody(self, limit: int) -> Any:
        return self._body

    def startStream(self) -> None:
        pass

    def writeEvents(self, events: list[dict[str, Any]]) -> None:
        send, encode = self._transport.sendTextMessage, self._encode
        for event in events:
            send(encode(event))

    def writeStreamBytes(self, data: bytes) -> None:
        # A passthrough upstream's SSE, already checked event by event (and
        # so within the event size limit): each event's data is a frame.
        if self._passedThrough is None:
            self._passedThrough = SSEDecoder()
        for event in self._passedThrough.feed(data):
            if event.data != "[DONE]":
                self._transport.sendTextMessage(event.data)

    def writeJSON(self, body: bytes, status: int) -> None:
        self._transport.sendTextMessage(body.decode("utf-8"))

    def writeError(self, error: RelayError) -> None:
        self._transport.sendTextMessage(errorEvent(error))

    def finish(self) -> None:
        pass

    def registerProducer(self, producer: IPushProducer) -> None:
        # The upgraded HTTP channel stays the connection's producer, and
        # hands a full socket's pause on to its request's producer: so
        # register there (attachProducer would find the channel in place).
        self._upgraded.registerProducer(producer, True)

    def unregisterProducer(self) -> None:
        self._upgraded.unregisterProducer()


def errorEvent(error: RelayError) -> str:
    """
    C{error} as the C{error} event of the WebSocket transport: its status
    and its OpenAI envelope.
    """
    envelope = json.loads(error.body())
    # Codex reads a Retry-After from the event's headers.
    headers = {"headers": error.headers} if error.headers else {}
    return json.dumps({"type": "error", "status": error.status, **envelope, **headers},
                      separators=(",", ":"))
