"""
Log observers: level filtering and the text or JSON format for the console
command and twistd's C{--logger}, and a filter for Twisted's per-connection
client factory noise (twisted#9330).
"""

import os
from typing import IO, Any, cast

from twisted.logger import (
    FileLogObserver,
    FilteringLogObserver,
    ILogFilterPredicate,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    PredicateResult,
    eventAsJSON,
    formatEvent,
    textFileLogObserver,
)

LEVELS = ("debug", "info", "warn", "error", "critical")
FORMATS = ("text", "json")


def _quietClientFactories(event: dict[str, Any]) -> PredicateResult:
    if str(event.get("log_format", "")).startswith(("Starting factory", "Stopping factory")):
        return PredicateResult.no  # type: ignore[no-any-return]
    return PredicateResult.maybe  # type: ignore[no-any-return]


def _jsonLine(event: dict[str, Any]) -> str:
    event = dict(event)
    event.setdefault("log_text", formatEvent(event))
    return eventAsJSON(event) + "\n"


def jsonLineObserver(output: IO[str]) -> ILogObserver:
    """
    An observer writing each event to C{output} as one line of JSON:
    twisted.logger's own encoding (L{eventAsJSON}, which
    L{twisted.logger.eventsFromJSONLogFile} reads back, with the event's
    fields at the top level), plus C{log_text}, the event's text.
    """
    return FileLogObserver(output, _jsonLine)


def filteredObserver(output: IO[str], level: str = "info",
                     format: str = "text") -> ILogObserver:
    """
    An observer writing to C{output} events at C{level} or above, as text
    lines or, with C{format} C{json}, JSON lines.
    """
    return FilteringLogObserver(
        jsonLineObserver(output) if format == "json" else textFileLogObserver(output),
        [cast(ILogFilterPredicate, _quietClientFactories),
         LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(level))],
    )


def observer() -> ILogObserver:
    """
    For C{twistd --logger=codex_relay._run.logs.observer}: text, or JSON
    lines when C{CODEX_RELAY_LOG_FORMAT} is C{json}.
    """
    import sys

    return filteredObserver(sys.stdout, format=os.environ.get("CODEX_RELAY_LOG_FORMAT", ""))


def jsonObserver() -> ILogObserver:
    """
    For C{twistd --logger=codex_relay._run.logs.jsonObserver}: JSON lines.
    """
    import sys

    return filteredObserver(sys.stdout, format="json")
