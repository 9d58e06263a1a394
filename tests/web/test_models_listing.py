"""
C{GET /v1/models} on real sockets: every request ends, with each upstream
bounded by its own timeout; a list that no upstream gave is an error, never
an empty list; an upstream's C{Retry-After} and an oversize list are
handled; and a llama.cpp server is recognised on any port by its model list.
"""

import json
from typing import Any

from twisted.internet import reactor
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import TestCase
from twisted.web.client import ResponseNeverReceived
from twisted.web.server import Request

import treq

from codex_relay import RelayConfig, RelayService, TranslationSettings
from codex_relay._web.body import MAX_WHOLE_BODY
from codex_relay._providers.profiles import GENERIC, PROFILES, detectProfileFromModels
from codex_relay._providers.config_file import parseRoutingTable, singleUpstream
from tests.harness import oracle
from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.llamacpp import MODEL_ALIAS, TOOLS_TEMPLATE, serverFor
from tests.harness.sockets import serveUpstream, trackConnections, webClient
from tests.harness.upstream import DEFAULT_MODELS, Hang, JSONReply, Reply, ScriptedUpstream, Stream

LLAMACPP = PROFILES["llama.cpp"]

# What llama.cpp's server (xllamacpp 2026.10.11549) answered to GET
# /v1/models, trimmed: an Ollama-style "models" array, then the OpenAI list.
LLAMACPP_MODELS: dict[str, Any] = {
    "models": [{"name": "gemma-3-270m", "model": "gemma-3-270m", "type": "model",
                "capabilities": ["completion"], "details": {"format": "gguf"}}],
    "object": "list",
    "data": [{
        "id": "gemma-3-270m", "aliases": ["gemma-3-270m"], "tags": [], "object": "model",
        "created": 1796635114, "owned_by": "llamacpp",
        "meta": {"vocab_type": 1, "n_vocab": 262144, "n_ctx": 16384, "n_ctx_train": 32768,
                 "n_embd": 640, "n_params": 268098176, "size": 246587904,
                 "ftype": "Q4_K - Medium"},
    }],
}

# A streamed answer whose reasoning is inline: split off by the llama.cpp
# profile only.
THINKING = Stream([chunk({"role": "assistant"}), text("<think>Two and two.</think>"),
                   text("Four."), finish("stop"), usage(5, 3)])


def modelList(*ids: str) -> dict:
    return {"object": "list", "data": [
        {"id": i, "object": "model", "created": 7, "owned_by": "them"} for i in ids]}


class ModelsUpstream(ScriptedUpstream):
    """
    A L{ScriptedUpstream} whose C{GET /v1/models} answers with C{reply}.
    """

    def __init__(self, reply: Reply, **kwargs: Any) -> None:
        super().__init__(reactor=reactor, **kwargs)
        self.reply = reply

    def _render(self, request: Request) -> bytes | int:
        if request.method == b"GET" and request.path == (self.prefix + "/models").encode():
            self._record(request)
            return self.reply.render(request, self)
        return super()._render(request)


def hanging(headers: bool = False) -> ModelsUpstream:
    return ModelsUpstream(Hang(headers=headers))


def answering(models: dict = DEFAULT_MODELS) -> ModelsUpstream:
    return ModelsUpstream(JSONReply(models), respond=lambda body, received: THINKING)


