"""
What the peer benchmarks (throughput, latency, memory) share: the fake
Chat upstream of bench/upstream.py in its own process, the two relays as
child processes (this one, and the Rust codex-relay 0.5.8 from PyPI in a
venv of the bench's own), and a raw asyncio HTTP/1.1 keep-alive client that
finds the first content bytes by the upstream's MARKER.
"""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from upstream import MARKER, raiseFdLimit  # noqa: F401  (bench/ is on the path)

RUST_VERSION = "0.5.8"
RUST_VENV = os.path.join(os.environ.get("TMPDIR", "/tmp"), "codex-relay-bench-venv")
UPSTREAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "upstream.py")


def startUpstream() -> tuple["subprocess.Popen[bytes]", str]:
    """
    The fake upstream in a child process, and its base URL.
    """
    process = subprocess.Popen([sys.executable, UPSTREAM],
                               stdout=subprocess.PIPE)
    assert process.stdout is not None
    return process, "http://127.0.0.1:{}/v1".format(int(process.stdout.readline()))


# The relays.

def ourRelay(upstream: str, workers: int = 1) -> "subprocess.Popen[bytes] | str":
    """
    This relay (C{--store none}), or why it cannot run with C{workers}.
    """
    from codex_relay import start
    from codex_relay._run.launch import RelayStartError

    more: dict[str, Any] = {}
    if workers != 1:
        helped = subprocess.run([sys.executable, "-m", "codex_relay", "--help"],
                                capture_output=True, text=True).stdout
        if "--workers" not in helped:
            return "this relay has no --workers option yet"
        more["workers"] = str(workers)  # (0 would be dropped as falsy)
    try:
        return start(port=0, upstream=upstream, store="none", secret="bench",
                     log_level="warn", **more)
    except RelayStartError as error:
        return "this relay did not start with --workers {}: {}".format(
            workers, str(error).splitlines()[0])


