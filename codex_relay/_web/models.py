"""
C{GET /v1/models}: one upstream's list proxied as it is, or, with several
upstreams, every list merged under the names clients should use.

Each upstream has its own timeout (its C{headers_timeout}, or the relay's)
for the whole list.  With several, those that answer are merged and the
others left out, with a warning; when none answers, the answer is an error
(504 when they all timed out), never an empty list.

A model list also tells which server sent it: an upstream whose generic
profile was only detected, not named, learns llama.cpp's from it
(L{learnProfiles} asks for the lists once at start, off the request path).
"""

import json
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred, DeferredList
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import NOT_DONE_YET, Request

from codex_relay._core.errors import RelayError
from codex_relay._providers.client_keys import ClientKey, visibleModels
from codex_relay._providers.errors import mapUpstreamError
from codex_relay._web.context import RelayContext
from codex_relay._web.failures import classify
from codex_relay._providers.profiles import detectProfileFromModels
from codex_relay._providers.routes import CHAT, Upstream, mergeModelLists
from codex_relay._web.serving import EnvelopeResource, Watch, serve, writeError

log = Logger()

# serve()'s own timer only backs up the upstreams' timeouts: it fires this
# long after the last of them should have.
_BACKSTOP = 1.0


@dataclass(frozen=True)
class _ModelList:
    """
    One upstream's model list: its body as received, and parsed.
    """

    body: bytes
    parsed: Any


class ModelsResource(EnvelopeResource):
    """
    C{GET /v1/models}, asked of the upstreams with the relay's credentials.
    """

    isLeaf = True

    def __init__(self, context: RelayContext) -> None:
        super().__init__()
        self._context = context

    def render_GET(self, request: Request) -> bytes | int:
        state = Watch()
        client, gate = None, self._context.gate
        if gate is not None:
            # With client keys: only the models the client may use, asked
            # of only the upstreams it may reach.
            try:
                client = gate.admit(request, spends=False)
            except RelayError as error:
                writeError(request, error)
                return NOT_DONE_YET
        upstreams = [u for u in self._context.table.upstreams.values() if client is None
                     or client.routes is None or u.name in client.routes]
        if not upstreams:
            request.setHeader(b"content-type", b"application/json")
            return b'{"object":"list","data":[]}'
        seconds = max((self._timeout(u) for u in upstreams),
                      default=self._context.config.headersTimeout) + _BACKSTOP
        serve(request, lambda: self._answer(request, state, upstreams, client), state,
              self._context.reactor, seconds,
              "No upstream sent a model list within {:g} seconds.".format(seconds))
        return NOT_DONE_YET

    def learnProfiles(self) -> Deferred[Any]:
        """
        Ask each upstream that may still learn its profile
        (L{RoutingTable.mayLearnProfile}) and speaks Chat for its model list,
        once, with the relay's own credentials: Codex never asks for one.
        Failures are logged at debug level only.

        @return: a L{Deferred} that fires with L{None} when every list has
            come or failed; cancelling it stops those still under way.
        """
        table = self._context.table
        attempts = []
        for upstream in table.upstreams.values():
            if upstream.api == CHAT and table.mayLearnProfile(upstream):
                attempts.append(self._attempt(upstream, None).addErrback(
                    _notLearned, upstream))
        return DeferredList(attempts).addCallback(lambda _: None)

    def _timeout(self, upstream: Upstream) -> float:
        if upstream.headersTimeout is not None:
            return upstream.headersTimeout
        return self._context.config.headersTimeout

    def _attempt(self, upstream: Upstream, authorization: str | None,
                 apiKey: str | None = None) -> Deferred[Any]:
        """
        One upstream's model list within its timeout: fires with a
        L{_ModelList}, or fails with a L{RelayError}.  Cancelling it stops
        the upstream request.
        """
        def timedOut(result: object, seconds: float) -> Failure:
            return Failure(RelayError(
                504, "The upstream sent no model list within {:g} seconds.".format(seconds),
                "server_error", "upstream_timeout"))

        attempt = Deferred.fromCoroutine(self._fetch(upstream, authorization, apiKey))
        attempt.addTimeout(self._timeout(upstream), self._context.reactor,
                           onTimeoutCancel=timedOut)
        return attempt.addErrback(lambda failure: Failure(_asRelayError(failure)))

    async def _fetch(self, upstream: Upstream, authorization: str | None,
                     apiKey: str | None) -> _ModelList:
        context = self._context
        response = await context.client.getModels(upstream, authorization, apiKey)
        body = await context.client.content(response, upstream)
        if response.code >= 300:  # redirects are not followed: an error too
            raise mapUpstreamError(response.code, body, _header(response, b"retry-after"),
                                   context.config.retryAfter)
        try:
            parsed = json.loads(body)
        except ValueError:
            raise RelayError(502, "The upstream model list is not JSON.", "server_error",
                             "bad_upstream_response") from None
        self._learn(upstream, parsed, _header(response, b"server"))
        context.rememberListed(upstream, parsed)
        return _ModelList(body, parsed)

    def _learn(self, upstream: Upstream, parsed: Any, server: str | None) -> None:
        table = self._context.table
        if not table.mayLearnProfile(upstream):
            return
        profile = detectProfileFromModels(parsed, server)
        if profile is not None and table.learnProfile(upstream, profile):
            log.info("upstream {upstream!r} ({url}) is {profile} by its model list: using "
                     "its profile", upstream=upstream.name, url=upstream.baseURL,
                     profile=profile.name)

    async def _answer(self, request: Request, state: Watch, upstreams: list[Upstream],
                      client: ClientKey | None = None) -> None:
        header = request.getHeader(b"authorization")
        # With client keys the header holds the client's token for the relay.
        authorization = header.decode("latin-1") if header and client is None else None
        # The attempts fail only with a RelayError; a cancelled list still fires.
        outcomes = await DeferredList(
            [self._attempt(upstream, authorization,
                           client.upstreamKeyFor(upstream.name) if client else None)
             for upstream in upstreams],
            consumeErrors=True)
        if state.gone:
            return  # nobody to answer
        if state.timedOut:
            writeError(request, RelayError(504, state.timedOut, "server_error",
                                           "upstream_timeout"))
            return
        table = self._context.table
        if len(table.upstreams) == 1:
            [(succeeded, value)] = outcomes
            if not succeeded:
                writeError(request, value.value)
                return
            body = value.body  # proxied as it is
            data = value.parsed.get("data") if isinstance(value.parsed, dict) else None
            if client is not None and client.restricted and isinstance(data, list):
                body = json.dumps(dict(value.parsed, data=visibleModels(
                    table, client, data))).encode("utf-8")
        else:
            lists: dict[str, Any] = {}
            failures: list[tuple[Upstream, RelayError]] = []
            for upstream, (succeeded, value) in zip(upstreams, outcomes):
                data = value.parsed.get("data") if (
                    succeeded and isinstance(value.parsed, dict)) else None
                if isinstance(data, list):
                    lists[upstream.name] = data
                    continue
                error = value.value if not succeeded else RelayError(
                    502, "The upstream model list has no data array.", "server_error",
                    "bad_upstream_response")
                lists[upstream.name] = error
                failures.append((upstream, error))
            if len(failures) == len(upstreams):
                writeError(request, _noModelList(failures))
                return
            merged, warnings = mergeModelLists(self._context.table, lists)
            for warning in warnings:
                log.warn("{note}", note=warning)
            if client is not None:
                merged = visibleModels(table, client, merged)
            body = json.dumps({"object": "list", "data": merged}).encode("utf-8")
        request.setHeader(b"content-type", b"application/json")
        request.write(body)
        request.finish()


