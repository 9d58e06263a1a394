"""
Tests for L{codex_relay._providers.routes}: the multi-upstream configuration file,
routing model names to upstreams, and the merged model list.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.profiles import FORBIDDEN, REQUIRED
from codex_relay._providers.routes import RoutingTable, mergeModelLists
from codex_relay._providers.config_file import ConfigError, loadRoutingTable, parseRoutingTable, singleUpstream

README = """\
default_upstream = "deepseek"          # optional

[upstreams.deepseek]
base_url = "https://api.deepseek.com/v1"
api_key_env = "DEEPSEEK_API_KEY"       # or api_key = "sk-..."
# profile = "deepseek"                 # optional: detected from the host
# api = "chat"                         # or "responses"
# connect_timeout = 10, headers_timeout = 300, idle_timeout = 300, total_timeout = 3600

[upstreams.kimi]
base_url = "https://api.moonshot.ai/v1"
api_key_env = "MOONSHOT_API_KEY"

[upstreams.local]
base_url = "http://127.0.0.1:11434/v1"

[[routes]]
model = "deepseek-chat"                # exact name
upstream = "deepseek"

[[routes]]
model = "kimi"                         # an alias
upstream = "kimi"
upstream_model = "kimi-k2-thinking"
withhold_tools = ["spawn_agent", "multi_agent_v1__close_agent"]

[[routes]]
prefix = "ollama/"                     # prefix stripped
upstream = "local"
extra_params = { options = { num_ctx = 32768 } }
drop_params = ["parallel_tool_calls"]
heal = { dsml = false }
"""

ENVIRON = {"DEEPSEEK_API_KEY": "sk-deepseek", "MOONSHOT_API_KEY": "sk-moonshot"}

TWO = """\
[upstreams.a]
base_url = "https://a.example/v1"

