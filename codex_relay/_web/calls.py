"""
One call to a route's upstream: the POST within the headers timeout, the
strip-and-retry of a parameter the upstream refuses, and its errors mapped
to the OpenAI envelope.
"""

import json
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger

from codex_relay._core.errors import RelayError
from codex_relay._core.request.translate import ChatRequest
from codex_relay._providers.client_keys import ClientKey
from codex_relay._providers.errors import mapUpstreamError
from codex_relay._providers.rejections import rejectedParameter, withoutParameter
from codex_relay._providers.routes import Route
from codex_relay._web.context import RelayContext
from codex_relay._web.failures import unreachable
from codex_relay._web.serving import Watch

log = Logger()

# Compact: the upstream reads every byte.  ASCII: a lone surrogate in the
# client's text is escaped rather than unencodable.
_compact = json.JSONEncoder(separators=(",", ":")).encode


class UpstreamCall:
    """
    Calls to C{route} for one exchange, whose L{Watch} tells a client gone
    or a timeout from an upstream that failed.

    @param authorization: the client's header, forwarded when the route has
        no key of its own; never with client keys, where it holds the
        client's token for the relay.
    @param key: the client key admitted, whose own upstream key, if any,
        is sent instead of the route's.
    """

    def __init__(self, context: RelayContext, route: Route, authorization: str | None,
                 watch: Watch, model: str, key: ClientKey | None = None) -> None:
        self._context = context
        self._client = context.client
        self._config = context.config
        self._reactor = context.reactor
        self._route = route
        self._authorization = None if context.gate is not None else authorization
        self._apiKey = key.upstreamKeyFor(route.upstream.name) if key is not None else None
        self._watch = watch
        self._model = model

    async def content(self, response: Any) -> bytes:
        return await self._client.content(response, self._route.upstream)

    async def post(self, path: str, body: bytes, stream: bool) -> Any:
        """
        POST C{body} to C{path} of the route's upstream, with the key
        handling of L{UpstreamClient.post}; the response once its headers
        arrived (within the headers timeout).
        """
        upstream = self._route.upstream
        return await self._awaitHeaders(self._client.post(
            upstream, path, body, stream, self._authorization, self._apiKey),
            upstream.headersTimeout or self._config.headersTimeout)

    def error(self, response: Any, text: bytes) -> RelayError:
        # Redirects are not followed: an error too.
        retryAfter = response.headers.getRawHeaders(b"retry-after", [b""])[0]
        return mapUpstreamError(response.code, text, retryAfter.decode("latin-1"),
                                self._config.retryAfter)

    async def send(self, chat: ChatRequest) -> Any:
        """
        Send C{chat} upstream; on a 400/422 naming one parameter the upstream
        does not take, send it once more without, and remember that.
        """
        for attempt in range(2):
            route = self._route
            response = await self.post("/chat/completions",
                                        _compact(chat.body).encode("ascii"), chat.stream)
            if response.code < 300:
                return response
            text = await self.content(response)
            rejected = rejectedParameter(response.code, text) if attempt == 0 else None
            if rejected is None or not withoutParameter(chat.body, rejected):
                raise self.error(response, text)
            self._context.learned.learn(route.upstream.name, route.upstreamModel, rejected)
            log.warn("{model}: upstream {upstream} rejected {parameter!r}; retrying "
                     "without it, and leaving it out for a while", model=self._model,
                     upstream=route.upstream.name, parameter=rejected)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _awaitHeaders(self, pending: Deferred[Any], timeout: float) -> Any:
        def expired(result: Any, seconds: float) -> Any:
            self._watch.timedOut = "The upstream sent no response headers within {:g} seconds.".format(
                seconds)
            return result

        pending.addTimeout(timeout, self._reactor, onTimeoutCancel=expired)
        try:
            return await pending
        except Exception as error:
            if self._watch.gone or self._watch.timedOut:
                raise CancelledError() from error
            raise unreachable(error, "request") from error


def isSSE(response: Any) -> bool:
    """
    Whether the upstream answered with a stream of events.
    """
    return b"event-stream" in response.headers.getRawHeaders(b"content-type", [b""])[0]
