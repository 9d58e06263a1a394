"""
Where one streamed request spends the relay's time: the relay runs in this
process under cProfile, the fake upstream (bench/upstream.py) in its own,
and a client thread sends sequential one-chunk streams.

    python bench/profile_request.py [--requests N] [--top N] [--callees PATTERN]

Prints the top entries by own time and by cumulative time.  A profile, not
a figure: use bench/latency.py for the overhead against the Rust relay.
"""

import argparse
import cProfile
import http.client
import json
import pstats
import subprocess
import sys
import threading

sys.path.insert(0, ".")

from twisted.internet import reactor  # noqa: E402

from codex_relay._run.service import RelayService  # noqa: E402
from codex_relay._web.config import RelayConfig  # noqa: E402


def upstreamPort() -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, "bench/upstream.py"], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline().split()[-1])


def drive(port: int, warm: int, count: int, profile: cProfile.Profile) -> None:
    body = json.dumps({"model": "one", "input": "hi", "stream": True, "store": False})
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
    parser.add_argument("--callees", default=None,
                        help="also print what functions matching this pattern call")
    args = parser.parse_args()
    upstream, port = upstreamPort()
    try:
        service = RelayService(RelayConfig(upstream="http://127.0.0.1:{}/v1".format(port),
                                           store="none"), reactor,
                               ["tcp:0:interface=127.0.0.1"])
        service.startService()
        profile = cProfile.Profile()

        def listening(ports: list) -> None:
            threading.Thread(target=drive, daemon=True, args=(
                ports[0].getHost().port, 20, args.requests, profile)).start()

        service.listening.addCallback(listening)
        reactor.run()
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