class DetectionTests(TestCase):
    """
    L{detectProfileFromModels}: llama.cpp from its model list, nothing else.
    """

    def test_llamacpp(self) -> None:
        self.assertIs(detectProfileFromModels(LLAMACPP_MODELS), LLAMACPP)

    def test_anySignAlone(self) -> None:
        """
        The owner, the GGUF facts under C{meta}, or the C{Server} header is
        enough by itself: older and newer servers differ in the rest.
        """
        owner = {"data": [{"id": "m", "object": "model", "owned_by": "llamacpp"}]}
        meta = {"data": [{"id": "m", "meta": {"n_vocab": 1, "n_ctx_train": 2}}]}
        self.assertIs(detectProfileFromModels(owner), LLAMACPP)
        self.assertIs(detectProfileFromModels(meta), LLAMACPP)
        self.assertIs(detectProfileFromModels(modelList("m"), "llama.cpp"), LLAMACPP)
        self.assertIs(detectProfileFromModels(None, " Llama.cpp "), LLAMACPP)

    def test_others(self) -> None:
        """
        Other servers' lists, and bodies of any other shape, say nothing.
        """
        for answer, server in [
            (modelList("gpt-4o"), None),
            ({"object": "list", "data": [{"id": "m", "owned_by": "vllm", "root": "m",
                                          "max_model_len": 4096}]}, "uvicorn"),
            ({"object": "list", "data": [{"id": "qwen3:8b", "owned_by": "library"}]}, None),
            ({"data": [{"id": "m", "meta": {"n_vocab": 1}}]}, None),
            ({"data": [{"id": "m", "meta": "n_vocab n_ctx_train"}]}, None),
            ({"data": {"owned_by": "llamacpp"}}, None),
            ({"data": ["llamacpp", None, 3]}, None),
            ([{"owned_by": "llamacpp"}], None),
            ("llamacpp", "TwistedWeb/26.10.0"),
            (None, None),
        ]:
            self.assertIsNone(detectProfileFromModels(answer, server), (answer, server))


class LearningTests(TestCase):
    """
    L{RoutingTable.learnProfile}: only a detected generic profile is replaced,
    once.
    """

    def test_detectedGeneric(self) -> None:
        table = singleUpstream("http://127.0.0.1:9999/v1", None)
        [upstream] = table.upstreams.values()
        self.assertIs(table.route("m").profile, GENERIC)
        self.assertTrue(table.learnProfile(upstream, LLAMACPP))
        self.assertEqual(table.route("m").profile.name, "llama.cpp")
        self.assertIs(table.route("m").upstream, upstream)
        self.assertIs(upstream.profile, GENERIC)  # the upstream itself is unchanged
        self.assertFalse(table.mayLearnProfile(upstream))
        self.assertFalse(table.learnProfile(upstream, LLAMACPP))

    def test_named(self) -> None:
        """
        A profile named by C{--profile} or C{profile =} is never replaced,
        not even C{generic}.
        """
        table = singleUpstream("http://127.0.0.1:9999/v1", None, "generic")
        [upstream] = table.upstreams.values()
        self.assertFalse(table.learnProfile(upstream, LLAMACPP))
        table = parseRoutingTable(
            '[upstreams.a]\nbase_url = "http://127.0.0.1:9999/v1"\nprofile = "generic"\n'
            '[upstreams.b]\nbase_url = "http://127.0.0.1:9998/v1"\n', {})
        self.assertFalse(table.learnProfile(table.upstreams["a"], LLAMACPP))
        self.assertTrue(table.learnProfile(table.upstreams["b"], LLAMACPP))
        self.assertEqual(table.profileOf(table.upstreams["a"]).name, "generic")
        self.assertEqual(table.profileOf(table.upstreams["b"]).name, "llama.cpp")

    def test_detectedOther(self) -> None:
        """
        A profile detected as something else than generic stays: on 8080
        llama.cpp is still assumed from the port alone.
        """
        table = singleUpstream("http://127.0.0.1:11434/v1", None)
        [upstream] = table.upstreams.values()
        self.assertFalse(table.learnProfile(upstream, LLAMACPP))
        self.assertEqual(table.route("m").profile.name, "ollama")
        table = singleUpstream("http://127.0.0.1:8080/v1", None)
        self.assertEqual(table.route("m").profile.name, "llama.cpp")

    def test_foreignUpstream(self) -> None:
        """
        Only the table's own upstream objects learn.
        """
        table = singleUpstream("http://127.0.0.1:9999/v1", None)
        other = singleUpstream("http://127.0.0.1:9999/v1", None)
        [upstream] = other.upstreams.values()
        self.assertFalse(table.learnProfile(upstream, LLAMACPP))
        self.assertIs(table.route("m").profile, GENERIC)


