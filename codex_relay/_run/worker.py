"""
A worker's side of C{--workers} (L{codex_relay._run.workers}): the
listening sockets its supervisor gave it, adopted, and the pipe from the
supervisor, whose end stops the worker.
"""

import json
import os
import signal
import socket
from collections.abc import Mapping
from typing import Any, cast

from twisted.internet import tcp, unix
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from codex_relay._run.service import describe
from codex_relay._web.reactor import IRelayReactor

log = Logger()

# The variable naming a worker's sockets, which makes it a worker.
WORKER_FDS = "CODEX_RELAY_WORKER_FDS"
# A worker's line on its stdout for each port it listens on.
READY = b"ready "


class _SharedUnixPort(unix.Port):
    def connectionLost(self, reason: Failure) -> None:
        # The path is the supervisor's: a worker stopping leaves it to the others.
        tcp.Port.connectionLost(self, reason)


class _Adopted:
    """
    A listening socket a worker was given: an endpoint adopting it.
    """

    def __init__(self, reactor: IRelayReactor, fd: int, family: int) -> None:
        self._reactor, self._fd, self._family = reactor, fd, family

    def listen(self, factory: Any) -> Deferred[Any]:
        try:
            if self._family == socket.AF_UNIX:
                port: Any = _SharedUnixPort._fromListeningDescriptor(
                    self._reactor, self._fd, factory)
                port.startListening()
            else:
                port = self._reactor.adoptStreamPort(
                    self._fd, cast(socket.AddressFamily, self._family), factory)
        except Exception:
            return fail()
        os.close(self._fd)  # adopting made a copy
        return succeed(port)


class WorkerLink(Protocol):
    """
    A worker's side: the sockets its supervisor shares, and the pipe from it.

    @ivar listen: endpoints for the relay's C{listen}.
    @ivar metrics: endpoints for its C{metricsListen}.
    """

    def __init__(self, reactor: IRelayReactor, listen: list[_Adopted],
                 metrics: list[_Adopted]) -> None:
        self._reactor = reactor
        self.listen = listen
        self.metrics = metrics
        self._stopping = False

    @classmethod
    def fromEnvironment(cls, reactor: IRelayReactor,
                        environ: Mapping[str, str]) -> "WorkerLink | None":
        """
        This process's link, if it is a worker.
        """
        shared = environ.get(WORKER_FDS)
        if not shared:
            return None
        fds = json.loads(shared)
        return cls(reactor, *[[_Adopted(reactor, fd, family) for fd, family in fds[kind]]
                              for kind in ("listen", "metrics")])

    def start(self) -> None:
        """
        Watch the pipe from the supervisor; SIGINT (a terminal's ^C) is the
        supervisor's to act on.
        """
        from twisted.internet.stdio import StandardIO

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        StandardIO(self, reactor=self._reactor)
        self._reactor.addSystemEventTrigger("before", "shutdown", self._stopped)

    def _stopped(self) -> None:
        self._stopping = True

    def ready(self, ports: list[Any]) -> None:
        for port in ports:
            self.transport.write(READY + describe(port).encode("utf-8") + b"\n")  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if not self._stopping:
            log.warn("codex-relay worker: the supervisor is gone; stopping")
            self._stopping = True
            self._reactor.stop()
