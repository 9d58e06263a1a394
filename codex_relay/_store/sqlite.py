"""
Stored responses in a SQLite file, through one database thread
(L{twisted.enterprise.adbapi}): they outlive the relay, and every relay
process on this host that opens the same file sees them.
"""

import os
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from twisted.enterprise import adbapi
from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorCore, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from codex_relay._core.stored import StoredResponse

log = Logger()

DEFAULT_MAX_ROWS = 100000

# How long a statement waits for another process's lock, in milliseconds.
BUSY_TIMEOUT = 5000

# More ids than this in one statement are looked up in several.
_CHUNK = 500

# Migration N (from 1) takes a database from user_version N-1 to N; a
# released migration is never changed, only followed by another.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE responses (
            owner TEXT NOT NULL,
            id TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            record BLOB NOT NULL,
            PRIMARY KEY (owner, id))""",
        "CREATE INDEX responses_expires_at ON responses (expires_at)",
        "CREATE INDEX responses_created_at ON responses (created_at)",
        """CREATE TABLE items (
            owner TEXT NOT NULL,
            item_id TEXT NOT NULL,
            response_id TEXT NOT NULL,
            PRIMARY KEY (owner, item_id))""",
        "CREATE INDEX items_response ON items (owner, response_id)",
    ),
    # An item is held by every response it is in, not only the latest, so
    # deleting that one leaves it found in an older.
    (
        """CREATE TABLE items_held (
            owner TEXT NOT NULL,
            item_id TEXT NOT NULL,
            response_id TEXT NOT NULL,
            PRIMARY KEY (owner, item_id, response_id))""",
        "INSERT INTO items_held SELECT owner, item_id, response_id FROM items",
        "DROP TABLE items",
        "ALTER TABLE items_held RENAME TO items",
        "CREATE INDEX items_response ON items (owner, response_id)",
    ),
]

SCHEMA_VERSION = len(MIGRATIONS)

# What a sweep deletes, found through the index on expires_at.
EXPIRED = "SELECT owner, id FROM responses WHERE expires_at <= ?"


class SchemaTooNew(Exception):
    """
    The database was written by a newer codex-relay than this one.
    """


def defaultSQLitePath(environ: Mapping[str, str]) -> str:
    """
    Where the SQLite store lives when no path is given: under
    C{$XDG_STATE_HOME}, or C{~/.local/state}.
    """
    state = environ.get("XDG_STATE_HOME") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "codex-relay", "responses.sqlite3")


def _configure(connection: sqlite3.Connection) -> None:
    """
    Set up each new connection, in the database thread: transactions are
    begun explicitly (C{BEGIN IMMEDIATE} for writes, so two processes never
    deadlock upgrading a read lock), the journal is a write-ahead log.
    """
    connection.isolation_level = None
    connection.execute("PRAGMA busy_timeout = {:d}".format(BUSY_TIMEOUT))
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")


def _migrate(cursor: Any, path: str) -> int:
    cursor.execute("BEGIN IMMEDIATE")
    cursor.execute("PRAGMA user_version")
    version = int(cursor.fetchone()[0])
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            "{}: the response store's schema is version {}, newer than the {} this"
            " codex-relay knows; upgrade codex-relay, or give it another file."
            .format(path, version, SCHEMA_VERSION))
    for number in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[number - 1]:
            cursor.execute(statement)
        cursor.execute("PRAGMA user_version = {:d}".format(number))
    return version


def _column(text: str) -> str:
    """
    C{text} as SQLite takes it: a lone surrogate (from a JSON escape) is
    not UTF-8, so such an id is kept with it backslash-escaped.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _forget(cursor: Any, keys: list[tuple[str, str]]) -> None:
    """
    Delete the responses with these (owner, id) and the items that name them.
    """
    cursor.executemany("DELETE FROM items WHERE owner = ? AND response_id = ?", keys)
    cursor.executemany("DELETE FROM responses WHERE owner = ? AND id = ?", keys)


