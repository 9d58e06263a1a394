"""
C{--workers N}: N relay processes, each with its own reactor, upstream pool
and store connection, serving the sockets one supervisor listens on.

The supervisor (the console command, or the twistd plugin) binds every
C{--listen} and C{--metrics-listen} endpoint itself, never accepts on them,
and hands the sockets to its workers, which adopt them
(C{reactor.adoptStreamPort}).  That is sounder on Linux than
C{SO_REUSEPORT}:

  - the workers share one accept queue, so an idle worker takes the next
    connection while a busy one does not; C{SO_REUSEPORT} hashes each
    connection to one worker's own queue, where it waits behind a busy
    worker, and is reset when that worker dies with it queued;
  - it works for whatever the supervisor can open: a port below 1024 bound
    before twistd drops privileges, a UNIX socket, a C{systemd:} socket
    (socket activation gives one descriptor, which C{SO_REUSEPORT} cannot
    share out), and no other process can bind into the group;
  - the socket outlives any worker, so a worker's restart loses nothing.

Each worker is C{python -m codex_relay} with the supervisor's own
arguments; C{CODEX_RELAY_WORKER_FDS} names its sockets, which makes it a
worker.  It reports each listening port on its stdout, and stops (draining)
when its stdin, a pipe from the supervisor, closes, so that workers never
outlive a supervisor killed outright (L{codex_relay._run.worker}).  A
worker that dies is started again after 0.5 s, doubling while it keeps
dying young, up to 30 s.

SIGTERM (or SIGINT) to the supervisor closes its copy of the sockets and
forwards SIGTERM to every worker; each drains (L{codex_relay._run.drain});
the supervisor stops once all have exited.

Metrics: unless it is set already, the supervisor points
C{PROMETHEUS_MULTIPROC_DIR} at a new temporary directory for its workers
(removed at exit), so that prometheus_client's multiprocess mode can make
every scrape, whichever worker answers it, add up all of them; a dead
worker's files are marked with C{mark_process_dead}.
"""

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, DeferredList, fail, succeed
from twisted.internet.endpoints import (
    AdoptedStreamServerEndpoint,
    TCP4ServerEndpoint,
    TCP6ServerEndpoint,
    UNIXServerEndpoint,
    serverFromString,
)
from twisted.internet.interfaces import IProtocolFactory, IStreamServerEndpoint
from twisted.internet.protocol import Factory, ProcessProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from codex_relay._run.drain import DEFAULT_DRAIN_TIMEOUT
from codex_relay._run.ports import allListened, listenOn
from codex_relay._run.secret import relaySecret
from codex_relay._run.service import describe
from codex_relay._run.worker import READY, WORKER_FDS, WorkerLink
from codex_relay._web.reactor import IRelayReactor

__all__ = ["WORKER_FDS", "WorkerLink", "WorkerSupervisor", "workerCount"]

log = Logger()

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
BACKOFF = 0.5
MAX_BACKOFF = 30.0
# A worker that lived this long had not been dying young.
STABLE = 10.0
# Seconds past the drain timeout before a worker that has not exited is killed.
KILL_MARGIN = 10.0
_SHARED = (TCP4ServerEndpoint, TCP6ServerEndpoint, UNIXServerEndpoint,
           AdoptedStreamServerEndpoint)


def workerCount(text: str) -> int:
    """
    C{--workers}: a positive number, or C{auto} for one per core.
    """
    if text == "auto":
        return os.cpu_count() or 1
    count = int(text)
    if count <= 0:
        raise ValueError("must be positive, or auto")
    return count


class WorkerFailed(Exception):
    """
    A worker exited before every worker was serving.
    """


class _NoAccept(Factory):
    # The supervisor never accepts: its workers do.
    noisy = False

    def logPrefix(self) -> str:
        return "codex-relay supervisor"

    def buildProtocol(self, addr: Any) -> None:
        return None


def _quiet(port: Any) -> Any:
    # Bound but never read: only the workers accept on it.
    port.stopReading()
    return port


@implementer(IStreamServerEndpoint)
class _Unshareable:
    """
    An endpoint whose socket cannot be handed to a worker: it never listens.
    """

    def __init__(self, description: str) -> None:
        self._description = description

    def listen(self, factory: IProtocolFactory) -> Deferred[Any]:
        return fail(ValueError(
            "--workers shares tcp:, tcp6:, unix: and systemd: sockets only, not "
            "{!r}; terminate TLS in front of the relay".format(self._description)))


