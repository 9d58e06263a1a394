"""
The relay's resident memory, idle and holding many slow streams, this
relay against the Rust codex-relay 0.5.8 in the same run.

    python bench/memory.py [--streams 1000,2000] [--workers 1,2] [--batch 50]

For each relay, started afresh against one fake upstream (bench/upstream.py,
model C{hold}: the role chunk and one content chunk, then the stream held
open): VmRSS from /proc/PID/status (of the process and its children, so a
C{--workers} supervisor and its workers together) when idle, then while
this process holds each count of concurrent C{stream: true} Responses
requests open (each its own connection, counted once its first content
delta has arrived), and again after it has closed them all.  Rows: the
Rust relay at its defaults, this relay with C{--store none} for each
C{--workers} count (a row is skipped, with why, when the option is not
there).  Figures: MiB, the KiB per held stream, and ratios ours / rust.
The soft RLIMIT_NOFILE is raised to its hard limit here, so the relays and
the upstream inherit it (the upstream raises its own too).
"""

import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import (  # noqa: E402  (bench/ is on the path)
    Client, connect, ourRelay, raiseFdLimit, responsesRequest, rssKiB, rustRelay,
    startUpstream, stop)

SETTLE = 1.0


def settled(pid: int) -> int:
    time.sleep(SETTLE)
    return rssKiB(pid)


async def hold(port: int, count: int, clients: list[Client], batch: int) -> None:
    """
    Open streams until C{clients} holds C{count}, C{batch} at a time, each
    once its first content delta arrived.
    """
    async def one() -> Client:
        client = await connect(port)
        exchange = client.send(responsesRequest("hold"))
        await exchange.started
        assert exchange.status == 200, exchange.status
        return client

    while len(clients) < count:
        clients += await asyncio.gather(*[one() for _ in range(min(batch, count - len(clients)))])


def measure(relay: object, counts: list[int], batch: int) -> dict[str, int]:
    pid, port = relay.pid, relay.port  # type: ignore[attr-defined]
    figures = {"idle": settled(pid)}
    clients: list[Client] = []

    async def run() -> None:
        for count in counts:
            await hold(port, count, clients, batch)
            await asyncio.sleep(SETTLE)
            figures[str(count)] = rssKiB(pid)
        for client in clients:
            client.abort()
        await asyncio.sleep(0.1)

    asyncio.run(run())
    figures["after"] = settled(pid)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", default="1000,2000")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    counts = [int(count) for count in args.streams.split(",")]
    print("$ python bench/memory.py " + " ".join(sys.argv[1:]))
    limit = raiseFdLimit()
    need = 2 * max(counts) + 100
    if limit < need:
        raise SystemExit("RLIMIT_NOFILE {} is below the {} this needs".format(limit, need))
    print("RLIMIT_NOFILE {}; streams opened {} at a time; RSS read {} s after each step".format(
        limit, args.batch, SETTLE))
    upstream, url = startUpstream()
    rows: dict[str, dict[str, int]] = {}
    try:
        starts = [("rust 0.5.8", lambda: rustRelay(url))] + [
            ("ours --workers {}".format(workers), lambda workers=workers: ourRelay(url, workers))
            for workers in map(int, args.workers.split(","))]
        for name, begin in starts:
            relay = begin()
            if isinstance(relay, str):
                print("skipped {}: {}".format(name, relay))
                continue
            try:
                rows[name] = measure(relay, counts, args.batch)
            finally:
                stop(relay)
    finally:
        stop(upstream)
    report(rows, counts)


def report(rows: dict[str, dict[str, int]], counts: list[int]) -> None:
    columns = ["idle"] + [str(count) for count in counts] + ["after"]
    titles = ["idle"] + ["{} streams".format(count) for count in counts] + ["closed"]
    print("\n{:<20}".format("RSS (MiB)") + "".join("{:>13}".format(t) for t in titles)
          + "{:>20}".format("KiB/stream @{}".format(counts[-1])))

    def perStream(figures: dict[str, int]) -> float:
        return (figures[str(counts[-1])] - figures["idle"]) / counts[-1]

    for name, figures in rows.items():
        print("{:<20}".format(name) + "".join(
            "{:>13.1f}".format(figures[column] / 1024) for column in columns)
            + "{:>20.1f}".format(perStream(figures)))
    rust = rows.get("rust 0.5.8")
    for name, figures in rows.items():
        if rust is None or name == "rust 0.5.8":
            continue
        print("{:<20}".format("  {} / rust".format(name.replace(" --workers ", " w"))) + "".join(
            "{:>13.2f}".format(figures[column] / rust[column]) for column in columns)
            + "{:>20.2f}".format(perStream(figures) / perStream(rust)))


if __name__ == "__main__":
    main()
