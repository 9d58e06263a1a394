"""
Log observers: level filtering for the console command, and a filter for
Twisted's per-connection client factory noise (twisted#9330).
"""

from typing import IO, Any, cast

from twisted.logger import (
    FilteringLogObserver,
    ILogFilterPredicate,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    PredicateResult,
    textFileLogObserver,
)

LEVELS = ("debug", "info", "warn", "error", "critical")


def _quietClientFactories(event: dict[str, Any]) -> PredicateResult:
    if str(event.get("log_format", "")).startswith(("Starting factory", "Stopping factory")):
        return PredicateResult.no  # type: ignore[no-any-return]
    return PredicateResult.maybe  # type: ignore[no-any-return]


def filteredObserver(output: IO[str], level: str = "info") -> ILogObserver:
    """
    An observer writing to C{output} events at C{level} or above.
    """
    return FilteringLogObserver(
        textFileLogObserver(output),
        [cast(ILogFilterPredicate, _quietClientFactories),
         LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(level))],
    )


def observer() -> ILogObserver:
    """
    For C{twistd --logger=codex_relay._run.logs.observer}.
    """
    import sys

    return filteredObserver(sys.stdout)
