"""
Client keys from the options (C{--client-keys}, C{CODEX_RELAY_CLIENT_KEYS},
the configuration file's C{client_keys}), the warning of a relay open
beyond loopback without them, and C{codex-relay hash-key}.
"""

import io
import os
import sys
from typing import Any

from twisted.internet import reactor
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.testing import MemoryReactorClock
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase

from codex_relay._providers.client_keys import hashToken, parseClientKeys
from codex_relay._run import cli
from codex_relay._run.service import RelayService, beyondLoopback
from codex_relay._run.tap import Options, configFromOptions
from codex_relay._tools.hash_key import HashKeyOptions, hashKeyCommand
from codex_relay._web.config import RelayConfig
from tests.harness.memory import LogCapture

TOKEN = "crk-options-7777"
KEYS = '[clients.alice]\ntoken_sha256 = "{}"\nupstream_api_key = "sk-alice-8888"\n'.format(
    hashToken(TOKEN))


def parse(argv: list[str], environ: dict[str, str]) -> Options:
    options = Options(environ=environ)
    options.parseOptions(argv)
    return options


class OptionTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.directory = self.mktemp()
        os.makedirs(self.directory)
        self.keys = self.write("keys.toml", KEYS)
        self.environ = {"XDG_STATE_HOME": self.mktemp()}

    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.directory, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def names(self, argv: list[str], environ: dict[str, str] | None = None) -> list[str]:
        config = configFromOptions(parse(argv + ["--store", "none"],
                                         dict(self.environ, **(environ or {}))))
        return [c.name for c in config.clientKeys.clients] if config.clientKeys else []

    def test_none(self) -> None:
        self.assertIsNone(configFromOptions(parse(["--store", "none"], self.environ)
                                            ).clientKeys)

    def test_flagAndEnvironment(self) -> None:
        self.assertEqual(self.names(["--client-keys", self.keys]), ["alice"])
        self.assertEqual(self.names([], {"CODEX_RELAY_CLIENT_KEYS": self.keys}), ["alice"])

    def test_configFile(self) -> None:
        """
        The file's C{client_keys} is relative to the file; the flag and the
        variable win over it.
        """
        config = self.write("relay.toml", 'client_keys = "keys.toml"\n[upstreams.a]\n'
                            'base_url = "http://127.0.0.1:9/v1"\n')
        self.assertEqual(self.names(["--config", config]), ["alice"])
        other = self.write("other.toml", KEYS.replace("alice", "bob"))
        self.assertEqual(self.names(["--config", config, "--client-keys", other]), ["bob"])
        self.assertEqual(self.names(["--config", config],
                                    {"CODEX_RELAY_CLIENT_KEYS": other}), ["bob"])

    def test_faults(self) -> None:
        """
        A keys file that cannot be used is a usage error naming the file;
        so is one naming upstreams the routing table lacks.
        """
        missing = os.path.join(self.directory, "missing.toml")
        error = self.assertRaises(UsageError, parse, ["--client-keys", missing], self.environ)
        self.assertEqual(str(error), "{}: cannot read the client keys file: No such file or "
                         "directory".format(missing))
        bad = self.write("bad.toml", KEYS + 'routes = ["elsewhere"]\n')
        error = self.assertRaises(UsageError, parse, ["--client-keys", bad], self.environ)
        self.assertEqual(str(error), "{}: clients.alice.routes: unknown upstream "
                         "'elsewhere'; known: default (in the table at line 1)".format(bad))

    def test_noSecretInRepr(self) -> None:
        config = configFromOptions(parse(["--client-keys", self.keys, "--store", "none"],
                                         self.environ))
        for text in (repr(config), repr(config.clientKeys)):
            self.assertNotIn(TOKEN, text)
            self.assertNotIn(hashToken(TOKEN), text)
            self.assertNotIn("sk-alice-8888", text)


class _Port:
    def __init__(self, address: Any) -> None:
        self._address = address

    def getHost(self) -> Any:
        return self._address


