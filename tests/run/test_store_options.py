"""
Choosing the store (C{--store}, its variable, the TOML file's C{store}),
the retention and the WebSocket switch; the secret kept beside a SQLite
store; the warning for a shared store with a random secret; and the
service opening and closing its store.
"""

import os
import stat

from twisted.internet import reactor
from twisted.internet.testing import MemoryReactorClock
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase

from codex_relay._core.stored import StoredResponse
from codex_relay._run.secret import relaySecret
from codex_relay._run.service import RelayService
from codex_relay._run.tap import (
    Options,
    configFromOptions,
    makeService,
    sharesStoreWithoutSecret,
)
from codex_relay._web.config import RelayConfig


def parse(argv: list[str], environ: dict[str, str]) -> Options:
    options = Options(environ=environ)
    options.parseOptions(argv)
    return options


class StoreOptionTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.state = self.mktemp()
        self.environ = {"XDG_STATE_HOME": self.state}

    def test_defaultIsSQLiteInTheStateDirectory(self) -> None:
        options = parse([], self.environ)
        self.assertEqual(options["store"], "sqlite")
        config = configFromOptions(options)
        self.assertEqual(config.store, "sqlite")
        self.assertEqual(config.retention, 30 * 86400)
        self.assertTrue(config.websocket)
        # The secret is kept beside the database, for this user only.
        path = os.path.join(self.state, "codex-relay", "responses.sqlite3.secret")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        again = configFromOptions(parse([], self.environ))
        self.assertEqual(again.translation.secret, config.translation.secret)

    def test_flagEnvironmentAndFile(self) -> None:
        routes = os.path.join(self.mktemp())
        with open(routes, "w") as f:
            f.write('store = "memory"\n[upstreams.a]\nbase_url = "http://127.0.0.1:9/v1"\n')
        self.assertEqual(parse(["--config", routes], self.environ)["store"], "memory")
        environ = dict(self.environ, CODEX_RELAY_STORE="none")
        self.assertEqual(parse(["--config", routes], environ)["store"], "none")
        self.assertEqual(parse(["--store", "redis://h:1/2", "--config", routes],
                               environ)["store"], "redis://h:1/2")

    def test_retentionAndWebSocket(self) -> None:
        config = configFromOptions(parse(["--retention", "0.5", "--websocket", "off",
                                          "--store", "memory"], self.environ))
        self.assertEqual(config.retention, 43200)
        self.assertFalse(config.websocket)

    def test_badValues(self) -> None:
        for argv in (["--store", "postgres://x"], ["--store", "redis://h:nope"],
                     ["--websocket", "maybe"], ["--retention", "0"]):
            self.assertRaises(UsageError, parse, argv, self.environ)

    def test_secretGivenOrRandom(self) -> None:
        self.assertEqual(relaySecret("s", "sqlite", self.environ), (b"s", False))
        secret, random = relaySecret(None, "memory", self.environ)
        self.assertTrue(random)
        self.assertEqual(len(secret), 32)
        self.assertTrue(relaySecret(None, "redis://h:1/0", self.environ)[1])

    def test_sharedStoreWithoutSecretWarns(self) -> None:
        self.assertTrue(sharesStoreWithoutSecret(parse(["--store", "redis://h:1/0"],
                                                       self.environ)))
        self.assertFalse(sharesStoreWithoutSecret(parse(
            ["--store", "redis://h:1/0", "--secret", "x"], self.environ)))
        self.assertFalse(sharesStoreWithoutSecret(parse(["--store", "memory"],
                                                        self.environ)))


class ServiceStoreTests(TestCase):
    async def test_opensAndCloses(self) -> None:
        """
        The service opens the store its configuration names, serves from
        it, and closes it when stopped; a new service on the same file
        finds what the first kept.
        """
        path = os.path.join(self.mktemp(), "r.sqlite3")
        config = RelayConfig(upstream="http://127.0.0.1:9/v1", store="sqlite:" + path)
        service = RelayService(config, reactor)
        service.startService()
        await service.opened
        assert service.store is not None
        record = StoredResponse("resp_1", "o", {"id": "resp_1", "output": []}, [], None,
                                reactor.seconds(), reactor.seconds() + 60)
        await service.store.put(record)
        await service.stopService()
        again = RelayService(config, reactor)
        again.startService()
        self.addCleanup(again.stopService)
        await again.opened
        assert again.store is not None
        self.assertEqual(await again.store.get("o", "resp_1"), record)

    def test_noStore(self) -> None:
        service = RelayService(RelayConfig(store="none"), MemoryReactorClock())
        self.assertIsNone(service.store)

    async def test_cannotOpen(self) -> None:
        """
        Under twistd, a store that cannot be opened stops the relay with a
        critical line, as a port that cannot listen does.
        """
        blocker = self.mktemp()
        with open(blocker, "w"):
            pass
        clock = MemoryReactorClock()
        clock.running = True
        options = Options(environ={})
        options.parseOptions(["--store", "sqlite:" + os.path.join(blocker, "r.sqlite3"),
                              "--secret", "x", "--listen", "tcp:0"])
        service = makeService(options, reactor=clock)
        service.startService()
        self.assertTrue(clock.hasStopped)