[upstreams.b]
base_url = "https://b.example/v1"
"""


def parse(text: str, environ: dict[str, str] | None = None) -> RoutingTable:
    return parseRoutingTable(text, ENVIRON if environ is None else environ, "relay.toml")


class ReadmeExampleTests(SynchronousTestCase):
    """
    The README's example file parses and routes as documented.
    """

    def setUp(self) -> None:
        self.table = parse(README)

    def test_upstreams(self) -> None:
        upstreams = self.table.upstreams
        self.assertEqual(list(upstreams), ["deepseek", "kimi", "local"])
        self.assertEqual(
            [(u.name, u.baseURL, u.apiKey, u.profile.name, u.api)
             for u in upstreams.values()],
            [("deepseek", "https://api.deepseek.com/v1", "sk-deepseek", "deepseek", "chat"),
             ("kimi", "https://api.moonshot.ai/v1", "sk-moonshot", "kimi", "chat"),
             ("local", "http://127.0.0.1:11434/v1", None, "ollama", "chat")])
        deepseek = upstreams["deepseek"]
        self.assertEqual(
            (deepseek.connectTimeout, deepseek.headersTimeout, deepseek.idleTimeout,
             deepseek.totalTimeout), (None, None, None, None))
        self.assertIs(self.table.default, deepseek)

    def test_keysNotInRepr(self) -> None:
        text = repr(self.table.upstreams["deepseek"]) + repr(self.table.route("kimi"))
        self.assertNotIn("sk-", text)
        self.assertEqual(repr(self.table.upstreams["kimi"]),
                         "Upstream(name='kimi', baseURL='https://api.moonshot.ai/v1', "
                         "apiKey=<set>, profile='kimi', api='chat')")

    def test_exact(self) -> None:
        route = self.table.route("deepseek-chat")
        assert route is not None
        self.assertIs(route.upstream, self.table.upstreams["deepseek"])
        self.assertEqual(route.upstreamModel, "deepseek-chat")
        self.assertEqual(route.profile.name, "deepseek")
        self.assertEqual(route.profile.replay, REQUIRED)
        self.assertEqual(route.api, "chat")
        self.assertEqual(dict(route.extraParams), {})
        self.assertEqual((route.dropParams, route.withholdTools), ((), ()))
        self.assertEqual(route.heal, frozenset({"dsml"}))

    def test_alias(self) -> None:
        route = self.table.route("kimi")
        assert route is not None
        self.assertEqual(route.upstream.name, "kimi")
        self.assertEqual(route.upstreamModel, "kimi-k2-thinking")
        self.assertEqual(route.profile.name, "kimi")
        self.assertEqual(route.withholdTools, ("spawn_agent", "multi_agent_v1__close_agent"))
        # DSML healing is on for every route, whatever the profile.
        self.assertEqual(route.heal, frozenset({"dsml"}))

    def test_prefixStripped(self) -> None:
        route = self.table.route("ollama/qwen3:8b")
        assert route is not None
        self.assertEqual(route.upstream.name, "local")
        self.assertEqual(route.upstreamModel, "qwen3:8b")
        self.assertEqual(route.profile.name, "ollama")
        self.assertEqual(dict(route.extraParams), {"options": {"num_ctx": 32768}})
        self.assertEqual(route.dropParams, ("parallel_tool_calls",))
        self.assertEqual(route.heal, frozenset())

    def test_defaultUpstream(self) -> None:
        """
        Unmatched names go to default_upstream unchanged, with no overrides;
        the profile's model overrides apply.
        """
        route = self.table.route("deepseek-reasoner")
        assert route is not None
        self.assertEqual(route.upstream.name, "deepseek")
        self.assertEqual(route.upstreamModel, "deepseek-reasoner")
        self.assertEqual(route.profile.replay, FORBIDDEN)
        self.assertEqual(route.profile.effort, "unsupported")
        self.assertEqual(route.heal, frozenset({"dsml"}))
        self.assertEqual((dict(route.extraParams), route.dropParams), ({}, ()))

    def test_prefixAlone(self) -> None:
        """
        A prefix matches only when something follows it.
        """
        route = self.table.route("ollama/")
        assert route is not None
        self.assertEqual((route.upstream.name, route.upstreamModel), ("deepseek", "ollama/"))

    def test_caseSensitive(self) -> None:
        route = self.table.route("KIMI")
        assert route is not None
        self.assertEqual((route.upstream.name, route.upstreamModel), ("deepseek", "KIMI"))

    def test_emptyName(self) -> None:
        self.assertIsNone(self.table.route(""))

    def test_routeRepr(self) -> None:
        self.assertEqual(repr(self.table.route("kimi")),
                         "Route(upstream='kimi', upstreamModel='kimi-k2-thinking', "
                         "profile='kimi', api='chat')")


class RoutingTests(SynchronousTestCase):
    def test_longestPrefix(self) -> None:
        for first, second in [("or/", "or/anthropic/"), ("or/anthropic/", "or/")]:
            table = parse(TWO + """
[[routes]]
prefix = "{}"
upstream = "{}"

[[routes]]
prefix = "{}"
upstream = "{}"
""".format(first, "a" if first == "or/" else "b", second,
           "b" if first == "or/" else "a"))
            long = table.route("or/anthropic/claude")
            short = table.route("or/openai/gpt")
            assert long is not None and short is not None
            self.assertEqual((long.upstream.name, long.upstreamModel), ("b", "claude"))
            self.assertEqual((short.upstream.name, short.upstreamModel), ("a", "openai/gpt"))

    def test_exactBeatsPrefix(self) -> None:
        table = parse(TWO + """
[[routes]]
prefix = "x/"
upstream = "a"

[[routes]]
model = "x/special"
upstream = "b"
""")
        special = table.route("x/special")
        other = table.route("x/other")
        assert special is not None and other is not None
        self.assertEqual((special.upstream.name, special.upstreamModel), ("b", "x/special"))
        self.assertEqual((other.upstream.name, other.upstreamModel), ("a", "other"))

    def test_prefixWithUpstreamModel(self) -> None:
        table = parse(TWO + """
[[routes]]
prefix = "fast-"
upstream = "b"
upstream_model = "small"
""")
        route = table.route("fast-anything")
        assert route is not None
        self.assertEqual((route.upstream.name, route.upstreamModel), ("b", "small"))

    def test_noRoute(self) -> None:
        """
        With two upstreams and no default_upstream, an unmatched name has
        no route.
        """
        table = parse(TWO + """
