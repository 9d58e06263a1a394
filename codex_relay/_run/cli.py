"""
The C{codex-relay} console command (and C{python -m codex_relay}): the
plugin's options, read from flags and C{CODEX_RELAY_*} variables, served on
the global reactor until interrupted.
"""

from typing import Any
import re
import sys

from twisted.logger import Logger, globalLogBeginner
from twisted.python import usage

from codex_relay._tools.codex_setup import CatalogOptions, PrintConfigOptions, setupCommand
from codex_relay._tools.doctor.command import DoctorOptions, doctorCommand
from codex_relay._run.logs import filteredObserver
from codex_relay._run.service import RelayService, describe
from codex_relay._run.tap import (
    SHARED_STORE_WARNING,
    Options,
    configFromOptions,
    sharesStoreWithoutSecret,
)

log = Logger()

READY = "codex-relay listening on "


class CommandOptions(Options):
    synopsis = "Usage: codex-relay [options] [print-config | model-catalog | doctor [options]]"
    subCommands = [
        ["print-config", None, PrintConfigOptions,
         "print a Codex config.toml snippet for this relay"],
        ["model-catalog", None, CatalogOptions,
         "write a Codex model catalog for the upstream's models"],
        ["doctor", None, DoctorOptions,
         "probe the upstreams as Codex will use them, and say what to fix"],
    ]


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
    if options.subCommand == "doctor":
        return doctorCommand(options.subOptions, configFromOptions(options),
                             sharesStoreWithoutSecret(options))
    if options.subCommand is not None:
        return setupCommand(options.subCommand, options.subOptions,
                            configFromOptions(options), relayBaseURL(options["listen"]))
    globalLogBeginner.beginLoggingTo(
        [filteredObserver(sys.stderr, options["log-level"] or "info")],
        redirectStandardIO=False)
    from twisted.internet import reactor

    if sharesStoreWithoutSecret(options):
        log.warn(SHARED_STORE_WARNING)
    service = RelayService(configFromOptions(options), reactor, options["listen"],
                           announce=False, learnProfiles=True)
    outcome = {"code": 0}

    def listening(ports: list[Any]) -> None:
        for port in ports:
            # start() waits for exactly this line on stderr.
            print(READY + describe(port), file=sys.stderr, flush=True)

    def cannotListen(failure: object) -> None:
        print("codex-relay: could not listen: {}".format(
            failure.getErrorMessage()), file=sys.stderr, flush=True)  # type: ignore[attr-defined]
        outcome["code"] = 1
        reactor.stop()

    def cannotOpen(failure: object) -> None:
        print("codex-relay: could not open the response store {}: {}".format(
            service.store.name if service.store else "", failure.getErrorMessage()),  # type: ignore[attr-defined]
            file=sys.stderr, flush=True)
        outcome["code"] = 1
        reactor.stop()

    def begin() -> None:
        service.startService()
        # Ready once it listens and its store is open.
        service.opened.addCallbacks(
            lambda _: service.listening.addCallbacks(listening, cannotListen), cannotOpen)

    reactor.callWhenRunning(begin)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()
    return outcome["code"]
