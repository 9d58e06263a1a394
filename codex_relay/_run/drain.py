"""
Graceful shutdown: a site that knows its connections, and the drain that
ends them.  Once the relay's ports have stopped listening (L{RelayService}
does that first, so new connections are refused at once), L{drain}:

  1. closes idle keep-alive connections at once, and busy ones once their
     answer is out (with C{Connection: close}); WebSocket connections close
     (1001, going away) once their response in progress has ended;
  2. lets the exchanges in flight finish, for up to C{seconds};
  3. ends those still running with a retryable C{response.failed}
     (C{server_error}; a 500 envelope before a stream began), so that
     Codex tries again, elsewhere;
  4. gives the connections left C{grace} seconds to send what they hold,
     then aborts them.
"""

from typing import Any

from twisted.internet.defer import Deferred, TimeoutError, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web import http

from codex_relay._web.activity import Activity
from codex_relay._web.limits import LimitedChannel, LimitedSite

log = Logger()

DEFAULT_DRAIN_TIMEOUT = 30.0
# Seconds the connections left after the drain get to flush their last bytes.
CLOSE_GRACE = 2.0
SHUTDOWN_MESSAGE = "The relay is shutting down; try the request again."


class _DrainingChannel(LimitedChannel):
    """
    A channel that, once its site drains, answers the request it has and
    closes.
    """

    def __init__(self, site: "DrainingSite") -> None:
        super().__init__()
        self._drainingSite = site

    def checkPersistence(self, request: Any, version: bytes) -> bool:
        if self._drainingSite.draining:
            request.responseHeaders.setRawHeaders(b"connection", [b"close"])
            return False
        return bool(super().checkPersistence(request, version))


class _Connection(http._GenericHTTPChannelProtocol):
    """
    One connection of a L{DrainingSite}, known to it while open.
    """

    def __init__(self, channel: _DrainingChannel, site: "DrainingSite") -> None:
        super().__init__(channel)
        self._drainingSite = site

    def makeConnection(self, transport: Any) -> None:
        self._drainingSite.connections.add(self)
        self._channel.makeConnection(transport)

    def connectionLost(self, reason: Any) -> None:
        # After a WebSocket upgrade the channel's connectionLost is the
        # WebSocket's own.
        try:
            self._channel.connectionLost(reason)
        finally:
            self._drainingSite._lost(self)

    def drain(self) -> None:
        channel: Any = self._channel
        requests = getattr(channel, "requests", None)
        if requests is None:
            return  # HTTP/2: closed with the rest, after the drain
        if not requests:
            channel.loseConnection()  # idle keep-alive
            return
        # Busy, or upgraded to a WebSocket (which closes itself): close
        # once the answer is out.
        channel.persistent = False
        for request in requests:
            if not request.startedWriting:
                request.responseHeaders.setRawHeaders(b"connection", [b"close"])

    def abort(self) -> None:
        transport: Any = self._channel.transport
        if transport is not None:
            transport.abortConnection()


class DrainingSite(LimitedSite):
    """
    A L{LimitedSite} that knows its open connections, and can close them
    as they become idle (L{drain}).

    @ivar connections: the open connections.
    @ivar draining: whether L{drain} was called: every request from then
        on is answered with C{Connection: close}.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[_Connection] = set()
        self.draining = False
        self._closed: list[Deferred[None]] = []

    def protocol(self) -> Any:
        return _Connection(_DrainingChannel(self), self)

    def drain(self) -> None:
        """
        Close the idle connections, and the others once their answer is out.
        """
        self.draining = True
        for connection in list(self.connections):
            connection.drain()

    def whenClosed(self) -> Deferred[None]:
        """
        Fires once no connection is open (at once if none is).
        """
        if not self.connections:
            return succeed(None)
        closed: Deferred[None] = Deferred()
        self._closed.append(closed)
        return closed

    def abortAll(self) -> None:
        for connection in list(self.connections):
            connection.abort()

    def _lost(self, connection: _Connection) -> None:
        self.connections.discard(connection)
        if not self.connections:
            waiting, self._closed = self._closed, []
            for closed in waiting:
                closed.callback(None)


async def _settled(site: DrainingSite | None, activity: Activity) -> None:
    # A request already on a connection may still begin an exchange.
    while True:
        await activity.whenIdle()
        if site is not None:
            await site.whenClosed()
        if not activity.inFlight:
            return


async def _within(clock: IReactorTime, seconds: float, waiting: Deferred[Any]) -> bool:
    """
    Whether C{waiting} fired within C{seconds}; cancelled if not.
    """
    try:
        await waiting.addTimeout(seconds, clock)
    except TimeoutError:
        return False
    return True


async def drain(site: DrainingSite | None, activity: Activity, reactor: IReactorTime,
                seconds: float = DEFAULT_DRAIN_TIMEOUT, grace: float = CLOSE_GRACE) -> int:
    """
    Drain C{site} (when the relay has ports) and C{activity}, as the module
    says, on C{reactor}'s clock.

    @return: how many exchanges were ended because C{seconds} passed.
    """
    began = reactor.seconds()
    streams = len(activity.inFlight)
    connections = len(site.connections) if site is not None else 0
    if site is not None:
        site.drain()
    activity.goAway()
    if streams or connections:
        log.info("codex-relay stopping: {streams} responses in flight, {connections} "
                 "connections open; waiting up to {seconds:g}s", streams=streams,
                 connections=connections, seconds=seconds)
    if await _within(reactor, seconds, Deferred.fromCoroutine(_settled(site, activity))):
        if streams:
            log.info("codex-relay drained: every response finished, in {elapsed:.2f}s",
                     elapsed=reactor.seconds() - began)
        return 0
    cut = activity.shutDown(SHUTDOWN_MESSAGE)
    log.warn("codex-relay drain timeout ({seconds:g}s): ended {cut} responses still in "
             "flight with response.failed (server_error, retryable)", seconds=seconds, cut=cut)
    if site is not None and not await _within(reactor, grace, site.whenClosed()):
        site.abortAll()
    return cut
