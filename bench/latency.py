"""
What a relay adds to the time to the first content delta, this relay
against the Rust codex-relay 0.5.8, each over the upstream's own Chat
stream, in the same run.

    python bench/latency.py [--requests 200] [--warmup 10] [--clients plain,quickack]

For three answer shapes of bench/upstream.py: C{one} (one content chunk),
C{burst64} (64 content chunks arriving in one write) and C{drip25} (the
role chunk at once, then the tokens 25 ms apart), the time from a
request's last byte written to the first bytes of its first content delta
read: through the Rust relay (at its defaults), through this relay
(C{--store none}, one process), and direct to the upstream (its first Chat
content chunk).  Each path has one keep-alive connection; the requests are
sequential, the paths interleaved in rotating order, C{--requests} of each
after C{--warmup}.  Figures: medians, the overheads (relay - direct) and
ours' overhead minus Rust's, against the goal "ours <= rust + 0.25 ms".

C{--clients}: each client kind is a separate table.  The Rust relay does
not set TCP_NODELAY on its client connections, so with an ordinary client
(delayed ACKs) Nagle holds its second small write until the client's
delayed ACK (about 40 ms); the quickack client ACKs every read at once,
which shows the relays' own work.
"""

import argparse
import asyncio
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import (  # noqa: E402  (bench/ is on the path)
    CLIENT_HELP, chatRequest, connect, cpuCapacity, ourRelay, responsesRequest, rustRelay,
    startUpstream, stop, upstreamPort)

SHAPES = {"one": "one chunk", "burst64": "64 chunks, one read",
          "drip25": "tokens 25 ms apart"}
GOAL_MS = 0.25


async def firstDeltas(ports: dict[str, int], client: str, model: str, requests: int,
                      warmup: int) -> dict[str, list[float]]:
    """
    Per path, the seconds to the first content bytes of C{requests}
    requests, the paths interleaved.
    """
    paths = list(ports)
    clients = {name: await connect(port, client) for name, port in ports.items()}
    times: dict[str, list[float]] = {name: [] for name in paths}
    for i in range(warmup + requests):
        shift = i % len(paths)
        for name in paths[shift:] + paths[:shift]:
            if name == "direct":
                data, done = chatRequest(model), b"[DONE]"
            else:
                data, done = responsesRequest(model), b"response.completed"
            exchange = await clients[name].send(data, done).finished
            assert exchange.status == 200 and exchange.done and exchange.first is not None, (
                name, model, exchange.status, exchange.done)
            if i >= warmup:
                times[name].append(exchange.first)
    for each in clients.values():
        each.transport.close()
    return times


def report(client: str, results: dict[str, dict[str, list[float]]]) -> None:
    print("\nclient: {}".format(client))
    print("{:<22} {:>9} {:>9} {:>9}   {:>9} {:>9}   {:>11}  {}".format(
        "shape (medians, ms)", "rust", "ours", "direct", "rust-dir", "ours-dir",
        "ours-rust", "goal ours <= rust + {} ms".format(GOAL_MS)))
    for model, times in results.items():
        rust, ours, direct = (statistics.median(times[name]) * 1000
                              for name in ("rust", "ours", "direct"))
        difference = (ours - direct) - (rust - direct)
        print("{:<22} {:>9.3f} {:>9.3f} {:>9.3f}   {:>9.3f} {:>9.3f}   {:>+11.3f}  {}".format(
            SHAPES[model], rust, ours, direct, rust - direct, ours - direct, difference,
            "met" if difference <= GOAL_MS else "missed by {:.3f} ms".format(
                difference - GOAL_MS)))
    print("  p90 (ms): " + "; ".join("{} {}".format(model, " ".join(
        "{} {:.3f}".format(name, statistics.quantiles(times[name], n=10)[-1] * 1000)
        for name in ("rust", "ours", "direct"))) for model, times in results.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--clients", default="plain,quickack", help=CLIENT_HELP)
    args = parser.parse_args()
    print("$ python bench/latency.py " + " ".join(sys.argv[1:]))
    count, cores = cpuCapacity()
    print("{} requests per path and shape after {} warm-up, sequential, interleaved; "
          "{} CPUs giving {:.2f} cores to {} busy processes".format(
              args.requests, args.warmup, count, cores, count))
    upstream, url = startUpstream()
    relays = {"rust": rustRelay(url), "ours": ourRelay(url, 1)}
    try:
        if isinstance(relays["ours"], str):
            raise SystemExit(relays["ours"])
        ports = {name: relay.port for name, relay in relays.items()}  # type: ignore
        ports["direct"] = upstreamPort(url)
        for client in args.clients.split(","):
            results = {model: asyncio.run(firstDeltas(ports, client, model, args.requests,
                                                      args.warmup))
                       for model in SHAPES}
            report(client, results)
    finally:
        for relay in relays.values():
            if not isinstance(relay, str):
                stop(relay)
        stop(upstream)


if __name__ == "__main__":
    main()
