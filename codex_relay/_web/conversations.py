"""
Conversations the relay remembers: a request that continues an earlier
response (C{previous_response_id}) or names stored items (C{item_reference})
is expanded into the whole request it stands for, and a finished response
is kept, in the store when the client asked for it, and on its WebSocket
connection in any case.
"""

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, TypeVar

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IReactorTime

from codex_relay._core.errors import RelayError
from codex_relay._core.stored import (
    MAX_CHAIN,
    StoredResponse,
    conversation,
    inputItems,
    notFound,
    ownerOf,
    previousResponseId,
    referencedIds,
    resolveReferences,
    withHistory,
)
from codex_relay._store.interface import DEFAULT_RETENTION, ResponseStore

_T = TypeVar("_T")


def storeUnavailable(error: Exception, timedOut: str | None) -> RelayError:
    """
    What the client hears when the store failed (or took too long): a
    retryable 503, naming the failure's class only.
    """
    message = timedOut or "The response store failed ({}).".format(type(error).__name__)
    return RelayError(503, message, "server_error", "store_unavailable")


async def _reading(pending: "Deferred[_T]") -> _T:
    """
    What the store read, or L{storeUnavailable} when it failed: the request
    that needed it cannot go on, but the client can try again.
    """
    try:
        return await pending
    except (CancelledError, RelayError):
        raise
    except Exception as error:
        raise storeUnavailable(error, None) from error


class Histories:
    """
    The whole conversation up to some recent responses (their input and
    output included), by owner and id, least recently used first out.  The
    lists share their items, so one more entry costs little.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str], list[dict[str, Any]]] = OrderedDict()

    def get(self, owner: str, responseId: str) -> list[dict[str, Any]] | None:
        items = self._entries.get((owner, responseId))
        if items is not None:
            self._entries.move_to_end((owner, responseId))
        return items

    def put(self, owner: str, responseId: str, items: list[dict[str, Any]]) -> None:
        self._entries[(owner, responseId)] = items
        self._entries.move_to_end((owner, responseId))
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, owner: str, responseId: str) -> None:
        self._entries.pop((owner, responseId), None)


@dataclass
class Expanded:
    """
    One request, expanded.

    @ivar body: the request as if sent whole, for the translator.
    @ivar received: its own input items, as received (references resolved
        against the store are kept as references).
    @ivar previous: the response it continues.
    @ivar resolved: its own input items, references resolved.
    @ivar history: the conversation before its own input.
    """

    body: Any
    received: list[dict[str, Any]]
    resolved: list[dict[str, Any]]
    previous: str | None
    history: list[dict[str, Any]]


class Conversations:
    """
    Expands requests and keeps responses, for one relay.

    @param store: where responses are kept; L{None} keeps none (only
        WebSocket connections remember their own chain).
    @param secret: keys the hash that names each credential's responses.
    """

    def __init__(self, store: ResponseStore | None, secret: bytes, clock: IReactorTime,
                 retention: float = DEFAULT_RETENTION) -> None:
        self.store = store
        self._secret = secret
        self._clock = clock
        self._retention = retention

    def owner(self, authorization: str | None) -> str:
        return ownerOf(self._secret, authorization)

    async def expand(self, body: Any, owner: str,
                     local: Histories | None = None) -> Expanded:
        """
        C{body} with its history and its references filled in.

        @param local: the chain of the WebSocket connection the request
            came on, looked at first.
        @raise RelayError: 400 C{previous_response_not_found} or
            C{item_not_found}.
        """
        if not isinstance(body, dict):
            # Not a request at all: the translator says why.
            return Expanded(body, [], [], None, [])
        previous = previousResponseId(body)
        received = inputItems(body.get("input"))
        history: list[dict[str, Any]] = []
        if previous is not None:
            history = await self._history(owner, previous, local)
        wanted = referencedIds(received)
        newInput = resolveReferences(received, await self._items(owner, wanted))
        if previous is None and not wanted:
            return Expanded(body, received, received, None, history)
        return Expanded(withHistory(body, history, newInput), received, newInput,
                        previous, history)

    async def keep(self, expanded: Expanded, owner: str, response: dict[str, Any],
                   store: bool, local: Histories | None = None) -> None:
        """
        Remember C{response}, which answered C{expanded}: on the connection
        (C{local}) always, in the store and this relay's cache when C{store}.
        """
        output = response.get("output")
        items = [*expanded.history, *expanded.resolved,
                 *(output if isinstance(output, list) else [])]
        if local is not None:
            local.put(owner, response["id"], items)
        if not store or self.store is None:
            return
        now = self._clock.seconds()
        await self.store.put(StoredResponse(
            response["id"], owner, response, expanded.received, expanded.previous,
            now, now + self._retention))

    async def forget(self, owner: str, responseId: str) -> bool:
        return self.store is not None and await self.store.delete(owner, responseId)

    async def _history(self, owner: str, previous: str,
                       local: Histories | None) -> list[dict[str, Any]]:
        if local is not None:
            items = local.get(owner, previous)
            if items is not None:
                return items
        if self.store is None:
            raise notFound(previous)
        # Every link is read, on whichever relay: a chain with a deleted or
        # expired response in it is not found anywhere.
        chain: list[StoredResponse] = []
        responseId: str | None = previous
        while responseId is not None:
            record = await _reading(self.store.get(owner, responseId))
            if record is None or len(chain) >= MAX_CHAIN:
                raise notFound(previous)
            chain.append(record)
            responseId = record.previous
        chain.reverse()
        items = conversation(chain)
        # Stored input keeps its references as sent: resolve them again.
        found = await self._items(owner, referencedIds(items))
        try:
            return resolveReferences(items, found)
        except RelayError:
            raise notFound(previous) from None

    async def _items(self, owner: str, wanted: list[str]) -> dict[str, dict[str, Any]]:
        if not wanted or self.store is None:
            return {}
        return await _reading(self.store.items(owner, wanted))
