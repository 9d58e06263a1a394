"""
C{--workers N} (L{codex_relay._run.workers}): as real processes, two
workers serve one port from two pids, one killed is replaced, and SIGTERM
to the supervisor drains them all; on a clock, the supervisor's restarts,
its backoff and its stop.
"""

import json
import os
import signal
import socket
import sys
import time
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import gatherResults
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.task import deferLater
from twisted.internet.testing import MemoryReactorClock
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, HTTPConnectionPool
from treq.client import HTTPClient

from prometheus_client.parser import text_string_to_metric_families

from codex_relay import start
from codex_relay._run.tap import Options, makeService
from codex_relay._run.workers import (
    KILL_MARGIN, MULTIPROC_DIR, WORKER_FDS, WorkerFailed, WorkerSupervisor, workerCount)
from tests.harness.draining import SUPERVISED_TEARDOWN, assertDrains, slowUpstream
from tests.harness.sockets import serveUpstream, webClient
from tests.harness.processes import Child, cleanEnvironment, freePort, reap

DRAIN = 3.0
# What systemd does for a socket unit: a listening socket as descriptor 3,
# named in LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES, then exec the service.
SYSTEMD = """
import os, socket, sys
listening = socket.create_server(("127.0.0.1", int(sys.argv[1])))
if listening.fileno() != 3:
    os.dup2(listening.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="relay")
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


def alive(pid: int) -> bool:
    return os.path.exists("/proc/{}".format(pid))


class WorkerProcessTests(TestCase):
    timeout = 90

    async def setUp(self) -> None:
        self.upstream = slowUpstream()
        self.upstreamURL = await serveUpstream(self, self.upstream)
        self.web = webClient(self)
        # A new connection for each request: whichever worker accepts it answers.
        pool = HTTPConnectionPool(reactor, persistent=False)
        self.addCleanup(pool.closeCachedConnections)
        self.fresh = HTTPClient(Agent(reactor, pool=pool))

    async def servingPids(self, port: int, want: Any, within: float = 20.0) -> set[int]:
        """
        The pids answering C{/health} on C{port}, asked in rounds of eight
        at once until C{want(pids)} is true.
        """
        seen: set[int] = set()
        deadline = time.monotonic() + within
        url = "http://127.0.0.1:{}/health".format(port).encode("ascii")
        while not want(seen):
            if time.monotonic() > deadline:
                self.fail("only pids {} served within {}s".format(sorted(seen), within))
            try:
                responses = await gatherResults(
                    [self.fresh.get(url, timeout=5) for _ in range(8)], consumeErrors=True)
            except Exception:  # not listening yet
                await deferLater(reactor, 0.1, lambda: None)
                continue
            for response in responses:
                seen.add(int(response.headers.getRawHeaders(b"x-relay-pid")[0]))
                await response.content()
            await deferLater(reactor, 0.05, lambda: None)
        return seen

    async def test_twoWorkers(self) -> None:
        """
        Two workers serve one port, each from its own pid; one killed with
        SIGKILL is replaced by a new one; SIGTERM to the supervisor drains
        both and it exits 0, leaving no worker behind.
        """
        relay = await deferToThread(start, port=0, upstream=self.upstreamURL,
                                    env=cleanEnvironment(), store="none", workers=2,
                                    drain_timeout=DRAIN)
        self.addCleanup(reap, relay)
        first = await self.servingPids(relay.port, lambda pids: len(pids) >= 2)
        self.assertEqual(len(first), 2)
        self.assertNotIn(relay.pid, first)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        began = time.monotonic()
        later = await self.servingPids(relay.port, lambda pids: bool(pids - first))
        [replacement] = later - first
        print("worker {} killed; {} served {:.2f}s later".format(
            victim, replacement, time.monotonic() - began))
        self.assertNotIn(victim, await self.servingPids(relay.port, lambda pids: len(pids) >= 2))
        await assertDrains(self, relay, relay.port, self.upstream, self.web, DRAIN,
                           streams=8, teardown=SUPERVISED_TEARDOWN)
        for pid in first | later:
            self.assertFalse(alive(pid), pid)

    async def test_oneScrapeSeesEveryWorker(self) -> None:
        """
        With two workers, a scrape of /metrics, whichever worker answers
        it, counts the requests both served.
        """
        relay = await deferToThread(start, port=0, upstream=self.upstreamURL,
                                    env=cleanEnvironment(), store="none", workers=2,
                                    drain_timeout=DRAIN)
        self.addCleanup(reap, relay)
        await self.servingPids(relay.port, lambda pids: len(pids) >= 2)
        base = "http://127.0.0.1:{}".format(relay.port)
        await gatherResults([self.fresh.post(
            (base + "/v1/responses").encode(), json={"model": "model-a", "input": "fast",
                                                     "stream": True}).addCallback(
            lambda r: r.content()) for _ in range(16)])
        for _ in range(4):
            response = await self.fresh.get((base + "/metrics").encode())
            families = {f.name: f for f in text_string_to_metric_families(
                (await response.content()).decode())}
            total = sum(sample.value for sample in families["codex_relay_requests"].samples
                        if sample.name == "codex_relay_requests_total")
            self.assertEqual(total, 16)

    async def test_socketActivation(self) -> None:
        """
        Under socket activation (C{--listen systemd:domain=INET:index=0}),
        the workers serve the one socket systemd gave, and SIGTERM drains
        them and exits 0.
        """
        port = freePort()
        child = Child(self, [sys.executable, "-c", SYSTEMD, str(port), "-m", "codex_relay",
                             "--listen", "systemd:domain=INET:index=0", "--workers", "2",
                             "--store", "none", "--upstream", self.upstreamURL,
                             "--drain-timeout", str(DRAIN)], cleanEnvironment())
        pids = await self.servingPids(port, lambda pids: len(pids) >= 2)
        self.assertNotIn(child.process.pid, pids)
        await assertDrains(self, child.process, port, self.upstream, self.web, DRAIN,
                           streams=4, teardown=SUPERVISED_TEARDOWN)
        self.assertNotIn("Traceback", child.output())

    async def test_noWorkerOutlivesItsSupervisor(self) -> None:
        """
        A supervisor killed outright (SIGKILL) takes its workers with it:
        each stops once the pipe from it closes.
        """
        # Its own metrics directory, which nobody is left to remove.
        metrics = self.mktemp()
        os.makedirs(metrics)
        relay = await deferToThread(start, port=0, upstream=self.upstreamURL,
                                    env=cleanEnvironment(PROMETHEUS_MULTIPROC_DIR=metrics),
                                    store="none", workers=2)
        self.addCleanup(reap, relay)
        pids = await self.servingPids(relay.port, lambda pids: len(pids) >= 2)
        relay.kill()
        await deferToThread(relay.wait, 10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            await deferLater(reactor, 0.05, lambda: None)
        self.assertEqual([pid for pid in pids if alive(pid)], [])


class FakePort:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.socket = socket.socket()  # only its family is read
        self.reading = True
        self.listening = True

    def fileno(self) -> int:
        return self.fd

    def stopReading(self) -> None:
        self.reading = False

    def stopListening(self) -> None:
        self.listening = False
        self.socket.close()

    def getHost(self) -> Any:
        from twisted.internet.address import IPv4Address
        return IPv4Address("TCP", "127.0.0.1", 4444)


class FakeProcess:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.signals: list[str] = []

    def signalProcess(self, name: str) -> None:
        self.signals.append(name)


class ProcessReactor(MemoryReactorClock):
    """
    A clock whose TCP ports are L{FakePort}s and whose processes are
    recorded, not run.
    """

    def __init__(self) -> None:
        super().__init__()
        self.spawned: list[dict[str, Any]] = []
        self.fakePorts: list[FakePort] = []

    def listenTCP(self, port: int, factory: Any, backlog: int = 50,
                  interface: str = "") -> FakePort:
        fake = FakePort(10 + len(self.fakePorts))
        self.fakePorts.append(fake)
        return fake

    def spawnProcess(self, protocol: Any, executable: str, args: list[str],
                     env: dict[str, str], childFDs: dict[int, Any]) -> FakeProcess:
        process = FakeProcess(1000 + len(self.spawned))
        self.spawned.append(dict(protocol=protocol, args=args, env=env, fds=childFDs,
                                 process=process))
        return process


def ended(code: int | None = 0, signal: int | None = None) -> Failure:
    if signal is None and code == 0:
        return Failure(ProcessDone(0))
    return Failure(ProcessTerminated(code, signal))


class SupervisorTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = ProcessReactor()
        self.supervisor = WorkerSupervisor(
            self.reactor, 2, ["--upstream", "http://u/v1"], ["tcp:4444"], ["tcp:9100"],
            drainTimeout=5, environ={"HOME": "/h", "LISTEN_FDS": "1"}, executable="py")
        self.supervisor.startService()
        self.addCleanup(self.stop)
        self.listening: list[Any] = []
        self.supervisor.listening.addBoth(self.listening.append)

    def stop(self) -> None:
        if self.supervisor.running:
            self.supervisor.stopService()
            for spawned in self.reactor.spawned:
                if spawned["process"] in [w.process for w in self.supervisor.workers]:
                    spawned["protocol"].processEnded(ended())

    def ready(self, index: int) -> None:
        self.reactor.spawned[index]["protocol"].outReceived(b"ready 127.0.0.1:4444\n")

    def test_spawnsWorkers(self) -> None:
        """
        Each worker is C{python -m codex_relay} with the relay's arguments,
        given the sockets, which the supervisor never reads, as descriptors
        3 and up, named in C{CODEX_RELAY_WORKER_FDS}, and a directory for
        prometheus_client's multiprocess mode; no systemd variable.
        """
        self.assertEqual([p.reading for p in self.reactor.fakePorts], [False, False])
        self.assertEqual(len(self.reactor.spawned), 2)
        spawned = self.reactor.spawned[0]
        self.assertEqual(spawned["args"], ["py", "-m", "codex_relay", "--upstream",
                                           "http://u/v1"])
        self.assertEqual(spawned["fds"], {0: "w", 1: "r", 2: 2, 3: 10, 4: 11})
        family = int(socket.AF_INET)
        self.assertEqual(json.loads(spawned["env"][WORKER_FDS]),
                         {"listen": [[3, family]], "metrics": [[4, family]]})
        self.assertTrue(os.path.isdir(spawned["env"][MULTIPROC_DIR]))
        self.assertNotIn("LISTEN_FDS", spawned["env"])
        self.assertEqual(spawned["env"]["HOME"], "/h")

    def test_listeningOnceAllReady(self) -> None:
        self.ready(0)
        self.assertEqual(self.listening, [])
        self.ready(1)
        self.assertEqual(self.listening, [self.supervisor.ports])

    def test_exitBeforeServing(self) -> None:
        """
        A worker that exits before every worker serves fails C{listening}:
        the configuration is wrong, and restarting would not help.
        """
        self.ready(0)
        self.reactor.spawned[1]["protocol"].processEnded(ended(1))
        [failure] = self.listening
        failure.trap(WorkerFailed)
        self.assertIn("exited before serving: status 1", failure.getErrorMessage())
        self.reactor.advance(60)
        self.assertEqual(len(self.reactor.spawned), 2)

    def test_restartWithBackoff(self) -> None:
        """
        A worker that dies is started again after 0.5 s, then after twice
        as long each time it dies young; once it lived long, 0.5 s again.
        """
        self.ready(0)
        self.ready(1)
        delays = []
        for _ in range(4):
            self.reactor.spawned[-1 if len(self.reactor.spawned) > 2 else 1][
                "protocol"].processEnded(ended(None, signal.SIGKILL))
            count, began = len(self.reactor.spawned), self.reactor.seconds()
            while len(self.reactor.spawned) == count:
                self.reactor.advance(0.25)
            delays.append(self.reactor.seconds() - began)
        self.assertEqual(delays, [0.5, 1.0, 2.0, 4.0])
        self.reactor.advance(60)
        self.reactor.spawned[-1]["protocol"].processEnded(ended(None, signal.SIGKILL))
        self.reactor.advance(0.5)
        self.assertEqual(len(self.reactor.spawned), 7)

    def test_stopForwardsSIGTERM(self) -> None:
        """
        Stopping closes the supervisor's sockets at once, sends SIGTERM to
        every worker, and fires once all have exited; none is restarted.
        """
        self.ready(0)
        self.ready(1)
        results: list[Any] = []
        self.supervisor.stopService().addBoth(results.append)
        self.assertEqual([p.listening for p in self.reactor.fakePorts], [False, False])
        processes = [s["process"] for s in self.reactor.spawned]
        self.assertEqual([p.signals for p in processes], [["TERM"], ["TERM"]])
        self.reactor.spawned[0]["protocol"].processEnded(ended())
        self.assertEqual(results, [])
        self.reactor.spawned[1]["protocol"].processEnded(ended())
        self.assertEqual(len(results), 1)
        self.reactor.advance(60)
        self.assertEqual(len(self.reactor.spawned), 2)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_stopKillsLateWorkers(self) -> None:
        """
        A worker still running past the drain timeout and a margin is
        killed.
        """
        self.ready(0)
        self.ready(1)
        self.supervisor.stopService()
        self.reactor.spawned[0]["protocol"].processEnded(ended())
        self.reactor.advance(5 + KILL_MARGIN)
        self.assertEqual([s["process"].signals for s in self.reactor.spawned],
                         [["TERM"], ["TERM", "KILL"]])
        self.reactor.spawned[1]["protocol"].processEnded(ended(None, signal.SIGKILL))

    def test_stopCancelsRestart(self) -> None:
        self.ready(0)
        self.ready(1)
        self.reactor.spawned[1]["protocol"].processEnded(ended(None, signal.SIGKILL))
        self.supervisor.stopService()
        self.reactor.spawned[0]["protocol"].processEnded(ended())
        self.reactor.advance(60)
        self.assertEqual(len(self.reactor.spawned), 2)


class WorkerOptionsTests(SynchronousTestCase):
    def test_count(self) -> None:
        self.assertEqual(workerCount("3"), 3)
        self.assertEqual(workerCount("auto"), os.cpu_count() or 1)
        self.assertRaises(ValueError, workerCount, "0")

    def test_makeService(self) -> None:
        """
        With C{--workers 2}, the twistd plugin makes a supervisor that gives
        its workers its own arguments, and one secret for all when the
        store would make each a random one.
        """
        options = Options(environ={"CODEX_RELAY_DRAIN_TIMEOUT": "7"})
        arguments = ["--workers", "2", "--store", "memory", "--listen", "tcp:0"]
        options.parseOptions(arguments)
        service = makeService(options, reactor=ProcessReactor())
        assert isinstance(service, WorkerSupervisor)
        self.assertEqual((service.count, service._arguments, service._drainTimeout),
                         (2, arguments, 7.0))
        self.assertEqual(len(bytes.fromhex(service._environ["CODEX_RELAY_SECRET"])), 32)

    def test_oneWorker(self) -> None:
        options = Options(environ={})
        options.parseOptions(["--workers", "1", "--store", "none", "--listen", "tcp:0"])
        self.assertNotIsInstance(makeService(options, reactor=ProcessReactor()),
                                 WorkerSupervisor)
