"""
The client keys file (L{codex_relay._providers.client_keys}): what it
holds, every fault a L{ConfigError} naming the file, key and line without
repeating a secret, the lookup of a presented token, and which models a
client may use.
"""

import hashlib
import os

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.client_keys import (
    ClientKey,
    ClientKeys,
    hashToken,
    loadClientKeys,
    parseClientKeys,
    permittedRoute,
    visibleModels,
)
from codex_relay._providers.tomlfile import ConfigError
from tests.harness.routes import README, parse as parseRoutes

ALICE = "crk-alice-token"
BOB = "crk-bob-token"

FILE = """\
[clients.alice]
token_sha256 = "{}"
models = ["deepseek-chat", "ollama/*"]
routes = ["deepseek", "local"]
upstream_api_key_env = "ALICE_DEEPSEEK"
requests_per_minute = 60
tokens_per_day = 2_000_000

[clients."bob the builder"]
token_sha256 = "{}"
upstream_api_key = {{ kimi = "sk-bob-kimi" }}
""".format(hashToken(ALICE), hashToken(BOB).upper())

ENVIRON = {"ALICE_DEEPSEEK": "sk-alice-deepseek"}


def parse(text: str, environ: dict[str, str] | None = None) -> ClientKeys:
    return parseClientKeys(text, ENVIRON if environ is None else environ, "keys.toml")


def client(body: str) -> str:
    return '[clients.c]\ntoken_sha256 = "{}"\n{}'.format(hashToken("t"), body)


class ParseTests(SynchronousTestCase):
    def test_file(self) -> None:
        keys = parse(FILE)
        alice, bob = keys.clients
        self.assertEqual(keys.source, "keys.toml")
        self.assertEqual(alice.name, "alice")
        self.assertEqual(alice.digest, hashlib.sha256(ALICE.encode()).digest())
        self.assertEqual(alice.models, ("deepseek-chat", "ollama/*"))
        self.assertEqual(alice.routes, ("deepseek", "local"))
        self.assertEqual((alice.requestsPerMinute, alice.tokensPerDay), (60, 2_000_000))
        self.assertEqual(alice.upstreamKeyFor("deepseek"), "sk-alice-deepseek")
        self.assertEqual(alice.line, 1)
        self.assertEqual(bob.name, "bob the builder")
        self.assertEqual(bob.line, 9)
        self.assertIsNone(bob.models)
        self.assertIsNone(bob.routes)
        self.assertIsNone(bob.requestsPerMinute)
        self.assertEqual(bob.upstreamKeyFor("kimi"), "sk-bob-kimi")
        self.assertIsNone(bob.upstreamKeyFor("deepseek"))
        # Uppercase hex is the same digest.
        self.assertEqual(bob.digest, hashlib.sha256(BOB.encode()).digest())
        keys.check(parseRoutes(README, {"DEEPSEEK_API_KEY": "a", "MOONSHOT_API_KEY": "b"}
                               ).upstreams)

    def test_hashToken(self) -> None:
        """
        The hash is what C{printf %s TOKEN | sha256sum} prints.
        """
        self.assertEqual(hashToken("secret"),
                         "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b")
        self.assertEqual(hashToken(b"secret"), hashToken("secret"))

    def test_find(self) -> None:
        keys = parse(FILE)
        alice, bob = keys.clients
        self.assertIs(keys.find(ALICE.encode()), alice)
        self.assertIs(keys.find(BOB.encode()), bob)
        self.assertIsNone(keys.find(b"crk-alice-token "))
        self.assertIsNone(keys.find(hashToken(ALICE).encode()))
        self.assertIsNone(keys.find(b""))

    def test_noSecretInRepr(self) -> None:
        keys = parse(FILE)
        for text in (repr(keys), repr(keys.clients[0]), repr(keys.clients[1])):
            for secret in (ALICE, BOB, hashToken(ALICE), hashToken(BOB).upper(),
                           "sk-alice-deepseek", "sk-bob-kimi"):
                self.assertNotIn(secret, text)
        self.assertIn("alice", repr(keys.clients[0]))
        self.assertIn("<set>", repr(keys.clients[0]))

    def test_load(self) -> None:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(FILE)
        self.assertEqual([c.name for c in loadClientKeys(path, ENVIRON).clients],
                         ["alice", "bob the builder"])

    def test_loadFaults(self) -> None:
        path = self.mktemp()
        error = self.assertRaises(ConfigError, loadClientKeys, path, {})
        self.assertEqual(str(error), "{}: cannot read the client keys file: No such file "
                         "or directory".format(path))
        with open(path, "wb") as f:
            f.write(b"\xff")
        error = self.assertRaises(ConfigError, loadClientKeys, path, {})
        self.assertEqual(str(error), "{}: not UTF-8 text (byte 0)".format(path))
        os.remove(path)