class RelayCase(TestCase):
    """
    A relay service on loopback, and what it logs.
    """

    def setUp(self) -> None:
        self.events: list[dict] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    async def serve(self, config: RelayConfig, learnProfiles: bool) -> None:
        self.service = RelayService(config, reactor, listen=["tcp:0:interface=127.0.0.1"],
                                    learnProfiles=learnProfiles)
        trackConnections(self, self.service.site)
        self.service.startService()
        self.addCleanup(self.service.stopService)
        [port] = await self.service.listening
        self.base = "http://127.0.0.1:{}/v1".format(port.getHost().port)
        self.web = webClient(self)

    async def models(self) -> tuple[int, Any, Any]:
        """
        C{GET /v1/models}: the status, the decoded body and the headers.
        """
        response = await self.web.get(self.base + "/models")
        return response.code, json.loads(await treq.content(response)), response.headers

    def logged(self, level: str) -> list[str]:
        return [formatEvent(event) for event in self.events
                if event.get("log_namespace") == "codex_relay._web.models"
                and event["log_level"].name == level]


class ModelsTests(RelayCase):
    """
    A relay in front of scripted upstreams, on loopback.
    """

    timeout = 30

    async def relay(self, upstreams: dict[str, ScriptedUpstream], headersTimeout: float = 30.0,
                    extra: str = "", learnProfiles: bool = False) -> None:
        """
        Serve C{upstreams} and a relay in front of them: with one, from the
        options; with several, from a routing file (the first is the default;
        C{extra} is added to each upstream's table).
        """
        urls = {name: await serveUpstream(self, upstream)
                for name, upstream in upstreams.items()}
        if len(urls) == 1:
            [url] = urls.values()
            config = RelayConfig(upstream=url, headersTimeout=headersTimeout,
                                 translation=TranslationSettings(secret=b"m"))
        else:
            lines = ['default_upstream = "{}"'.format(next(iter(urls)))]
            for name, url in urls.items():
                lines += ["[upstreams.{}]".format(name), 'base_url = "{}"'.format(url), extra]
            config = RelayConfig(
                routes=parseRoutingTable("\n".join(lines), {}),
                headersTimeout=headersTimeout, translation=TranslationSettings(secret=b"m"))
        await self.serve(config, learnProfiles)

    async def ask(self) -> dict:
        response = await self.web.post(
            self.base + "/responses", headers={"Content-Type": ["application/json"]},
            data=json.dumps({"model": "model-a", "input": "2+2?", "stream": True}).encode())
        self.assertEqual(response.code, 200)
        return oracle.checkStream(await treq.content(response))[-1]["response"]

    # Timeouts.

    async def test_allHang(self) -> None:
        """
        When every upstream hangs, the answer is a 504 once the headers
        timeout has passed, and the upstream requests are given up.
        """
        slow, slower = hanging(), hanging(headers=True)
        gone = [slow.whenDisconnected(), slower.whenDisconnected()]
        await self.relay({"slow": slow, "slower": slower}, headersTimeout=0.5)
        started = reactor.seconds()
        code, body, _ = await self.models()
        elapsed = reactor.seconds() - started
        self.assertEqual(code, 504, body)
        self.assertEqual((body["error"]["type"], body["error"]["code"]),
                         ("server_error", "upstream_timeout"))
        message = body["error"]["message"]
        self.assertIn("slow: The upstream sent no model list within 0.5 seconds", message)
        self.assertIn("slower: The upstream sent no model list", message)
        self.assertTrue(0.45 <= elapsed < 5, elapsed)
        for disconnected in gone:
            await disconnected

    async def test_oneUpstreamHangs(self) -> None:
        """
        With a single upstream, its hang is a 504 within the timeout.
        """
        await self.relay({"only": hanging()}, headersTimeout=0.5)
        started = reactor.seconds()
        code, body, _ = await self.models()
        self.assertEqual((code, body["error"]["code"]), (504, "upstream_timeout"))
        self.assertLess(reactor.seconds() - started, 5)

    async def test_partial(self) -> None:
        """
        One upstream hanging past its own C{headers_timeout} is left out,
        with a warning naming it; the others' models are listed.
        """
        await self.relay({"fast": answering(modelList("a-1", "a-2")), "slow": hanging()},
                         extra="headers_timeout = 0.5")
        started = reactor.seconds()
        code, body, _ = await self.models()
        self.assertEqual(code, 200, body)
        self.assertLess(reactor.seconds() - started, 5)  # not the relay's 30 s
        self.assertEqual([(m["id"], m["owned_by"]) for m in body["data"]],
                         [("a-1", "fast"), ("a-2", "fast")])
        [warning] = self.logged("warn")
        self.assertIn("'slow' left out", warning)
        self.assertIn("no model list within 0.5 seconds", warning)

    async def test_mixedFailures(self) -> None:
        """
        No upstream answering, for different reasons, is a 502 that says
        what became of each, not an empty list.
        """
        await self.relay({"locked": ModelsUpstream(JSONReply(
            {"error": {"message": "bad key", "type": "invalid_request_error"}}, status=401)),
            "slow": hanging()}, extra="headers_timeout = 0.5")
        code, body, _ = await self.models()
        self.assertEqual(code, 502, body)
        self.assertEqual(body["error"]["code"], "upstream_error")
        self.assertIn("locked: bad key", body["error"]["message"])
        self.assertIn("slow: The upstream sent no model list", body["error"]["message"])

    async def test_clientGone(self) -> None:
        """
        A client that leaves while the upstreams hang is not answered, and
        the upstream requests are given up at once (trial fails the test on
        any logged traceback).
        """
        upstream = hanging()
        await self.relay({"a": upstream, "b": hanging()})
        asking = self.web.get(self.base + "/models")
        while not upstream.requests:
            await deferLater(0.01)
        disconnected = upstream.whenDisconnected()
        asking.cancel()
        asking.addErrback(lambda failure: failure.trap(ResponseNeverReceived))
        await disconnected
        await deferLater(0.05)
        self.assertEqual(self.logged("critical") + self.logged("error"), [])

    # Upstream errors and bodies.

    async def test_retryAfterKept(self) -> None:
        """
        An upstream's 429 keeps its C{Retry-After}.
        """
        await self.relay({"only": ModelsUpstream(JSONReply(
            {"error": {"message": "slow down", "type": "rate_limit_error"}}, status=429,
            headers={"Retry-After": "17"}))})
        code, body, headers = await self.models()
        self.assertEqual((code, body["error"]["code"]), (429, "rate_limit_exceeded"))
        self.assertEqual(headers.getRawHeaders(b"retry-after"), [b"17"])

    async def test_allRateLimited(self) -> None:
        """
        Every upstream limiting the rate is a 429 with the longest delay.
        """
        def limited(delay: str) -> ModelsUpstream:
            return ModelsUpstream(JSONReply({"error": {"message": "slow down"}}, status=429,
                                            headers={"Retry-After": delay}))

        await self.relay({"a": limited("3"), "b": limited("40")})
        code, body, headers = await self.models()
        self.assertEqual((code, body["error"]["code"]), (429, "rate_limit_exceeded"))
        self.assertEqual(headers.getRawHeaders(b"retry-after"), [b"40"])

    async def test_oversize(self) -> None:
        """
        A model list larger than the relay reads is a 502 saying so.
        """
        huge = json.dumps(modelList("x" * (MAX_WHOLE_BODY + 1))).encode()
        upstream = ModelsUpstream(JSONReply(huge))
        await self.relay({"only": upstream})
        code, body, _ = await self.models()
        self.assertEqual(code, 502, body)
        self.assertEqual(body["error"]["message"],
                         "The upstream answer is larger than {} bytes.".format(
                             MAX_WHOLE_BODY))

    async def test_notJSON(self) -> None:
        """
        A list that is not JSON is a 502.
        """
        await self.relay({"only": ModelsUpstream(JSONReply(b"<html>busy</html>"))})
        code, body, _ = await self.models()
        self.assertEqual((code, body["error"]["code"]), (502, "bad_upstream_response"))

    async def test_noDataArray(self) -> None:
        """
        A list without a C{data} array is left out of a merged list.
        """
        await self.relay({"a": answering(modelList("a-1")),
                          "b": ModelsUpstream(JSONReply({"models": []}))})
        code, body, _ = await self.models()
        self.assertEqual((code, [m["id"] for m in body["data"]]), (200, ["a-1"]))
        [warning] = self.logged("warn")
        self.assertIn("'b' left out", warning)

    async def test_proxiedAsItIs(self) -> None:
        """
        A single upstream's list passes unchanged, extra fields and all.
        """
        await self.relay({"only": answering(LLAMACPP_MODELS)})
        code, body, _ = await self.models()
        self.assertEqual((code, body), (200, LLAMACPP_MODELS))

    # llama.cpp detection.

    async def test_llamacppLearned(self) -> None:
        """
        A llama.cpp model list on a port that is not 8080 gives the upstream
        llama.cpp's profile (inline reasoning is split off), logged once.
        """
        upstream = answering(LLAMACPP_MODELS)
        await self.relay({"only": upstream})
        before = await self.ask()
        self.assertEqual([item["type"] for item in before["output"]], ["message"])
        await self.models()
        await self.models()
        after = await self.ask()
        self.assertEqual([item["type"] for item in after["output"]], ["reasoning", "message"])
        self.assertEqual(after["output"][1]["content"][0]["text"], "Four.")
        [note] = self.logged("info")
        self.assertIn("is llama.cpp by its model list", note)

    async def test_llamacppLearnedAtStart(self) -> None:
        """
        With C{learnProfiles}, the service asks at start, so the first
        request already has the profile.
        """
        learned = answering(LLAMACPP_MODELS)
        await self.relay({"learned": learned}, learnProfiles=True)
        while not self.logged("info"):
            await deferLater(0.01)
        response = await self.ask()
        self.assertEqual([item["type"] for item in response["output"]],
                         ["reasoning", "message"])
        self.assertEqual([(r.method, r.path) for r in learned.requests],
                         [("GET", "/v1/models"), ("POST", "/v1/chat/completions")])

    async def test_namedNotLearned(self) -> None:
        """
        A profile named in the routing file is kept, even C{generic}, and
        the service does not ask that upstream at start.
        """
        named = answering(LLAMACPP_MODELS)
        await self.relay({"named": named, "other": answering()},
                         extra='profile = "generic"', learnProfiles=True)
        code, body, _ = await self.models()
        self.assertEqual(code, 200, body)
        response = await self.ask()
        self.assertEqual([item["type"] for item in response["output"]], ["message"])
        # Only the client's GET, none at start.
        self.assertEqual([r.method for r in named.requests], ["GET", "POST"])
        self.assertEqual(self.logged("info"), [])

    async def test_learningFailsQuietly(self) -> None:
        """
        An upstream that is down at start is noted at debug level only.
        """
        config = RelayConfig(upstream="http://127.0.0.1:1/v1",
                             translation=TranslationSettings(secret=b"m"))
        service = RelayService(config, reactor, learnProfiles=True)
        service.startService()
        self.addCleanup(service.stopService)
        while not self.logged("debug"):
            await deferLater(0.01)
        [note] = self.logged("debug")
        self.assertIn("no model list from upstream 'default'", note)


class RealLlamaCppTests(RelayCase):
    """
    The real llama.cpp server (L{tests.harness.llamacpp}) on its own port, not 8080.
    """

    timeout = 120

    async def test_recognised(self) -> None:
        """
        The service recognises it at start from its model list.
        """
        server = await serverFor(self, TOOLS_TEMPLATE)
        await self.serve(RelayConfig(upstream=server.baseURL,
                                     translation=TranslationSettings(secret=b"m")), True)
        while not self.logged("info"):
            await deferLater(0.01)
        [note] = self.logged("info")
        self.assertIn("is llama.cpp by its model list", note)
        code, body, _ = await self.models()
        self.assertEqual(code, 200, body)
        self.assertEqual([m["id"] for m in body["data"]], [MODEL_ALIAS])


def deferLater(seconds: float) -> Deferred:
    return task.deferLater(reactor, seconds)
