"""
Where one streamed request spends the relay's time: the relay runs in this
process under cProfile, the fake upstream (bench/upstream.py) in its own,
and a client thread sends sequential one-chunk streams.

    python bench/profile_request.py [--requests N] [--top N] [--callees PATTERN]

Prints the top entries by own time and by cumulative time.  A profile, not
a figure: use bench/latency.py for the overhead against the Rust relay.

    python bench/profile_request.py --split [--requests N] [--model burst64]

Instead of a profile, the median time of each leg of one request, without a
profiler, as the relay's sockets see it: from its first read of the request
to the upstream request sent, from there to its first read of the answer,
and from that to the first delta sent.
"""

import argparse
import cProfile
import http.client
import json
import pstats
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

sys.path.insert(0, ".")

from twisted.internet import reactor  # noqa: E402

from codex_relay._run.service import RelayService  # noqa: E402
from codex_relay._web.config import RelayConfig  # noqa: E402


def upstreamPort() -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, "bench/upstream.py"], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline().split()[-1])


class Legs:
    """
    Timestamps of one request at a time (the driver is sequential), taken
    by wrapping the four places a leg begins or ends.
    """

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self.legs: list[tuple[float, float, float]] = []
        self.recording = False

    def enable(self) -> None:
        self.recording = True

    def disable(self) -> None:
        self.recording = False

    def mark(self, name: str) -> None:
        if self.recording and name not in self.marks:
            self.marks[name] = time.perf_counter()
        if name == "delta" and len(self.marks) == 4:
            m = self.marks
            self.legs.append((m["sent"] - m["read"], m["answered"] - m["sent"],
                              m["delta"] - m["answered"]))
        if name == "delta":
            self.marks = {}

    def install(self) -> None:
        # On the sockets, so each leg is what the wire sees: the client's
        # request read, the upstream request sent, the upstream's answer
        # read, and the first delta's bytes sent.
        from twisted.internet import tcp

        def wrap(cls: type, method: str, name: str, needle: bytes | None = None) -> None:
            original = getattr(cls, method)

            def wrapped(this: object, *a: Any) -> Any:
                if needle is None or needle in bytes(a[0]):
                    self.mark(name)
                return original(this, *a)
            setattr(cls, method, wrapped)

        wrap(tcp.Server, "doRead", "read")
        wrap(tcp.Client, "writeSomeData", "sent")
        wrap(tcp.Client, "doRead", "answered")
        wrap(tcp.Server, "writeSomeData", "delta", b"output_text.delta")

    def report(self) -> None:
        print("{} requests, median ms: request read -> upstream request sent {:.3f}; "
              "-> upstream's answer read {:.3f}; -> first delta sent {:.3f}".format(
                  len(self.legs), *(1000 * statistics.median(leg[i] for leg in self.legs)
                                    for i in range(3))))


def drive(port: int, model: str, warm: int, count: int, profile: Any) -> None:
    body = json.dumps({"model": model, "input": "hi", "stream": True, "store": False})
    connection = http.client.HTTPConnection("127.0.0.1", port)

    def send(n: int) -> None:
        for _ in range(n):
            connection.request("POST", "/v1/responses", body,
                               {"Content-Type": "application/json"})
            connection.getresponse().read()

    send(warm)
    # cProfile sees the thread it is enabled on: the reactor's.
    reactor.callFromThread(profile.enable)
    send(count)
    reactor.callFromThread(profile.disable)
    reactor.callFromThread(reactor.stop)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--model", default="one",
                        help="the answer's shape: one, burst64 or drip25 (bench/upstream.py)")
    parser.add_argument("--split", action="store_true",
                        help="time the legs of a request instead of profiling")
    parser.add_argument("--callees", default=None,
                        help="also print what functions matching this pattern call")
    args = parser.parse_args()
    upstream, port = upstreamPort()
    try:
        service = RelayService(RelayConfig(upstream="http://127.0.0.1:{}/v1".format(port),
                                           store="none"), reactor,
                               ["tcp:0:interface=127.0.0.1"])
        service.startService()
        legs = Legs()
        profile: Any = cProfile.Profile()
        if args.split:
            legs.install()
            profile = legs

        def listening(ports: list) -> None:
            threading.Thread(target=drive, daemon=True, args=(
                ports[0].getHost().port, args.model, 20, args.requests, profile)).start()

        service.listening.addCallback(listening)
        reactor.run()
        if args.split:
            print("$ python bench/profile_request.py --split --requests {} --model {}".format(
                args.requests, args.model))
            legs.report()
            return
        print("$ python bench/profile_request.py --requests {}".format(args.requests))
        stats = pstats.Stats(profile).strip_dirs()
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        if args.callees:
            stats.print_callees(args.callees)
    finally:
        upstream.terminate()


if __name__ == "__main__":
    main()
