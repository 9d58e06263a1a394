"""
The C{codex-relay} console command (and C{python -m codex_relay}): the
plugin's options, read from flags and C{CODEX_RELAY_*} variables, served on
the global reactor until interrupted.
"""

import sys

from twisted.logger import Logger, globalLogBeginner
from twisted.python import usage

from ._logging import filteredObserver
from ._service import describe
from ._tap import Options, configFromOptions
from ._service import RelayService

log = Logger()

READY = "codex-relay listening on "


class CommandOptions(Options):
    synopsis = "Usage: codex-relay [options]"


def main(argv: list[str] | None = None) -> int:
    options = CommandOptions()
    try:
        options.parseOptions(sys.argv[1:] if argv is None else argv)
    except usage.UsageError as error:
        print("codex-relay: {}\n\n{}".format(error, options), file=sys.stderr)
        return 2
    globalLogBeginner.beginLoggingTo(
        [filteredObserver(sys.stderr, options["log-level"] or "info")],
        redirectStandardIO=False)
    from twisted.internet import reactor

    service = RelayService(configFromOptions(options), reactor, options["listen"])
    outcome = {"code": 0}

    def listening(ports: list) -> None:
        for port in ports:
            # start() waits for exactly this line on stderr.
            print(READY + describe(port), file=sys.stderr, flush=True)

    def cannotListen(failure: object) -> None:
        print("codex-relay: could not listen: {}".format(
            failure.getErrorMessage()), file=sys.stderr, flush=True)  # type: ignore[attr-defined]
        outcome["code"] = 1
        reactor.stop()

    def begin() -> None:
        service.startService()
        service.listening.addCallbacks(listening, cannotListen)

    reactor.callWhenRunning(begin)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()
    return outcome["code"]
