"""
What the relay is doing and has done: the exchanges in flight, and one
L{Outcome} per finished request, handed to every observer (the log line,
metrics).  Graceful shutdown ends what is still in flight.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from twisted.logger import Logger

log = Logger()


@dataclass(frozen=True)
class Outcome:
    """
    One finished request.

    @ivar transport: C{http} or C{websocket}.
    @ivar route: the upstream's name, or C{-} when none was chosen.
    @ivar client: the client key's name, or C{-} without client keys.
    @ivar http: the HTTP status the request got (200 for a stream).
    @ivar status: the response's final status (C{completed},
        C{incomplete}, C{failed}), or C{-} when none was reached.
    @ivar code: the error code of a failed response or an error answer.
    @ivar usage: the Responses usage object, if any.
    @ivar firstDelta: seconds from the request to its first output delta.
    @ivar seconds: the whole request's duration.
    @ivar gone: whether the client left first.
    """

    transport: str
    route: str
    model: str
    client: str
    http: int
    status: str
    code: str | None
    usage: dict[str, Any] | None
    firstDelta: float | None
    seconds: float
    gone: bool


class Ending(Protocol):
    """
    An exchange in flight, as shutdown sees it.
    """

    def shutDown(self, message: str) -> None:
        """
        End at once, with a retryable failure if a stream was started.
        """


class Activity:
    """
    The exchanges in flight, and who hears of each outcome.
    """

    def __init__(self) -> None:
        self.inFlight: set[Ending] = set()
        self._observers: list[Callable[[Outcome], None]] = []

    def observe(self, observer: Callable[[Outcome], None]) -> None:
        self._observers.append(observer)

    def began(self, exchange: Ending) -> None:
        self.inFlight.add(exchange)

    def ended(self, exchange: Ending, outcome: Outcome) -> None:
        self.inFlight.discard(exchange)
        for observer in self._observers:
            try:
                observer(outcome)
            except Exception:
                log.failure("observing a request's outcome")

    def shutDown(self, message: str) -> int:
        """
        End every exchange still in flight; how many there were.
        """
        ending = list(self.inFlight)
        for exchange in ending:
            exchange.shutDown(message)
        return len(ending)


def logOutcome(outcome: Outcome) -> None:
    """
    The one log line of each request.
    """
    usage = outcome.usage
    log.info(
        "{label} model={model} http={http} status={status} "
        "tokens={tokens} {seconds:.3f}s{gone}",
        label="WS /v1/responses" if outcome.transport == "websocket" else "POST /v1/responses",
        model=outcome.model, http=outcome.http, status=outcome.status,
        tokens="{}/{}".format(usage["input_tokens"], usage["output_tokens"])
        if usage else "-",
        seconds=outcome.seconds, gone=" client-gone" if outcome.gone else "",
        outcome=outcome)