def _put(cursor: Any, record: StoredResponse) -> None:
    cursor.execute("BEGIN IMMEDIATE")
    # The items of a record it replaces.
    cursor.execute("DELETE FROM items WHERE owner = ? AND response_id = ?",
                   (_column(record.owner), _column(record.id)))
    cursor.execute(
        "INSERT OR REPLACE INTO responses (owner, id, created_at, expires_at, record)"
        " VALUES (?, ?, ?, ?, ?)",
        (_column(record.owner), _column(record.id), record.createdAt, record.expiresAt,
         record.toJSON()))
    cursor.executemany(
        "INSERT OR IGNORE INTO items (owner, item_id, response_id) VALUES (?, ?, ?)",
        [(_column(record.owner), _column(itemId), _column(record.id))
         for itemId in record.itemIds()])


def _get(cursor: Any, owner: str, responseId: str, now: float) -> StoredResponse | None:
    cursor.execute(
        "SELECT record FROM responses WHERE owner = ? AND id = ? AND expires_at > ?",
        (_column(owner), _column(responseId), now))
    row = cursor.fetchone()
    return None if row is None else StoredResponse.fromJSON(row[0])


def _delete(cursor: Any, owner: str, responseId: str, now: float) -> bool:
    cursor.execute("BEGIN IMMEDIATE")
    cursor.execute(
        "SELECT expires_at > ? FROM responses WHERE owner = ? AND id = ?",
        (now, _column(owner), _column(responseId)))
    row = cursor.fetchone()
    _forget(cursor, [(_column(owner), _column(responseId))])
    return row is not None and bool(row[0])


def _items(cursor: Any, owner: str, itemIds: list[str],
           now: float) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    records: dict[str, StoredResponse] = {}
    for start in range(0, len(itemIds), _CHUNK):
        chunk = itemIds[start:start + _CHUNK]
        asked: dict[str, list[str]] = {}
        for itemId in chunk:
            asked.setdefault(_column(itemId), []).append(itemId)
        # The latest live response holding each (SQLite gives the bare
        # column of the row where max() is found); only its record is read.
        cursor.execute(
            "SELECT item_id, responses.id, responses.record FROM"
            " (SELECT items.item_id, items.response_id, max(responses.created_at)"
            "  FROM items JOIN responses"
            "  ON responses.owner = items.owner AND responses.id = items.response_id"
            "  WHERE items.owner = ? AND items.item_id IN ({}) AND responses.expires_at > ?"
            "  GROUP BY items.item_id) AS latest"
            " JOIN responses ON responses.owner = ? AND responses.id = latest.response_id"
            .format(", ".join("?" * len(asked))),
            (_column(owner), *asked, now, _column(owner)))
        for column, responseId, data in cursor.fetchall():
            record = records.get(responseId)
            if record is None:
                record = records[responseId] = StoredResponse.fromJSON(data)
            for itemId in asked[column]:
                item = record.item(itemId)
                if item is not None:
                    found[itemId] = item
    return found


def _sweep(cursor: Any, now: float, maxRows: int) -> int:
    cursor.execute("BEGIN IMMEDIATE")
    cursor.execute(EXPIRED, (now,))
    expired = [tuple(row) for row in cursor.fetchall()]
    _forget(cursor, expired)
    cursor.execute("SELECT count(*) FROM responses")
    excess = int(cursor.fetchone()[0]) - maxRows
    oldest: list[tuple[str, str]] = []
    if excess > 0:
        cursor.execute(
            "SELECT owner, id FROM responses ORDER BY created_at LIMIT ?", (excess,))
        oldest = [tuple(row) for row in cursor.fetchall()]
        _forget(cursor, oldest)
    return len(expired) + len(oldest)


