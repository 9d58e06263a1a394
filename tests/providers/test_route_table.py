"""
Routing model names to upstreams (L{codex_relay._providers.routes}): the
README's example file routes as documented, exact names before the longest
prefix, a default upstream, each route's profile, API, healers and
overrides, and the table for a single upstream.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.config_file import singleUpstream
from codex_relay._providers.tomlfile import ConfigError
from codex_relay._providers.profiles import FORBIDDEN, REQUIRED
from tests.harness.routes import README, TWO, parse


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
