"""
The relay as an IService: it owns the upstream pool and the Site, listens
on its endpoints, and closes everything when stopped.
"""

import os
from collections.abc import Sequence
from functools import partial
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, gatherResults, succeed
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.python.failure import Failure

from codex_relay._store.choose import storeFromSpec
from codex_relay._web.config import RelayConfig
from codex_relay._web.limits import LimitedRequest, LimitedSite
from codex_relay._web.resource import relayResource
from codex_relay._web.upstream import UpstreamClient

log = Logger()


class RelayService(Service):
    """
    Serve the relay on C{listen} (Twisted endpoint strings).  With no
    endpoints it only owns the pool, and C{resource} can be mounted in an
    existing site.

    @ivar resource: the relay's resource tree.
    @ivar site: a L{LimitedSite} serving C{resource}, with the body and header
        size limits.
    @ivar listening: fires with the listening ports once all endpoints
        listen, or fails with the first that could not.
    @ivar ports: the listening ports.
    @ivar store: where responses are kept (C{config.store}), or L{None}.
    @ivar opened: fires once the store is open, or fails when it cannot be.

    @param announce: log a line for each endpoint it listens on (the
        console command prints its own instead, which C{start()} waits for).
    @param stopIfCannotListen: log a critical line and stop the reactor
        when an endpoint cannot listen or the store cannot be opened (twistd
        and twist).
    @param learnProfiles: at start, ask each upstream whose profile came out
        generic from its URL for its model list, once and off the request
        path, to recognise llama.cpp on any port (L{ModelsResource.learnProfiles}).
    """

    def __init__(self, config: RelayConfig, reactor: Any, listen: Sequence[str] = (),
                 learnProfiles: bool = False, announce: bool = True,
                 stopIfCannotListen: bool = False) -> None:
        self._config = config
        self._reactor = reactor
        self._endpoints = list(listen)
        self._learnProfiles = learnProfiles
        self._announce = announce
        self._stopIfCannotListen = stopIfCannotListen
        self._bound = False
        self.client = UpstreamClient.fromConfig(reactor, config)
        self.store = (None if config.store == "none"
                      else storeFromSpec(config.store, reactor, reactor, os.environ))
        self.resource = relayResource(config, reactor, self.client, self.store)
        self.site = LimitedSite(self.resource, reactor=reactor,
                         requestFactory=partial(LimitedRequest,
                                                maxBodyBytes=config.maxBodyBytes))
        self.site.noisy = False
        self.ports: list[Any] = []
        self.listening: Deferred[Any] = succeed([])
        self._learning: Deferred[Any] = succeed(None)
        self.opened: Deferred[None] = succeed(None)

    def privilegedStartService(self) -> None:
        # Ports are bound here, before twistd drops privileges (port 443...).
        super().privilegedStartService()
        self._bound = True
        if self.store is not None:
            # Opened before the first request can come: each backend queues
            # what is asked of it meanwhile.
            self.opened = self.store.open()
            if self._stopIfCannotListen:
                self.opened.addErrback(self._cannotOpen)
        pending = [serverFromString(self._reactor, e).listen(self.site)
                   for e in self._endpoints]
        self.listening = gatherResults(pending, consumeErrors=True)
        self.listening.addCallback(self._listened)
        if self._stopIfCannotListen:
            self.listening.addErrback(self._cannotListen)

    def startService(self) -> None:
        # Started directly (embedded, or in tests) rather than by an
        # application: bind first, as Twisted's endpoint services do.
        if not self._bound:
            self.privilegedStartService()
        super().startService()
        if self._learnProfiles:
            # Codex never lists the models, so ask once here, off the request
            # path, whether an upstream is a server with its own profile.
            self._learning = self.resource.learnProfiles()

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
        self.ports = ports
        for port in ports if self._announce else ():
            log.info("codex-relay listening on {address} for {upstream}",
                     address=describe(port), upstream=self._config.upstream)
        return ports

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        self._bound = False
        self._learning.cancel()
        stopping = [port.stopListening() for port in self.ports]
        self.ports = []
        closing = self.client.close()
        if closing is not None:
            stopping.append(closing)
        store = self.store
        if store is not None:
            stopping.append(self.opened.addBoth(lambda _: store.close()))
        return DeferredList([d for d in stopping if d is not None]).addCallback(
            lambda _: None)


def describe(port: Any) -> str:
    """
    Where a listening port listens: C{HOST:PORT}, or C{unix:PATH}.
    """
    address = port.getHost()
    host = getattr(address, "host", None)
    if host is None:
        return "unix:{}".format(getattr(address, "name", address))
    return "{}:{}".format("[{}]".format(host) if ":" in host else host, address.port)