class WorkerSupervisor(MultiService):
    """
    Run C{count} relay workers on the sockets of C{listen} and
    C{metricsListen}, as the module says.  Like L{RelayService} it has
    C{listening} (fires with the C{listen} ports once every worker serves,
    or fails), C{ports}, C{opened} and C{store} (it keeps none).

    @param arguments: the relay's own command-line arguments, for the
        workers (C{--listen} and C{--workers} are ignored there).
    @param environ: the workers' environment, before what the supervisor
        adds.
    @param inheritStderr: the workers write to this process's stderr (the
        console command); otherwise each of their lines is logged.
    """

    def __init__(self, reactor: IRelayReactor, count: int, arguments: Sequence[str],
                 listen: Sequence[str], metricsListen: Sequence[str] = (),
                 drainTimeout: float = DEFAULT_DRAIN_TIMEOUT,
                 environ: Mapping[str, str] | None = None, announce: bool = True,
                 stopIfCannotListen: bool = False, inheritStderr: bool = True,
                 executable: str = sys.executable) -> None:
        super().__init__()
        self._reactor = reactor
        self.count = count
        self._arguments = list(arguments)
        self._split = len(listen)
        self._listening = [listenOn(self, self._shared(d), _NoAccept())
                           for d in list(listen) + list(metricsListen)]
        self._drainTimeout = drainTimeout
        self._environ = dict(os.environ if environ is None else environ)
        self._announce = announce
        self._stopIfCannotListen = stopIfCannotListen
        self._inheritStderr = inheritStderr
        self._executable = executable
        self._bound = False
        self._stopping = False
        self._metricsDir: str | None = None
        self.workers = [_Worker(index) for index in range(count)]
        self.ports: list[Any] = []
        self.metricsPorts: list[Any] = []
        self.store = None
        self.opened: Deferred[None] = succeed(None)
        self.listening: Deferred[Any] = Deferred()
        self._sockets: Deferred[Any] = succeed([])

    @classmethod
    def fromOptions(cls, options: Any, reactor: IRelayReactor, metricsListen: Sequence[str] = (),
                    **kwargs: Any) -> "WorkerSupervisor":
        """
        The supervisor of parsed relay C{options} (L{codex_relay._run.tap.Options}).
        """
        environ = dict(options._environ)
        if not options["secret"]:
            # One secret for all workers, so that each reads what another signed:
            # the SQLite store's kept one (made now, once), or a random one.
            secret, random = relaySecret(None, options["store"], environ)
            if random:
                environ["CODEX_RELAY_SECRET"] = secret.hex()
        if options["store"] == "memory":
            log.warn("--store memory with --workers {count}: each worker keeps its own "
                     "responses, so previous_response_id finds only those of the worker "
                     "a request reaches; use sqlite or redis", count=options["workers"])
        drainTimeout = options["drain-timeout"]
        return cls(reactor, options["workers"], options.arguments, options["listen"],
                   metricsListen, DEFAULT_DRAIN_TIMEOUT if drainTimeout is None
                   else drainTimeout, environ, **kwargs)

    def privilegedStartService(self) -> None:
        # The children bind here, before twistd drops privileges, as RelayService's do.
        self._bound = True
        super().privilegedStartService()
        for observed in self._listening:
            observed.listened.addCallback(_quiet)
        self._sockets = allListened(self._listening)
        self._sockets.addCallbacks(self._haveSockets, self._cannotServe)

    def _shared(self, description: str) -> IStreamServerEndpoint:
        endpoint = serverFromString(self._reactor, description)
        return endpoint if isinstance(endpoint, _SHARED) else _Unshareable(description)

    def _haveSockets(self, ports: list[Any]) -> list[Any]:
        self.ports, self.metricsPorts = ports[:self._split], ports[self._split:]
        return ports

    def startService(self) -> None:
        if not self._bound:
            self.privilegedStartService()
        super().startService()
        if MULTIPROC_DIR not in self._environ:
            self._metricsDir = tempfile.mkdtemp(prefix="codex-relay-metrics-")
        self._sockets.addCallback(self._spawnAll)

    def _spawnAll(self, ports: list[Any] | None) -> None:
        if ports is None:
            return  # could not bind (_cannotServe)
        for worker in self.workers:
            self._spawn(worker)

    def _spawn(self, worker: "_Worker") -> None:
        worker.restart = None
        if self._stopping:
            return
        fds: dict[int, Any] = {0: "w", 1: "r", 2: 2 if self._inheritStderr else "r"}
        shared: dict[str, list[list[int]]] = {"listen": [], "metrics": []}
        for kind, ports in (("listen", self.ports), ("metrics", self.metricsPorts)):
            for port in ports:
                fds[len(fds)] = port.fileno()
                shared[kind].append([len(fds) - 1, port.socket.family])
        environ = {k: v for k, v in self._environ.items()
                   if k not in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")}
        environ[WORKER_FDS] = json.dumps(shared)
        if self._metricsDir is not None:
            environ[MULTIPROC_DIR] = self._metricsDir
        worker.ended = Deferred()
        worker.started = self._reactor.seconds()
        worker.process = self._reactor.spawnProcess(
            _WorkerProtocol(self, worker), self._executable,
            [self._executable, "-m", "codex_relay", *self._arguments], environ,
            childFDs=fds)
        worker.pid = worker.process.pid

    def _ready(self, worker: "_Worker") -> None:
        worker.ready = True
        if not self.listening.called and all(w.ready for w in self.workers):
            for port in self.ports if self._announce else ():
                log.info("codex-relay listening on {address} with {count} workers",
                         address=describe(port), count=self.count)
            self.listening.callback(self.ports)

    def _ended(self, worker: "_Worker", reason: Failure) -> None:
        status = _status(reason)
        pid, worker.process, worker.ready = worker.pid, None, False
        self._forget(pid)
        ended, worker.ended = worker.ended, None
        if ended is not None:
            ended.callback(None)
        if self._stopping:
            log.info("codex-relay worker {index} (pid {pid}) exited: {status}",
                     index=worker.index, pid=pid, status=status)
            return
        if not self.listening.called:
            self._cannotServe(Failure(WorkerFailed(
                "worker {} (pid {}) exited before serving: {}".format(
                    worker.index, pid, status))))
            return
        lived = self._reactor.seconds() - worker.started
        if lived >= STABLE:
            worker.failures = 0
        delay = min(MAX_BACKOFF, BACKOFF * 2 ** worker.failures)
        worker.failures += 1
        log.warn("codex-relay worker {index} (pid {pid}) exited: {status}; starting it "
                 "again in {delay:g}s", index=worker.index, pid=pid, status=status,
                 delay=delay)
        worker.restart = self._reactor.callLater(delay, self._spawn, worker)

    def _forget(self, pid: int | None) -> None:
        # Its live gauges are no longer counted (prometheus_client's multiprocess mode).
        if pid is None or self._metricsDir is None:
            return
        try:
            from prometheus_client import multiprocess
            multiprocess.mark_process_dead(pid, self._metricsDir)
        except Exception:
            pass

    def _cannotServe(self, failure: Failure) -> None:
        if not self.listening.called:
            self.listening.errback(failure)
            if self._stopIfCannotListen:
                log.critical("codex-relay could not serve: {error}",
                             error=failure.getErrorMessage())
                if self._reactor.running:
                    self._reactor.stop()
        elif self._stopIfCannotListen:
            log.failure("codex-relay workers", failure)

    def stopService(self) -> Deferred[Any]:
        # The supervisor's copy of each socket closes at once (its children
        # stop listening); the workers', as each begins its drain.
        stopping: list[Any] = [super().stopService()]
        self._bound = False
        self._stopping = True
        self.ports, self.metricsPorts = [], []
        for worker in self.workers:
            if worker.restart is not None and worker.restart.active():
                worker.restart.cancel()
            worker.signal("TERM")
        exits = [w.ended for w in self.workers if w.ended is not None]
        kill = self._reactor.callLater(self._drainTimeout + KILL_MARGIN, self._kill)
        if not self.listening.called:
            self.listening.errback(Failure(WorkerFailed("stopped before serving")))
            self.listening.addErrback(lambda _: None)

        def done(result: object) -> None:
            if kill.active():
                kill.cancel()
            if self._metricsDir is not None:
                shutil.rmtree(self._metricsDir, ignore_errors=True)
                self._metricsDir = None

        return DeferredList([d for d in stopping + exits if d is not None]).addBoth(done)

    def _kill(self) -> None:
        for worker in self.workers:
            if worker.process is not None:
                log.warn("codex-relay worker {index} (pid {pid}) did not stop in time: "
                         "killing it", index=worker.index, pid=worker.pid)
                worker.signal("KILL")


class _Worker:
    """
    One worker's slot: the process in it now, and its history.
    """

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: Any = None
        self.pid: int | None = None
        self.ready = False
        self.started = 0.0
        self.failures = 0
        self.restart: Any = None
        self.ended: Deferred[None] | None = None

    def signal(self, name: str) -> None:
        if self.process is not None:
            try:
                self.process.signalProcess(name)
            except Exception:  # it exited already
                pass


class _WorkerProtocol(ProcessProtocol):
    def __init__(self, supervisor: WorkerSupervisor, worker: _Worker) -> None:
        self._supervisor = supervisor
        self._worker = worker
        self._out = b""
        self._err = b""

    def outReceived(self, data: bytes) -> None:
        *lines, self._out = (self._out + data).split(b"\n")
        if any(line.startswith(READY) for line in lines):
            self._supervisor._ready(self._worker)

    def errReceived(self, data: bytes) -> None:
        *lines, self._err = (self._err + data).split(b"\n")
        for line in lines:
            log.info("worker {index}: {line}", index=self._worker.index,
                     line=line.decode("utf-8", "replace"))

    def processEnded(self, reason: Failure) -> None:
        self._supervisor._ended(self._worker, reason)


def _status(reason: Failure) -> str:
    code, number = getattr(reason.value, "exitCode", None), getattr(reason.value, "signal", None)
    if number is not None:
        return "killed by signal {}".format(number)
    return "status {}".format(code)
