"""
Health: C{/healthz} says the process serves; C{/readyz} says whether every
upstream answered its last probe.  L{UpstreamHealth} probes each upstream
with one C{GET /models} every 30 seconds, with a short timeout, on the
relay's reactor; requests never probe.  The service starts and stops it
(L{RelayService}, C{probeUpstreams}); until its first probe, a relay is not
ready.
"""

import json
from typing import Any

from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.defer import TimeoutError as ProbeTimeout
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import Request

from codex_relay._providers.routes import Upstream
from codex_relay._web.context import RelayContext
from codex_relay._web.failures import classify
from codex_relay._web.serving import EnvelopeResource

log = Logger()

PROBE_INTERVAL = 30.0
PROBE_TIMEOUT = 5.0

_REACHABLE = "ok"
_UNPROBED = "not probed yet"


class UpstreamHealth:
    """
    Whether each upstream of a relay answered its last probe: an HTTP
    answer below 500 to C{GET /models} (a 401 to the relay's missing key
    still says the upstream is up), within C{timeout} seconds.
    """

    def __init__(self, context: RelayContext, interval: float = PROBE_INTERVAL,
                 timeout: float = PROBE_TIMEOUT) -> None:
        self._context = context
        self.interval = interval
        self.timeout = timeout
        # By upstream name: "ok", or why its last probe failed.
        self._last: dict[str, str] = {}
        self._loop: LoopingCall | None = None
        self._probing: set[Deferred[Any]] = set()
        self.stopping = False

    def start(self) -> None:
        """
        Probe now, then every C{interval} seconds.
        """
        if self._loop is not None:
            return
        self.stopping = False
        loop = self._loop = LoopingCall(self.probe)
        loop.clock = self._context.reactor
        loop.start(self.interval, now=True).addErrback(
            lambda failure: log.failure("probing the upstreams", failure))

    def stop(self) -> None:
        """
        Stop probing; from now on the relay is not ready.
        """
        self.stopping = True
        loop, self._loop = self._loop, None
        if loop is not None and loop.running:
            loop.stop()
        for probing in list(self._probing):
            probing.cancel()

    def probe(self) -> Deferred[None]:
        """
        Probe every upstream once; fires when each has answered or failed.
        """
        upstreams = list(self._context.table.upstreams.values())
        return DeferredList([self._probeOne(upstream) for upstream in upstreams],
                            consumeErrors=True).addCallback(lambda _: None)

    def _probeOne(self, upstream: Upstream) -> Deferred[None]:
        attempt = Deferred.fromCoroutine(self._ask(upstream))
        self._probing.add(attempt)
        attempt.addTimeout(self.timeout, self._context.reactor)

        def failed(failure: Failure) -> str:
            if failure.check(ProbeTimeout):
                return "no answer within {:g} seconds".format(self.timeout)
            return classify(failure.value or Exception(), what="probe").message

        def record(state: str) -> None:
            self._probing.discard(attempt)
            if not self.stopping:
                self._record(upstream.name, state)

        return attempt.addErrback(failed).addCallback(record)

    async def _ask(self, upstream: Upstream) -> str:
        client = self._context.client
        response = await client.getModels(upstream, None)
        body = await client.content(response, upstream)
        if response.code >= 500:
            return "HTTP {}".format(response.code)
        if response.code == 200:
            try:
                parsed = json.loads(body)
            except ValueError:
                pass
            else:
                self._context.rememberListed(upstream, parsed)
        return _REACHABLE

    def _record(self, name: str, state: str) -> None:
        before = self._last.get(name)
        self._last[name] = state
        if state != _REACHABLE and before != state:
            log.warn("upstream {upstream!r} failed its readiness probe: {why}",
                     upstream=name, why=state)
        elif state == _REACHABLE and before not in (None, _REACHABLE):
            log.info("upstream {upstream!r} answers its readiness probe again",
                     upstream=name)

    def states(self) -> dict[str, str]:
        """
        Each upstream's last probe, by name: C{ok}, C{not probed yet}, or
        why it failed.
        """
        return {name: self._last.get(name, _UNPROBED)
                for name in self._context.table.upstreams}

    def reachable(self) -> dict[str, bool | None]:
        """
        Whether each upstream answered its last probe; L{None} before one.
        """
        return {name: None if state == _UNPROBED else state == _REACHABLE
                for name, state in self.states().items()}

    @property
    def ready(self) -> bool:
        return not self.stopping and all(
            state == _REACHABLE for state in self.states().values())


class ReadyResource(EnvelopeResource):
    """
    C{GET /readyz}: 200 when every upstream answered its last probe, else
    503; the body names each upstream's state.
    """

    isLeaf = True

    def __init__(self, health: UpstreamHealth) -> None:
        super().__init__()
        self._health = health

    def render_GET(self, request: Request) -> bytes:
        health = self._health
        ready = health.ready
        states = health.states()
        body: dict[str, Any] = {
            "status": "ready" if ready else "stopping" if health.stopping else "unready",
            "upstreams": states}
        if not ready:
            body["unready"] = [name for name, state in states.items() if state != _REACHABLE]
        request.setResponseCode(200 if ready else 503)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(body).encode("utf-8")
