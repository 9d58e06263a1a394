"""
C{GET /v1/models}: one upstream's list proxied as it is, or, with several
upstreams, every list merged under the names clients should use.
"""

import json
from typing import Any

from twisted.internet.defer import Deferred, DeferredList
from twisted.logger import Logger
from twisted.web.server import NOT_DONE_YET, Request

import treq

from ._errors import RelayError, mapUpstreamError
from ._exchange import RelayContext, unreachable
from ._routes import Upstream, mergeModelLists
from ._web import EnvelopeResource, Watch, serve, writeError

log = Logger()


class ModelsResource(EnvelopeResource):
    """
    C{GET /v1/models}, asked of the upstreams with the relay's credentials.
    """

    isLeaf = True

    def __init__(self, context: RelayContext) -> None:
        super().__init__()
        self._context = context

    def render_GET(self, request: Request) -> int:
        state = Watch()
        timeout = self._context.config.headersTimeout
        # The whole model list is due within the headers timeout.
        serve(request, lambda: self._answer(request, state), state, self._context.reactor,
              timeout, "The upstream sent no model list within {:g} seconds.".format(timeout))
        return NOT_DONE_YET

    async def _fetch(self, upstream: Upstream, authorization: str | None) -> bytes:
        """
        One upstream's model list body; a L{RelayError} for an error answer.
        """
        response = await self._context.client.getModels(upstream, authorization)
        body = await treq.content(response)
        if response.code >= 300:  # redirects are not followed: an error too
            raise mapUpstreamError(response.code, body, None, self._context.config.retryAfter)
        try:
            json.loads(body)
        except ValueError:
            raise RelayError(502, "The upstream model list is not JSON.", "server_error",
                             "bad_upstream_response")
        return body

    async def _answer(self, request: Request, state: Watch) -> None:
        header = request.getHeader(b"authorization")
        authorization = header.decode("latin-1") if header else None
        upstreams = list(self._context.table.upstreams.values())
        if len(upstreams) == 1:
            try:
                body = await self._fetch(upstreams[0], authorization)
            except Exception as error:
                if not state.gone:
                    writeError(request, _asRelayError(error, state))
                return
        else:
            body = await self._merged(upstreams, authorization)
        request.setHeader(b"content-type", b"application/json")
        request.write(body)
        request.finish()

    async def _merged(self, upstreams: list[Upstream], authorization: str | None) -> bytes:
        outcomes = await DeferredList(
            [self._listOf(upstream, authorization) for upstream in upstreams],
            consumeErrors=True)
        results: dict[str, Any] = {}
        for upstream, (succeeded, value) in zip(upstreams, outcomes):
            results[upstream.name] = value if succeeded else value.value
        merged, warnings = mergeModelLists(self._context.table, results)
        for warning in warnings:
            log.warn("{note}", note=warning)
        return json.dumps({"object": "list", "data": merged}).encode("utf-8")

    def _listOf(self, upstream: Upstream, authorization: str | None) -> Deferred:
        async def listOf() -> Any:
            return json.loads(await self._fetch(upstream, authorization)).get("data")

        return Deferred.fromCoroutine(listOf())


def _asRelayError(error: BaseException, state: Watch) -> RelayError:
    if isinstance(error, RelayError):
        return error
    if state.timedOut:
        return RelayError(504, state.timedOut, "server_error", "upstream_timeout")
    return unreachable(error, "model list")
