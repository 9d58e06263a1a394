"""
What the relay is doing and has done: the exchanges in flight, and one
L{Outcome} per finished request, handed to every observer (the log line,
metrics).  Graceful shutdown ends what is still in flight.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from twisted.internet.defer import Deferred, succeed
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


class GoingAway(Protocol):
    """
    An open WebSocket connection, as shutdown sees it.
    """

    def goAway(self) -> None:
        """
        Close now if nothing is in progress, else once it has ended.
        """


class Activity:
    """
    The exchanges in flight, and who hears of each outcome.
    """

    def __init__(self) -> None:
        self.inFlight: set[Ending] = set()
        self._observers: list[Callable[[Outcome], None]] = []
        self._counters: list[Callable[[int], None]] = []
        # The open WebSocket connections, told to go away at shutdown.
        self.sockets: set[GoingAway] = set()
        self._idle: list[Deferred[None]] = []

    def observe(self, observer: Callable[[Outcome], None]) -> None:
        self._observers.append(observer)

    def count(self, counter: Callable[[int], None]) -> None:
        """
        Tell C{counter} how many exchanges are in flight, whenever it changes.
        """
        self._counters.append(counter)

    def began(self, exchange: Ending) -> None:
        self.inFlight.add(exchange)
        self._counted()

    def _counted(self) -> None:
        for counter in self._counters:
            counter(len(self.inFlight))

    def ended(self, exchange: Ending, outcome: Outcome) -> None:
        self.inFlight.discard(exchange)
        self._counted()
        for observer in self._observers:
            try:
                observer(outcome)
            except Exception:
                log.failure("observing a request's outcome")
        if not self.inFlight:
            waiting, self._idle = self._idle, []
            for idle in waiting:
                idle.callback(None)

    def whenIdle(self) -> "Deferred[None]":
        """
        Fires once no exchange is in flight (at once if none is).
        """
        if not self.inFlight:
            return succeed(None)
        idle: Deferred[None] = Deferred()
        self._idle.append(idle)
        return idle

    def goAway(self) -> None:
        """
        Ask every open WebSocket connection to close once it is idle.
        """
        for socket in list(self.sockets):
            socket.goAway()

    def shutDown(self, message: str) -> int:
        """
        End every exchange still in flight; how many there were.
        """
        ending = list(self.inFlight)
        for exchange in ending:
            exchange.shutDown(message)
        return len(ending)


def usageTokens(usage: dict[str, Any] | None) -> dict[str, int]:
    """
    The C{input}, C{output}, C{cached} and C{reasoning} tokens of a
    Responses usage object, those it counts.
    """
    if not usage:
        return {}
    inputDetails = usage.get("input_tokens_details")
    outputDetails = usage.get("output_tokens_details")
    counts = {
        "input": usage.get("input_tokens"), "output": usage.get("output_tokens"),
        "cached": inputDetails.get("cached_tokens") if isinstance(inputDetails, dict) else None,
        "reasoning": outputDetails.get("reasoning_tokens")
        if isinstance(outputDetails, dict) else None}
    return {kind: count for kind, count in counts.items()
            if isinstance(count, int) and not isinstance(count, bool) and count >= 0}


def printable(text: str) -> str:
    """
    C{text} as a log line can hold it: a lone surrogate (valid in JSON,
    not in UTF-8) escaped rather than breaking the log file.
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def logOutcome(outcome: Outcome) -> None:
    """
    The one log line of each request.  Its fields are the event's own, so
    that a JSON log has them: C{transport}, C{route}, C{model}, C{client},
    C{http}, C{status}, C{code}, C{input_tokens}, C{output_tokens},
    C{cached_tokens}, C{reasoning_tokens}, C{first_delta} and C{seconds}
    (L{None} when unknown), and C{gone}.
    """
    usage = outcome.usage
    tokens = usageTokens(usage)
    log.info(
        "{label} model={model} http={http} status={status}{codeText} "
        "tokens={tokens} {seconds:.3f}s route={route} client={client}{firstText}{goneText}",
        label="WS /v1/responses" if outcome.transport == "websocket" else "POST /v1/responses",
        transport=outcome.transport, route=outcome.route, model=outcome.model,
        client=outcome.client, http=outcome.http, status=outcome.status, code=outcome.code,
        codeText=" code={}".format(outcome.code) if outcome.code else "",
        tokens="{}/{}".format(usage["input_tokens"], usage["output_tokens"])
        if usage else "-",
        input_tokens=tokens.get("input"), output_tokens=tokens.get("output"),
        cached_tokens=tokens.get("cached"), reasoning_tokens=tokens.get("reasoning"),
        first_delta=outcome.firstDelta, seconds=outcome.seconds, gone=outcome.gone,
        firstText="" if outcome.firstDelta is None
        else " first-delta={:.3f}s".format(outcome.firstDelta),
        goneText=" client-gone" if outcome.gone else "")
