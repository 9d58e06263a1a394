"""
The twistd plugin, its Options and makeService, driven with MemoryReactor.
"""

import os

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import IServiceMaker, MultiService
from twisted.internet.testing import MemoryReactorClock
from twisted.plugin import getPlugins
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._web.config import DEFAULT_UPSTREAM
from codex_relay._run.tap import Options, configFromOptions, makeService


def parse(argv: list[str], environ: dict[str, str] | None = None) -> Options:
    # The default store and its secret go under the run's XDG_STATE_HOME
    # (tests/__init__.py), never the user's.
    environ = dict({"XDG_STATE_HOME": os.environ["XDG_STATE_HOME"]}, **(environ or {}))
    options = Options(environ=environ)
    options.parseOptions(argv)
    return options


class PluginTests(SynchronousTestCase):
    def test_discovered(self) -> None:
        """
        twistd finds the plugin by name, and it names the tap module.
        """
        makers = {m.tapname: m for m in getPlugins(IServiceMaker)}
        self.assertIn("codex-relay", makers)
        maker = makers["codex-relay"]
        self.assertIs(maker.options, Options)
        self.assertIs(maker.makeService, makeService)


class OptionsTests(SynchronousTestCase):
    def test_defaults(self) -> None:
        options = parse([])
        self.assertEqual(options["upstream"], DEFAULT_UPSTREAM)
        self.assertEqual(options["listen"], ["tcp:4444:interface=127.0.0.1"])
        config = configFromOptions(options)
        self.assertIsNone(config.apiKey)
        self.assertEqual(config.translation.reasoningPresentation, "summary")
        self.assertFalse(config.translation.lengthAsCompleted)
        self.assertTrue(config.translation.contentFilterAsFailed)
        self.assertEqual(len(config.translation.secret), 32)

    def test_environment(self) -> None:
        """
        Every option falls back to its CODEX_RELAY_* variable.
        """
        options = parse([], {
            "CODEX_RELAY_UPSTREAM": "http://127.0.0.1:9/v1",
            "CODEX_RELAY_API_KEY": "sk-env",
            "CODEX_RELAY_PORT": "5555",
            "CODEX_RELAY_BIND": "0.0.0.0",
            "CODEX_RELAY_IDLE_TIMEOUT": "12.5",
            "CODEX_RELAY_LENGTH_AS_COMPLETED": "1",
            "CODEX_RELAY_REASONING": "raw",
            "CODEX_RELAY_SECRET": "s3cret",
        })
        self.assertEqual(options["listen"], ["tcp:5555:interface=0.0.0.0"])
        config = configFromOptions(options)
        self.assertEqual(config.upstream, "http://127.0.0.1:9/v1")
        self.assertEqual(config.apiKey, "sk-env")
        self.assertEqual(config.idleTimeout, 12.5)
        self.assertTrue(config.translation.lengthAsCompleted)
        self.assertEqual(config.translation.reasoningPresentation, "raw")
        self.assertEqual(config.translation.secret, b"s3cret")

    def test_flagsBeatEnvironment(self) -> None:
        options = parse(["--upstream", "https://a.example/v1", "--port", "1234"],
                        {"CODEX_RELAY_UPSTREAM": "https://b.example/v1",
                         "CODEX_RELAY_PORT": "99"})
        self.assertEqual(options["upstream"], "https://a.example/v1")
        self.assertEqual(options["listen"], ["tcp:1234:interface=127.0.0.1"])

    def test_listenRepeatable(self) -> None:
        options = parse(["--listen", "tcp:1:interface=127.0.0.1", "--listen", "unix:/x.sock"])
        self.assertEqual(options["listen"], ["tcp:1:interface=127.0.0.1", "unix:/x.sock"])

    def test_keyNotInRepr(self) -> None:
        config = configFromOptions(parse(["--api-key", "sk-very-secret"]))
        self.assertNotIn("sk-very-secret", repr(config))

    def test_badValues(self) -> None:
        for argv, environ in [
            (["--upstream", "ftp://x"], {}),
            (["--port", "70000"], {}),
            (["--idle-timeout", "-1"], {}),
            (["--reasoning", "loud"], {}),
            (["--content-filter", "maybe"], {}),
            ([], {"CODEX_RELAY_PORT": "many"}),
        ]:
            self.assertRaises(UsageError, parse, argv, environ)


class MakeServiceTests(SynchronousTestCase):
    def test_listensAndStops(self) -> None:
        """
        makeService listens on every endpoint through the given reactor and
        stopService stops listening.
        """
        reactor = MemoryReactorClock()
        options = parse(["--upstream", "http://127.0.0.1:9/v1", "--store", "memory",
                         "--listen", "tcp:4321:interface=127.0.0.1",
                         "--listen", "unix:relay.sock"])
        service = makeService(options, reactor=reactor)
        service.startService()
        self.assertEqual([(p, i) for p, _, _, i in reactor.tcpServers],
                         [(4321, "127.0.0.1")])
        self.assertEqual([u[0] for u in reactor.unixServers], ["relay.sock"])
        self.assertEqual(len(self.successResultOf(service.listening)), 2)
        self.successResultOf(service.stopService())
        self.assertFalse(service.running)

    def test_childrenBindWhenPrivileged(self) -> None:
        """
        makeService gives a MultiService with one endpoint service per
        endpoint (relay and metrics), and the ports are bound in
        privilegedStartService, before twistd drops privileges.
        """
        reactor = MemoryReactorClock()
        options = parse(["--upstream", "http://127.0.0.1:9/v1", "--store", "memory",
                         "--listen", "tcp:4321:interface=127.0.0.1",
                         "--metrics-listen", "tcp:4322:interface=127.0.0.1"])
        service = makeService(options, reactor=reactor)
        self.assertIsInstance(service, MultiService)
        children = list(service)  # type: ignore[call-overload]
        self.assertEqual([type(c) for c in children], [StreamServerEndpointService] * 2)
        service.privilegedStartService()
        self.assertEqual([p for p, _, _, _ in reactor.tcpServers], [4321, 4322])
        self.assertFalse(service.running)
        service.startService()
        self.assertEqual(len(reactor.tcpServers), 2, "bound once, not again on start")
        ports = self.successResultOf(service.listening)
        self.assertEqual([p.getHost().port for p in ports], [4321])
        self.assertEqual([p.getHost().port for p in service.metricsPorts], [4322])
        self.successResultOf(service.stopService())
        self.assertFalse(any(c.running for c in children))
