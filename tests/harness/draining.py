"""
Graceful shutdown of real relay processes: a scripted upstream whose
streams are slow (L{slowUpstream}: C{"fast"} takes 1.5 s, C{"slow"} a
minute), and L{assertDrains}, which starts streams through a relay, sends
it SIGTERM, and checks what a client sees and when the relay exits.

    upstream = slowUpstream()
    url = await serveUpstream(self, upstream)
    relay = await deferToThread(start, port=0, upstream=url, drain_timeout=3, ...)
    timings = await assertDrains(self, relay, relay.port, upstream, drain=3)

The upstream and the clients run on the test's reactor; every blocking
wait on the relay process runs in a thread.
"""

import errno
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import treq
from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ConnectError, ConnectionRefusedError
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from treq.client import HTTPClient

from tests.harness import oracle
from tests.harness.chunks import finish, text
from tests.harness.upstream import ReceivedRequest, Reply, ScriptedUpstream, Stream
from tests.harness.websocket import connectWebSocket

log = Logger()

INTERVAL = 0.1
FAST = 15  # chunks: 1.5 s
SLOW = 600  # a minute
TERMINAL = ("response.completed", "response.incomplete", "response.failed")
# Seconds a relay may take to exit once its last stream has ended: closing
# its connections, upstream pool and store, stopping the reactor, then the
# interpreter's own finalization.  About 0.25 s on an idle 2-core machine,
# nearly all of it that finalization (the reactor has stopped 10 ms after an
# idle relay's SIGTERM), CPU-bound, so 1.0 leaves a loaded CI machine room; yet
# it is under CLOSE_GRACE (2 s), so a relay that waits out that grace for
# connections it should have closed is caught.
TEARDOWN = 1.0
# A supervisor exits once its workers have: two such teardowns, one after
# the other (0.4 s idle, 0.94 s seen in a CI run).
SUPERVISED_TEARDOWN = 2 * TEARDOWN


def answer(body: Any, received: ReceivedRequest) -> Reply:
    """
    A slow stream: C{FAST} or C{SLOW} chunks, as the request's input says.
    """
    count = FAST if body["messages"][-1]["content"] == "fast" else SLOW
    return Stream([*(text("w ") for _ in range(count)), finish("stop")], interval=INTERVAL)


def slowUpstream() -> ScriptedUpstream:
    return ScriptedUpstream(respond=answer, reactor=reactor)


@dataclass
class Streamed:
    kind: str
    body: bytes
    ended: float  # time.monotonic()


async def stream(web: HTTPClient, baseURL: str, kind: str) -> Streamed:
    response = await web.post(baseURL + "/responses",
                              json={"model": "model-a", "input": kind, "stream": True})
    body = await treq.content(response)
    return Streamed(kind, body, time.monotonic())


class _Idle(Protocol):
    """
    A connection that never sends a byte.
    """

    def __init__(self) -> None:
        self.lost: Deferred[float] = Deferred()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.lost.callback(time.monotonic())


async def untilRefused(port: int, within: float = 2.0) -> float:
    """
    Seconds until a new connection to C{port} is refused.  A reset while
    connecting counts: closing a listening socket resets the connections
    still in its backlog, which were never served.
    """
    began = time.monotonic()
    while time.monotonic() - began < within:
        try:
            connected = await connectProtocol(
                TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=1), Protocol())
        except ConnectionRefusedError:
            return time.monotonic() - began
        except ConnectError as error:
            if error.osError != errno.ECONNRESET:
                raise
            return time.monotonic() - began
        connected.transport.abortConnection()  # type: ignore[union-attr]
        await deferLater(reactor, 0.01, lambda: None)
    raise AssertionError("port {} still accepts {}s after SIGTERM".format(port, within))


async def untilAsked(upstream: ScriptedUpstream, count: int, within: float = 15.0) -> None:
    """
    Wait until the upstream has had C{count} chat requests.
    """
    deadline = time.monotonic() + within
    while sum(r.method == "POST" for r in upstream.requests) < count:
        if time.monotonic() > deadline:
            raise AssertionError("the upstream had {} of {} requests".format(
                sum(r.method == "POST" for r in upstream.requests), count))
        await deferLater(reactor, 0.02, lambda: None)


def exitTime(process: "subprocess.Popen[bytes]", within: float) -> tuple[int, float]:
    """
    In a thread: wait up to C{within} seconds for C{process} to exit.  Its
    status, and when it exited (C{time.monotonic()}), taken here rather than
    once the reactor gets the result, which may be late on a loaded machine.
    """
    status = process.wait(within)
    return status, time.monotonic()


