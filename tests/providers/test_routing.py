"""
Many upstreams behind one relay, on real sockets: each request reaches the
upstream its model routes to, with that upstream's key and model name;
C{/v1/models} merges every list; an upstream that is down leaves the rest
working.
"""

import json

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

import treq

from codex_relay import RelayConfig, TranslationSettings
from codex_relay._providers.config_file import parseRoutingTable
from tests.harness import oracle
from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.sockets import serveUpstream, webClient, serveRelay
from tests.harness.upstream import ScriptedUpstream, Stream

ROUTES = """
default_upstream = "alpha"

[upstreams.alpha]
base_url = "ALPHA_URL"
api_key_env = "ALPHA_KEY"
profile = "generic"

[upstreams.beta]
base_url = "BETA_URL"
api_key = "sk-beta"
profile = "kimi"

[[routes]]
model = "fast"
upstream = "beta"
upstream_model = "kimi-k2-thinking"

[[routes]]
prefix = "beta/"
upstream = "beta"
"""


def answering(word: str):  # type: ignore[no-untyped-def]
    return lambda body, received: Stream([chunk({"role": "assistant"}), text(word),
                                          finish("stop"), usage(5, 1)])


def models(*ids: str) -> dict:
    return {"object": "list", "data": [
        {"id": i, "object": "model", "created": 7, "owned_by": "them"} for i in ids]}


class RoutingTests(TestCase):
    timeout = 20

    async def start(self, betaDown: bool = False) -> None:
        self.alpha = ScriptedUpstream(answering("from alpha"), reactor=reactor,
                                      models=models("alpha-1", "alpha-2"))
        self.beta = ScriptedUpstream(answering("from beta"), reactor=reactor,
                                     models=models("kimi-k2-thinking", "moonshot-v1"))
        alphaURL = await serveUpstream(self, self.alpha)
        betaURL = "http://127.0.0.1:1/v1" if betaDown else await serveUpstream(self, self.beta)
        table = parseRoutingTable(
            ROUTES.replace("ALPHA_URL", alphaURL).replace("BETA_URL", betaURL),
            {"ALPHA_KEY": "sk-alpha"})
        config = RelayConfig(routes=table, translation=TranslationSettings(secret=b"r"))
        _, self.base = await serveRelay(self, config)
        self.web = webClient(self)

    async def ask(self, model: str) -> tuple[int, dict]:
        response = await self.web.post(
            self.base + "/responses", headers={"Content-Type": ["application/json"]},
            data=json.dumps({"model": model, "input": "hi", "stream": True,
                             "temperature": 0.5}).encode())
        body = await treq.content(response)
        if response.code != 200:
            return response.code, json.loads(body)
        return 200, oracle.checkStream(body)[-1]["response"]

    def answer(self, response: dict) -> str:
        return response["output"][0]["content"][0]["text"]

    async def test_requestsReachTheirUpstream(self) -> None:
        await self.start()
        for model, answer, upstream, upstreamModel, key in [
            ("alpha-1", "from alpha", self.alpha, "alpha-1", "Bearer sk-alpha"),
            ("fast", "from beta", self.beta, "kimi-k2-thinking", "Bearer sk-beta"),
            ("beta/moonshot-v1", "from beta", self.beta, "moonshot-v1", "Bearer sk-beta"),
            ("anything-else", "from alpha", self.alpha, "anything-else", "Bearer sk-alpha"),
        ]:
            code, response = await self.ask(model)
            self.assertEqual(code, 200, response)
            self.assertEqual(self.answer(response), answer)
            self.assertEqual(response["model"], model)  # the name the client used
            received = upstream.requests[-1]
            self.assertEqual(received.json["model"], upstreamModel)
            self.assertEqual(received.headers["authorization"], key)
        # Each upstream's profile applies to it alone: Kimi fixes sampling.
        self.assertEqual({r.json.get("temperature") for r in self.alpha.requests}, {0.5})
        self.assertEqual({r.json.get("temperature") for r in self.beta.requests}, {None})
        self.assertEqual(len(self.alpha.requests) + len(self.beta.requests), 4)

    async def test_modelsMerged(self) -> None:
        await self.start()
        response = await self.web.get(self.base + "/models")
        listed = json.loads(await treq.content(response))
        self.assertEqual(response.code, 200)
        self.assertEqual([(m["id"], m["owned_by"]) for m in listed["data"]], [
            ("alpha-1", "alpha"), ("alpha-2", "alpha"),
            ("fast", "beta"), ("beta/kimi-k2-thinking", "beta"), ("beta/moonshot-v1", "beta"),
        ])
        self.assertEqual({m["created"] for m in listed["data"]}, {7})

    async def test_oneUpstreamDown(self) -> None:
        await self.start(betaDown=True)
        response = await self.web.get(self.base + "/models")
        listed = json.loads(await treq.content(response))
        self.assertEqual(response.code, 200)
        self.assertEqual([m["id"] for m in listed["data"]], ["alpha-1", "alpha-2"])
        code, answer = await self.ask("alpha-2")
        self.assertEqual((code, self.answer(answer)), (200, "from alpha"))
        code, error = await self.ask("fast")
        self.assertEqual(code, 502)
        self.assertEqual(error["error"]["code"], "upstream_unreachable")
