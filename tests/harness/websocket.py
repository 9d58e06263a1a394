"""
A WebSocket client for the tests, on wsproto over a real loopback
connection: it can send headers (Authorization), binary and oversized
messages, and drop the connection without a close frame, as Codex does.
"""

import json
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    RejectConnection,
    Request,
    TextMessage,
)

TERMINAL = frozenset(("response.completed", "response.incomplete", "response.failed",
                      "error"))


class WebSocketClient(Protocol):
    """
    One client connection.

    @ivar messages: the JSON of every text message received, in order.
    @ivar closeCode: the server's close code, once it closed.
    """

    def __init__(self, path: str, headers: dict[str, str]) -> None:
        self._path = path
        self._headers = headers
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._text = ""
        self.messages: list[dict[str, Any]] = []
        self.closeCode: int | None = None
        self.accepted: Deferred[None] = Deferred()
        self.lost: Deferred[None] = Deferred()
        self._waiting: list[tuple[int, Deferred[list[dict[str, Any]]]]] = []
        self._consumed = 0

    def connectionMade(self) -> None:
        self.transport.write(self._ws.send(Request(
            host="127.0.0.1", target=self._path,
            extra_headers=[(k.encode(), v.encode()) for k, v in self._headers.items()])))

    def dataReceived(self, data: bytes) -> None:
        self._ws.receive_data(data)
        for event in self._ws.events():
            if isinstance(event, AcceptConnection):
                self.accepted.callback(None)
            elif isinstance(event, RejectConnection):
                self.accepted.errback(Exception("rejected {}".format(event.status_code)))
            elif isinstance(event, TextMessage):
                self._text += event.data
                if event.message_finished:
                    self.messages.append(json.loads(self._text))
                    self._text = ""
                    self._wake()
            elif isinstance(event, CloseConnection):
                self.closeCode = event.code
                self.transport.write(self._ws.send(event.response()))
                self.transport.loseConnection()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if not self.accepted.called:
            self.accepted.errback(reason)
        self.lost.callback(None)
        for _, waiting in self._waiting:
            waiting.errback(Exception("connection lost; got {}".format(
                [m.get("type") for m in self.messages])))
        self._waiting = []

    def send(self, message: dict[str, Any] | str | bytes) -> None:
        if isinstance(message, bytes):
            self.transport.write(self._ws.send(BytesMessage(message)))
        else:
            text = message if isinstance(message, str) else json.dumps(message)
            self.transport.write(self._ws.send(TextMessage(text)))

    def sendFragment(self, data: str | bytes, last: bool = False) -> None:
        """
        Send one fragment of a message, the last one when C{last}.
        """
        event = (BytesMessage(data, message_finished=last) if isinstance(data, bytes)
                 else TextMessage(data, message_finished=last))
        self.transport.write(self._ws.send(event))

    def create(self, **body: Any) -> None:
        """
        Send one C{response.create} message.
        """
        self.send(dict(body, type="response.create"))

    def nextAnswer(self) -> Deferred[list[dict[str, Any]]]:
        """
        The messages up to and including the next terminal event (or
        C{error}) not returned before.
        """
        waiting: Deferred[list[dict[str, Any]]] = Deferred()
        self._waiting.append((0, waiting))
        self._wake()
        return waiting

    def drop(self) -> None:
        """
        Go away without a close frame, as Codex ends an exec.
        """
        self.transport.abortConnection()

    def _wake(self) -> None:
        while self._waiting:
            for index in range(self._consumed, len(self.messages)):
                if self.messages[index].get("type") in TERMINAL:
                    answer = self.messages[self._consumed:index + 1]
                    self._consumed = index + 1
                    _, waiting = self._waiting.pop(0)
                    waiting.callback(answer)
                    break
            else:
                return


async def connectWebSocket(case: Any, baseURL: str, headers: dict[str, str] | None = None,
                           path: str = "/v1/responses") -> WebSocketClient:
    """
    A client connected to C{baseURL} (C{http://127.0.0.1:PORT}), dropped
    when C{case} ends.
    """
    port = int(baseURL.rsplit(":", 1)[1].split("/")[0])
    client = WebSocketClient(path, headers or {})
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), client)
    case.addCleanup(lambda: client.lost)
    case.addCleanup(lambda: client.transport.abortConnection())
    await client.accepted
    return client
