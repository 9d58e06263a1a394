"""
The C{codex-relay} console command (and C{python -m codex_relay}): the
plugin's options, read from flags and C{CODEX_RELAY_*} variables, served on
the global reactor until interrupted.
"""

from typing import TYPE_CHECKING, Any, cast
import os
import re
import signal
import sys

from twisted.logger import Logger, LogLevel, globalLogBeginner
from twisted.python import usage

from codex_relay._tools.codex_setup import CatalogOptions, PrintConfigOptions, setupCommand
from codex_relay._tools.doctor.command import DoctorOptions, doctorCommand
from codex_relay._tools.hash_key import HashKeyOptions, hashKeyCommand
from codex_relay._run.logs import filteredObserver, jsonLineObserver
from codex_relay._run.service import RelayService, describe
from codex_relay._run.workers import WorkerLink, WorkerSupervisor
from codex_relay._run.tap import (
    SHARED_STORE_WARNING,
    Options,
    configFromOptions,
    drainTimeout,
    metricsEndpoints,
    sharesStoreWithoutSecret,
)

if TYPE_CHECKING:
    from codex_relay._web.reactor import IRelayReactor

log = Logger()

READY = "codex-relay listening on "


class CommandOptions(Options):
    synopsis = ("Usage: codex-relay [options] "
                "[print-config | model-catalog | doctor | hash-key [options]]")
    subCommands = [
        ["print-config", None, PrintConfigOptions,
         "print a Codex config.toml snippet for this relay"],
        ["model-catalog", None, CatalogOptions,
         "write a Codex model catalog for the upstream's models"],
        ["doctor", None, DoctorOptions,
         "probe the upstreams as Codex will use them, and say what to fix"],
        ["hash-key", None, HashKeyOptions,
         "make a client token and print its [clients.NAME] table for --client-keys"],
    ]

    def postOptions(self) -> None:
        # hash-key needs nothing of the relay's own configuration.
        if self.subCommand != "hash-key":
            super().postOptions()


def relayBaseURL(listen: list[str]) -> str:
    """
    The URL clients on this machine reach the relay at, from its first TCP
    endpoint.
    """
    for endpoint in listen:
        # Endpoint strings escape the colons of IPv6 addresses with a backslash.
        fields = [f.replace("\\:", ":") for f in re.split(r"(?<!\\):", endpoint)]
        if fields[0] in ("tcp", "tcp6") and len(fields) > 1 and fields[1].isdigit():
            interface = "127.0.0.1"
            for field in fields[2:]:
                if field.startswith("interface="):
                    interface = field[len("interface="):]
            if interface in ("0.0.0.0", "", "::"):
                interface = "127.0.0.1"
            if ":" in interface:
                interface = "[{}]".format(interface)
            return "http://{}:{}/v1".format(interface, fields[1])
    return "http://127.0.0.1:4444/v1"


def main(argv: list[str] | None = None) -> int:
    options = CommandOptions()
    try:
        options.parseOptions(sys.argv[1:] if argv is None else argv)
    except usage.UsageError as error:
        # The error goes last, where start() and a terminal's eye look for it.
        print("{}\ncodex-relay: {}".format(options, error), file=sys.stderr)
        return 2
    if options.subCommand == "hash-key":
        return hashKeyCommand(options.subOptions)
    if options.subCommand == "doctor":
        return doctorCommand(options.subOptions, configFromOptions(options),
                             sharesStoreWithoutSecret(options))
    if options.subCommand is not None:
        return setupCommand(options.subCommand, options.subOptions,
                            configFromOptions(options), relayBaseURL(options["listen"]))
    logFormat = options["log-format"] or "text"
    globalLogBeginner.beginLoggingTo(
        [filteredObserver(sys.stderr, options["log-level"] or "info", logFormat)],
        redirectStandardIO=False)
    from twisted.internet import reactor as globalReactor
    reactor = cast("IRelayReactor", globalReactor)

    if sharesStoreWithoutSecret(options):
        log.warn(SHARED_STORE_WARNING)
    # A worker of --workers serves the sockets its supervisor gave it.
    worker = WorkerLink.fromEnvironment(reactor, os.environ)
    service: RelayService | WorkerSupervisor
    if worker is None and (options["workers"] or 1) > 1:
        service = WorkerSupervisor.fromOptions(options, reactor, metricsEndpoints(options),
                                               announce=False)
    else:
        service = RelayService(
            configFromOptions(options), reactor,
            options["listen"] if worker is None else worker.listen,
            announce=False, learnProfiles=True,
            metricsListen=metricsEndpoints(options) if worker is None else worker.metrics,
            probeUpstreams=True, drainTimeout=drainTimeout(options))
    outcome = {"code": 0}

    # Whatever the log level: a plain line, or a JSON one with --log-format json.
    console = Logger(observer=jsonLineObserver(sys.stderr)) if logFormat == "json" else None

    def say(text: str, critical: bool = False) -> None:
        if console is None:
            print(text, file=sys.stderr, flush=True)
        else:
            console.emit(LogLevel.critical if critical else LogLevel.info, "{text}", text=text)

    def listening(ports: list[Any]) -> None:
        if worker is not None:
            worker.ready(ports)  # the supervisor says it
            return
        for port in ports:
            # start() waits for exactly this line on stderr (the log_text of
            # a JSON line).
            say(READY + describe(port))

    def cannotListen(failure: object) -> None:
        say("codex-relay: could not listen: {}".format(
            failure.getErrorMessage()), critical=True)  # type: ignore[attr-defined]
        outcome["code"] = 1
        reactor.stop()

    def cannotOpen(failure: object) -> None:
        say("codex-relay: could not open the response store {}: {}".format(
            service.store.name if service.store else "", failure.getErrorMessage()),  # type: ignore[attr-defined]
            critical=True)
        outcome["code"] = 1
        reactor.stop()

    def begin() -> None:
        if worker is not None:
            worker.start()
        service.startService()
        # Ready once it listens and its store is open.
        service.opened.addCallbacks(
            lambda _: service.listening.addCallbacks(listening, cannotListen), cannotOpen)

    def stop() -> Any:
        # Stopping drains (--drain-timeout): a second SIGTERM, from systemd
        # and a supervisor both, must not interrupt it with a traceback.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return service.stopService()

    reactor.callWhenRunning(begin)
    reactor.addSystemEventTrigger("before", "shutdown", stop)
    reactor.run()
    return outcome["code"]
