"""
A Codex session over WebSocket against the same session over HTTP, through
one relay (C{--store memory}) and one fast fake Chat upstream.

    python bench/websocket.py [--repeats N] [--turns N]

The session is Codex's: the captured base instructions, permissions,
environment and 9 tools of tests/fixtures/codex_request_fallback.json
(about 40 KB), a prompt, then C{--turns} tool turns; the model answers every
request with a tool call, and each tool turn sends its function_call_output
(about 2.5 KB, a made-up source file).
  - HTTP: one keep-alive connection, every request the whole history (SSE);
  - WebSocket: one connection, a C{generate: false} prewarm with the base
    instructions, then each request C{previous_response_id} and only its new
    input (CODEX.md section 9), the tools every time.
Figures, WebSocket against HTTP in the same run: the bytes the client sent
(per request, and in all with the handshake and prewarm), and as ratios
only, the time from a request's first byte sent to its first output delta
(median over repeats, and over every request and repeat), the time of
the whole session, and the relay process's CPU time (from /proc, less
disturbed by a busy machine than the clock).  Both clients are the same
raw Twisted protocol (h11 or wsproto), counting what they write.  The
upstream, a subprocess, puts the number of messages it received in each
tool call: both transports must show it the same conversation.
"""

import argparse
import json
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, ".")

from twisted.internet.defer import Deferred  # noqa: E402
from wsproto import ConnectionType, WSConnection  # noqa: E402
from wsproto.events import AcceptConnection, Request, TextMessage  # noqa: E402

from loopback import (  # noqa: E402  (bench/ is on the path when run as a script)
    AUTHORIZATION, TERMINAL, HTTPClient, Timing, Wire, connect, cpuSeconds, startChat,
    startRelay, stop)

FIXTURE = "tests/fixtures/codex_request_fallback.json"


class WebSocketClient:
    """
    response.create messages on one WebSocket, one event per text message.
    """

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._text = ""
        self._timing: Timing | None = None
        self._accepted: Deferred[None] = Deferred()
        wire.onData = self._received

    async def handshake(self) -> None:
        self.wire.write(self._ws.send(Request(
            host="127.0.0.1", target="/v1/responses", extra_headers=[
                (b"authorization", AUTHORIZATION.encode()),
                (b"openai-beta", b"responses_websockets=2026-02-06")])))
        await self._accepted

    async def create(self, body: dict[str, Any]) -> Timing:
        frame = self._ws.send(TextMessage(json.dumps(dict(body, type="response.create"))))
        timing = self._timing = Timing(len(frame))
        self.wire.write(frame)
        await timing.done
        return timing

    def _received(self, data: bytes) -> None:
        self._ws.receive_data(data)
        for event in self._ws.events():
            if isinstance(event, AcceptConnection):
                self._accepted.callback(None)
            elif isinstance(event, TextMessage):
                self._text += event.data
                if event.message_finished:
                    raw, self._text = self._text.encode(), ""
                    kind = json.loads(raw)["type"].encode()
                    timing = self._timing
                    assert timing is not None
                    timing.event(kind, raw)
                    if kind in TERMINAL:
                        self._timing = None
                        timing.done.callback(None)
            else:
                raise AssertionError("unexpected {!r}".format(event))


# The session.

