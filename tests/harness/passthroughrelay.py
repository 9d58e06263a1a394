"""
A relay with passthrough routes (C{api = "responses"}) on loopback: its
routing file (its C{slow} upstream's idle timeout is driven on a clock by
L{tests.web.test_passthrough_timeouts}), a scripted upstream that also
serves C{POST /v1/responses}, the client's request, and a test case serving
a relay in front of a Responses and a Chat upstream.
"""

import json
from typing import Any

import treq
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import TestCase
from twisted.web.server import Request

from codex_relay import RelayConfig, TranslationSettings
from codex_relay._providers.config_file import parseRoutingTable
from tests.harness.sockets import serveUpstream, webClient, serveRelay
from tests.harness.upstream import ReceivedRequest, Reply, ScriptedUpstream


NATIVE_KEY = "sk-native-upstream"
CLIENT_KEY = "sk-client"
SECRET = b"passthrough-secret"

ROUTES = """\
default_upstream = "chat"

[upstreams.native]              # keyed: the relay's key goes upstream
base_url = "{responses}"
api = "responses"
api_key_env = "NATIVE_KEY"

[upstreams.open]                # no key: the client's Authorization goes upstream
base_url = "{responses}"
api = "responses"

[upstreams.slow]
base_url = "{responses}"
api = "responses"
api_key = "sk-slow"
idle_timeout = 0.5

[upstreams.chat]
base_url = "{chat}"

[upstreams.chatty]              # a Chat upstream, but one route passes through
base_url = "{responses}"
api_key = "sk-chatty"

[[routes]]
model = "grok"
upstream = "native"
upstream_model = "grok-4-fast"

[[routes]]
prefix = "open/"
upstream = "open"

[[routes]]
model = "slow"
upstream = "slow"

[[routes]]
model = "routed"
upstream = "chatty"
upstream_model = "routed-upstream"
api = "responses"
"""


class ResponsesUpstream(ScriptedUpstream):
    """
    A L{ScriptedUpstream} that also serves C{POST /v1/responses}, from the
    same queue of replies (raw SSE bytes in L{Stream}, L{Drop}, L{Hang}).
    """

    def _render(self, request: Request) -> bytes | int:
        if request.path == (self.prefix + "/responses").encode() and request.method == b"POST":
            received = self._record(request)
            return self._next(received).render(request, self)
        return super()._render(request)


CLIENT_REQUEST = {
    "model": "grok",
    "instructions": "Be brief.",
    "input": [{"type": "message", "role": "user",
               "content": [{"type": "input_text", "text": "Say hello ✓"}]}],
    "tools": [{"type": "function", "name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}, "strict": False}],
    "reasoning": {"effort": "high", "summary": "auto"},
    "include": ["reasoning.encrypted_content"],
    "store": False,
    "stream": True,
    "prompt_cache_key": "abc",
    "x_vendor_extension": {"keep": [1, 2.5, None, True]},
}


class PassthroughCase(TestCase):
    """
    A relay with Responses routes and a Chat route, on loopback.
    """

    timeout = 20

    async def setUp(self) -> None:
        self.responses = ResponsesUpstream(reactor=reactor)
        self.chat = ScriptedUpstream(reactor=reactor)
        responsesURL = await serveUpstream(self, self.responses)
        chatURL = await serveUpstream(self, self.chat)
        table = parseRoutingTable(ROUTES.format(responses=responsesURL, chat=chatURL),
                                  {"NATIVE_KEY": NATIVE_KEY}, "relay.toml")
        self.service, base = await serveRelay(
            self, RelayConfig(routes=table, translation=TranslationSettings(secret=SECRET)))
        self.url = base + "/responses"
        self.web = webClient(self)
        self.logged: list[str] = []

        def observe(event: dict[str, Any]) -> None:
            text = formatEvent(event)
            if text and text.startswith("POST /v1/responses"):
                self.logged.append(text)

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)

    def post(self, body: dict[str, Any] | bytes, key: str | None = CLIENT_KEY) -> Deferred:
        headers = {"Content-Type": ["application/json"]}
        if key is not None:
            headers["Authorization"] = ["Bearer " + key]
        return self.web.post(self.url, data=body if isinstance(body, bytes)
                             else json.dumps(body).encode(), headers=headers,
                             unbuffered=True)

    async def exchange(self, body: dict[str, Any], reply: Reply,
                       key: str | None = CLIENT_KEY) -> tuple[Any, bytes]:
        self.responses.queue(reply)
        response = await self.post(body, key)
        return response, await treq.content(response)

    def sent(self) -> ReceivedRequest:
        [sent] = [r for r in self.responses.requests if r.path == "/v1/responses"]
        return sent

    def assertEnvelope(self, response: Any, body: bytes, status: int,
                       code: str | None) -> dict[str, Any]:
        self.assertEqual(response.code, status)
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["application/json"])
        error = json.loads(body)["error"]
        self.assertEqual(sorted(error), ["code", "message", "param", "type"])
        self.assertEqual(error["code"], code)
        return error
