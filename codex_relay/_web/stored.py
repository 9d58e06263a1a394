"""
Stored responses, read back: C{GET} and C{DELETE /v1/responses/{id}}, and
C{GET /v1/responses/{id}/input_items}, in the shapes the openai SDK parses.
Each credential sees only its own responses; another's are 404.
"""

import json
from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.resource import IResource
from twisted.web.server import NOT_DONE_YET, Request

from codex_relay._core.errors import RelayError, invalidRequest
from codex_relay._core.stored import StoredResponse, listedItems, referencedIds
from codex_relay._web.conversations import Conversations, storeUnavailable
from codex_relay._web.serving import EnvelopeResource, ErrorResource, Watch, serve, writeError

# What OpenAI accepts in include[] (ResponseIncludable).
INCLUDABLE = frozenset((
    "file_search_call.results", "web_search_call.results",
    "web_search_call.action.sources", "message.input_image.image_url",
    "computer_call_output.output.image_url", "code_interpreter_call.outputs",
    "reasoning.encrypted_content", "message.output_text.logprobs",
))
_SECONDS = 30.0
log = Logger()


class StoredResponseResource(EnvelopeResource):
    """
    C{/v1/responses/{id}}: the stored Response, or its deletion.
    """

    def __init__(self, conversations: Conversations, reactor: IReactorTime,
                 responseId: str) -> None:
        super().__init__()
        self._conversations = conversations
        self._reactor = reactor
        self._id = responseId

    def getChild(self, path: bytes, request: Request) -> IResource:
        if path == b"input_items" and not any(request.postpath or ()):
            return InputItemsResource(self._conversations, self._reactor, self._id)
        if path == b"" and not request.postpath:
            return self
        return super().getChild(path, request)

    def render_GET(self, request: Request) -> int:
        async def work() -> None:
            if _flag(request, b"stream"):
                raise invalidRequest("Replaying a stored response as a stream is not "
                                     "supported by this relay.", "stream",
                                     "unsupported_parameter")
            record = await _load(self._conversations, request, self._id)
            _writeJSON(request, record.response)

        self._serve(request, work)
        return NOT_DONE_YET

    def render_DELETE(self, request: Request) -> int:
        async def work() -> None:
            owner = self._conversations.owner(_authorization(request))
            if not await self._conversations.forget(owner, self._id):
                raise _notFound(self._id)
            _writeJSON(request, {"id": self._id, "object": "response", "deleted": True})

        self._serve(request, work)
        return NOT_DONE_YET

    def _serve(self, request: Request, work: Any) -> None:
        _serveStored(request, work, self._reactor)


class InputItemsResource(EnvelopeResource):
    """
    C{/v1/responses/{id}/input_items}: the response's input items, a page
    at a time (C{limit}, C{order}, C{after}).
    """

    isLeaf = True

    def __init__(self, conversations: Conversations, reactor: IReactorTime,
                 responseId: str) -> None:
        super().__init__()
        self._conversations = conversations
        self._reactor = reactor
        self._id = responseId

    def render_GET(self, request: Request) -> int:
        async def work() -> None:
            limit, order, after = _paging(request)
            record = await _load(self._conversations, request, self._id)
            found = await _referenced(self._conversations, request, record)
            _writeJSON(request, page(listedItems(record, found), limit, order, after))

        _serveStored(request, work, self._reactor)
        return NOT_DONE_YET


def page(items: list[dict[str, Any]], limit: int, order: str,
         after: str | None) -> dict[str, Any]:
    """
    One page of C{items} (in stored order) as an OpenAI list object.
    """
    ordered = items if order == "asc" else items[::-1]
    if after is not None:
        ids = [item["id"] for item in ordered]
        if after not in ids:
            raise invalidRequest("No input item with id '{}'.".format(after), "after",
                                 "invalid_value")
        ordered = ordered[ids.index(after) + 1:]
    data = ordered[:limit]
    return {
        "object": "list", "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(ordered) > limit,
    }


def unstored(request: Request) -> IResource:
    """
    What answers under C{/v1/responses/} when the relay keeps no responses.
    """
    return ErrorResource(RelayError(
        404, "This relay keeps no stored responses (it runs with --store none).",
        code="not_found"))


def _paging(request: Request) -> tuple[int, str, str | None]:
    raw = _arg(request, b"limit")
    try:
        limit = 20 if raw is None else int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise invalidRequest("'limit' must be an integer from 1 to 100.", "limit",
                             "invalid_value")
    order = _arg(request, b"order") or "desc"
    if order not in ("asc", "desc"):
        raise invalidRequest("'order' must be 'asc' or 'desc'.", "order", "invalid_value")
    # Items are kept whole, so what include[] asks for is there already;
    # only an unknown value is refused, as OpenAI does.
    for value in (*_args(request, b"include"), *_args(request, b"include[]")):
        if value not in INCLUDABLE:
            raise invalidRequest("'include' has an unknown value {!r}.".format(value),
                                 "include", "invalid_value")
    return limit, order, _arg(request, b"after")


async def _load(conversations: Conversations, request: Request,
                responseId: str) -> StoredResponse:
    store = conversations.store
    owner = conversations.owner(_authorization(request))
    record = await store.get(owner, responseId) if store is not None else None
    if record is None:
        raise _notFound(responseId)
    return record


async def _referenced(conversations: Conversations, request: Request,
                      record: StoredResponse) -> dict[str, dict[str, Any]]:
    wanted = referencedIds(record.input)
    if not wanted or conversations.store is None:
        return {}
    return await conversations.store.items(
        conversations.owner(_authorization(request)), wanted)


def _serveStored(request: Request, work: Any, reactor: IReactorTime) -> None:
    watch = Watch()

    async def answered() -> None:
        try:
            await work()
        except RelayError as error:
            writeError(request, error)
        except Exception as error:
            if watch.gone:
                return
            if watch.timedOut is None:
                # The store's failure, not the relay's: no traceback.
                log.error("{path}: the store failed: {error!r}",
                          path=request.path.decode("latin-1"), error=error)
            writeError(request, storeUnavailable(error, watch.timedOut))

    serve(request, answered, watch, reactor, _SECONDS,
          "The store did not answer within {:g} seconds.".format(_SECONDS))


def _notFound(responseId: str) -> RelayError:
    return RelayError(404, "Response with id '{}' not found.".format(responseId),
                      code="not_found", param="response_id")


def _writeJSON(request: Request, body: dict[str, Any]) -> None:
    request.setHeader(b"content-type", b"application/json")
    request.write(json.dumps(body).encode("utf-8"))
    request.finish()


def _authorization(request: Request) -> str | None:
    value = request.getHeader(b"authorization")
    return value.decode("latin-1") if value is not None else None


def _args(request: Request, name: bytes) -> list[str]:
    return [value.decode("utf-8", "replace") for value in (request.args or {}).get(name, [])]


def _arg(request: Request, name: bytes) -> str | None:
    values = _args(request, name)
    return values[-1] if values else None


def _flag(request: Request, name: bytes) -> bool:
    return (_arg(request, name) or "").lower() in ("1", "true")
