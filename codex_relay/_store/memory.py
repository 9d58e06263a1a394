"""
Stored responses in this process's memory: lost when it exits, seen by no
other process, bounded in bytes.
"""

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from codex_relay._core.stored import StoredResponse

log = Logger()

DEFAULT_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class _Entry:
    """
    One record as kept: its JSON (so what C{get} returns is a copy, as from
    any other backend), with what eviction needs without decoding it.
    """

    data: bytes
    expiresAt: float
    itemIds: tuple[str, ...]


class MemoryStore:
    """
    A L{ResponseStore} in a dict.

    Records are kept in the order they were put (a replaced one moves to
    the end), and with one retention for every record that is also the
    order they expire in: each C{put} and C{get} first drops the expired
    records at the front, and stops at the first live one, so expiry costs
    amortized O(1) and never a scan.  A record that expires before an
    older one is left until that one goes, but is never returned.  When the
    records' JSON adds up to more than C{maxBytes}, the oldest are dropped.

    @ivar inspected: how many records the sweeps looked at, expired or
        not: a count for tests to see no sweep scans.
    """

    shared = False

    def __init__(self, clock: IReactorTime, maxBytes: int = DEFAULT_MAX_BYTES) -> None:
        self.name = "memory"
        self.inspected = 0
        self._clock = clock
        self._maxBytes = maxBytes
        self._bytes = 0
        self._records: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        # (owner, item id) -> the ids of the responses holding it, latest
        # last (a dict as an ordered set, so removing one costs O(1)).
        self._items: dict[tuple[str, str], dict[str, None]] = {}

    @property
    def size(self) -> int:
        """
        The bytes of JSON kept.
        """
        return self._bytes

    def __len__(self) -> int:
        return len(self._records)

    def open(self) -> Deferred[None]:
        return succeed(None)

    def close(self) -> Deferred[None]:
        self._records.clear()
        self._items.clear()
        self._bytes = 0
        return succeed(None)

    def put(self, record: StoredResponse) -> Deferred[None]:
        self._sweep(self._clock.seconds())
        key = (record.owner, record.id)
        self._remove(key)
        entry = _Entry(record.toJSON(), record.expiresAt, tuple(record.itemIds()))
        if len(entry.data) > self._maxBytes:
            log.warn("A stored response of {size} bytes is more than the memory store's"
                     " {limit}: it is not kept.", size=len(entry.data), limit=self._maxBytes)
            return succeed(None)
        self._records[key] = entry
        self._bytes += len(entry.data)
        for itemId in entry.itemIds:
            self._items.setdefault((record.owner, itemId), {})[record.id] = None
        while self._bytes > self._maxBytes and self._records:
            self._remove(next(iter(self._records)))
        return succeed(None)

    def get(self, owner: str, responseId: str) -> Deferred[StoredResponse | None]:
        entry = self._live(owner, responseId)
        return succeed(None if entry is None else StoredResponse.fromJSON(entry.data))

    def delete(self, owner: str, responseId: str) -> Deferred[bool]:
        live = self._live(owner, responseId) is not None
        self._remove((owner, responseId))
        return succeed(live)

    def items(self, owner: str, itemIds: Sequence[str]) -> Deferred[dict[str, dict[str, Any]]]:
        self._sweep(self._clock.seconds())
        found: dict[str, dict[str, Any]] = {}
        records: dict[str, StoredResponse | None] = {}
        for itemId in itemIds:
            # The latest live response holding it; an expired one goes.
            for responseId in reversed(list(self._items.get((owner, itemId), ()))):
                if responseId not in records:
                    entry = self._live(owner, responseId)
                    records[responseId] = (
                        None if entry is None else StoredResponse.fromJSON(entry.data))
                record = records[responseId]
                item = None if record is None else record.item(itemId)
                if item is not None:
                    found[itemId] = item
                    break
        return succeed(found)

    def _live(self, owner: str, responseId: str) -> _Entry | None:
        """
        The entry of C{responseId}, unless it expired (then it goes).
        """
        now = self._clock.seconds()
        self._sweep(now)
        key = (owner, responseId)
        entry = self._records.get(key)
        if entry is not None and entry.expiresAt <= now:
            self._remove(key)
            return None
        return entry

    def _sweep(self, now: float) -> None:
        while self._records:
            key, entry = next(iter(self._records.items()))
            self.inspected += 1
            if entry.expiresAt > now:
                return
            self._remove(key)

    def _remove(self, key: tuple[str, str]) -> None:
        entry = self._records.pop(key, None)
        if entry is None:
            return
        self._bytes -= len(entry.data)
        owner, responseId = key
        for itemId in entry.itemIds:
            holders = self._items.get((owner, itemId))
            if holders is not None:
                holders.pop(responseId, None)
                if not holders:
                    del self._items[(owner, itemId)]
