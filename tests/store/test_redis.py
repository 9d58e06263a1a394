"""
The Redis store, against a real C{redis-server} of each test's own: the
contract, the keys' time to live, several relays on one server, and the
failures C{open} reports.
"""

from typing import Any

import txredisapi  # type: ignore[import-untyped]
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from codex_relay._store.interface import ResponseStore
from codex_relay._store.redis import (
    RedisStore,
    StoreUnreachable,
    holdersKey,
    recordKey,
    timeToLive,
)
from tests.harness.store import OWNER, TTL, StoreContract, freePort, record, startRedis


class RedisContractTests(StoreContract, TestCase):
    async def makeStore(self) -> ResponseStore:
        server = await startRedis(self)
        return RedisStore(server.host, server.port, 0, clock=self.clock)


class RedisTests(TestCase):
    async def setUp(self) -> None:
        self.clock = Clock()
        self.server = await startRedis(self)

    async def opened(self, **options: Any) -> RedisStore:
        options.setdefault("password", self.server.password)
        store = RedisStore(self.server.host, self.server.port, clock=self.clock, **options)
        await store.open()
        self.addCleanup(store.close)
        return store

    async def raw(self, db: int = 0) -> Any:
        """
        A connection of the test's own, to look at the keys.
        """
        connection = await txredisapi.Connection(
            self.server.host, self.server.port, dbid=db, reconnect=False,
            password=self.server.password, convertNumbers=False)
        self.addCleanup(connection.disconnect)
        return connection

    async def test_timeToLive(self) -> None:
        store = await self.opened()
        self.clock.advance(1000)
        await store.put(record("resp_1", createdAt=1000, ttl=TTL - 0.5))
        raw = await self.raw()
        for key in recordKey(OWNER, "resp_1"), holdersKey(OWNER, "msg_resp_1"):
            ttl = await raw.ttl(key)
            self.assertGreater(ttl, 0)
            self.assertLessEqual(ttl, TTL)
        self.assertEqual(await raw.zrange(holdersKey(OWNER, "msg_resp_1"), 0, -1),
                         ["resp_1"])
        self.assertEqual(sorted(await raw.keys("codex-relay:*")),
                         ["codex-relay:holders:owner-a:msg_resp_1",
                          "codex-relay:resp:owner-a:resp_1"])

    async def test_holdersTidied(self) -> None:
        """
        A deleted response leaves its items' sets, and an expired one goes
        at the next put, so the sets hold only live responses.
        """
        store = await self.opened()
        shared = {"type": "message", "id": "msg_s", "role": "user", "content": "x"}
        await store.put(record("resp_1", input=[shared], ttl=10))
        await store.put(record("resp_2", input=[shared]))
        await store.put(record("resp_3", input=[shared]))
        self.assertTrue(await store.delete(OWNER, "resp_3"))
        self.clock.advance(20)
        await store.put(record("resp_4", createdAt=20, input=[shared]))
        raw = await self.raw()
        self.assertEqual(sorted(await raw.zrange(holdersKey(OWNER, "msg_s"), 0, -1)),
                         ["resp_2", "resp_4"])

    async def test_shared(self) -> None:
        """
        Two relays on one server see each other's records.
        """
        one, two = await self.opened(), await self.opened()
        self.assertTrue(one.shared)
        kept = record("resp_1")
        await one.put(kept)
        self.assertEqual(await two.get(OWNER, "resp_1"), kept)
        self.assertEqual(list(await two.items(OWNER, ["msg_resp_1"])), ["msg_resp_1"])
        self.assertTrue(await two.delete(OWNER, "resp_1"))
        self.assertIsNone(await one.get(OWNER, "resp_1"))

    async def test_databases(self) -> None:
        zero, one = await self.opened(db=0), await self.opened(db=1)
        await zero.put(record("resp_1"))
        self.assertIsNone(await one.get(OWNER, "resp_1"))
        self.assertEqual(one.name, "redis://127.0.0.1:{}/1".format(self.server.port))

    async def test_numericIds(self) -> None:
        """
        Ids that look like numbers stay strings.
        """
        store = await self.opened()
        kept = record("123", output=[{"type": "message", "id": "456", "role": "assistant",
                                      "content": []}])
        await store.put(kept)
        self.assertEqual(await store.get(OWNER, "123"), kept)
        self.assertEqual(list(await store.items(OWNER, ["456"])), ["456"])

    async def test_putRefused(self) -> None:
        """
        A write Redis refuses fails with what Redis said.
        """
        store = await self.opened()
        raw = await self.raw()
        await raw.execute_command("CONFIG", "SET", "maxmemory", "1")
        await raw.execute_command("CONFIG", "SET", "maxmemory-policy", "noeviction")
        with self.assertRaises(txredisapi.ResponseError) as caught:
            await store.put(record("resp_1"))
        self.assertIn("OOM", str(caught.exception))
        await raw.execute_command("CONFIG", "SET", "maxmemory", "0")
        # The connection went back to the pool.
        await store.put(record("resp_1"))

    async def test_closedThenOpened(self) -> None:
        """
        Records outlive the store that put them.
        """
        first = RedisStore(self.server.host, self.server.port, clock=self.clock)
        await first.open()
        await first.put(record("resp_1"))
        await first.close()
        second = await self.opened()
        self.assertIsNotNone(await second.get(OWNER, "resp_1"))


class PasswordTests(TestCase):
    async def setUp(self) -> None:
        self.clock = Clock()
        self.server = await startRedis(self, password="s3cret")

    async def test_password(self) -> None:
        store = RedisStore(self.server.host, self.server.port, 0, "s3cret", clock=self.clock)
        await store.open()
        self.addCleanup(store.close)
        await store.put(record("resp_1"))
        self.assertIsNotNone(await store.get(OWNER, "resp_1"))
        self.assertNotIn("s3cret", store.name)

    async def test_wrongPassword(self) -> None:
        store = RedisStore(self.server.host, self.server.port, 0, "wrong", clock=self.clock)
        with self.assertRaises(StoreUnreachable) as caught:
            await store.open()
        self.assertIn(store.name, str(caught.exception))
        self.assertNotIn("wrong", str(caught.exception).replace(store.name, ""))
        await store.close()


class UnreachableTests(TestCase):
    async def test_nothingListening(self) -> None:
        store = RedisStore("127.0.0.1", freePort(), clock=Clock())
        with self.assertRaises(StoreUnreachable) as caught:
            await store.open()
        self.assertIn(store.name, str(caught.exception))
        await store.close()


class TimeToLiveTests(SynchronousTestCase):
    def test_rounded(self) -> None:
        self.assertEqual(timeToLive(record("r", createdAt=10, ttl=5.2), 10), 6)

    def test_atLeastOne(self) -> None:
        self.assertEqual(timeToLive(record("r", createdAt=0, ttl=5), 10), 1)