def codexSession(turns: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """
    The body's other fields, the base input (instructions, permissions,
    environment, prompt) and one function_call_output per tool turn, but
    for its call_id.
    """
    captured = json.load(open(FIXTURE))
    fields = {k: v for k, v in captured.items() if k != "input"}
    fields["model"] = "bench"
    base = captured["input"][:4]
    outputs = []
    for turn in range(turns):
        # What `sed -n` of a source file prints, made up so it never changes.
        text = "".join("{:5d}\tdef handle_{}_{}(request, body):\n{:5d}\t    return "
                       "respond(request, {{'turn': {}, 'line': {}}})\n".format(
                           2 * n + 1, turn, n, 2 * n + 2, turn, n) for n in range(24))
        outputs.append({
            "type": "function_call_output",
            "id": "fco_00000000-0000-4000-8000-{:012d}".format(turn),
            "output": "Chunk ID: {:06x}\nWall time: 0.0123 seconds\nProcess exited with code 0"
                      "\nOriginal token count: {}\nOutput:\n{}".format(turn, len(text) // 4, text)})
    return fields, base, outputs


def answered(timing: Timing) -> tuple[list[dict[str, Any]], str]:
    """
    The output of a completed response, and its tool call's call_id.
    """
    assert timing.terminal is not None and timing.terminal["type"] == "response.completed", \
        timing.terminal
    output = timing.terminal["response"]["output"]
    [call] = [item for item in output if item["type"] == "function_call"]
    return output, call["call_id"]


def seen(timing: Timing) -> int:
    return int(json.loads(answered(timing)[0][-1]["arguments"])["messages"])


async def overHTTP(port: int, turns: int) -> tuple[list[Timing], int, float]:
    fields, base, outputs = codexSession(turns)
    began = time.perf_counter()
    client = HTTPClient(await connect(port))
    history = list(base)
    timings = []
    for turn in range(turns + 1):
        timing = await client.post(dict(fields, input=history))
        timings.append(timing)
        output, callId = answered(timing)
        history = history + output
        if turn < turns:
            history.append(dict(outputs[turn], call_id=callId))
    elapsed = time.perf_counter() - began
    client.wire.close()
    return timings, client.wire.sent, elapsed


async def overWebSocket(port: int, turns: int) -> tuple[list[Timing], int, float]:
    fields, base, outputs = codexSession(turns)
    began = time.perf_counter()
    client = WebSocketClient(await connect(port))
    await client.handshake()
    prewarm = await client.create(dict(fields, generate=False, input=base[:1]))
    assert prewarm.terminal is not None and prewarm.terminal["type"] == "response.completed"
    previous = prewarm.terminal["response"]["id"]
    new = base[1:]
    timings = []
    for turn in range(turns + 1):
        timing = await client.create(dict(fields, previous_response_id=previous, input=new))
        timings.append(timing)
        _, callId = answered(timing)
        previous = timing.terminal["response"]["id"]  # type: ignore[index]
        if turn < turns:
            new = [dict(outputs[turn], call_id=callId)]
    elapsed = time.perf_counter() - began
    # Codex ends an exec by dropping the connection.
    client.wire.close(abort=True)
    return timings, client.wire.sent, elapsed


def median(values: list[float]) -> float:
    return statistics.median(values)


async def run(reactor: Any, repeats: int, turns: int) -> None:
    chat, upstream = startChat()
    relay = None
    try:
        relay = startRelay(upstream, "memory")
        port = relay.port  # type: ignore[attr-defined]
        # One session each first, to warm both paths up; not counted.
        await overHTTP(port, turns)
        await overWebSocket(port, turns)
        runs: dict[str, list[tuple[list[Timing], int, float]]] = {"http": [], "ws": []}
        cpu = {"http": 0.0, "ws": 0.0}
        for repeat in range(repeats):
            # Alternate which goes first, so drift falls on both.
            order = [("http", overHTTP), ("ws", overWebSocket)]
            for name, session in order if repeat % 2 == 0 else order[::-1]:
                before = cpuSeconds(relay.pid)
                runs[name].append(await session(port, turns))
                cpu[name] += cpuSeconds(relay.pid) - before
    finally:
        if relay is not None:
            stop(relay)
        stop(chat)
    report(runs, repeats, turns)
    print("relay CPU time (user+system, all sessions): WS/HTTP {:.2f}x".format(
        cpu["ws"] / cpu["http"]))


def report(runs: dict[str, list[tuple[list[Timing], int, float]]], repeats: int,
           turns: int) -> None:
    http, ws = runs["http"], runs["ws"]
    for one, other in zip(http, ws):
        assert [seen(t) for t in one[0]] == [seen(t) for t in other[0]], \
            "the upstream saw different conversations"
    print("{} requests per session (a prompt, then {} tool turns); {} sessions each, "
          "interleaved, after one each to warm up".format(turns + 1, turns, repeats))
    print("{:<10} {:>8} {:>10} {:>10} {:>9}   {:>17}".format(
        "request", "messages", "HTTP bytes", "WS bytes", "WS/HTTP", "first delta WS/HTTP"))
    deltas: dict[str, list[float]] = {"http": [], "ws": []}
    for turn in range(turns + 1):
        each = {name: [r[0][turn] for r in runs[name]] for name in runs}
        first = {name: [t.firstDelta or 0.0 for t in each[name]] for name in runs}
        assert all(first["http"] + first["ws"]), "a response without an output delta"
        for name in runs:
            deltas[name] += first[name]
        sent = {name: each[name][0].bytes for name in runs}
        print("{:<10} {:>8} {:>10} {:>10} {:>8.3f}x   {:>16.2f}x".format(
            "prompt" if turn == 0 else "tool {}".format(turn), seen(each["http"][0]),
            sent["http"], sent["ws"], sent["ws"] / sent["http"],
            median(first["ws"]) / median(first["http"])))
    total = {"http": http[0][1], "ws": ws[0][1]}
    requests = sum(t.bytes for t in ws[0][0])
    print("client bytes in all: HTTP {}, WS {} (requests {}, handshake and prewarm {}): "
          "WS/HTTP {:.3f}x".format(total["http"], total["ws"], requests,
                                   total["ws"] - requests, total["ws"] / total["http"]))
    print("first output delta, median over every request and session: WS/HTTP {:.2f}x time"
          .format(median(deltas["ws"]) / median(deltas["http"])))
    print("whole session (connect, handshake and prewarm included), median: "
          "WS/HTTP {:.2f}x time".format(
              median([r[2] for r in ws]) / median([r[2] for r in http])))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--turns", type=int, default=8)
    options = parser.parse_args()
    from twisted.internet.task import react
    print("$ python bench/websocket.py --repeats {} --turns {}".format(
        options.repeats, options.turns))
    react(lambda reactor: Deferred.fromCoroutine(run(reactor, options.repeats, options.turns)))


if __name__ == "__main__":
    main()
