"""
The Resource tree: C{/v1/responses}, C{/v1/models}, C{/health}, and an
OpenAI error envelope for everything else.
"""

from typing import Any

from twisted.internet.defer import Deferred
from twisted.web.server import NOT_DONE_YET, Request

from codex_relay._web.config import RelayConfig
from codex_relay._core.errors import RelayError
from codex_relay._web.exchange import RelayContext, ResponsesExchange
from codex_relay._web.serving import writeError
from codex_relay._web.models import ModelsResource
from codex_relay._web.serving import EnvelopeResource, serve
from codex_relay._web.upstream import UpstreamClient



class ResponsesResource(EnvelopeResource):
    """
    C{POST /v1/responses}.
    """

    isLeaf = True

    def __init__(self, context: RelayContext) -> None:
        super().__init__()
        self._context = context

    def render_GET(self, request: Request) -> int:
        # Codex with supports_websockets = true asks to upgrade here first;
        # 426 makes it fall back to HTTP at once, where 405 costs five retries.
        upgrade = (request.getHeader(b"upgrade") or b"").lower()
        if upgrade == b"websocket":
            writeError(request, RelayError(
                426, "codex-relay serves the Responses API over HTTP streaming, not "
                "WebSocket; set supports_websockets = false.", code="websocket_unsupported"))
        else:
            request.setHeader(b"allow", b"POST")
            writeError(request, RelayError(
                405, "Method GET is not allowed on /v1/responses; POST a request.",
                code="method_not_allowed"))
        return NOT_DONE_YET

    def render_POST(self, request: Request) -> int:
        exchange = ResponsesExchange(self._context, request)
        total = self._context.config.totalTimeout
        serve(request, exchange.run, exchange, self._context.reactor, total,
              "The response took longer than {:g} seconds.".format(total))
        return NOT_DONE_YET


class HealthResource(EnvelopeResource):
    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return b'{"status":"ok"}'


class RelayRoot(EnvelopeResource):
    """
    The root of the relay's tree: C{/v1/responses}, C{/v1/models} and
    C{/health}.
    """

    def __init__(self, context: RelayContext) -> None:
        super().__init__()
        v1 = EnvelopeResource()
        self._models = ModelsResource(context)
        self.putChild(b"v1", v1)
        self.putChild(b"health", HealthResource())
        v1.putChild(b"responses", ResponsesResource(context))
        v1.putChild(b"models", self._models)

    def learnProfiles(self) -> Deferred[Any]:
        """
        Ask the upstreams whose profile may still be learned for their model
        lists, once (L{ModelsResource.learnProfiles}).
        """
        return self._models.learnProfiles()


def relayResource(config: RelayConfig, reactor: Any,
                  client: UpstreamClient | None = None) -> RelayRoot:
    """
    The relay's resource tree, to serve or to mount under an existing one.

    @param client: the upstream client; one with its own pool is made when
        omitted (close it with the service that owns it).
    """
    if client is None:
        client = UpstreamClient.fromConfig(reactor, config)
    return RelayRoot(RelayContext(config, client, reactor, config.routingTable()))
