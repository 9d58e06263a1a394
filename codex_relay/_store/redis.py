"""
Stored responses in Redis (through txredisapi, never blocking): every relay
that uses the same server and database, on any host, sees them, and Redis
forgets each record itself when its time to live runs out.

Keys, all under C{codex-relay:}::

    codex-relay:resp:{owner}:{id}           the record's JSON
    codex-relay:holders:{owner}:{item id}   the ids of the responses holding
                                            it, scored by when they expire

both with the time to live of the latest record put.  An item may be in
several responses (a client that replays its history stores it in each):
it is found in the one that expires last, so deleting that response leaves
it found in an older one.  Deleting a response removes it from its items'
sets; an expired one is left out by its score, and dropped at the next put.
"""

import math
from collections.abc import Sequence
from typing import Any

from twisted.internet.defer import Deferred, FirstError, ensureDeferred, succeed
from twisted.internet.interfaces import IReactorTime

from codex_relay._core.stored import StoredResponse

PREFIX = b"codex-relay:"

DEFAULT_PORT = 6379


class StoreUnreachable(Exception):
    """
    The store could not be opened: its server refused, or could not be
    reached.
    """


def _key(kind: bytes, owner: str, name: str) -> bytes:
    # Bytes, so an id that is not valid UTF-8 (a lone surrogate from a JSON
    # escape) is a key like any other rather than an error mid-pipeline.
    return b"".join([PREFIX, kind, b":", owner.encode("utf-8", "surrogatepass"),
                     b":", name.encode("utf-8", "surrogatepass")])


def recordKey(owner: str, responseId: str) -> bytes:
    return _key(b"resp", owner, responseId)


def holdersKey(owner: str, itemId: str) -> bytes:
    return _key(b"holders", owner, itemId)


def _text(value: str | bytes) -> str:
    # txredisapi decodes replies as UTF-8, and hands back bytes that are not.
    return value if isinstance(value, str) else value.decode("utf-8", "surrogatepass")


async def _execute(pipeline: Any) -> list[Any]:
    try:
        replies: list[Any] = await pipeline.execute_pipeline()
    except FirstError as e:
        # What Redis said, not the DeferredList that heard it.
        e.subFailure.raiseException()
    return replies


def timeToLive(record: StoredResponse, now: float) -> int:
    """
    The whole seconds Redis keeps C{record} for, at least one (Redis
    refuses zero): it is filtered out on read from its C{expiresAt} anyway.
    """
    return max(1, math.ceil(record.expiresAt - now))


