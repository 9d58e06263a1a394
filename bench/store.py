"""
The response stores against each other, and what each adds to a request.

    python bench/store.py [--ops N] [--requests N]

Figures are ratios, never absolute times, each against a peer measured in
the same run:
  - store operations, in this process on the real reactor, each store's
    median and p99 over the memory store's: C{put} of a Codex-sized record
    (a request of tests/fixtures/codex_request_fallback.json and its
    Response, tools echoed), C{get} of it, both together, and a walk of a
    chain of 10 records (a Codex session's: the first holds the base input,
    the others a function_call_output each) through their C{previous} links,
    as a relay does when its cache misses.  SQLite is a temporary file;
    Redis a redis-server started on a free port in a temporary directory,
    stopped at the end.  The stores take their turns in rotating order;
  - end to end, through one relay process per store against one fast fake
    Chat upstream: C{POST /v1/responses} with the whole Codex request and
    C{store: true}, from its first byte sent to its terminal event (the
    relay stores the response before it sends that), each store's median
    and p99 over C{--store none}'s; and chained requests (8 tool turns,
    each C{previous_response_id} and only its function_call_output, as the
    openai SDK chains), each store's over the memory store's.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, ".")

from twisted.internet.defer import Deferred  # noqa: E402

from loopback import HTTPClient, connect, startChat, startRelay, stop  # noqa: E402
from websocket import answered, codexSession  # noqa: E402

from codex_relay._core.stored import StoredResponse, conversation  # noqa: E402
from codex_relay._core.stream.response import responseSkeleton  # noqa: E402
from codex_relay._store.memory import MemoryStore  # noqa: E402
from codex_relay._store.redis import RedisStore  # noqa: E402
from codex_relay._store.sqlite import SQLiteStore  # noqa: E402

OWNER = "0123456789abcdef0123456789abcdef"
CHAIN = 10


def freePort() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def startRedis(directory: str) -> tuple["subprocess.Popen[bytes]", int]:
    """
    A redis-server of its own, persisting nothing, once it answers PING.
    """
    port = freePort()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
         "--save", "", "--appendonly", "no", "--logfile", os.path.join(directory, "log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return server, port
        except OSError:
            time.sleep(0.05)
    stop(server)
    raise RuntimeError("redis-server did not start on port {}".format(port))


# Records shaped as the relay keeps Codex's.

def record(responseId: str, inputs: list[dict[str, Any]], previous: str | None,
           fields: dict[str, Any]) -> StoredResponse:
    response = responseSkeleton(fields, responseId, 0)
    response.update(status="completed", previous_response_id=previous, output=[
        {"type": "reasoning", "id": "rs_" + responseId, "summary": [
            {"type": "summary_text", "text": "I should read the next part."}],
         "encrypted_content": "crelay1." + "x" * 600},
        {"type": "function_call", "id": "fc_" + responseId, "status": "completed",
         "call_id": "call_" + responseId, "name": "exec_command",
         "arguments": '{"cmd": "sed -n 1,80p src/part.py", "workdir": "/repo"}'}])
    now = time.time()
    return StoredResponse(responseId, OWNER, response, inputs, previous, now, now + 86400)


def records(count: int) -> tuple[list[StoredResponse], list[list[StoredResponse]]]:
    """
    C{count} whole-request records, and C{count // CHAIN} chains of C{CHAIN}.
    """
    fields, base, outputs = codexSession(CHAIN - 1)
    whole = base + outputs[:2]
    single = [record("resp_single_{}".format(i), whole, None, fields) for i in range(count)]
    chains = []
    for c in range(max(1, count // CHAIN)):
        previous = None
        chain = []
        for link in range(CHAIN):
            responseId = "resp_chain_{}_{}".format(c, link)
            inputs = base if link == 0 else [dict(outputs[link - 1], call_id="call_x")]
            chain.append(record(responseId, inputs, previous, fields))
            previous = responseId
        chains.append(chain)
    return single, chains


async def walk(store: Any, tip: str) -> int:
    chain = []
    responseId: str | None = tip
    while responseId is not None:
        found = await store.get(OWNER, responseId)
        chain.append(found)
        responseId = found.previous
    chain.reverse()
    return len(conversation(chain))


async def storeOps(reactor: Any, directory: str, redisPort: int, ops: int) -> None:
    stores: dict[str, Any] = {
        "memory": MemoryStore(reactor),
        "sqlite": SQLiteStore(os.path.join(directory, "bench.sqlite3"), reactor, reactor),
        "redis": RedisStore("127.0.0.1", redisPort, 0, clock=reactor),
    }
    warm = 20
    single, chains = records(ops + warm)
    times: dict[str, dict[str, list[float]]] = {
        name: {"put": [], "get": [], "put + get": [], "chain walk": []} for name in stores}
    try:
        for store in stores.values():
            await store.open()
        names = list(stores)
        items = sum(len(r.input) + len(r.output) for r in chains[0])
        for i, one in enumerate(single):
            for name in names[i % 3:] + names[:i % 3]:
                store = stores[name]
                began = time.perf_counter()
                await store.put(one)
                stored = time.perf_counter()
                got = await store.get(OWNER, one.id)
                ended = time.perf_counter()
                assert got is not None and got.input == one.input
                if i >= warm:
                    times[name]["put"].append(stored - began)
                    times[name]["get"].append(ended - stored)
                    times[name]["put + get"].append(ended - began)
        for i, chain in enumerate(chains):
            for name in names[i % 3:] + names[:i % 3]:
                for link in chain:
                    await stores[name].put(link)
                began = time.perf_counter()
                assert await walk(stores[name], chain[-1].id) == items
                if i >= warm // CHAIN:
                    times[name]["chain walk"].append(time.perf_counter() - began)
    finally:
        for store in stores.values():
            await store.close()
    print("store operations: {} of each (chain walks: {} of {} records) after {} to warm up;"
          " a record is {} bytes of JSON, a chain {}".format(
              ops, len(times["memory"]["chain walk"]), CHAIN, warm, len(single[0].toJSON()),
              sum(len(r.toJSON()) for r in chains[0])))
    table(times, "memory")


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def table(times: dict[str, dict[str, list[float]]], peer: str) -> None:
    print("  {:<40} {:>8} {:>8}".format("", "median", "p99"))
    for operation in times[peer]:
        for name in times:
            if name == peer or not times[name][operation]:
                continue
            mine, theirs = times[name][operation], times[peer][operation]
            print("  {:<40} {:>7.2f}x {:>7.2f}x".format(
                "{} {} / {}".format(name, operation, peer),
                statistics.median(mine) / statistics.median(theirs), p99(mine) / p99(theirs)))


# End to end, through the relay.

async def endToEnd(directory: str, redisPort: int, requests: int) -> None:
    chat, upstream = startChat()
    specs = {"none": "none", "memory": "memory",
             "sqlite": "sqlite:" + os.path.join(directory, "relay.sqlite3"),
             "redis": "redis://127.0.0.1:{}/1".format(redisPort)}
    relays = {}
    try:
        for name, spec in specs.items():
            relays[name] = startRelay(upstream, spec)
        clients = {name: HTTPClient(await connect(relay.port))  # type: ignore[attr-defined]
                   for name, relay in relays.items()}
        fields, base, outputs = codexSession(8)
        whole = dict(fields, store=True, input=base + outputs[:2])
        names = list(clients)
        times: dict[str, dict[str, list[float]]] = {
            name: {"POST, whole request": [], "POST, chained": []} for name in names}
        warm = 9
        for i in range(requests + warm):
            for name in names[i % 4:] + names[:i % 4]:
                timing = await clients[name].post(whole)
                answered(timing)
                if i >= warm:
                    times[name]["POST, whole request"].append(timing.total)  # type: ignore[arg-type]
        chained = names[1:]
        previous: dict[str, Any] = {}
        for i in range(requests + warm):
            turn = i % 9
            for name in chained[i % 3:] + chained[:i % 3]:
                if turn == 0:
                    body = dict(fields, store=True, input=base)
                else:
                    responseId, callId = previous[name]
                    body = dict(fields, store=True, previous_response_id=responseId,
                                input=[dict(outputs[turn - 1], call_id=callId)])
                timing = await clients[name].post(body)
                previous[name] = (timing.terminal["response"]["id"],  # type: ignore[index]
                                  answered(timing)[1])
                if i >= warm:
                    times[name]["POST, chained"].append(timing.total)  # type: ignore[arg-type]
        for client in clients.values():
            client.wire.close()
    finally:
        for relay in relays.values():
            stop(relay)
        stop(chat)
    print("end to end: {} requests to each relay after {} to warm up, in rotating order; "
          "a whole request is {} bytes; chains of 9 requests".format(
              requests, warm, len(json.dumps(whole))))
    table({name: {"POST, whole request": times[name]["POST, whole request"]}
           for name in names}, "none")
    table({name: {"POST, chained": times[name]["POST, chained"]} for name in chained},
          "memory")


async def run(reactor: Any, ops: int, requests: int) -> None:
    directory = tempfile.mkdtemp(prefix="codex-relay-bench-")
    redis = None
    try:
        redis, redisPort = startRedis(directory)
        await storeOps(reactor, directory, redisPort, ops)
        if requests:
            await endToEnd(directory, redisPort, requests)
    finally:
        if redis is not None:
            stop(redis)
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    options = parser.parse_args()
    from twisted.internet.task import react
    print("$ python bench/store.py --ops {} --requests {}".format(options.ops, options.requests))
    react(lambda reactor: Deferred.fromCoroutine(run(reactor, options.ops, options.requests)))


if __name__ == "__main__":
    main()