class ErrorTests(SynchronousTestCase):
    """
    Every fault names the file, the key path and the table's line.
    """

    def fails(self, text: str, message: str, environ: dict[str, str] | None = None) -> str:
        error = self.assertRaises(ConfigError, parse, text, environ)
        self.assertEqual(str(error), message)
        self.assertEqual(error.source, "keys.toml")
        return message

    def test_syntax(self) -> None:
        self.fails("[clients.a]\ntoken_sha256 \n",
                   "keys.toml: Expected '=' after a key in a key/value pair "
                   "(at line 2, column 14)")

    def test_noClients(self) -> None:
        message = ("keys.toml: clients: at least one client is required ([clients.NAME] "
                   "with a token_sha256)")
        self.fails("", message)
        self.fails("clients = {}\n", message)
        self.fails('clients = "a"\n', "keys.toml: clients: must be a table, not a string")
        self.fails('client = {}\n', "keys.toml: client: unknown key; allowed: clients (a "
                   "table [clients.NAME] for each client)")

    def test_notATable(self) -> None:
        self.fails('clients = { a = "x" }\n', "keys.toml: clients.a: must be a table, not "
                   "a string")

    def test_tokenRequired(self) -> None:
        self.fails("[clients.a]\nmodels = []\n", "keys.toml: clients.a: token_sha256 is "
                   "required (codex-relay hash-key prints it) (in the table at line 1)")

    def test_tokenItselfRefused(self) -> None:
        """
        A token written where its hash belongs is refused, and never
        repeated in the message.
        """
        message = self.fails('\n[clients.a]\ntoken = "crk-plain-secret"\n',
                             "keys.toml: clients.a.token: keep only the token's SHA-256, as "
                             "token_sha256 (codex-relay hash-key prints it), never the token "
                             "itself (in the table at line 2)")
        self.assertNotIn("crk-plain-secret", message)
        for value in ('"crk-plain-secret"', '"{}"'.format(hashToken("t")[:63]), "42"):
            message = self.fails("[clients.a]\ntoken_sha256 = {}\n".format(value),
                                 "keys.toml: clients.a.token_sha256: must be the SHA-256 of "
                                 "the token as 64 hexadecimal digits (codex-relay hash-key "
                                 "prints it) (in the table at line 1)")

    def test_unknownKey(self) -> None:
        self.fails(client("model = []\n"),
                   "keys.toml: clients.c.model: unknown key; allowed: models, "
                   "requests_per_minute, routes, token_sha256, tokens_per_day, "
                   "upstream_api_key, upstream_api_key_env (in the table at line 1)")

    def test_names(self) -> None:
        self.fails(client('models = "a"\n'), "keys.toml: clients.c.models: must be an array "
                   "of strings, not a string (in the table at line 1)")
        self.fails(client('routes = ["a", 1]\n'), "keys.toml: clients.c.routes[1]: must be a "
                   "non-empty string, not an integer (in the table at line 1)")
        self.fails(client('models = [""]\n'), "keys.toml: clients.c.models[0]: must be a "
                   "non-empty string, not an empty one (in the table at line 1)")

    def test_limits(self) -> None:
        for key in ("requests_per_minute", "tokens_per_day"):
            for value in ("0", "-1", "1.5", "true", '"10"'):
                self.fails(client("{} = {}\n".format(key, value)),
                           "keys.toml: clients.c.{}: must be a positive integer, not {} "
                           "(in the table at line 1)".format(
                               key, {"true": "True", '"10"': "'10'"}.get(value, value)))

    def test_upstreamKeys(self) -> None:
        self.fails(client('upstream_api_key = "a"\nupstream_api_key_env = "B"\n'),
                   "keys.toml: clients.c: give upstream_api_key or upstream_api_key_env, "
                   "not both (in the table at line 1)")
        self.fails(client('upstream_api_key_env = "MISSING"\n'),
                   "keys.toml: clients.c.upstream_api_key_env: the environment variable "
                   "MISSING is unset or empty (in the table at line 1)", {"MISSING": ""})
        self.fails(client('upstream_api_key = { a = 1 }\n'),
                   "keys.toml: clients.c.upstream_api_key.a: must be a non-empty string, "
                   "not an integer (in the table at line 1)")
        self.fails(client('upstream_api_key = {}\n'),
                   "keys.toml: clients.c.upstream_api_key: must name at least one upstream "
                   "(in the table at line 1)")
        keys = parse(client('upstream_api_key_env = { a = "A" }\n'), {"A": "sk-a"})
        self.assertEqual(keys.clients[0].upstreamKeyFor("a"), "sk-a")

    def test_sameToken(self) -> None:
        self.fails(client("") + '[clients.d]\ntoken_sha256 = "{}"\n'.format(
            hashToken("t").upper()),
            "keys.toml: clients.d.token_sha256: the same token as clients.c "
            "(in the table at line 3)")

    def test_unknownUpstreams(self) -> None:
        """
        L{ClientKeys.check} names the upstreams the routing table lacks.
        """
        for body, message in (
                ('routes = ["a", "z"]\n', "clients.c.routes: unknown upstream 'z'"),
                ('upstream_api_key = { z = "k" }\n',
                 "clients.c.upstream_api_key: unknown upstream 'z'"),
                ('upstream_api_key_env = { z = "K" }\n',
                 "clients.c.upstream_api_key_env: unknown upstream 'z'")):
            keys = parse(client(body), {"K": "k"})
            error = self.assertRaises(ConfigError, keys.check, {"a": 1, "b": 2})
            self.assertEqual(str(error), "keys.toml: {}; known: a, b (in the table at "
                             "line 1)".format(message))

    def test_oneKeyForSeveralUpstreams(self) -> None:
        """
        One upstream key for every upstream would reach providers it is not
        for: with several upstreams it needs C{routes}, or a table by name.
        """
        keys = parse(client('upstream_api_key = "sk-one"\n'))
        error = self.assertRaises(ConfigError, keys.check, {"a": 1, "b": 2})
        self.assertEqual(str(error), "keys.toml: clients.c.upstream_api_key: with several "
                         "upstreams, give routes, or a table of keys by upstream name: one "
                         "key would go to every upstream (in the table at line 1)")
        self.assertNotIn("sk-one", str(error))
        keys.check({"default": 1})
        parse(client('upstream_api_key = "sk-one"\nroutes = ["a"]\n')).check({"a": 1, "b": 2})


class PermissionTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.table = parseRoutes(README, {"DEEPSEEK_API_KEY": "a", "MOONSHOT_API_KEY": "b"})

    def key(self, **fields: object) -> ClientKey:
        return ClientKey(name="c", digest=b"", **fields)  # type: ignore[arg-type]

    def test_everything(self) -> None:
        key = self.key()
        self.assertFalse(key.restricted)
        for model in ("deepseek-chat", "kimi", "ollama/qwen3", "other"):
            self.assertEqual(permittedRoute(self.table, key, model),
                             self.table.route(model))
        self.assertIsNotNone(permittedRoute(self.table, None, "kimi"))

    def test_models(self) -> None:
        key = self.key(models=("kimi", "ollama/*"))
        self.assertTrue(key.restricted)
        self.assertIsNotNone(permittedRoute(self.table, key, "kimi"))
        self.assertIsNotNone(permittedRoute(self.table, key, "ollama/qwen3"))
        self.assertIsNone(permittedRoute(self.table, key, "kimi-k2"))
        self.assertIsNone(permittedRoute(self.table, key, "deepseek-chat"))
        self.assertIsNotNone(permittedRoute(self.table, self.key(models=("*",)), "anything"))

    def test_routes(self) -> None:
        key = self.key(routes=("local",))
        self.assertIsNotNone(permittedRoute(self.table, key, "ollama/qwen3"))
        self.assertIsNone(permittedRoute(self.table, key, "kimi"))
        # The default upstream (deepseek) is not among its routes.
        self.assertIsNone(permittedRoute(self.table, key, "unknown-model"))
        both = self.key(models=("ollama/*", "kimi"), routes=("local", "deepseek"))
        self.assertIsNone(permittedRoute(self.table, both, "kimi"))
        self.assertIsNotNone(permittedRoute(self.table, both, "ollama/x"))

    def test_visibleModels(self) -> None:
        entries = [{"id": name} for name in ("deepseek-chat", "kimi", "ollama/qwen3")]
        self.assertEqual(visibleModels(self.table, self.key(models=("ollama/*",)),
                                       [*entries, "junk", {"id": 3}]),
                         [{"id": "ollama/qwen3"}])
        self.assertEqual(visibleModels(self.table, self.key(routes=("deepseek", "kimi")),
                                       entries),
                         entries[:2])