class RedisStore:
    """
    A L{ResponseStore} on a Redis server.

    C{open} makes one connection first, so a server that cannot be reached,
    a wrong password or database fails it at once with L{StoreUnreachable};
    then a pool of C{poolSize} connections that reconnect whenever the
    server comes back.  Records past their C{expiresAt} on C{clock} are
    never returned, whatever Redis's own clock says.

    txredisapi schedules its own timers (reconnection, C{replyTimeout}) on
    the global reactor.
    """

    shared = True

    def __init__(self, host: str, port: int = DEFAULT_PORT, db: int = 0,
                 password: str | None = None, *, clock: IReactorTime,
                 username: str | None = None, poolSize: int = 4,
                 connectTimeout: float = 10.0, replyTimeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.db = db
        self.name = "redis://{}:{:d}/{:d}".format(
            "[{}]".format(host) if ":" in host else host, port, db)
        self._password = password
        self._username = username
        self._clock = clock
        self._poolSize = poolSize
        self._connectTimeout = connectTimeout
        self._replyTimeout = replyTimeout
        self._pool: Any = None

    def _connectArgs(self) -> dict[str, Any]:
        return dict(host=self.host, port=self.port, dbid=self.db, password=self._password,
                    username=self._username, connectTimeout=self._connectTimeout,
                    replyTimeout=self._replyTimeout,
                    # Or a value that looks like a number comes back as one.
                    convertNumbers=False)

    def open(self) -> Deferred[None]:
        return ensureDeferred(self._open())

    async def _open(self) -> None:
        # Imported here: txredisapi imports the global reactor, which must not
        # be installed just by choosing a store.
        import txredisapi  # type: ignore[import-untyped]

        try:
            probe = await txredisapi.Connection(reconnect=False, **self._connectArgs())
        except Exception as e:
            raise StoreUnreachable("{}: {}".format(self.name, e)) from e
        await probe.disconnect()
        pool = txredisapi.lazyConnectionPool(
            poolsize=self._poolSize, reconnect=True, **self._connectArgs())
        # A lazy pool also reports a failure to connect later (a password
        # changed meanwhile: txredisapi logs it, and that connection stops
        # trying) on a Deferred nobody waits on, unhandled but for this.
        ready = getattr(pool, "_connected", None)
        if isinstance(ready, Deferred):
            ready.addErrback(lambda failure: None)
        self._pool = pool

    def close(self) -> Deferred[None]:
        pool, self._pool = self._pool, None
        if pool is None:
            return succeed(None)
        closed: Deferred[None] = pool.disconnect()
        return closed.addCallback(lambda _: None)

    def put(self, record: StoredResponse) -> Deferred[None]:
        return ensureDeferred(self._put(record))

    async def _put(self, record: StoredResponse) -> None:
        now = self._clock.seconds()
        ttl = timeToLive(record, now)
        member = record.id.encode("utf-8", "surrogatepass")
        pipeline = await self._pool.pipeline()
        pipeline.set(recordKey(record.owner, record.id), record.toJSON(), expire=ttl)
        for itemId in set(record.itemIds()):
            key = holdersKey(record.owner, itemId)
            pipeline.zremrangebyscore(key, "-inf", repr(now))
            pipeline.zadd(key, repr(record.expiresAt), member)
            # With one retention for all, the latest record lives longest.
            pipeline.expire(key, ttl)
        await _execute(pipeline)

    def get(self, owner: str, responseId: str) -> Deferred[StoredResponse | None]:
        return ensureDeferred(self._get(owner, responseId))

    async def _get(self, owner: str, responseId: str) -> StoredResponse | None:
        data = await self._pool.get(recordKey(owner, responseId))
        return self._live(data)

    def _live(self, data: str | bytes | None) -> StoredResponse | None:
        if data is None:
            return None
        record = StoredResponse.fromJSON(data)
        return record if record.expiresAt > self._clock.seconds() else None

    def delete(self, owner: str, responseId: str) -> Deferred[bool]:
        return ensureDeferred(self._delete(owner, responseId))

    async def _delete(self, owner: str, responseId: str) -> bool:
        data = await self._pool.get(recordKey(owner, responseId))
        if data is None:
            return False
        live = self._live(data) is not None
        member = responseId.encode("utf-8", "surrogatepass")
        pipeline = await self._pool.pipeline()
        pipeline.delete([recordKey(owner, responseId)])
        for itemId in set(StoredResponse.fromJSON(data).itemIds()):
            pipeline.zrem(holdersKey(owner, itemId), member)
        await _execute(pipeline)
        return live

    def items(self, owner: str, itemIds: Sequence[str]) -> Deferred[dict[str, dict[str, Any]]]:
        return ensureDeferred(self._items(owner, list(itemIds)))

    async def _items(self, owner: str, itemIds: list[str]) -> dict[str, dict[str, Any]]:
        if not itemIds:
            return {}
        wanted = list(dict.fromkeys(itemIds))
        pipeline = await self._pool.pipeline()
        for itemId in wanted:
            pipeline.zrevrangebyscore(holdersKey(owner, itemId), "+inf",
                                      "(" + repr(self._clock.seconds()), offset=0, count=1)
        latest = await _execute(pipeline)
        holders = {itemId: _text(names[0]) for itemId, names in zip(wanted, latest) if names}
        responseIds = sorted(set(holders.values()))
        if not responseIds:
            return {}
        data = await self._pool.mget([recordKey(owner, r) for r in responseIds])
        records = {r: self._live(d) for r, d in zip(responseIds, data)}
        found: dict[str, dict[str, Any]] = {}
        for itemId, responseId in holders.items():
            record = records[responseId]
            item = None if record is None else record.item(itemId)
            if item is not None:
                found[itemId] = item
        return found