[[routes]]
model = "m"
upstream = "b"
""")
        self.assertIsNone(table.default)
        self.assertIsNone(table.route("unknown"))
        route = table.route("m")
        assert route is not None
        self.assertEqual(route.upstream.name, "b")

    def test_onlyUpstream(self) -> None:
        """
        With exactly one upstream, unmatched names go there.
        """
        table = parse('[upstreams.only]\nbase_url = "http://10.0.0.2:8000/v1/"\n')
        self.assertEqual(table.upstreams["only"].baseURL, "http://10.0.0.2:8000/v1")
        route = table.route("any/model")
        assert route is not None
        self.assertEqual((route.upstream.name, route.upstreamModel), ("only", "any/model"))
        self.assertEqual(route.profile.name, "generic")

    def test_profiles(self) -> None:
        """
        A named profile wins over detection; loopback ports are detected.
        """
        table = parse("""
[upstreams.named]
base_url = "https://llm.internal/v1"
profile = "glm"

[upstreams.vllm]
base_url = "http://localhost:8000/v1"

[upstreams.plain]
base_url = "https://llm.internal/v1"
""")
        self.assertEqual([u.profile.name for u in table.upstreams.values()],
                         ["glm", "vllm", "generic"])

    def test_aliasModelOverride(self) -> None:
        """
        The route's profile is the upstream's for the upstream model, not
        for the client's name.
        """
        table = parse("""
[upstreams.deepseek]
base_url = "https://api.deepseek.com"
api_key = "sk-literal"

[[routes]]
model = "thinker"
upstream = "deepseek"
upstream_model = "deepseek-reasoner"
""")
        self.assertEqual(table.upstreams["deepseek"].apiKey, "sk-literal")
        route = table.route("thinker")
        assert route is not None
        self.assertEqual(route.profile.replay, FORBIDDEN)
        self.assertEqual(table.upstreams["deepseek"].profile.replay, REQUIRED)

    def test_apiAndTimeouts(self) -> None:
        table = parse("""
[upstreams.a]
base_url = "https://a.example/v1"
api = "responses"
connect_timeout = 5
headers_timeout = 60.5
idle_timeout = 30
total_timeout = 600

[upstreams.b]
base_url = "https://b.example/v1"

[[routes]]
model = "via-responses"
upstream = "b"
api = "responses"

[[routes]]
model = "via-chat"
upstream = "a"
api = "chat"
""")
        a = table.upstreams["a"]
        self.assertEqual(a.api, "responses")
        self.assertEqual((a.connectTimeout, a.headersTimeout, a.idleTimeout, a.totalTimeout),
                         (5.0, 60.5, 30.0, 600.0))
        self.assertIsInstance(a.connectTimeout, float)
        routes = {name: table.route(name) for name in ["via-responses", "via-chat"]}
        self.assertEqual({name: r.api for name, r in routes.items() if r is not None},
                         {"via-responses": "responses", "via-chat": "chat"})

    def test_healSwitches(self) -> None:
        """
        heal switches a profile's healers (and dsml, on for every route)
        off, and others on.
        """
        table = parse("""
default_upstream = "glm"

[upstreams.glm]
base_url = "https://api.z.ai/api/paas/v4"

[upstreams.local]
base_url = "http://127.0.0.1:8080/v1"

[[routes]]
model = "glm-quiet"
upstream = "glm"
upstream_model = "glm-4.6"
heal = { glm_thinking = false }

[[routes]]
model = "glm-kept"
upstream = "glm"
heal = { glm_thinking = true }

[[routes]]
prefix = "ds/"
upstream = "local"
heal = { dsml = true, glm_thinking = false }
""")
        heals = {name: route.heal for name in ["glm-quiet", "glm-kept", "glm-other", "ds/v3"]
                 if (route := table.route(name)) is not None}
        self.assertEqual(heals, {
            "glm-quiet": frozenset({"dsml"}),
            "glm-kept": frozenset({"dsml", "glm_thinking"}),
            "glm-other": frozenset({"dsml", "glm_thinking"}),
            "ds/v3": frozenset({"dsml"}),
        })

    def test_listsDeduplicated(self) -> None:
        route = parse(TWO + """
