"""
The Resource tree: C{/v1/responses}, C{/v1/models}, C{/health} (and
C{/healthz}), C{/readyz}, C{/metrics}, and an OpenAI error envelope for
everything else.
"""

import os
from typing import Any, cast

from twisted.internet.defer import Deferred
from twisted.web.resource import IResource
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.websocket import WebSocketResource

from codex_relay._web.config import RelayConfig
from codex_relay._core.errors import RelayError
from codex_relay._web.activity import Activity
from codex_relay._web.context import RelayContext
from codex_relay._web.exchange import ResponsesExchange
from codex_relay._web.health import ReadyResource, UpstreamHealth
from codex_relay._web.metrics import RelayMetrics
from codex_relay._web.serving import writeError
from codex_relay._web.models import ModelsResource
from codex_relay._web.reactor import IRelayReactor
from codex_relay._web.serving import EnvelopeResource, ErrorResource, serve
from codex_relay._web.upstream import UpstreamClient
from codex_relay._store.interface import ResponseStore
from codex_relay._store.memory import MemoryStore
from codex_relay._web.conversations import Conversations
from codex_relay._web.outlet import HTTPOutlet
from codex_relay._web.stored import StoredResponseResource, unstored
from codex_relay._web.websocket import ResponsesWebSocketFactory


class _Default:
    pass


DEFAULT = _Default()



class ResponsesResource(EnvelopeResource):
    """
    C{POST /v1/responses}, its WebSocket upgrade, and the stored responses
    under it.
    """

    def __init__(self, context: RelayContext) -> None:
        super().__init__()
        self._context = context
        self._websocket = WebSocketResource(ResponsesWebSocketFactory(context))

    def getChild(self, path: bytes, request: Request) -> IResource:
        if path == b"" and not any(request.postpath or ()):
            return self
        gate = self._context.gate
        if gate is not None:
            try:
                gate.admit(request, spends=False)
            except RelayError as error:
                return ErrorResource(error)
        conversations = self._context.conversations
        if conversations.store is None:
            return unstored(request)
        return StoredResponseResource(conversations, self._context.reactor,
                                      path.decode("utf-8", "replace"))

    def render_GET(self, request: Request) -> bytes | int:
        upgrade = (request.getHeader(b"upgrade") or b"").lower()
        if upgrade == b"websocket" and self._context.config.websocket:
            gate, websocket = self._context.gate, self._websocket
            if gate is not None:
                # Refused before the upgrade; each response then counts.
                try:
                    client = gate.admit(request, transport="websocket", count=False)
                except RelayError as error:
                    writeError(request, error)
                    return NOT_DONE_YET
                websocket = WebSocketResource(ResponsesWebSocketFactory(self._context, client))
            if request.getHeader(b"sec-websocket-key") is None or (
                    request.getHeader(b"sec-websocket-version") != b"13"):
                writeError(request, RelayError(
                    400, "A WebSocket upgrade needs Sec-WebSocket-Key and "
                    "Sec-WebSocket-Version: 13.", code="invalid_upgrade"))
                return NOT_DONE_YET
            return cast("bytes | int", websocket.render(request))
        if upgrade == b"websocket":
            # 426 makes Codex fall back to HTTP at once, where 405 costs
            # five retries.
            writeError(request, RelayError(
                426, "This relay serves the Responses API over HTTP streaming only "
                "(--websocket off); set supports_websockets = false.",
                code="websocket_unsupported"))
        else:
            request.setHeader(b"allow", b"POST")
            writeError(request, RelayError(
                405, "Method GET is not allowed on /v1/responses; POST a request.",
                code="method_not_allowed"))
        return NOT_DONE_YET

    def render_POST(self, request: Request) -> int:
        exchange = ResponsesExchange(self._context, HTTPOutlet(request))
        gate = self._context.gate
        if gate is not None:
            try:
                exchange.key = gate.admit(request, transport="http")
            except RelayError as error:
                writeError(request, error)
                return NOT_DONE_YET
            exchange.client = exchange.key.name
        total = self._context.config.totalTimeout
        serve(request, exchange.run, exchange, self._context.reactor, total,
              "The response took longer than {:g} seconds.".format(total))
        return NOT_DONE_YET


class HealthResource(EnvelopeResource):
    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        # Tells apart the workers of --workers.
        request.setHeader(b"x-relay-pid", b"%d" % os.getpid())
        return b'{"status":"ok"}'


class RelayRoot(EnvelopeResource):
    """
    The root of the relay's tree: C{/v1/responses}, C{/v1/models},
    C{/health} and C{/healthz}, C{/readyz}, and C{/metrics} with
    C{serveMetrics}.

    @ivar metrics: the relay's metrics (L{RelayMetrics}), counting from
        C{context}.
    @ivar health: the upstreams' readiness (L{UpstreamHealth}), probing
        once started.
    """

    def __init__(self, context: RelayContext, metrics: RelayMetrics | None = None,
                 serveMetrics: bool = True) -> None:
        super().__init__()
        v1 = EnvelopeResource()
        self._context = context
        self._models = ModelsResource(context)
        self.metrics = metrics or RelayMetrics()
        self.metrics.watch(context)
        self.health = UpstreamHealth(context)
        self.metrics.watchUpstreams(self.health.reachable)
        self.putChild(b"v1", v1)
        self.putChild(b"health", HealthResource())
        self.putChild(b"healthz", HealthResource())
        self.putChild(b"readyz", ReadyResource(self.health))
        if serveMetrics:
            self.putChild(b"metrics", self.metrics.resource())
        v1.putChild(b"responses", ResponsesResource(context))
        v1.putChild(b"models", self._models)

    @property
    def activity(self) -> Activity:
        """
        The exchanges in flight and their outcomes (L{Activity}).
        """
        return self._context.activity

    def learnProfiles(self) -> Deferred[Any]:
        """
        Ask the upstreams whose profile may still be learned for their model
        lists, once (L{ModelsResource.learnProfiles}).
        """
        return self._models.learnProfiles()


def relayResource(config: RelayConfig, reactor: IRelayReactor,
                  client: UpstreamClient | None = None,
                  store: ResponseStore | None | _Default = DEFAULT,
                  serveMetrics: bool = True) -> RelayRoot:
    """
    The relay's resource tree, to serve or to mount under an existing one.

    @param client: the upstream client; one with its own pool is made when
        omitted (close it with the service that owns it).
    @param store: where responses are kept, opened; L{None} keeps none.  By
        default, none when C{config.store} is C{none}, else a bounded one in
        memory (L{RelayService} opens the store its configuration names).
    @param serveMetrics: serve C{/metrics} in the tree (otherwise serve
        C{root.metrics.resource()} elsewhere).
    """
    if client is None:
        client = UpstreamClient.fromConfig(reactor, config)
    if isinstance(store, _Default):
        store = None if config.store == "none" else MemoryStore(reactor)
    metrics = RelayMetrics()
    if store is not None:
        store = metrics.countingStore(store)
    conversations = Conversations(store, config.translation.secret, reactor,
                                  config.retention)
    return RelayRoot(RelayContext(config, client, reactor, config.routingTable(),
                                  conversations), metrics, serveMetrics)
