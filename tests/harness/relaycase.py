"""
Provider profiles through the real relay: an in-process L{RelayService} on
loopback in front of a L{ScriptedUpstream} on loopback, driven with treq.
L{RelayCase} starts such relays for a test, L{Relay} posts to one and
checks its answers with the oracle, and L{StrictCase} adds the check that a
strict provider fake rejected nothing.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from treq.client import HTTPClient

import treq

from codex_relay import RelayConfig, TranslationSettings
from codex_relay._providers.config_file import parseRoutingTable
from tests.harness import oracle
from tests.harness.chunks import WEATHER_TOOL, chunk, finish, text, usage
from tests.harness.rules import StrictFake
from tests.harness.sockets import serveUpstream, webClient, serveRelay
from tests.harness.upstream import Reply, ScriptedUpstream, Stream

SECRET = b"t"
INCLUDE = ["reasoning.encrypted_content"]
QUESTION = "What is the weather in Paris?"

Respond = Callable[[Any, Any], Reply]


# -- Replies and requests ----------------------------------------------------


def raw(body: bytes) -> Stream:
    """
    A fixture's bytes as an SSE reply, one write per SSE block, nothing
    added (no [DONE] beyond the fixture's own).
    """
    return Stream([block + b"\n\n" for block in body.split(b"\n\n") if block], done=False)


def answer() -> Stream:
    """
    A plain final answer, for the turn after the tool ran.
    """
    return Stream([text("It is 18C in Paris."), finish("stop"),
                   chunk(choices=False, usage=usage(60, 9))])


def request(model: str, question: str = QUESTION, **extra: Any) -> dict:
    """
    A Codex-like Responses request: one tool, stateless, encrypted reasoning
    asked for.
    """
    return {"model": model, "input": [{"role": "user", "content": question}],
            "tools": [WEATHER_TOOL], "include": INCLUDE, "store": False, **extra}


def toolOutputs(output: list[dict], result: str = "18C") -> list[dict]:
    return [{"type": "function_call_output", "call_id": item["call_id"], "output": result}
            for item in output if item["type"] == "function_call"]


def afterTool(first: Callable[[], Reply]) -> Callable[[dict], Reply]:
    """
    Answer with C{first()} until the conversation holds a tool result, then
    with a plain answer.
    """
    def reply(body: dict) -> Reply:
        if any(m.get("role") == "tool" for m in body["messages"]):
            return answer()
        return first()
    return reply


# -- The relay under test ----------------------------------------------------


@dataclass
class Relay:
    """
    One relay on loopback and the scripted upstream behind it.
    """

    case: TestCase
    url: str
    upstream: ScriptedUpstream
    web: HTTPClient

    @property
    def chat(self) -> list[dict]:
        """
        The JSON bodies the upstream received, in order.
        """
        return [r.json for r in self.upstream.requests if r.path.endswith("/chat/completions")]

    @property
    def chatRaw(self) -> list[bytes]:
        return [r.body for r in self.upstream.requests if r.path.endswith("/chat/completions")]

    async def post(self, body: dict) -> tuple[int, str, bytes]:
        response = await self.web.post(
            self.url, data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": ["application/json"]})
        content = await treq.content(response)
        contentType = (response.headers.getRawHeaders("content-type") or [""])[0]
        return response.code, contentType, content

    async def stream(self, body: dict, allowCodexCodes: bool = False) -> tuple[list, dict]:
        """
        POST C{body} as a stream; the SSE must pass the oracle.

        @return: the events and the terminal response.
        """
        code, contentType, content = await self.post(dict(body, stream=True))
        self.case.assertEqual(code, 200, content[:600])
        self.case.assertEqual(contentType.split(";")[0], "text/event-stream")
        events = oracle.checkStream(content, allowCodexCodes=allowCodexCodes)
        return events, events[-1]["response"]

    async def create(self, body: dict) -> dict:
        """
        POST C{body} without streaming; the Response must pass the oracle.
        """
        code, contentType, content = await self.post(dict(body, stream=False))
        self.case.assertEqual(code, 200, content[:600])
        self.case.assertEqual(contentType.split(";")[0], "application/json")
        response = json.loads(content)
        oracle.checkResponse(response)
        return response

    async def failing(self, body: dict) -> tuple[int, dict]:
        """
        POST C{body}; the relay must answer with an HTTP error in the OpenAI
        envelope.

        @return: the status and the envelope's C{error}.
        """
        code, contentType, content = await self.post(body)
        self.case.assertGreaterEqual(code, 400, content[:600])
        self.case.assertEqual(contentType.split(";")[0], "application/json")
        error = json.loads(content)["error"]
        self.case.assertEqual(sorted(error), ["code", "message", "param", "type"])
        return code, error


class RelayCase(TestCase):
    """
    Starts relays in front of scripted upstreams for the length of a test.
    """

    timeout = 15

    async def relay(self, respond: Respond, profile: str | None = "generic",
                    routes: str | None = None,
                    settings: TranslationSettings | None = None) -> Relay:
        """
        A relay for one upstream answering with C{respond}.

        @param profile: the profile's name (C{"generic"} by default, so a
            random loopback port never selects a local server's profile).
        @param routes: a TOML routing file; C{UPSTREAM_URL} in it becomes
            the upstream's base URL.
        """
        upstream = ScriptedUpstream(respond=respond, reactor=reactor)
        baseURL = await serveUpstream(self, upstream)
        table = None
        if routes is not None:
            table = parseRoutingTable(routes.replace("UPSTREAM_URL", baseURL), {})
        config = RelayConfig(upstream=baseURL, profile=profile, routes=table,
                             translation=settings or TranslationSettings(secret=SECRET))
        _, base = await serveRelay(self, config)
        url = base + "/responses"
        return Relay(self, url, upstream, webClient(self))


class StrictCase(RelayCase):
    """
    Relays in front of strict provider fakes (L{tests.harness.rules}).
    """

    async def assertClean(self, fake: StrictFake, relay: Relay, requests: int) -> None:
        """
        C{fake} rejected nothing, and the upstream got C{requests} Chat
        requests.
        """
        self.assertEqual(fake.rejections, [])
        self.assertEqual(len(relay.chat), requests)
