"""
The SQLite store: the contract on a file, its schema and its migrations,
the file across restarts, and the sweep of expired and excess rows.

The database thread is real (the global reactor runs it); records' times
and the sweep's schedule are on a L{Clock}.
"""

import os
import sqlite3
import stat
from contextlib import closing
from typing import Any

from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase

from codex_relay._store.interface import ResponseStore
from codex_relay._store.sqlite import (
    EXPIRED,
    MIGRATIONS,
    SCHEMA_VERSION,
    SchemaTooNew,
    SQLiteStore,
    defaultSQLitePath,
)
from tests.harness.store import OWNER, TTL, StoreContract, message, record


def query(path: str, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
    """
    The rows C{sql} selects, on a connection of the test's own.
    """
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql, parameters).fetchall()


class SQLiteContractTests(StoreContract, TestCase):
    async def makeStore(self) -> ResponseStore:
        return SQLiteStore(os.path.join(self.mktemp(), "responses.sqlite3"), self.clock,
                           reactor)


class FileTests(TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.path = os.path.join(self.mktemp(), "state", "codex-relay", "responses.sqlite3")

    async def opened(self, **options: Any) -> SQLiteStore:
        store = SQLiteStore(self.path, self.clock, reactor, **options)
        await store.open()
        self.addCleanup(store.close)
        return store

    async def test_createsDirectoryAndFile(self) -> None:
        store = await self.opened()
        self.assertEqual(store.name, "sqlite:" + self.path)
        self.assertFalse(store.shared)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(self.path)).st_mode), 0o700)

    async def test_walAndVersion(self) -> None:
        await self.opened()
        self.assertEqual(query(self.path, "PRAGMA journal_mode"), [("wal",)])
        self.assertEqual(query(self.path, "PRAGMA user_version"), [(2,)])
        self.assertEqual(SCHEMA_VERSION, 2)
        indexes = {name for (name,) in query(
            self.path, "SELECT name FROM sqlite_master WHERE type = 'index'")}
        self.assertIn("responses_expires_at", indexes)

    async def test_sweepUsesIndex(self) -> None:
        await self.opened()
        plan = " ".join(str(row) for row in query(self.path, "EXPLAIN QUERY PLAN " + EXPIRED, 0))
        self.assertIn("USING INDEX responses_expires_at", plan)

    async def test_newerRefused(self) -> None:
        os.makedirs(os.path.dirname(self.path))
        with closing(sqlite3.connect(self.path)) as connection:
            connection.execute("PRAGMA user_version = 3")
        store = SQLiteStore(self.path, self.clock, reactor)
        with self.assertRaises(SchemaTooNew) as caught:
            await store.open()
        message = str(caught.exception)
        self.assertIn(self.path, message)
        self.assertIn("version 3", message)
        self.assertIn("upgrade codex-relay", message)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        await store.close()

    async def test_unwritable(self) -> None:
        """
        A path that cannot be a file fails C{open}, with no thread left.
        """
        os.makedirs(os.path.dirname(self.path))
        open(os.path.dirname(self.path) + "/file", "w").close()
        store = SQLiteStore(os.path.dirname(self.path) + "/file/responses.sqlite3",
                            self.clock, reactor)
        with self.assertRaises(OSError):
            await store.open()
        await store.close()

    async def test_reopened(self) -> None:
        """
        Records are in the file: another store on it, later, has them.
        """
        kept = record("resp_1")
        first = SQLiteStore(self.path, self.clock, reactor)
        await first.open()
        await first.put(kept)
        await first.close()
        second = await self.opened()
        self.assertEqual(await second.get(OWNER, "resp_1"), kept)
        self.assertEqual(list(await second.items(OWNER, ["msg_resp_1"])), ["msg_resp_1"])
        self.assertEqual(query(self.path, "PRAGMA user_version"), [(SCHEMA_VERSION,)])

    async def test_migratedFromVersion1(self) -> None:
        """
        A file of schema version 1, with a record in it (written here as
        version 1 wrote it), is migrated on open: the record and its item
        are still found, and the item index now holds older responses too.
        """
        os.makedirs(os.path.dirname(self.path))
        old = record("resp_1", input=[message("msg_in", "kept", "user")])
        with closing(sqlite3.connect(self.path)) as connection:
            for statement in MIGRATIONS[0]:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO responses VALUES (?, ?, ?, ?, ?)",
                (OWNER, "resp_1", old.createdAt, old.expiresAt, old.toJSON()))
            connection.executemany(
                "INSERT INTO items VALUES (?, ?, ?)",
                [(OWNER, itemId, "resp_1") for itemId in old.itemIds()])
            connection.execute("PRAGMA user_version = 1")
            connection.commit()
        messages = []
        globalLogPublisher.addObserver(messages.append)
        self.addCleanup(globalLogPublisher.removeObserver, messages.append)
        store = await self.opened()
        self.assertIn("Response store {path}: schema version {old} migrated to {new}.",
                      [event.get("log_format") for event in messages])
        self.assertEqual(query(self.path, "PRAGMA user_version"), [(SCHEMA_VERSION,)])
        self.assertEqual(await store.get(OWNER, "resp_1"), old)
        self.assertEqual(await store.items(OWNER, ["msg_in", "msg_resp_1"]),
                         {"msg_in": message("msg_in", "kept", "user"),
                          "msg_resp_1": message("msg_resp_1", "hello resp_1")})
        await store.put(record("resp_2", createdAt=1.0,
                               input=[message("msg_in", "kept", "user")]))
        self.assertTrue(await store.delete(OWNER, "resp_2"))
        self.assertEqual(list(await store.items(OWNER, ["msg_in"])), ["msg_in"])

    async def test_twoStoresOneFile(self) -> None:
        """
        Two stores on one file (two relay processes on a host) see each
        other's records.
        """
        one, two = await self.opened(), await self.opened()
        await one.put(record("resp_1"))
        self.assertIsNotNone(await two.get(OWNER, "resp_1"))
        self.assertTrue(await two.delete(OWNER, "resp_1"))
        self.assertIsNone(await one.get(OWNER, "resp_1"))

    async def test_manyItems(self) -> None:
        """
        More item ids than one statement takes are looked up in several.
        """
        store = await self.opened()
        await store.put(record("resp_1", output=[
            {"type": "message", "id": "msg_{}".format(n), "role": "assistant",
             "content": []} for n in range(1200)]))
        found = await store.items(OWNER, ["msg_{}".format(n) for n in range(1300)])
        self.assertEqual(len(found), 1200)

    async def test_closeStopsSweep(self) -> None:
        store = SQLiteStore(self.path, self.clock, reactor)
        await store.open()
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        await store.close()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class SweepTests(TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.path = os.path.join(self.mktemp(), "responses.sqlite3")

    async def opened(self, **options: Any) -> SQLiteStore:
        store = SQLiteStore(self.path, self.clock, reactor, **options)
        await store.open()
        self.addCleanup(store.close)
        return store

    def rows(self) -> tuple[list[str], list[str]]:
        responses = [id for (id,) in query(self.path, "SELECT id FROM responses ORDER BY id")]
        items = [id for (id,) in query(self.path, "SELECT item_id FROM items ORDER BY item_id")]
        return responses, items

    async def test_scheduled(self) -> None:
        """
        Every C{sweepSeconds} the expired rows, and their items, are deleted.
        """
        store = await self.opened(sweepSeconds=60)
        await store.put(record("resp_1", ttl=30))
        await store.put(record("resp_2", ttl=TTL))
        self.clock.advance(59)
        await store.get(OWNER, "resp_1")
        self.assertEqual(self.rows(), (["resp_1", "resp_2"], ["msg_resp_1", "msg_resp_2"]))
        self.clock.advance(1)
        # The one database thread answers in order: the sweep is done.
        await store.get(OWNER, "resp_2")
        self.assertEqual(self.rows(), (["resp_2"], ["msg_resp_2"]))
        self.clock.advance(60)
        await store.get(OWNER, "resp_2")
        self.assertEqual(self.rows(), ([], []))

    async def test_unsweptNotRead(self) -> None:
        store = await self.opened()
        await store.put(record("resp_1", ttl=30))
        self.clock.advance(31)
        self.assertIsNone(await store.get(OWNER, "resp_1"))
        self.assertEqual(await store.items(OWNER, ["msg_resp_1"]), {})
        self.assertFalse(await store.delete(OWNER, "resp_1"))

    async def test_maxRows(self) -> None:
        """
        Beyond C{maxRows}, the oldest rows go.
        """
        store = await self.opened(maxRows=3)
        for n in (5, 1, 4, 2, 3):
            await store.put(record("resp_{}".format(n), createdAt=n))
        self.assertEqual(await store.sweep(), 2)
        self.assertEqual(self.rows(), (["resp_3", "resp_4", "resp_5"],
                                       ["msg_resp_3", "msg_resp_4", "msg_resp_5"]))
        self.assertEqual(await store.sweep(), 0)

    async def test_failureLogged(self) -> None:
        """
        A sweep that fails is logged, and the next one runs.
        """
        store = await self.opened(sweepSeconds=10)
        with closing(sqlite3.connect(self.path)) as connection:
            connection.execute("DROP TABLE items")
        self.clock.advance(10)
        await store.get(OWNER, "resp_1")
        self.assertEqual(len(self.flushLoggedErrors(sqlite3.OperationalError)), 1)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)


class DefaultPathTests(SynchronousTestCase):
    def test_xdgStateHome(self) -> None:
        self.assertEqual(defaultSQLitePath({"XDG_STATE_HOME": "/state", "HOME": "/home/u"}),
                         "/state/codex-relay/responses.sqlite3")

    def test_home(self) -> None:
        self.assertEqual(defaultSQLitePath({"HOME": "/home/u"}),
                         "/home/u/.local/state/codex-relay/responses.sqlite3")

    def test_emptyXdgStateHome(self) -> None:
        self.assertEqual(defaultSQLitePath({"XDG_STATE_HOME": "", "HOME": "/home/u"}),
                         "/home/u/.local/state/codex-relay/responses.sqlite3")