def rustBinary() -> str:
    """
    The Rust relay's binary, installed into the bench's own venv the first
    time (never into the project's: both packages are named codex_relay).
    """
    binary = os.path.join(RUST_VENV, "bin", "codex-relay")
    if not os.path.exists(binary):
        print("installing codex-relay=={} into {}".format(RUST_VERSION, RUST_VENV),
              file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", RUST_VENV], check=True)
        subprocess.run([os.path.join(RUST_VENV, "bin", "python"), "-m", "pip", "install",
                        "-q", "codex-relay==" + RUST_VERSION], check=True)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    assert version.split() == ["codex-relay", RUST_VERSION], version
    return binary


def rustRelay(upstream: str) -> "subprocess.Popen[bytes]":
    """
    The Rust codex-relay at its defaults (in-memory history), on a free
    port; the returned process has C{port}.
    """
    env = dict(os.environ, NO_COLOR="1", RUST_LOG="info")
    process = subprocess.Popen([rustBinary(), "--port", "0", "--upstream", upstream],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env)
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    for raw in iter(process.stdout.readline, b""):
        found = re.search(rb"listening on [0-9.]+:(\d+)", re.sub(rb"\x1b\[[0-9;]*m", b"", raw))
        if found:
            process.port = int(found.group(1))  # type: ignore[attr-defined]
            # Keep draining, so that its log never blocks it on a full pipe.
            threading.Thread(target=lambda: [None for _ in process.stdout],  # type: ignore
                             daemon=True).start()
            return process
        if time.monotonic() > deadline:
            break
    process.kill()
    raise RuntimeError("the Rust codex-relay did not listen")


def stop(process: "subprocess.Popen[bytes]") -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tree(pid: int) -> list[int]:
    """
    C{pid} and its descendants (Linux /proc).
    """
    parents: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/{}/stat".format(name)) as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            parents.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += parents.get(found[-1], [])
    return found


def rssKiB(pid: int) -> int:
    """
    VmRSS of C{pid} and its descendants, in KiB.
    """
    total = 0
    for each in tree(pid):
        try:
            with open("/proc/{}/status".format(each)) as status:
                total += sum(int(line.split()[1]) for line in status
                             if line.startswith("VmRSS:"))
        except OSError:
            pass
    return total


def cpuSeconds(pid: int) -> float:
    """
    User and system CPU time of C{pid} and its descendants so far.
    """
    total = 0.0
    for each in tree(pid):
        try:
            with open("/proc/{}/stat".format(each)) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# The client.

def request(path: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    return (b"POST %s HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"accept: text/event-stream\r\nauthorization: Bearer bench\r\n"
            b"content-length: %d\r\n\r\n%s" % (path.encode(), len(data), data))


def responsesRequest(model: str) -> bytes:
    return request("/v1/responses", {"model": model, "input": "hi", "stream": True,
                                     "store": False})


def chatRequest(model: str) -> bytes:
    return request("/v1/chat/completions", {
        "model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]})


class Exchange:
    """
    What one request saw: its status, the seconds from its last byte
    written to the first MARKER read (None if none came), and whether its
    body held C{done}.
    """

    def __init__(self, done: bytes) -> None:
        self.status = 0
        self.start = time.perf_counter()
        self.first: float | None = None
        self.doneMarker = done
        self.done = False
        loop = asyncio.get_running_loop()
        self.started = loop.create_future()  # at the first MARKER
        self.finished = loop.create_future()


class Client(asyncio.Protocol):
    """
    One keep-alive connection, one request at a time: finds the response's
    end by its framing (chunked or Content-Length), and MARKER and the done
    marker in its bytes.
    """

    def __init__(self) -> None:
        self.exchange: Exchange | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.exchange is not None and not self.exchange.finished.done():
            for waiter in (self.exchange.started, self.exchange.finished):
                if not waiter.done():
                    waiter.set_exception(ConnectionError("connection lost"))
        if not self.closed.done():
            self.closed.set_result(None)

    def abort(self) -> None:
        # Going away on purpose: what was in flight is not an error.
        self.exchange = None
        self.transport.abort()

    def send(self, data: bytes, done: bytes = b"response.completed") -> Exchange:
        self.exchange = Exchange(done)
        self.head, self.pending, self.left, self.last, self.tail = b"", b"", 0, False, b""
        self.chunked = True
        self.transport.write(data)
        self.exchange.start = time.perf_counter()
        return self.exchange

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None:
            return
        if not exchange.status:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self.head[:end].lower(), self.head[end + 4:]
            exchange.status = int(head.split(b" ", 2)[1])
            self.chunked = b"transfer-encoding: chunked" in head
            if not self.chunked:
                found = re.search(rb"content-length: *(\d+)", head)
                self.left = int(found.group(1)) if found else 1 << 62
        seen = self.tail + data
        if exchange.first is None and MARKER in seen:
            exchange.first = time.perf_counter() - exchange.start
            exchange.started.set_result(exchange)
        if not exchange.done and exchange.doneMarker in seen:
            exchange.done = True
        self.tail = data[-24:]
        if self._framed(data):
            self.exchange = None
            exchange.finished.set_result(exchange)

    def _framed(self, data: bytes) -> bool:
        # Walks the body's framing; True at its end.
        if not self.chunked:
            self.left -= len(data)
            return self.left <= 0
        if self.pending:
            data, self.pending = self.pending + data, b""
        pos, n = 0, len(data)
        while pos < n:
            if self.left:
                take = min(self.left, n - pos)
                pos += take
                self.left -= take
                continue
            end = data.find(b"\r\n", pos)
            if end < 0:
                self.pending = data[pos:]
                return False
            line, pos = data[pos:end], end + 2
            if self.last:
                if not line:
                    return True
                continue
            size = int(line.split(b";")[0], 16)
            if size:
                self.left = size + 2
            else:
                self.last = True
        return False


class QuickAckClient(Client):
    """
    A L{Client} that acknowledges every read at once (TCP_QUICKACK, which
    Linux clears again as it likes), so that a server whose Nagle waits for
    the ACK of its last small write never waits for a delayed one.
    """

    def data_received(self, data: bytes) -> None:
        self.transport.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        super().data_received(data)


CLIENTS = {"plain": Client, "quickack": QuickAckClient}
CLIENT_HELP = ("plain: an ordinary client (delayed ACKs, as Codex's); quickack: one that "
               "ACKs every read at once, so that a relay without TCP_NODELAY is not "
               "held by Nagle waiting on the client's delayed ACK")


async def connect(port: int, kind: str = "plain") -> Client:
    _, client = await asyncio.get_running_loop().create_connection(
        CLIENTS[kind], "127.0.0.1", port)
    return client


def upstreamPort(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])




def _busy(seconds: float) -> float:
    # Busy for that much wall time; the CPU time it got.
    before, end = time.process_time(), time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return time.process_time() - before


def cpuCapacity(seconds: float = 0.5) -> tuple[int, float]:
    """
    os.cpu_count(), and the cores of CPU that as many busy processes get
    together (their CPU time over the wall clock): a VM's vCPUs may share
    less.
    """
    import multiprocessing

    count = os.cpu_count() or 1
    with multiprocessing.Pool(count) as pool:
        return count, sum(pool.map(_busy, [seconds] * count)) / seconds