class SQLiteStore:
    """
    A L{ResponseStore} in a SQLite file.

    Its schema is versioned (C{PRAGMA user_version}): C{open} migrates an
    older file and refuses a newer one.  Every C{sweepSeconds} (on
    C{clock}) the expired rows are deleted, through the index on
    C{expires_at}, and the oldest beyond C{maxRows}; reads never return an
    expired row meanwhile.

    The file is local, so C{shared} is false, though several relay
    processes on one host may well open the same file (SQLite locks it, in
    write-ahead-log mode readers never wait for the writer); they must then
    share the relay's C{--secret}.

    @param reactor: runs the database thread and hears back from it.
    """

    shared = False

    def __init__(self, path: str, clock: IReactorTime, reactor: IReactorCore | None,
                 maxRows: int = DEFAULT_MAX_ROWS, sweepSeconds: float = 60.0) -> None:
        self.path = path
        self.name = "sqlite:" + path
        self._clock = clock
        self._reactor = reactor
        self._maxRows = maxRows
        self._sweepSeconds = sweepSeconds
        self._pool: Any = None
        self._sweeper: LoopingCall | None = None

    def open(self) -> Deferred[None]:
        if self.path != ":memory:":
            try:
                self._prepareFile()
            except OSError:
                return fail()
        self._pool = adbapi.ConnectionPool(
            "sqlite3", self.path, check_same_thread=False, cp_min=1, cp_max=1,
            cp_openfun=_configure, cp_reactor=self._reactor)
        opened: Deferred[int] = self._pool.runInteraction(_migrate, self.path)

        def started(version: int) -> None:
            if version == 0:
                log.info("Response store {path} created.", path=self.path)
            elif version < SCHEMA_VERSION:
                log.info("Response store {path}: schema version {old} migrated to {new}.",
                         path=self.path, old=version, new=SCHEMA_VERSION)
            self._sweeper = LoopingCall(self._scheduledSweep)
            self._sweeper.clock = self._clock
            self._sweeper.start(self._sweepSeconds, now=False)

        def failed(failure: Failure) -> Failure:
            self._pool.close()
            self._pool = None
            return failure

        return opened.addCallbacks(started, failed)

    def _prepareFile(self) -> None:
        """
        The directory, and the file readable by this user only: it holds
        conversations.
        """
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))

    def close(self) -> Deferred[None]:
        if self._sweeper is not None and self._sweeper.running:
            self._sweeper.stop()
        self._sweeper = None
        done: Deferred[None] = Deferred()

        def closePool(_: object = None) -> None:
            if self._pool is not None:
                # Joins the database thread, which has nothing left to do.
                self._pool.close()
                self._pool = None
            done.callback(None)

        # Whatever was asked of the thread is answered before it stops.
        if self._pool is not None:
            self._pool.runInteraction(lambda cursor: None).addBoth(closePool)
        else:
            closePool()
        return done

    def put(self, record: StoredResponse) -> Deferred[None]:
        result: Deferred[None] = self._pool.runInteraction(_put, record)
        return result

    def get(self, owner: str, responseId: str) -> Deferred[StoredResponse | None]:
        result: Deferred[StoredResponse | None] = self._pool.runInteraction(
            _get, owner, responseId, self._clock.seconds())
        return result

    def delete(self, owner: str, responseId: str) -> Deferred[bool]:
        result: Deferred[bool] = self._pool.runInteraction(
            _delete, owner, responseId, self._clock.seconds())
        return result

    def items(self, owner: str, itemIds: Sequence[str]) -> Deferred[dict[str, dict[str, Any]]]:
        result: Deferred[dict[str, dict[str, Any]]] = self._pool.runInteraction(
            _items, owner, list(itemIds), self._clock.seconds())
        return result

    def sweep(self) -> Deferred[int]:
        """
        Delete the expired rows, and the oldest beyond C{maxRows}; how many.
        """
        result: Deferred[int] = self._pool.runInteraction(
            _sweep, self._clock.seconds(), self._maxRows)
        return result

    def _scheduledSweep(self) -> Deferred[None]:
        def swept(count: int) -> None:
            if count:
                log.debug("Response store {path}: {count} rows swept.",
                          path=self.path, count=count)

        def failed(failure: Failure) -> None:
            # Logged, and the next sweep tries again.
            log.failure("Response store {path}: the sweep failed.", failure, path=self.path)

        return self.sweep().addCallbacks(swept, failed)
