"""
Upstreams scripted for C{GET /v1/models} (llama.cpp's list among them) and
a relay in front of them, with what it logs: a relay service on loopback
(L{ModelsCase}), or the relay in memory on one L{MemoryReactorClock}
(L{ModelsMemoryCase}), for the timeouts.
"""

import json
from typing import Any

import treq
from twisted.internet import reactor
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.server import Request

from codex_relay import RelayConfig, TranslationSettings
from codex_relay._providers.profiles import PROFILES
from codex_relay._providers.config_file import parseRoutingTable
from tests.harness import oracle
from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.memory import InMemoryRelay, LogCapture
from tests.harness.sockets import serveUpstream, webClient, serveRelay
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


class ModelsCase(TestCase):
    """
    A relay service on loopback, and what it logs; L{relay} serves it in
    front of scripted upstreams.
    """

    def setUp(self) -> None:
        self.events: list[dict] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    async def serve(self, config: RelayConfig, learnProfiles: bool) -> None:
        self.service, self.base = await serveRelay(self, config, learnProfiles=learnProfiles)
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

    async def relay(self, upstreams: dict[str, ScriptedUpstream], headersTimeout: float = 30.0,
                    extra: str = "", learnProfiles: bool = False) -> None:
        """
        Serve C{upstreams} and a relay in front of them: with one, from the
        options; with several, from a routing file (the first is the default;
        C{extra} is added to each upstream's table).
        """
        urls = {name: await serveUpstream(self, upstream)
                for name, upstream in upstreams.items()}
        await self.serve(RelayConfig(**configFor(urls, headersTimeout, extra)), learnProfiles)

    async def ask(self) -> dict:
        response = await self.web.post(
            self.base + "/responses", headers={"Content-Type": ["application/json"]},
            data=json.dumps({"model": "model-a", "input": "2+2?", "stream": True}).encode())
        self.assertEqual(response.code, 200)
        return oracle.checkStream(await treq.content(response))[-1]["response"]


def configFor(urls: dict[str, str], headersTimeout: float, extra: str) -> dict[str, Any]:
    """
    The relay's settings for the upstreams at C{urls}, by name: with one,
    from the options; with several, from a routing file (the first is the
    default; C{extra} is added to each upstream's table).
    """
    settings: dict[str, Any] = {"headersTimeout": headersTimeout,
                                "translation": TranslationSettings(secret=b"m")}
    if len(urls) == 1:
        [settings["upstream"]] = urls.values()
        return settings
    lines = ['default_upstream = "{}"'.format(next(iter(urls)))]
    for name, url in urls.items():
        lines += ["[upstreams.{}]".format(name), 'base_url = "{}"'.format(url), extra]
    settings["routes"] = parseRoutingTable("\n".join(lines), {})
    return settings


class ModelsMemoryCase(SynchronousTestCase):
    """
    The relay in memory in front of scripted upstreams, each on a base URL
    of its own, all timed by one L{MemoryReactorClock}; and what it logs.
    """

    def setUp(self) -> None:
        self.log = LogCapture(self)

    def relay(self, upstreams: dict[str, ScriptedUpstream], headersTimeout: float = 30.0,
              extra: str = "") -> InMemoryRelay:
        """
        Serve C{upstreams} and a relay in front of them, configured as
        L{ModelsCase.relay} does.
        """
        urls = {name: "http://{}.test/v1".format(name) for name in upstreams}
        self.memory = InMemoryRelay(
            upstreams={urls[name]: upstream for name, upstream in upstreams.items()},
            **configFor(urls, headersTimeout, extra))
        return self.memory

    def models(self) -> Deferred[Any]:
        """
        Ask the relay for C{GET /v1/models}; the response may be pending.
        """
        return self.memory.request("GET", "/v1/models")

    def answer(self, response: Any) -> tuple[int, Any]:
        """
        The status and the decoded body of a C{GET /v1/models} response.
        """
        body = treq.content(response)
        self.memory.pump()
        return response.code, json.loads(self.successResultOf(body))

    def logged(self, level: str) -> list[str]:
        return [formatEvent(event) for event in self.log.events
                if event.get("log_namespace") == "codex_relay._web.models"
                and event["log_level"].name == level]


def deferLater(seconds: float) -> Deferred:
    """
    A L{Deferred} that fires after C{seconds} on the global reactor.
    """
    return task.deferLater(reactor, seconds)