[[routes]]
model = "m"
upstream = "a"
drop_params = ["top_p", "n", "top_p"]
withhold_tools = ["shell", "shell"]
""").route("m")
        assert route is not None
        self.assertEqual((route.dropParams, route.withholdTools), (("top_p", "n"), ("shell",)))

    def test_extraParamsFrozenAtTopLevel(self) -> None:
        route = parse(README).route("ollama/x")
        assert route is not None
        with self.assertRaises(TypeError):
            route.extraParams["new"] = 1  # type: ignore[index]


class SingleUpstreamTests(SynchronousTestCase):
    def test_everyModel(self) -> None:
        table = singleUpstream("https://api.deepseek.com/v1/", "sk-x")
        [upstream] = table.upstreams.values()
        self.assertEqual((upstream.name, upstream.baseURL, upstream.apiKey,
                          upstream.profile.name, upstream.api),
                         ("default", "https://api.deepseek.com/v1", "sk-x", "deepseek", "chat"))
        route = table.route("deepseek-reasoner")
        assert route is not None
        self.assertEqual(route.upstreamModel, "deepseek-reasoner")
        self.assertEqual(route.profile.replay, FORBIDDEN)
        self.assertEqual(table.listedModels("default", ["b", "a", "b"]), ["b", "a"])

    def test_forwardedAuthorization(self) -> None:
        table = singleUpstream("http://127.0.0.1:11434/v1", "")
        self.assertIsNone(table.upstreams["default"].apiKey)
        self.assertEqual(table.upstreams["default"].profile.name, "ollama")

    def test_namedProfile(self) -> None:
        table = singleUpstream("https://llm.internal/v1", None, "kimi")
        self.assertEqual(table.upstreams["default"].profile.name, "kimi")

    def test_unknownProfile(self) -> None:
        error = self.assertRaises(ConfigError, singleUpstream, "https://h/v1", None, "kimmi")
        self.assertEqual(str(error), (
            "<options>: profile: unknown profile 'kimmi'; known profiles: deepseek, generic, "
            "glm, groq, kimi, llama.cpp, mistral, ollama, openrouter, qwen, vllm, xai"))

    def test_notHTTP(self) -> None:
        error = self.assertRaises(ConfigError, singleUpstream, "ftp://h/v1", None)
        self.assertEqual(str(error),
                         "<options>: upstream: must be an http:// or https:// URL, "
                         "not 'ftp://h/v1'")


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
                   "relay.toml: default: unknown key; allowed: default_upstream, routes, "
                   "upstreams", path="default")

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


class ListedModelsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.table = parse(README)

    def test_prefixed(self) -> None:
        self.assertEqual(self.table.listedModels("local", ["qwen3:8b", "llama3", "qwen3:8b"]),
                         ["ollama/qwen3:8b", "ollama/llama3"])

    def test_defaultUnchanged(self) -> None:
        """
        The default upstream's ids are listed as they are, except those a
        client could not reach under that name; its exact routes are
        listed even when it does not list them.
        """
        self.assertEqual(
            self.table.listedModels("deepseek", ["deepseek-reasoner", "kimi", "ollama/x"]),
            ["deepseek-reasoner", "deepseek-chat"])
        self.assertEqual(
            self.table.listedModels("deepseek", ["deepseek-reasoner", "deepseek-chat"]),
            ["deepseek-reasoner", "deepseek-chat"])

    def test_aliasAlways(self) -> None:
        self.assertEqual(self.table.listedModels("kimi", ["moonshot-v1", "kimi-k2-thinking"]),
                         ["kimi"])
        self.assertEqual(self.table.listedModels("kimi", []), ["kimi"])

    def test_aliasesInUpstreamOrder(self) -> None:
        table = parse(TWO + """
[[routes]]
model = "alias-y"
upstream = "a"
upstream_model = "y"

[[routes]]
model = "alias-x"
upstream = "a"
upstream_model = "x"

[[routes]]
model = "other-x"
upstream = "a"
upstream_model = "x"

[[routes]]
prefix = "a/"
upstream = "a"

[[routes]]
prefix = "fixed/"
upstream = "a"
upstream_model = "x"

[[routes]]
model = "late"
upstream = "a"
upstream_model = "z"
""")
        self.assertEqual(table.listedModels("a", ["x", "y"]),
                         ["alias-x", "other-x", "a/x", "alias-y", "a/y", "late"])
        self.assertEqual(table.listedModels("b", ["x"]), [])

    def test_nameRoutesBack(self) -> None:
        """
        A name is listed for an id only when it routes to that very model:
        "p/m" is an alias of "z", so it is listed (and dated) with "z".
        """
        table = parse(TWO + """
