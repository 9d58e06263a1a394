"""
A fast fake Chat Completions upstream on plain asyncio, for the peer
benchmarks (bench/peers.py starts it in its own process).

    python bench/upstream.py      # prints its port

It answers by the request's model:
  - C{one}: one content chunk; the whole answer in one write;
  - C{burst64}: 64 content chunks; the whole answer in one write;
  - C{drip25}: the head and the role chunk at once, then DRIP_TOKENS
    content chunks, 25 ms apart;
  - C{hold}: the role chunk and one content chunk, then nothing, the
    stream held open until the client goes.
Every content token starts with MARKER, which nothing else carries, so a
client sees the first content bytes by looking for it, in a relay's
C{response.output_text.delta} or in the upstream's own Chat chunk.
"""

import asyncio
import json
import re
import resource
from typing import Any

MARKER = b"Zq"
MODELS = ("one", "burst64", "drip25", "hold")


def raiseFdLimit() -> int:
    """
    Raise this process's soft RLIMIT_NOFILE to its hard limit (children
    inherit it); return the new soft limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _sse(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return b"data: " + json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0,
        "model": "bench", "choices": [{"index": 0, "delta": delta,
                                       "finish_reason": finish}]}).encode() + b"\n\n"


def _token(i: int) -> bytes:
    return _sse({"content": MARKER.decode() + "{} ".format(i)})


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


ROLE = _sse({"role": "assistant", "content": ""})
HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")


def _end(tokens: int) -> bytes:
    return _sse({}, "stop") + b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk",' \
        b'"created":0,"model":"bench","choices":[],"usage":{"prompt_tokens":9,' \
        b'"completion_tokens":%d,"total_tokens":%d}}\n\ndata: [DONE]\n\n' % (tokens, tokens + 9)


def _whole(tokens: int) -> bytes:
    body = ROLE + b"".join(_token(i) for i in range(tokens)) + _end(tokens)
    return HEAD + _chunk(body) + b"0\r\n\r\n"


ANSWERS = {"one": _whole(1), "burst64": _whole(64)}
DRIP_TOKENS, DRIP_GAP = 3, 0.025
MODEL = re.compile(rb'"model"\s*:\s*"([^"]*)"')


def _response(status: str, body: bytes, kind: bytes = b"application/json") -> bytes:
    return b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s" % (
        status.encode(), kind, len(body), body)


MODEL_LIST = _response("200 OK", json.dumps({"object": "list", "data": [
    {"id": name, "object": "model", "created": 0, "owned_by": "bench"}
    for name in MODELS]}).encode())
NOT_FOUND = _response("404 Not Found", b'{"error":{"message":"not found"}}')


class _Upstream(asyncio.Protocol):
    """
    One upstream connection: HTTP/1.1 requests (Content-Length or chunked
    bodies) one after the other.
    """

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""
        self.timers: list[asyncio.TimerHandle] = []

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in self.timers:
            timer.cancel()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            method, target = head[0].split(" ")[:2]
            headers = dict(line.lower().split(":", 1) for line in head[1:])
            rest = self.buffer[end + 4:]
            if "chunked" in headers.get("transfer-encoding", ""):
                body, rest = _unchunk(rest)
                if body is None:
                    return
            else:
                length = int(headers.get("content-length", "0"))
                if len(rest) < length:
                    return
                body, rest = rest[:length], rest[length:]
            self.buffer = rest
            self.answer(method, target, body)

    def answer(self, method: str, target: str, body: bytes) -> None:
        if method == "GET" and target.endswith("/models"):
            self.transport.write(MODEL_LIST)
            return
        if method != "POST" or not target.endswith("/chat/completions"):
            self.transport.write(NOT_FOUND)
            return
        found = MODEL.search(body)
        model = found.group(1).decode() if found else ""
        if model in ANSWERS:
            self.transport.write(ANSWERS[model])
        elif model == "hold":
            self.transport.write(HEAD + _chunk(ROLE + _token(0)))
        elif model == "drip25":
            self.transport.write(HEAD + _chunk(ROLE))
            loop = asyncio.get_running_loop()
            self.timers = [loop.call_later(DRIP_GAP * (i + 1), self.drip, i)
                           for i in range(DRIP_TOKENS)]
        else:
            self.transport.write(NOT_FOUND)

    def drip(self, i: int) -> None:
        if self.transport.is_closing():
            return
        last = i == DRIP_TOKENS - 1
        self.transport.write(_chunk(_token(i) + (_end(DRIP_TOKENS) if last else b""))
                             + (b"0\r\n\r\n" if last else b""))


def _unchunk(data: bytes) -> tuple[bytes | None, bytes]:
    body, pos = b"", 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            return None, data
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            if data.find(b"\r\n", end + 2) != end + 2:
                return None, data  # (no trailers expected)
            return body, data[end + 4:]
        if len(data) < end + 2 + size + 2:
            return None, data
        body += data[end + 2:end + 2 + size]
        pos = end + 2 + size + 2


def serveUpstream() -> None:
    raiseFdLimit()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            _Upstream, "127.0.0.1", 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


if __name__ == "__main__":
    serveUpstream()
