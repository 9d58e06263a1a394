"""
The store a spec names (C{--store}), and the specs refused.  No store is
opened.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._store.choose import expandHome, storeFromSpec
from codex_relay._store.memory import MemoryStore
from codex_relay._store.redis import RedisStore
from codex_relay._store.sqlite import SQLiteStore

ENVIRON = {"HOME": "/home/u"}


class ChooseTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()

    def choose(self, spec: str, environ: dict[str, str] = ENVIRON) -> object:
        return storeFromSpec(spec, self.clock, object(), environ)

    def sqlitePath(self, spec: str, environ: dict[str, str] = ENVIRON) -> str:
        store = self.choose(spec, environ)
        assert isinstance(store, SQLiteStore)
        return store.path

    def redis(self, spec: str) -> RedisStore:
        store = self.choose(spec)
        assert isinstance(store, RedisStore)
        return store

    def refused(self, spec: str) -> str:
        with self.assertRaises(ValueError) as caught:
            self.choose(spec)
        message = str(caught.exception)
        self.assertIn(repr(spec), message)
        for form in ("memory", "sqlite:PATH", "redis://[:PASSWORD@]HOST[:PORT][/DB]"):
            self.assertIn(form, message)
        return message

    def test_memory(self) -> None:
        store = self.choose("memory")
        self.assertIsInstance(store, MemoryStore)

    def test_sqliteDefault(self) -> None:
        default = "/home/u/.local/state/codex-relay/responses.sqlite3"
        self.assertEqual(self.sqlitePath("sqlite"), default)
        self.assertEqual(self.sqlitePath("sqlite:"), default)
        self.assertEqual(self.sqlitePath("sqlite", {"XDG_STATE_HOME": "/s", "HOME": "/h"}),
                         "/s/codex-relay/responses.sqlite3")

    def test_sqlitePath(self) -> None:
        self.assertEqual(self.sqlitePath("sqlite:/var/lib/r.db"), "/var/lib/r.db")
        self.assertEqual(self.sqlitePath("sqlite:relative/r.db"), "relative/r.db")
        self.assertEqual(self.sqlitePath("sqlite:~/r.db"), "/home/u/r.db")
        self.assertEqual(self.sqlitePath("sqlite:/a:b.db"), "/a:b.db")

    def test_expandHome(self) -> None:
        self.assertEqual(expandHome("~", ENVIRON), "/home/u")
        self.assertEqual(expandHome("a/~/b", ENVIRON), "a/~/b")

    def test_redisDefaults(self) -> None:
        store = self.redis("redis://cache.internal")
        self.assertEqual((store.host, store.port, store.db), ("cache.internal", 6379, 0))
        self.assertEqual(store.name, "redis://cache.internal:6379/0")
        self.assertTrue(store.shared)

    def test_redisFull(self) -> None:
        store = self.redis("redis://:p%40ss@10.0.0.5:6380/2")
        self.assertEqual((store.host, store.port, store.db), ("10.0.0.5", 6380, 2))
        self.assertEqual(store._password, "p@ss")
        self.assertEqual(store.name, "redis://10.0.0.5:6380/2")

    def test_redisTrailingSlash(self) -> None:
        self.assertEqual(self.redis("redis://h:1/").db, 0)

    def test_redisIPv6(self) -> None:
        store = self.redis("redis://[::1]:6390/3")
        self.assertEqual(store.host, "::1")
        self.assertEqual(store.name, "redis://[::1]:6390/3")

    def test_redisUsername(self) -> None:
        store = self.redis("redis://relay:pw@h")
        self.assertEqual((store._username, store._password), ("relay", "pw"))
        self.assertNotIn("pw", store.name)

    def test_refusedForms(self) -> None:
        for spec in ("", "none", "off", "Memory", "memory:1", "postgres://h/db",
                     "rediss://h", "redis:h", "sqlite3:/x.db"):
            self.refused(spec)

    def test_refusedRedis(self) -> None:
        self.assertIn("port", self.refused("redis://h:port"))
        self.assertIn("port", self.refused("redis://h:99999"))
        self.assertIn("host", self.refused("redis://"))
        self.assertIn("host", self.refused("redis://user@"))
        self.assertIn("database", self.refused("redis://h/zero"))
        self.assertIn("database", self.refused("redis://h/1/2"))
        self.assertIn("query", self.refused("redis://h?db=1"))

    def test_refusedNoPassword(self) -> None:
        """
        A refused Redis URL is quoted with its password blanked.
        """
        with self.assertRaises(ValueError) as caught:
            self.choose("redis://user:pw@h:nope/1")
        self.assertIn("'redis://user:***@h:nope/1'", str(caught.exception))
        self.assertNotIn("pw", str(caught.exception))