[[routes]]
prefix = "p/"
upstream = "a"

[[routes]]
model = "p/m"
upstream = "a"
upstream_model = "z"
""")
        self.assertEqual(table.listedModels("a", ["m", "n", "z"]), ["p/n", "p/m", "p/z"])
        merged, _ = mergeModelLists(table, {"a": [
            {"id": "m", "created": 1}, {"id": "n", "created": 2}, {"id": "z", "created": 3}]})
        self.assertEqual([(m["id"], m["created"]) for m in merged],
                         [("p/n", 2), ("p/m", 3), ("p/z", 3)])

    def test_onlyUpstreamWithPrefix(self) -> None:
        table = parse('[upstreams.a]\nbase_url = "https://a"\n'
                      '[[routes]]\nprefix = "a/"\nupstream = "a"\n')
        self.assertEqual(table.listedModels("a", ["m"]), ["m", "a/m"])

    def test_unknownUpstream(self) -> None:
        self.assertRaises(KeyError, self.table.listedModels, "nope", [])


class MergeModelListsTests(SynchronousTestCase):
    def test_merge(self) -> None:
        table = parse(README)
        merged, warnings = mergeModelLists(table, {
            "deepseek": [
                {"id": "deepseek-chat", "object": "model", "created": 1700000000,
                 "owned_by": "deepseek"},
                {"id": "deepseek-reasoner", "object": "model", "owned_by": "deepseek"},
            ],
            "kimi": ConnectionRefusedError("Connection was refused by other side"),
            "local": [
                {"id": "qwen3:8b", "created": 1710000000, "owned_by": "library"},
                {"id": "qwen3:8b", "created": 1, "owned_by": "library"},
                {"id": "llama3", "created": True},
                {"object": "model"},
                "junk",
                {"id": 7},
            ],
            "elsewhere": [{"id": "ignored"}],
        })
        self.assertEqual(merged, [
            {"id": "deepseek-chat", "object": "model", "created": 1700000000,
             "owned_by": "deepseek"},
            {"id": "deepseek-reasoner", "object": "model", "created": 0,
             "owned_by": "deepseek"},
            {"id": "ollama/qwen3:8b", "object": "model", "created": 1710000000,
             "owned_by": "local"},
            {"id": "ollama/llama3", "object": "model", "created": 0, "owned_by": "local"},
        ])
        self.assertEqual(warnings, [
            "upstream 'kimi' left out of the model list: ConnectionRefusedError: "
            "Connection was refused by other side"])

    def test_aliasesOfWorkingUpstream(self) -> None:
        table = parse(README)
        merged, warnings = mergeModelLists(table, {
            "kimi": [{"id": "kimi-k2-thinking", "created": 5}],
            "deepseek": ValueError(),
            "local": {"data": []},
        })
        self.assertEqual(merged, [
            {"id": "kimi", "object": "model", "created": 5, "owned_by": "kimi"}])
        self.assertEqual(warnings, [
            "upstream 'deepseek' left out of the model list: ValueError",
            "upstream 'local' left out of the model list: its model list is a table, "
            "not an array"])

    def test_missingUpstream(self) -> None:
        """
        An upstream with no result lists nothing and warns of nothing.
        """
        merged, warnings = mergeModelLists(parse(README), {})
        self.assertEqual((merged, warnings), ([], []))

    def test_singleUpstream(self) -> None:
        table = singleUpstream("https://openrouter.ai/api/v1", None)
        merged, warnings = mergeModelLists(table, {"default": [
            {"id": "a/b", "created": 3}, {"id": "a/b"}, {"id": "c/d"}]})
        self.assertEqual([(m["id"], m["created"], m["owned_by"]) for m in merged],
                         [("a/b", 3, "default"), ("c/d", 0, "default")])
        self.assertEqual(warnings, [])


class ReadmeRoutingSectionTests(SynchronousTestCase):
    """
    The configuration example in the README parses and routes as it says.
    """

    def test_readmeExample(self) -> None:
        readme = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
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
