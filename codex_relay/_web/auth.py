"""
Inbound auth: with client keys (C{--client-keys}), each request presents
its client's token as C{Authorization: Bearer TOKEN}.  The L{Gate} tells
which client it is (401 when none), and refuses it (429 with
C{Retry-After}) while the client is over one of its limits:

  - C{requests_per_minute}: a sliding window, the requests of the last 60
    seconds;
  - C{tokens_per_day}: the tokens of the requests that ended this UTC day
    (from their usage, heard as L{Outcome}s), checked as each request
    starts, so requests already running may go past it.

The limits are kept in memory, per process, on the relay's clock.  No
token, nor any digest of one, reaches a log line.
"""

import math
from collections import deque

from twisted.internet.interfaces import IReactorTime
from twisted.web.server import Request

from codex_relay._core.errors import RelayError
from codex_relay._providers.client_keys import ClientKey, ClientKeys
from codex_relay._web.activity import Activity, Outcome

_MINUTE = 60.0
_DAY = 86400

_MISSING = ("This relay needs a client key: send it as 'Authorization: Bearer KEY'.")
_INCORRECT = "Incorrect API key provided."


class Gate:
    """
    Who may use the relay, and how much.

    @param clock: the relay's reactor, whose C{seconds()} times the limits.
    @param activity: whose outcomes count the tokens each client spent, and
        where refused requests go as outcomes too.
    """

    def __init__(self, keys: ClientKeys, clock: IReactorTime, activity: Activity) -> None:
        self.keys = keys
        self._clock = clock
        self._activity = activity
        # By client name: when its requests of the last minute came, and
        # (the UTC day, the tokens spent on it).
        self._requests: dict[str, deque[float]] = {}
        self._tokens: dict[str, tuple[int, int]] = {}
        self._budgeted = frozenset(c.name for c in keys.clients if c.tokensPerDay is not None)
        activity.observe(self._spent)

    def __repr__(self) -> str:
        return "<Gate {!r}>".format(self.keys)

    def identify(self, request: Request) -> ClientKey:
        """
        The client whose token C{request} presents.

        @raise RelayError: 401 C{invalid_api_key} when it presents none or
            an unknown one.
        """
        token = bearerToken(request)
        if token is None:
            raise _unauthorized(_MISSING, 'Bearer realm="codex-relay"')
        client = self.keys.find(token)
        if client is None:
            raise _unauthorized(_INCORRECT, 'Bearer realm="codex-relay", error="invalid_token"')
        return client

    def admit(self, request: Request, spends: bool = True,
              transport: str | None = None, count: bool = True) -> ClientKey:
        """
        Identify the client of C{request} and count the request against its
        limits (L{take}).

        @param spends: whether the request may spend tokens (a response);
            other requests are refused only over C{requests_per_minute}.
        @param transport: for a request of C{/v1/responses}, C{http} or
            C{websocket}: a refusal is then an L{Outcome} too (the log line,
            metrics).
        @param count: if false, only L{check}: a WebSocket upgrade, whose
            responses count one by one.
        @raise RelayError: 401 or 429.
        """
        client = None
        try:
            client = self.identify(request)
            (self.take if count else self.check)(client, spends)
        except RelayError as error:
            if transport is not None:
                self.refused(transport, client, error)
            raise
        return client

    def check(self, client: ClientKey, spends: bool = True) -> None:
        """
        Refuse a request of C{client} that its limits do not allow now,
        without counting it.

        @raise RelayError: 429 C{rate_limit_exceeded}, with C{Retry-After}.
        """
        now = self._clock.seconds()
        limit = client.requestsPerMinute
        if limit is not None:
            times = self._recent(client.name, now)
            if len(times) >= limit:
                raise _limited(client, "requests per minute (RPM)", "requests",
                               "limit {}".format(limit), times[-limit] + _MINUTE - now)
        budget = client.tokensPerDay
        if budget is not None and spends:
            day, used = self._tokens.get(client.name, (-1, 0))
            today = int(now // _DAY)
            if day == today and used >= budget:
                raise _limited(client, "tokens per day (TPD)", "tokens",
                               "limit {}, used {}".format(budget, used),
                               (today + 1) * _DAY - now)

    def take(self, client: ClientKey, spends: bool = True) -> None:
        """
        L{check} a request of C{client}, then count it.
        """
        self.check(client, spends)
        if client.requestsPerMinute is not None:
            self._requests.setdefault(client.name, deque()).append(self._clock.seconds())

    def refused(self, transport: str, client: ClientKey | None, error: RelayError) -> None:
        """
        Tell the observers of a C{/v1/responses} request the gate refused.
        """
        token = _Refused()
        self._activity.began(token)
        self._activity.ended(token, Outcome(
            transport=transport, route="-", model="-",
            client=client.name if client is not None else "-", http=error.status,
            status="-", code=error.code, usage=None, firstDelta=None, seconds=0.0,
            gone=False))

    def _recent(self, name: str, now: float) -> deque[float]:
        times = self._requests.setdefault(name, deque())
        while times and times[0] <= now - _MINUTE:
            times.popleft()
        return times

    def _spent(self, outcome: Outcome) -> None:
        usage = outcome.usage
        if outcome.client not in self._budgeted or not isinstance(usage, dict):
            return
        total = usage.get("total_tokens")
        if not isinstance(total, int):
            total = sum(value for value in (usage.get("input_tokens"),
                                            usage.get("output_tokens"))
                        if isinstance(value, int))
        today = int(self._clock.seconds() // _DAY)
        day, used = self._tokens.get(outcome.client, (today, 0))
        self._tokens[outcome.client] = (today, (used if day == today else 0) + total)


class _Refused:
    """
    A refused request, as the activity sees it: in flight for no time.
    """

    def shutDown(self, message: str) -> None:
        pass


def bearerToken(request: Request) -> bytes | None:
    """
    The token of C{request}'s C{Authorization: Bearer} header, if any.
    """
    header = request.getHeader(b"authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(b" ")
    token = token.strip()
    if scheme.lower() != b"bearer" or not token:
        return None
    return token


def _unauthorized(message: str, challenge: str) -> RelayError:
    return RelayError(401, message, "invalid_request_error", "invalid_api_key",
                      headers={"WWW-Authenticate": challenge})


def _limited(client: ClientKey, what: str, kind: str, detail: str,
             seconds: float) -> RelayError:
    wait = max(1, math.ceil(seconds))
    return RelayError(
        429, "Rate limit reached for client '{}' on {}: {}. Please try again in {}s.".format(
            client.name, what, detail, wait),
        kind, "rate_limit_exceeded", headers={"Retry-After": str(wait)})