class OpenRelayWarningTests(SynchronousTestCase):
    def test_beyondLoopback(self) -> None:
        for address, beyond in ((IPv4Address("TCP", "127.0.0.1", 1), False),
                                (IPv4Address("TCP", "127.8.0.1", 1), False),
                                (IPv4Address("TCP", "0.0.0.0", 1), True),
                                (IPv4Address("TCP", "192.168.1.2", 1), True),
                                (IPv6Address("TCP", "::1", 1), False),
                                (IPv6Address("TCP", "::", 1), True),
                                (IPv6Address("TCP", "::ffff:127.0.0.1", 1), False),
                                (IPv6Address("TCP", "fe80::1%eth0", 1), True),
                                (UNIXAddress("/run/relay.sock"), False)):
            self.assertEqual(beyondLoopback(_Port(address)), beyond, address)

    def warnings(self, config: RelayConfig, listen: list[str]) -> list[str]:
        log = LogCapture(self)
        service = RelayService(config, MemoryReactorClock(), listen)
        service.startService()
        self.addCleanup(service.stopService)
        self.successResultOf(service.listening)
        return [text for text in log.texts() if "beyond loopback" in text]

    def test_warnsOnce(self) -> None:
        """
        Without client keys, listening beyond loopback is one warning at
        start, naming the addresses.  (L{MemoryReactorClock} binds every
        IPv4 port to 0.0.0.0.)
        """
        [warning] = self.warnings(RelayConfig(store="none"), ["tcp:4444", "tcp:4445"])
        self.assertIn("0.0.0.0:4444, 0.0.0.0:4445", warning)
        self.assertIn("without client keys: anyone who can reach it may use it", warning)

    def test_quietWithKeys(self) -> None:
        keys = parseClientKeys(KEYS, {})
        self.assertEqual(self.warnings(RelayConfig(store="none", clientKeys=keys),
                                       ["tcp:4444"]), [])

    def test_quietOnUNIXSockets(self) -> None:
        self.assertEqual(self.warnings(RelayConfig(store="none"), ["unix:relay.sock"]), [])


class LoopbackQuietTests(TestCase):
    async def test_quietOnLoopback(self) -> None:
        log = LogCapture(self)
        service = RelayService(RelayConfig(store="none"), reactor,
                               ["tcp:0:interface=127.0.0.1"])
        service.startService()
        self.addCleanup(service.stopService)
        await service.listening
        self.assertEqual([text for text in log.texts() if "beyond loopback" in text], [])


class HashKeyTests(SynchronousTestCase):
    def hashKey(self, argv: list[str], stdin: str = "") -> tuple[int, str, str]:
        options = HashKeyOptions()
        options.parseOptions(argv)
        out, err = io.StringIO(), io.StringIO()
        code = hashKeyCommand(options, io.StringIO(stdin), out, err)
        return code, out.getvalue(), err.getvalue()

    def test_newToken(self) -> None:
        """
        A new token goes to standard error only; standard output is a table
        of a keys file that admits it.
        """
        code, out, err = self.hashKey(["--name", "alice"])
        self.assertEqual(code, 0)
        token = err.strip().splitlines()[-1]
        self.assertTrue(token.startswith("crk-"))
        self.assertGreater(len(token), 40)
        self.assertNotIn(token, out)
        keys = parseClientKeys(out, {})
        self.assertEqual(keys.find(token.encode()), keys.clients[0])
        self.assertEqual(keys.clients[0].name, "alice")
        self.assertNotEqual(self.hashKey([])[2], err)  # a new token each time

    def test_stdin(self) -> None:
        code, out, err = self.hashKey(["--stdin", "-n", "bob smith"], "secret\n")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, '[clients."bob smith"]\ntoken_sha256 = "{}"\n'.format(
            hashToken("secret")))
        self.assertEqual(self.hashKey(["--stdin"], " \n")[0], 1)

    def test_emptyName(self) -> None:
        self.assertRaises(UsageError, HashKeyOptions().parseOptions, ["--name", ""])

    def test_command(self) -> None:
        """
        C{codex-relay hash-key} needs nothing of the relay's configuration:
        a relay option that would not do is not even looked at.
        """
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        self.assertEqual(cli.main(["--store", "postgres://nope", "hash-key", "-n", "c"]), 0)
        self.assertTrue(out.getvalue().startswith("[clients.c]\ntoken_sha256 = "))
        self.assertEqual(cli.main(["--store", "postgres://nope"]), 2)
