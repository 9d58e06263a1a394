"""
What the benchmarks share: a fast fake Chat Completions upstream in its own
process, the relay as a child process, and a raw HTTP/1.1 client (h11 on a
Twisted protocol) that counts the bytes it writes and times each request to
its first output delta.

    python bench/loopback.py      # the fake upstream alone; prints its port

The upstream answers every chat completion with a little reasoning and one
exec_command call whose arguments carry the number of messages it was sent,
so a benchmark can check two paths showed it the same conversation.
"""

import json
import os
import subprocess
import sys
import time
from typing import Any

import h11
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol

from codex_relay import start

TERMINAL = (b"response.completed", b"response.incomplete", b"response.failed", b"error")
AUTHORIZATION = "Bearer bench"


def serveChat() -> None:
    from twisted.internet import reactor
    from twisted.web.resource import Resource
    from twisted.web.server import Site

    calls = [0]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return b"data: " + json.dumps({
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0,
            "model": "bench", "choices": [{"index": 0, "delta": delta,
                                           "finish_reason": finish}]}).encode() + b"\n\n"

    class Chat(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setHeader(b"content-type", b"application/json")
            return json.dumps({"object": "list", "data": [
                {"id": "bench", "object": "model", "created": 0, "owned_by": "bench"}]}).encode()

        def render_POST(self, request: Any) -> bytes:
            messages = len(json.loads(request.content.read())["messages"])
            calls[0] += 1
            arguments = json.dumps({"cmd": "sed -n 1,80p src/part_{}.py".format(calls[0]),
                                    "workdir": "/repo", "messages": messages})
            request.setHeader(b"content-type", b"text/event-stream")
            return b"".join([
                chunk({"role": "assistant", "content": ""}),
                *[chunk({"reasoning_content": "I should read the next part. "})] * 4,
                chunk({"tool_calls": [{"index": 0, "id": "call_{}".format(calls[0]),
                                       "type": "function", "function": {
                                           "name": "exec_command", "arguments": ""}}]}),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}),
                chunk({}, "tool_calls"),
                b'data: {"choices":[],"usage":{"prompt_tokens":9000,"completion_tokens":40}}'
                b"\n\n", b"data: [DONE]\n\n"])

    port = reactor.listenTCP(0, Site(Chat()), interface="127.0.0.1")
    print(port.getHost().port, flush=True)
    reactor.run()


def startChat() -> tuple["subprocess.Popen[bytes]", str]:
    """
    The fake upstream in a child process, and its base URL.
    """
    chat = subprocess.Popen([sys.executable, os.path.abspath(__file__)],
                            stdout=subprocess.PIPE)
    assert chat.stdout is not None
    return chat, "http://127.0.0.1:{}/v1".format(int(chat.stdout.readline()))


def startRelay(upstream: str, store: str) -> "subprocess.Popen[bytes]":
    return start(port=0, upstream=upstream, store=store, secret="bench", log_level="warn")


def stop(process: "subprocess.Popen[bytes]") -> None:
    process.terminate()
    process.wait()


def cpuSeconds(pid: int) -> float:
    """
    The user and system CPU time process C{pid} used so far (Linux).
    """
    with open("/proc/{}/stat".format(pid)) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Clients: one raw connection each, counting the bytes they write.

class Wire(Protocol):
    def __init__(self) -> None:
        self.sent = 0
        self.onData: Any = None

    def write(self, data: bytes) -> None:
        self.sent += len(data)
        self.transport.write(data)

    def dataReceived(self, data: bytes) -> None:
        self.onData(data)

    def close(self, abort: bool = False) -> None:
        transport: Any = self.transport
        if abort:
            transport.abortConnection()
        else:
            transport.loseConnection()


class Timing:
    """
    One request: the bytes sent, when it was sent (perf_counter), and the
    seconds until its first output delta and until its terminal event.
    """

    def __init__(self, sent: int) -> None:
        self.bytes = sent
        self.start = time.perf_counter()
        self.firstDelta: float | None = None
        self.total: float | None = None
        self.terminal: dict[str, Any] | None = None
        self.done: Deferred[None] = Deferred()

    def event(self, kind: bytes, data: bytes) -> None:
        if self.firstDelta is None and kind.endswith(b".delta"):
            self.firstDelta = time.perf_counter() - self.start
        if kind in TERMINAL:
            self.total = time.perf_counter() - self.start
            self.terminal = json.loads(data)


async def connect(port: int) -> Wire:
    from twisted.internet import reactor
    wire = Wire()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), wire)
    return wire


class HTTPClient:
    """
    POST /v1/responses on one keep-alive connection, read as SSE.
    """

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self._h11 = h11.Connection(h11.CLIENT)
        self._buffer = b""
        self._timing: Timing | None = None
        wire.onData = self._received

    async def post(self, body: dict[str, Any], path: str = "/v1/responses") -> Timing:
        data = json.dumps(body).encode()
        head = self._h11.send(h11.Request(method="POST", target=path, headers=[
            ("host", "127.0.0.1"), ("content-type", "application/json"),
            ("accept", "text/event-stream"), ("authorization", AUTHORIZATION),
            ("content-length", str(len(data)))]))
        wire = (head or b"") + (self._h11.send(h11.Data(data=data)) or b"") + (
            self._h11.send(h11.EndOfMessage()) or b"")
        timing = self._timing = Timing(len(wire))
        self.wire.write(wire)
        await timing.done
        return timing

    def _received(self, data: bytes) -> None:
        self._h11.receive_data(data)
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                return
            timing = self._timing
            assert timing is not None
            if isinstance(event, h11.Response):
                assert event.status_code == 200, event
            elif isinstance(event, h11.Data):
                self._buffer += bytes(event.data)
                *events, self._buffer = self._buffer.split(b"\n\n")
                for text in events:
                    lines = dict(line.split(b": ", 1) for line in text.split(b"\n"))
                    if b"data" in lines:
                        timing.event(lines.get(b"event", b""), lines[b"data"])
            elif isinstance(event, h11.EndOfMessage):
                self._h11.start_next_cycle()
                self._timing = None
                timing.done.callback(None)
                return



if __name__ == "__main__":
    serveChat()