def checkEnding(case: TestCase, streamed: Streamed) -> str:
    """
    The stream is valid and ends with exactly one terminal event: the
    completed response of a fast stream, the retryable failure of a slow
    one.  Its terminal type.
    """
    events = oracle.checkStream(streamed.body)
    terminal = [e["type"] for e in events if e["type"] in TERMINAL]
    case.assertEqual(len(terminal), 1, terminal)
    case.assertEqual(events[-1]["type"], terminal[0])
    if streamed.kind == "fast":
        case.assertEqual(terminal[0], "response.completed")
        case.assertEqual(events[-1]["response"]["output"][0]["content"][0]["text"],
                         "w " * FAST)
    else:
        case.assertEqual(terminal[0], "response.failed")
        case.assertEqual(events[-1]["response"]["error"]["code"], "server_error")
    return terminal[0]


async def assertDrains(case: TestCase, process: "subprocess.Popen[bytes]", port: int,
                       upstream: ScriptedUpstream, web: HTTPClient, drain: float,
                       streams: int = 20, status: int = 0,
                       slow: bool = True, teardown: float = TEARDOWN) -> dict[str, float]:
    """
    With C{streams} streams in flight through the relay C{process} on
    C{port}, half fast and half slow (or, unless C{slow}, all fast), plus an
    idle connection and an idle WebSocket, send the relay SIGTERM; then:

      - new connections are refused at once, while the streams go on;
      - the idle connection and WebSocket (1001) are closed at once;
      - every fast stream completes, every slow one ends with
        C{response.failed} C{server_error} once C{drain} seconds passed,
        each with exactly one terminal event;
      - the relay exits with C{status} within C{teardown} of its last
        stream's end: within C{drain} + C{teardown} of SIGTERM with slow
        streams, and before C{drain} without, since it need not wait out
        the drain timeout once every stream is done.

    @return: the timings measured, seconds after SIGTERM.
    """
    base = "http://127.0.0.1:{}".format(port)
    idle = _Idle()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), idle)
    socket = await connectWebSocket(case, base)
    asked = sum(r.method == "POST" for r in upstream.requests)
    kinds = ["fast", "slow"] * (streams // 2) if slow else ["fast"] * streams
    running = [Deferred.fromCoroutine(stream(web, base + "/v1", kind)) for kind in kinds]
    await untilAsked(upstream, asked + len(kinds))
    await deferLater(reactor, 0.3, lambda: None)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    # Waiting from now on, the exit is timed as it happens, whatever else
    # the test is waiting for.
    exiting = deferToThread(exitTime, process, drain + teardown + 5)
    timings = {"refused": await untilRefused(port)}
    case.assertFalse(any(d.called for d in running), "a stream ended before its time")
    timings["idle closed"] = await idle.lost - signalled
    await socket.lost
    timings["websocket closed"] = time.monotonic() - signalled
    case.assertEqual(socket.closeCode, 1001)
    results: list[Streamed] = await gatherResults(running)
    exited, exitedAt = await exiting
    timings["exit"] = exitedAt - signalled
    case.assertEqual(exited, status)
    for streamed in results:
        checkEnding(case, streamed)
    fast = [r.ended - signalled for r in results if r.kind == "fast"]
    timings["last fast completed"] = max(fast)
    if slow:
        failed = [r.ended - signalled for r in results if r.kind == "slow"]
        timings.update({"first slow failed": min(failed), "last slow failed": max(failed)})
    timings["exit after last stream"] = timings["exit"] - max(r.ended - signalled
                                                              for r in results)
    case.assertLess(max(timings["refused"], timings["idle closed"],
                        timings["websocket closed"]), 1.0, timings)
    case.assertLess(max(fast), drain, timings)
    if slow:
        case.assertGreater(timings["first slow failed"], drain - 0.2, timings)
        case.assertLess(timings["exit"], drain + teardown, timings)
    else:
        case.assertLess(timings["exit"], drain, timings)
    case.assertLess(timings["exit after last stream"], teardown, timings)
    log.info("drain timings after SIGTERM: {timings}", timings=timings)
    print("drain timings after SIGTERM ({} streams, --drain-timeout {:g}): {}".format(
        streams, drain, ", ".join("{} {:.2f}s".format(k, v) for k, v in timings.items())))
    return timings
