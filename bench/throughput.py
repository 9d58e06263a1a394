"""
Streamed Responses per second through this relay against the Rust
codex-relay 0.5.8, under the same load in the same run.

    python bench/throughput.py [--connections 32] [--warmup 2] [--duration 10]
                               [--rounds 2] [--generators 1] [--clients plain,quickack]

A load generator, in its own process(es) (plain asyncio, one raw HTTP/1.1
keep-alive connection each, one request at a time), posts C{stream: true}
Responses requests whose upstream answer (bench/upstream.py, model
C{burst64}) is 64 content chunks in one write, and counts the streams that
end with C{response.completed} within C{--duration} seconds after
C{--warmup}.  Rows: the Rust relay (at its defaults), this relay with
C{--workers 1} and C{--workers 2} (C{--store none}; a row is skipped, with
why, when C{--workers} is not there), and the upstream's own Chat stream
(C{[DONE]}) for scale.  Rows take turns, in rotating order over
C{--rounds}; a figure is the median over rounds.  Each row also shows the
CPU (cores) its relay, the upstream and the generator used over the
window, from /proc: on a 2-core machine the generator and the upstream
share the cores with the relay, so a relay's figure is that share's.

C{--clients}: each client kind is a separate set of rows.  The Rust relay
does not set TCP_NODELAY on its client connections, so with an ordinary
client (delayed ACKs) Nagle holds its second small write of each stream
until the client's delayed ACK (about 40 ms); the quickack client ACKs
every read at once.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import (  # noqa: E402  (bench/ is on the path)
    CLIENT_HELP, chatRequest, connect, cpuCapacity, cpuSeconds, ourRelay, responsesRequest, rustRelay,
    startUpstream, stop, upstreamPort)

MODEL = "burst64"


def generate(config: dict) -> None:
    """
    The load generator's process: prints "start" once connected, then one
    JSON line of what it counted.
    """
    async def main() -> None:
        clients = [await connect(config["port"], config["client"])
                   for _ in range(config["connections"])]
        data, done = config["request"].encode("latin-1"), config["done"].encode()
        print("start", flush=True)
        began = time.perf_counter()
        warm, end = began + config["warmup"], began + config["warmup"] + config["duration"]
        counts = {"completed": 0, "failed": 0}
        cpu: list[float] = []
        loop = asyncio.get_running_loop()
        loop.call_at(loop.time() + config["warmup"], lambda: cpu.append(time.process_time()))

        async def one(client) -> None:
            while time.perf_counter() < end:
                exchange = client.send(data, done)
                try:
                    await exchange.finished
                except ConnectionError:
                    counts["failed"] += 1
                    return
                now = time.perf_counter()
                if warm <= now < end:
                    ok = exchange.status == 200 and exchange.done
                    counts["completed" if ok else "failed"] += 1

        await asyncio.gather(*[one(client) for client in clients])
        cpu.append(time.process_time())
        for client in clients:
            client.transport.close()
        print(json.dumps(dict(counts, cpu=cpu[-1] - cpu[0])), flush=True)

    asyncio.run(main())


def measure(port: int, data: bytes, done: bytes, pids: dict[str, int],
            args: argparse.Namespace, client: str) -> dict:
    """
    One row: the generators against C{port}, and the CPU of C{pids}.
    """
    shares = [args.connections // args.generators + (i < args.connections % args.generators)
              for i in range(args.generators)]
    generators = []
    for share in shares:
        config = {"port": port, "request": data.decode("latin-1"), "done": done.decode(),
                  "connections": share, "warmup": args.warmup, "duration": args.duration,
                  "client": client}
        generators.append(subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--generate", json.dumps(config)],
            stdout=subprocess.PIPE, text=True))
    for generator in generators:
        assert generator.stdout is not None
        assert generator.stdout.readline().strip() == "start"
    time.sleep(args.warmup)
    before = {name: cpuSeconds(pid) for name, pid in pids.items()}
    time.sleep(args.duration)
    after = {name: cpuSeconds(pid) for name, pid in pids.items()}
    results = []
    for generator in generators:
        out, _ = generator.communicate()
        results.append(json.loads(out.strip().splitlines()[-1]))
    cpu = {name: (after[name] - before[name]) / args.duration for name in pids}
    cpu["generator"] = sum(r["cpu"] for r in results) / args.duration
    return {"rate": sum(r["completed"] for r in results) / args.duration,
            "failed": sum(r["failed"] for r in results), "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--generators", type=int, default=1)
    parser.add_argument("--clients", default="plain,quickack", help=CLIENT_HELP)
    args = parser.parse_args()
    if args.generate:
        generate(json.loads(args.generate))
        return
    print("$ python bench/throughput.py " + " ".join(sys.argv[1:]))
    count, cores = cpuCapacity()
    print("{} connections, {} generator process(es), {} s after {} s warm-up, {} round(s); "
          "answers: 64 content chunks in one upstream write; {} CPUs giving {:.2f} cores "
          "to {} busy processes".format(args.connections, args.generators, args.duration,
                                        args.warmup, args.rounds, count, cores, count))
    upstream, url = startUpstream()
    relays: dict[str, object] = {"rust": rustRelay(url)}
    for workers in (1, 2):
        relays["ours w{}".format(workers)] = ourRelay(url, workers)
    try:
        rows = {"rust": "rust 0.5.8", "ours w1": "ours --workers 1",
                "ours w2": "ours --workers 2", "direct": "upstream direct (Chat)"}
        for name, relay in relays.items():
            if isinstance(relay, str):
                print("skipped {}: {}".format(rows[name], relay))
        runnable = [name for name in rows if not isinstance(relays.get(name), str)]
        for client in args.clients.split(","):
            figures: dict[str, list[dict]] = {name: [] for name in runnable}
            for round in range(args.rounds):
                shift = round % len(runnable)
                for name in runnable[shift:] + runnable[:shift]:
                    pids = {"upstream": upstream.pid}
                    if name == "direct":
                        port, data, done = upstreamPort(url), chatRequest(MODEL), b"[DONE]"
                    else:
                        relay = relays[name]
                        port = relay.port  # type: ignore[attr-defined]
                        pids["relay"] = relay.pid  # type: ignore[attr-defined]
                        data, done = responsesRequest(MODEL), b"response.completed"
                    figures[name].append(measure(port, data, done, pids, args, client))
            report(client, rows, figures)
    finally:
        for relay in relays.values():
            if not isinstance(relay, str):
                stop(relay)  # type: ignore[arg-type]
        stop(upstream)


def report(client: str, rows: dict[str, str], figures: dict[str, list[dict]]) -> None:
    print("\nclient: {}".format(client))
    print("{:<24} {:>10} {:>7}   {:>14} {:>9} {:>9}   {:>17}".format(
        "row", "streams/s", "failed", "cores: relay", "upstream", "generator",
        "relay cpu ms/stream"))
    rates, costs = {}, {}
    for name, runs in figures.items():
        rates[name] = statistics.median(run["rate"] for run in runs)

        def cores(part: str) -> str:
            return "{:.2f}".format(statistics.median(run["cpu"][part] for run in runs)) \
                if part in runs[0]["cpu"] else "-"
        if "relay" in runs[0]["cpu"]:
            costs[name] = statistics.median(run["cpu"]["relay"] / run["rate"] * 1000
                                            for run in runs if run["rate"])
        print("{:<24} {:>10.1f} {:>7} {:>14} {:>9} {:>9}   {:>17}".format(
            rows[name], rates[name], sum(run["failed"] for run in runs), cores("relay"),
            cores("upstream"), cores("generator"),
            "{:.3f}".format(costs[name]) if name in costs else "-"))
    for top, bottom in (("ours w1", "rust"), ("ours w2", "rust"), ("ours w2", "ours w1"),
                        ("rust", "direct"), ("ours w1", "direct")):
        if top in rates and bottom in rates and rates[bottom]:
            print("  {} / {}: {:.2f} streams/s".format(top, bottom, rates[top] / rates[bottom])
                  + ("; {:.2f} relay CPU per stream".format(costs[top] / costs[bottom])
                     if top in costs and bottom in costs else ""))


if __name__ == "__main__":
    main()