def _notLearned(failure: Failure, upstream: Upstream) -> None:
    log.debug("no model list from upstream {upstream!r} to learn its profile from: {error}",
              upstream=upstream.name, error=failure.value)


def _header(response: Any, name: bytes) -> str | None:
    values = response.headers.getRawHeaders(name)
    return values[0].decode("latin-1") if values else None


def _asRelayError(failure: Failure) -> RelayError:
    """
    The answer for one upstream's failed model list.
    """
    answer = classify(failure.value or Exception(), what="model list")
    if answer.status == 500:
        log.failure("fetching a model list", failure)
    return answer


def _noModelList(failures: list[tuple[Upstream, RelayError]]) -> RelayError:
    """
    The answer when no upstream gave a model list: their common status (504
    when all timed out, 429 with the longest C{Retry-After} when all
    limited the rate...), or 502 when they failed in different ways; the
    message says what became of each.
    """
    first = failures[0][1]
    message = "No upstream gave a model list: {}".format("; ".join(
        "{}: {}".format(upstream.name, error.message) for upstream, error in failures))
    if any(error.status != first.status for _, error in failures):
        return RelayError(502, message, "server_error", "upstream_error")
    headers = dict(first.headers)
    delays = [error.headers.get("Retry-After", "") for _, error in failures]
    if all(delay.isdigit() for delay in delays):
        headers["Retry-After"] = str(max(int(delay) for delay in delays))
    return RelayError(first.status, message, first.type, first.code, first.param, headers)
