"""
The relay as an IService: it owns the upstream pool and the Site, listens
on its endpoints (one L{StreamServerEndpointService} child each), and
closes everything when stopped.
"""

import ipaddress
import os
from collections.abc import Sequence
from functools import partial
from typing import Any

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.python.failure import Failure

from codex_relay._run.drain import DEFAULT_DRAIN_TIMEOUT, DrainingSite, drain
from codex_relay._run.ports import allListened, listenOn
from codex_relay._store.choose import storeFromSpec
from codex_relay._web.config import RelayConfig
from codex_relay._web.limits import LimitedRequest, LimitedSite
from codex_relay._web.reactor import IRelayReactor
from codex_relay._web.resource import relayResource
from codex_relay._web.serving import EnvelopeResource
from codex_relay._web.upstream import UpstreamClient

log = Logger()


class RelayService(MultiService):
    """
    Serve the relay on C{listen} (Twisted endpoint strings).  With no
    endpoints it only owns the pool, and C{resource} can be mounted in an
    existing site.

    @ivar resource: the relay's resource tree.
    @ivar site: a L{DrainingSite} serving C{resource}, with the body and
        header size limits of a L{LimitedSite}.
    @ivar listening: fires with the listening ports once all endpoints
        listen, or fails with the first that could not.
    @ivar ports: the listening ports.
    @ivar store: where responses are kept (C{config.store}), or L{None}.
    @ivar opened: fires once the store is open, or fails when it cannot be.
    @ivar metricsPorts: the ports listening on C{metricsListen}.

    @param announce: log a line for each endpoint it listens on (the
        console command prints its own instead, which C{start()} waits for).
    @param stopIfCannotListen: log a critical line and stop the reactor
        when an endpoint cannot listen or the store cannot be opened (twistd
        and twist).
    @param learnProfiles: at start, ask each upstream whose profile came out
        generic from its URL for its model list, once and off the request
        path, to recognise llama.cpp on any port (L{ModelsResource.learnProfiles}).
    @param metricsListen: endpoints serving only C{/metrics}; when given,
        the C{listen} endpoints do not serve it.
    @param probeUpstreams: probe the upstreams every 30 seconds while
        running, for C{/readyz} (L{UpstreamHealth}); without, the relay
        never says it is ready.
    @param drainTimeout: when stopped, seconds the responses in flight may
        take to finish before they are ended with a retryable
        C{response.failed} (L{codex_relay._run.drain}); C{stopService}
        fires once that is done and everything is closed.

    C{listen} and C{metricsListen} may also hold endpoint objects (a
    worker's adopted socket: L{codex_relay._run.workers}).
    """

    def __init__(self, config: RelayConfig, reactor: IRelayReactor, listen: Sequence[Any] = (),
                 learnProfiles: bool = False, announce: bool = True,
                 stopIfCannotListen: bool = False, metricsListen: Sequence[Any] = (),
                 probeUpstreams: bool = False,
                 drainTimeout: float = DEFAULT_DRAIN_TIMEOUT) -> None:
        super().__init__()
        self._config = config
        self._drainTimeout = drainTimeout
        self._reactor = reactor
        self._split = len(listen)  # the relay's own ports come before the metrics ports
        self._probeUpstreams = probeUpstreams
        self._learnProfiles = learnProfiles
        self._announce = announce
        self._stopIfCannotListen = stopIfCannotListen
        self._bound = False
        self.client = UpstreamClient.fromConfig(reactor, config)
        self.store = (None if config.store == "none"
                      else storeFromSpec(config.store, reactor, reactor, os.environ))
        self.resource = relayResource(config, reactor, self.client, self.store,
                                      serveMetrics=not metricsListen)
        self.site = DrainingSite(self.resource, reactor=reactor,
                         requestFactory=partial(LimitedRequest,
                                                maxBodyBytes=config.maxBodyBytes))
        self.site.noisy = False
        metricsRoot = EnvelopeResource()
        metricsRoot.putChild(b"metrics", self.resource.metrics.resource())
        self.metricsSite = LimitedSite(metricsRoot, reactor=reactor)
        self.metricsSite.noisy = False
        self._listening = [listenOn(self, self._endpoint(e), self.site) for e in listen]
        self._listening += [listenOn(self, self._endpoint(e), self.metricsSite)
                            for e in metricsListen]
        self.metricsPorts: list[Any] = []
        self.ports: list[Any] = []
        self.listening: Deferred[Any] = succeed([])
        self._learning: Deferred[Any] = succeed(None)
        self.opened: Deferred[None] = succeed(None)

    def privilegedStartService(self) -> None:
        self._bound = True
        if self.store is not None:
            # Opened before the first request can come: each backend queues
            # what is asked of it meanwhile.
            self.opened = self.store.open()
            if self._stopIfCannotListen:
                self.opened.addErrback(self._cannotOpen)
        # The children bind their ports here, before twistd drops privileges.
        super().privilegedStartService()
        self.listening = allListened(self._listening)
        self.listening.addCallback(self._listened)
        if self._stopIfCannotListen:
            self.listening.addErrback(self._cannotListen)

    def _endpoint(self, endpoint: Any) -> Any:
        return serverFromString(self._reactor, endpoint) if isinstance(
            endpoint, str) else endpoint

    def startService(self) -> None:
        # Started directly (embedded, or in tests) rather than by an
        # application: open and bind first, as Twisted's endpoint services do.
        if not self._bound:
            self.privilegedStartService()
        super().startService()
        if self._learnProfiles:
            # Codex never lists the models, so ask once here, off the request
            # path, whether an upstream is a server with its own profile.
            self._learning = self.resource.learnProfiles()
        if self._probeUpstreams:
            self.resource.health.start()

    def _cannotListen(self, failure: Failure) -> None:
        # A relay that cannot listen must not linger half-started.
        log.critical("codex-relay could not listen: {error}", error=failure.getErrorMessage())
        if self._reactor.running:
            self._reactor.stop()

    def _cannotOpen(self, failure: Failure) -> None:
        assert self.store is not None
        log.critical("codex-relay could not open its response store {name}: {error}",
                     name=self.store.name, error=failure.getErrorMessage())
        if self._reactor.running:
            self._reactor.stop()

    def _listened(self, ports: list[Any]) -> list[Any]:
        # The metrics ports come last, and are not the relay's own.
        ports, self.metricsPorts = ports[:self._split], ports[self._split:]
        for port in self.metricsPorts:
            log.info("codex-relay serving /metrics on {address}", address=describe(port))
        self.ports = ports
        exposed = [describe(port) for port in ports if beyondLoopback(port)]
        if exposed and self._config.clientKeys is None:
            log.warn(OPEN_RELAY_WARNING, addresses=", ".join(exposed))
        for port in ports if self._announce else ():
            log.info("codex-relay listening on {address} for {upstream}",
                     address=describe(port), upstream=self._config.upstream)
        return ports

    def stopService(self) -> Deferred[Any]:
        # New connections are refused at once (the children stop listening);
        # then the open ones drain.
        stopping: list[Any] = [super().stopService()]
        self._bound = False
        self._learning.cancel()
        self.resource.health.stop()
        self.ports = []
        self.metricsPorts = []
        drained = Deferred.fromCoroutine(drain(
            self.site, self.resource.activity, self._reactor, self._drainTimeout))
        drained.addErrback(lambda failure: log.failure("draining", failure))
        return drained.addCallback(lambda _: self._close(stopping))

    def _close(self, stopping: list[Any]) -> Deferred[None]:
        closing = self.client.close()
        if closing is not None:
            stopping.append(closing)
        store = self.store
        if store is not None:
            stopping.append(self.opened.addBoth(lambda _: store.close()))
        return DeferredList([d for d in stopping if d is not None]).addCallback(
            lambda _: None)


OPEN_RELAY_WARNING = (
    "codex-relay listens on {addresses}, beyond loopback, without client keys: anyone "
    "who can reach it may use it, and the upstream keys it holds. Give --client-keys, "
    "or listen on 127.0.0.1 only.")


def beyondLoopback(port: Any) -> bool:
    """
    Whether a listening port may be reached from other machines: a TCP port
    on any address but a loopback one (a UNIX socket is not).
    """
    host = getattr(port.getHost(), "host", None)
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return not address.ipv4_mapped.is_loopback
    return not address.is_loopback


def describe(port: Any) -> str:
    """
    Where a listening port listens: C{HOST:PORT}, or C{unix:PATH}.
    """
    address = port.getHost()
    host = getattr(address, "host", None)
    if host is None:
        return "unix:{}".format(getattr(address, "name", address))
    return "{}:{}".format("[{}]".format(host) if ":" in host else host, address.port)
