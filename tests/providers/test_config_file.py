"""
The multi-upstream configuration file (L{codex_relay._providers.config_file}):
every fault is a L{ConfigError} naming the file and the line or key; the
file is loaded from disk; the README's routing section parses as it says.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.config_file import loadRoutingTable, parseRoutingTable
from codex_relay._providers.tomlfile import ConfigError
from tests.harness.routes import ENVIRON, README, TWO, parse


class ErrorTests(SynchronousTestCase):
    """
    Every fault is a L{ConfigError} naming the file and the line or key.
    """

    def fails(self, text: str, message: str, environ: dict[str, str] | None = None,
              path: str | None = "") -> None:
        error = self.assertRaises(ConfigError, parse, text, environ)
        self.assertEqual(str(error), message)
        self.assertEqual(error.source, "relay.toml")
        if path != "":
            self.assertEqual(error.path, path)

    def test_syntax(self) -> None:
        self.fails('[upstreams.a]\nbase_url "https://a"\n',
                   "relay.toml: Expected '=' after a key in a key/value pair "
                   "(at line 2, column 10)", path=None)

    def test_duplicateKey(self) -> None:
        self.fails('[upstreams.a]\nbase_url = "https://a"\nbase_url = "https://b"\n',
                   "relay.toml: Cannot overwrite a value (at line 3, column 23)")

    def test_unknownTopLevelKey(self) -> None:
        self.fails('default = "a"\n' + TWO,
                   "relay.toml: default: unknown key; allowed: client_keys, "
                   "default_upstream, routes, store, upstreams", path="default")

    def test_noUpstreams(self) -> None:
        message = ("relay.toml: upstreams: at least one upstream is required "
                   "([upstreams.NAME] with a base_url)")
        self.fails("", message)
        self.fails("upstreams = {}\n", message)
        self.fails('upstreams = "a"\n',
                   "relay.toml: upstreams: must be a table, not a string")

    def test_unknownUpstreamKey(self) -> None:
        self.fails('[upstreams.a]\nbase_url = "https://a"\nbase_ulr = "https://a"\n',
                   "relay.toml: upstreams.a.base_ulr: unknown key; allowed: api, api_key, "
                   "api_key_env, base_url, connect_timeout, headers_timeout, idle_timeout, "
                   "profile, total_timeout (in the table at line 1)",
                   path="upstreams.a.base_ulr")

    def test_upstreamNotATable(self) -> None:
        self.fails('upstreams = { a = "https://a" }\n',
                   "relay.toml: upstreams.a: must be a table, not a string")

    def test_quotedUpstreamName(self) -> None:
        self.fails('[upstreams."my host"]\nbase_url = 1\n',
                   'relay.toml: upstreams."my host".base_url: must be a string, not an '
                   "integer (in the table at line 1)")

    def test_emptyUpstreamName(self) -> None:
        self.fails('[upstreams.""]\nbase_url = "https://a"\n',
                   'relay.toml: upstreams."": an upstream\'s name must not be empty '
                   "(in the table at line 1)")

    def test_baseURL(self) -> None:
        self.fails('[upstreams.a]\napi_key = "k"\n',
                   "relay.toml: upstreams.a: base_url is required (in the table at line 1)")
        self.fails('[upstreams.a]\nbase_url = "ftp://a/v1"\n',
                   "relay.toml: upstreams.a.base_url: must be an http:// or https:// URL, "
                   "not 'ftp://a/v1' (in the table at line 1)")
        self.fails('[upstreams.a]\nbase_url = "api.deepseek.com"\n',
                   "relay.toml: upstreams.a.base_url: must be an http:// or https:// URL, "
                   "not 'api.deepseek.com' (in the table at line 1)")
        self.fails('[upstreams.a]\nbase_url = "http://a:port/v1"\n',
                   "relay.toml: upstreams.a.base_url: not a valid URL: 'http://a:port/v1' "
                   "(Port could not be cast to integer value as 'port') "
                   "(in the table at line 1)")

    def test_apiKeyBoth(self) -> None:
        self.fails('[upstreams.a]\nbase_url = "https://a"\napi_key = "k"\n'
                   'api_key_env = "K"\n',
                   "relay.toml: upstreams.a: give api_key or api_key_env, not both "
                   "(in the table at line 1)")

    def test_apiKeyEnvUnset(self) -> None:
        message = ("relay.toml: upstreams.kimi.api_key_env: the environment variable "
                   "MOONSHOT_API_KEY is unset or empty (in the table at line 10)")
        self.fails(README, message, {"DEEPSEEK_API_KEY": "k"},
                   path="upstreams.kimi.api_key_env")
        self.fails(README, message, {"DEEPSEEK_API_KEY": "k", "MOONSHOT_API_KEY": ""})

    def test_emptyAPIKey(self) -> None:
        self.fails('[upstreams.a]\nbase_url = "https://a"\napi_key = ""\n',
                   "relay.toml: upstreams.a.api_key: must not be empty "
                   "(in the table at line 1)")

    def test_unknownProfile(self) -> None:
        self.fails('[upstreams.a]\nbase_url = "https://a"\nprofile = "deepsek"\n',
                   "relay.toml: upstreams.a.profile: unknown profile 'deepsek'; known "
                   "profiles: deepseek, generic, glm, groq, kimi, llama.cpp, mistral, "
                   "ollama, openrouter, qwen, vllm, xai (in the table at line 1)")

    def test_api(self) -> None:
        self.fails('[upstreams.a]\nbase_url = "https://a"\napi = "completions"\n',
                   "relay.toml: upstreams.a.api: must be one of: chat, responses; not "
                   "'completions' (in the table at line 1)")
        self.fails(TWO + '[[routes]]\nmodel = "m"\nupstream = "a"\napi = "Chat"\n',
                   "relay.toml: routes[1].api: must be one of: chat, responses; not 'Chat' "
                   "(in the table at line 6)")

    def test_timeouts(self) -> None:
        for value, shown in [("-1", "-1"), ("0", "0"), ("0.0", "0.0"), ("true", "True"),
                             ('"10"', "'10'"), ("nan", "nan"), ("inf", "inf")]:
            self.fails('[upstreams.a]\nbase_url = "https://a"\nidle_timeout = {}\n'.format(
                value),
                "relay.toml: upstreams.a.idle_timeout: must be a positive number of "
                "seconds, not {} (in the table at line 1)".format(shown),
                path="upstreams.a.idle_timeout")

    def test_defaultUpstream(self) -> None:
        self.fails('default_upstream = "c"\n' + TWO,
                   "relay.toml: default_upstream: unknown upstream 'c'; known: a, b")
        self.fails("default_upstream = 1\n" + TWO,
                   "relay.toml: default_upstream: must be a string, not an integer")

    def test_routesNotAnArray(self) -> None:
        self.fails(TWO + "[routes]\nmodel = \"m\"\n",
                   "relay.toml: routes: must be an array of tables ([[routes]]), not a table")
        self.fails('routes = ["m"]\n' + TWO,
                   "relay.toml: routes: must be an array of tables ([[routes]]), "
                   "not an array")

    def test_routeModelAndPrefix(self) -> None:
        self.fails(TWO + '[[routes]]\nmodel = "m"\nprefix = "p/"\nupstream = "a"\n',
                   "relay.toml: routes[1]: give model (an exact name) or prefix, not both "
                   "(in the table at line 6)", path="routes[1]")
        self.fails(TWO + '[[routes]]\nupstream = "a"\n',
                   "relay.toml: routes[1]: needs model (an exact name) or prefix "
                   "(in the table at line 6)")

    def test_routeUnknownKey(self) -> None:
        self.fails(TWO + '[[routes]]\nmodel = "m"\nupstream = "a"\nextra_body = {}\n',
                   "relay.toml: routes[1].extra_body: unknown key; allowed: api, "
                   "drop_params, extra_params, heal, model, prefix, upstream, "
                   "upstream_model, withhold_tools (in the table at line 6)")

    def test_routeUpstream(self) -> None:
        """
        The brief's own example: the kimi upstream removed from the README.
        """
        text = README.replace('[upstreams.kimi]\nbase_url = "https://api.moonshot.ai/v1"\n'
                              'api_key_env = "MOONSHOT_API_KEY"\n', "\n\n\n")
        self.fails(text,
                   "relay.toml: routes[2].upstream: unknown upstream 'kimi'; known: "
                   "deepseek, local (in the table at line 21)", path="routes[2].upstream")

    def test_routeUpstreamMissing(self) -> None:
        self.fails(TWO + '[[routes]]\nmodel = "m"\n',
                   "relay.toml: routes[1]: upstream is required (in the table at line 6)")

    def test_routeWithoutLineHint(self) -> None:
        """
        Routes written as an inline array get no line hint.
        """
        self.fails('routes = [{ model = "m", upstream = "c" }]\n' + TWO,
                   "relay.toml: routes[1].upstream: unknown upstream 'c'; known: a, b")

    def test_routeStrings(self) -> None:
        self.fails(TWO + '[[routes]]\nmodel = ""\nupstream = "a"\n',
                   "relay.toml: routes[1].model: must not be empty (in the table at line 6)")
        self.fails(TWO + '[[routes]]\nprefix = 3\nupstream = "a"\n',
                   "relay.toml: routes[1].prefix: must be a string, not an integer "
                   "(in the table at line 6)")
        self.fails(TWO + '[[routes]]\nmodel = "m"\nupstream = "a"\nupstream_model = []\n',
                   "relay.toml: routes[1].upstream_model: must be a string, not an array "
                   "(in the table at line 6)")

    def test_duplicateModel(self) -> None:
        self.fails(TWO + '[[routes]]\nmodel = "m"\nupstream = "a"\n'
                   '[[routes]]\nmodel = "x"\nupstream = "a"\n'
                   '[[routes]]\nmodel = "m"\nupstream = "b"\n',
                   "relay.toml: routes[3].model: 'm' is already routed by routes[1] "
                   "(in the table at line 12)", path="routes[3].model")

    def test_duplicatePrefix(self) -> None:
        self.fails(TWO + '[[routes]]\nprefix = "p/"\nupstream = "a"\n'
                   '[[routes]]\nprefix = "p/"\nupstream = "b"\n',
                   "relay.toml: routes[2].prefix: 'p/' is already routed by routes[1] "
                   "(in the table at line 9)")

    def test_modelAndPrefixSameText(self) -> None:
        """
        An exact name equal to a prefix is no duplicate: they route
        different names.
        """
        table = parse(TWO + '[[routes]]\nprefix = "p"\nupstream = "a"\n'
                      '[[routes]]\nmodel = "p"\nupstream = "b"\n')
        routes = [table.route("p"), table.route("pq")]
        self.assertEqual([(r.upstream.name, r.upstreamModel) for r in routes if r],
                         [("b", "p"), ("a", "q")])

    def test_extraParams(self) -> None:
        route = TWO + '[[routes]]\nmodel = "m"\nupstream = "a"\n'
        self.fails(route + 'extra_params = "x"\n',
                   "relay.toml: routes[1].extra_params: must be a table, not a string "
                   "(in the table at line 6)")
        self.fails(route + "extra_params = { a = { when = 2024-01-01 } }\n",
                   "relay.toml: routes[1].extra_params.a.when: a date is not a JSON value "
                   "(in the table at line 6)")
        self.fails(route + "extra_params = { a = [1, nan] }\n",
                   "relay.toml: routes[1].extra_params.a[1]: nan is not a JSON value "
                   "(in the table at line 6)")

    def test_lists(self) -> None:
        route = TWO + '[[routes]]\nmodel = "m"\nupstream = "a"\n'
        self.fails(route + 'drop_params = "temperature"\n',
                   "relay.toml: routes[1].drop_params: must be an array of strings, "
                   "not a string (in the table at line 6)")
        self.fails(route + 'withhold_tools = ["shell", 1]\n',
                   "relay.toml: routes[1].withhold_tools[1]: must be a string, "
                   "not an integer (in the table at line 6)")

    def test_heal(self) -> None:
        route = TWO + '[[routes]]\nmodel = "m"\nupstream = "a"\n'
        self.fails(route + "heal = { dsmI = false }\n",
                   "relay.toml: routes[1].heal.dsmI: unknown healer 'dsmI'; known "
                   "healers: dsml, glm_thinking (in the table at line 6)",
                   path="routes[1].heal.dsmI")
        self.fails(route + 'heal = { dsml = "off" }\n',
                   "relay.toml: routes[1].heal.dsml: must be a boolean, not a string "
                   "(in the table at line 6)")
        self.fails(route + "heal = false\n",
                   "relay.toml: routes[1].heal: must be a table, not a boolean "
                   "(in the table at line 6)")


class LoadTests(SynchronousTestCase):
    def test_load(self) -> None:
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write(README)
        table = loadRoutingTable(path, ENVIRON)
        self.assertEqual(list(table.upstreams), ["deepseek", "kimi", "local"])

    def test_loadNamesFile(self) -> None:
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write("[upstreams\n")
        error = self.assertRaises(ConfigError, loadRoutingTable, path, {})
        self.assertEqual(str(error), "{}: Expected ']' at the end of a table declaration "
                         "(at line 1, column 11)".format(path))
        self.assertEqual(error.source, path)

    def test_missing(self) -> None:
        path = self.mktemp()
        error = self.assertRaises(ConfigError, loadRoutingTable, path, {})
        self.assertEqual(str(error), "{}: cannot read the configuration file: "
                         "No such file or directory".format(path))

    def test_notUTF8(self) -> None:
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b'[upstreams.a]\nbase_url = "\xff"\n')
        error = self.assertRaises(ConfigError, loadRoutingTable, path, {})
        self.assertEqual(str(error), "{}: not UTF-8 text (byte 26)".format(path))


class ReadmeRoutingSectionTests(SynchronousTestCase):
    """
    The configuration example in the README parses and routes as it says.
    """

    def test_readmeExample(self) -> None:
        readme = os.path.join(
            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
            "README.md")
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        block = text.split("### One relay, many upstreams")[1].split("```toml")[1]
        table = parseRoutingTable(block.split("```")[0], {
            "DEEPSEEK_API_KEY": "sk-d", "MOONSHOT_API_KEY": "sk-k"})
        found = {model: (route.upstream.name, route.upstreamModel, route.profile.name)
                 for model in ("deepseek-chat", "kimi", "ollama/qwen3:8b", "other")
                 for route in [table.route(model)]}
        self.assertEqual(found, {
            "deepseek-chat": ("deepseek", "deepseek-chat", "deepseek"),
            "kimi": ("kimi", "kimi-k2-thinking", "kimi"),
            "ollama/qwen3:8b": ("ollama", "qwen3:8b", "ollama"),
            "other": ("deepseek", "other", "deepseek"),
        })
        self.assertEqual(table.upstreams["deepseek"].apiKey, "sk-d")


class PassthroughRouteTests(SynchronousTestCase):
    def test_overridesRejected(self) -> None:
        """
        Route overrides do nothing on a passthrough route, so they are an
        error rather than silently ignored.
        """
        text = (
            '[upstreams.x]\nbase_url = "https://api.x.ai/v1"\napi = "responses"\n\n'
            '[[routes]]\nmodel = "grok"\nupstream = "x"\ndrop_params = ["top_p"]\n')
        error = self.assertRaises(ConfigError, parseRoutingTable, text, {}, "relay.toml")
        self.assertIn("routes[1].drop_params: has no effect on a route with api = "
                      '"responses"', str(error))
