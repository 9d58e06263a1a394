"""
Provider profiles through the real relay: an in-process L{RelayService} on
loopback in front of a L{ScriptedUpstream} on loopback, driven with treq.

  1. L{FixtureReplayTests}: each provider's recorded-style stream
     (L{tests.harness.providers}) replayed with its profile: the stream
     passes the oracle, the items come out in order with the right text,
     names, arguments and call ids, the usage numbers are the provider's,
     and its mid-stream error ends in C{response.failed} with the right code.
  2. L{StrictUpstreamTests}: per profile, a fake that rejects exactly what
     the real provider rejects (status and body in the provider's shape),
     and a test per rule that passes because the profile keeps the request
     clear of it: the fake records every rejection, the profile run must
     cause none, and a control run of the same exchange with the generic
     profile must cause at least one (so each fake is known to bite).
  3. L{StripAndRetryTests}: a 400/422 naming one parameter is retried once
     without it, and the parameter is left out from then on for that
     upstream and model; an error naming none is not retried.
  4. L{HealerTests}: GLM's C{thinking} parameter, on by default and off for
     a route that switches the healer off.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from treq.client import HTTPClient

import treq

from codex_relay import RelayConfig, RelayService, TranslationSettings
from codex_relay._providers.config_file import parseRoutingTable
from tests.harness import oracle
from tests.harness import providers as pf
from tests.harness.chunks import WEATHER_TOOL, chunk, finish, text, usage
from tests.harness.providers import ErrorFixture, Fixture
from tests.harness.sockets import serveUpstream, trackConnections, webClient
from tests.harness.upstream import JSONReply, Reply, ScriptedUpstream, Stream
from tests.harness.rules import MISTRAL_RULES, StrictFake, _extra, deepseekReasoner, deepseekThinking, firstOf, groqNoReasoning, kimiControls, kimiThinking, mistralIds, mistralMessages, mistralParameters, ollamaToolChoice, openaiError, openrouterDetails, qwenThinking, xaiEffort
from tests.harness.rules import toolCallAssistants

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
        service = RelayService(config, reactor, listen=["tcp:0:interface=127.0.0.1"])
        trackConnections(self, service.site)
        service.startService()
        self.addCleanup(service.stopService)
        [port] = await service.listening
        url = "http://127.0.0.1:{}/v1/responses".format(port.getHost().port)
        return Relay(self, url, upstream, webClient(self))


# -- 1. Recorded-style streams -------------------------------------------------


class FixtureReplayTests(RelayCase):
    """
    Each provider's stream through the relay with that provider's profile.
    """

    async def replay(self, fixture: Fixture) -> tuple[Relay, dict]:
        relay = await self.relay(lambda body, received: raw(fixture.body), fixture.profile)
        _, response = await relay.stream(request(fixture.model, fixture.question))
        return relay, response

    async def checkItems(self, fixture: Fixture) -> None:
        relay, response = await self.replay(fixture)
        self.assertEqual(response["status"], "completed")
        output = response["output"]
        self.assertEqual([item["type"] for item in output], list(fixture.items))
        for item in output:
            self.assertEqual(item.get("status", "completed"), "completed")
        # Inline <think> blocks keep their newlines: compare without them.
        reasoning = [i for i in output if i["type"] == "reasoning"]
        self.assertEqual(
            "".join(s["text"] for i in reasoning for s in i["summary"]).strip(),
            fixture.reasoning)
        for item in reasoning:
            self.assertTrue(item["encrypted_content"].startswith("crelay1."))
        self.assertEqual(
            "".join(part["text"] for i in output if i["type"] == "message"
                    for part in i["content"]).strip(),
            fixture.text)
        calls = [i for i in output if i["type"] == "function_call"]
        self.assertEqual([(c["name"], c["arguments"]) for c in calls],
                         [(c.name, c.arguments) for c in fixture.calls])
        for call, expected in zip(calls, fixture.calls):
            if expected.callId is None:
                self.assertTrue(call["call_id"].startswith("call_"), call["call_id"])
            else:
                self.assertEqual(call["call_id"], expected.callId)
        self.assertEqual(relay.chat[0]["model"], fixture.model)

    async def checkUsage(self, fixture: Fixture) -> None:
        _, response = await self.replay(fixture)
        u = response["usage"]
        expected = fixture.usage
        self.assertEqual(
            {"input": u["input_tokens"], "output": u["output_tokens"],
             "cached": u["input_tokens_details"]["cached_tokens"],
             "reasoning": u["output_tokens_details"]["reasoning_tokens"],
             "total": u["total_tokens"]},
            {"input": expected.input, "output": expected.output, "cached": expected.cached,
             "reasoning": expected.reasoning, "total": expected.total})

    async def checkError(self, fixture: ErrorFixture) -> None:
        relay = await self.relay(lambda body, received: raw(fixture.body), fixture.profile)
        events, response = await relay.stream(request(fixture.model), allowCodexCodes=True)
        self.assertEqual(events[-1]["type"], "response.failed")
        self.assertEqual(response["status"], "failed")
        self.assertEqual(response["error"]["code"], fixture.code)
        if fixture.message is not None:
            self.assertIn(fixture.message, response["error"]["message"])
        # What had started streaming is kept, marked incomplete.
        self.assertTrue(response["output"])
        self.assertEqual({item["status"] for item in response["output"]}, {"incomplete"})


def _key(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


def _generate() -> None:
    """
    One items test and one usage test per fixture, one test per error
    fixture, named after the provider.
    """
    def make(check: str, fixture: Any, doc: str) -> Callable[[FixtureReplayTests], Any]:
        def test(self: FixtureReplayTests) -> Any:
            return getattr(self, check)(fixture)
        test.__doc__ = doc
        return test

    for fixture in [*pf.FIXTURES.values(), *pf.EXTRA.values()]:
        key = _key(fixture.name)
        test = make("checkItems", fixture, "{} ({}): items, text, calls in order.".format(
            fixture.name, fixture.source))
        test.__name__ = "test_stream_" + key
        setattr(FixtureReplayTests, test.__name__, test)
        test = make("checkUsage", fixture, "{}: usage {}.".format(fixture.name, fixture.usage))
        test.__name__ = "test_usage_" + key
        setattr(FixtureReplayTests, test.__name__, test)
    for error in pf.ERRORS.values():
        test = make("checkError", error, "{} mid-stream error ({}) ends in {}.".format(
            error.name, error.source, error.code))
        test.__name__ = "test_error_" + _key(error.name)
        setattr(FixtureReplayTests, test.__name__, test)


_generate()


# -- 2. Strict fakes -----------------------------------------------------------


# Groq: strict schemas; reasoning never goes back (PROVIDERS.md §2, §7.2:
# janhq/jan#8136 and others quote this message).


# Mistral: pydantic models with extra="forbid" (422 in FastAPI's detail
# shape, as Gitlawb/openclaude#739 and zeroclaw-labs/zeroclaw#2693 quote it),
# tool-call ids of exactly nine alphanumerics (magentic#276), tool_choice an
# enum of auto/none/any.


# DeepSeek V4 thinking mode and Kimi thinking models: reasoning_content on
# every assistant message with tool calls (PROVIDERS.md §2, §7.1).


class StrictUpstreamTests(RelayCase):
    """
    Each rule of a real provider, met only because of the profile.
    """

    async def twoTurns(self, relay: Relay, model: str) -> tuple[dict, dict | None]:
        """
        Turn one streams the fixture (reasoning sealed into
        C{encrypted_content}); turn two sends its output back as input with
        the tool results, as Codex does.

        @return: both terminal responses; the second is L{None} when the
            relay answered turn two with an HTTP error.
        """
        question = {"role": "user", "content": QUESTION}
        _, first = await relay.stream({
            "model": model, "input": [question], "tools": [WEATHER_TOOL],
            "include": INCLUDE, "store": False})
        self.assertEqual([item["type"] for item in first["output"]][0], "reasoning")
        followUp = {"model": model, "input": [question, *first["output"],
                                              *toolOutputs(first["output"])],
                    "tools": [WEATHER_TOOL], "include": INCLUDE, "store": False,
                    "stream": True}
        code, _, content = await relay.post(followUp)
        if code != 200:
            return first, None
        events = oracle.checkStream(content)
        return first, events[-1]["response"]

    async def assertClean(self, fake: StrictFake, relay: Relay, requests: int) -> None:
        self.assertEqual(fake.rejections, [])
        self.assertEqual(len(relay.chat), requests)

    # Groq.

    async def test_groqNeverGetsReasoningBack(self) -> None:
        """
        Groq: reasoning streamed as C{delta.reasoning} on turn one does not
        go back on turn two (400 "property 'reasoning' is unsupported"), and
        C{reasoning_format: parsed} is asked for.
        """
        def fake() -> StrictFake:
            return StrictFake(groqNoReasoning, afterTool(lambda: raw(pf.GROQ)))
        groq = fake()
        relay = await self.relay(groq, "groq")
        _, second = await self.twoTurns(relay, "qwen/qwen3-32b")
        self.assertEqual(second["status"], "completed")
        await self.assertClean(groq, relay, 2)
        [(_, message)] = toolCallAssistants(relay.chat[1])
        self.assertNotIn("reasoning", message)
        self.assertNotIn("reasoning_content", message)
        self.assertEqual([body["reasoning_format"] for body in relay.chat], ["parsed"] * 2)

        control = fake()
        relay = await self.relay(control, "generic")
        await self.twoTurns(relay, "qwen/qwen3-32b")
        self.assertTrue(control.rejections)

    # Mistral.

    async def test_mistralUnknownFields(self) -> None:
        """
        Mistral: no C{stream_options}, C{max_tokens} (not
        C{max_completion_tokens}), no C{strict} in tool schemas,
        C{tool_choice} C{any} for C{required}: no 422.
        """
        settings = TranslationSettings(secret=SECRET)
        body = request("magistral-medium-latest", max_output_tokens=512,
                       tool_choice="required")

        def fake(rules: Callable[[dict, bytes], Reply | None]) -> StrictFake:
            return StrictFake(rules, lambda b: raw(pf.MISTRAL))
        mistral = fake(MISTRAL_RULES)
        relay = await self.relay(mistral, "mistral", settings=settings)
        _, response = await relay.stream(body)
        self.assertEqual(response["status"], "completed")
        await self.assertClean(mistral, relay, 1)
        [sent] = relay.chat
        self.assertNotIn("stream_options", sent)
        self.assertNotIn("max_completion_tokens", sent)
        self.assertEqual(sent["max_tokens"], 512)
        self.assertEqual(sent["tool_choice"], "any")
        self.assertNotIn("strict", sent["tools"][0]["function"])

        control = fake(mistralParameters)
        relay = await self.relay(control, "generic", settings=settings)
        code, error = await relay.failing(dict(body, stream=True))
        self.assertEqual(code, 422)
        self.assertTrue(control.rejections)

    async def test_mistralToolCallIds(self) -> None:
        """
        Mistral: foreign tool-call ids become nine alphanumerics, the same
        in the assistant's C{tool_calls} and in the tool messages.
        """
        history = [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"type": "function_call", "call_id": "call_paris_1", "name": "get_weather",
             "arguments": '{"city":"Paris"}'},
            {"type": "function_call", "call_id": "toolu_01Rome-xyz", "name": "get_weather",
             "arguments": '{"city":"Rome"}'},
            {"type": "function_call_output", "call_id": "call_paris_1", "output": "18C"},
            {"type": "function_call_output", "call_id": "toolu_01Rome-xyz", "output": "21C"},
            {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "Paris 18C, Rome 21C."}]},
            {"role": "user", "content": "And now?"},
        ]
        body = {"model": "magistral-medium-latest", "input": history, "tools": [WEATHER_TOOL],
                "store": False}

        def fake(rules: Callable[[dict, bytes], Reply | None]) -> StrictFake:
            return StrictFake(rules, lambda b: answer())
        mistral = fake(MISTRAL_RULES)
        relay = await self.relay(mistral, "mistral")
        _, response = await relay.stream(body)
        self.assertEqual(response["status"], "completed")
        await self.assertClean(mistral, relay, 1)
        messages = relay.chat[0]["messages"]
        ids = [c["id"] for m in messages for c in m.get("tool_calls") or ()]
        self.assertEqual(len(ids), 2)
        self.assertEqual(len(set(ids)), 2)
        self.assertEqual([m["tool_call_id"] for m in messages if m["role"] == "tool"], ids)

        # The id rule alone (the generic request breaks the others first).
        control = fake(mistralIds)
        relay = await self.relay(control, "generic")
        code, error = await relay.failing(dict(body, stream=True))
        self.assertEqual(code, 400)
        self.assertIn("with a length of 9", error["message"])
        self.assertTrue(control.rejections)

    async def test_mistralReasoningAsThinkingChunk(self) -> None:
        """
        Mistral: reasoning from turn one's thinking chunks goes back as a
        thinking chunk of the assistant content, never as
        C{reasoning_content} (422 extra_forbidden); its own nine-character
        call id is kept.
        """
        def fake(rules: Callable[[dict, bytes], Reply | None]) -> StrictFake:
            return StrictFake(rules, afterTool(lambda: raw(pf.MISTRAL)))
        mistral = fake(MISTRAL_RULES)
        relay = await self.relay(mistral, "mistral")
        _, second = await self.twoTurns(relay, "magistral-medium-latest")
        self.assertEqual(second["status"], "completed")
        await self.assertClean(mistral, relay, 2)
        [(_, message)] = toolCallAssistants(relay.chat[1])
        self.assertNotIn("reasoning_content", message)
        self.assertEqual(message["content"], [
            {"type": "thinking", "thinking": [{
                "type": "text", "text": "The user wants Paris weather. Use get_weather."}]},
            {"type": "text", "text": "I'll check now."}])
        self.assertEqual([c["id"] for c in message["tool_calls"]], ["D681PevKs"])

        # The message rule alone (the generic request breaks the others first).
        control = fake(mistralMessages)
        relay = await self.relay(control, "generic")
        await self.twoTurns(relay, "magistral-medium-latest")
        self.assertTrue(control.rejections)

    # DeepSeek.

    async def test_deepseekReasoningReplayed(self) -> None:
        """
        DeepSeek V4 thinking mode: turn one's reasoning, sealed by the relay
        into C{encrypted_content}, comes back as C{reasoning_content} on the
        assistant message with the tool call, exactly.
        """
        deepseek = StrictFake(deepseekThinking, afterTool(lambda: raw(pf.DEEPSEEK)))
        relay = await self.relay(deepseek, "deepseek")
        _, second = await self.twoTurns(relay, "deepseek-v4-flash")
        self.assertEqual(second["status"], "completed")
        await self.assertClean(deepseek, relay, 2)
        [(_, message)] = toolCallAssistants(relay.chat[1])
        self.assertEqual(message["reasoning_content"], pf.DEEPSEEK_REASONING)
        self.assertEqual(message["content"], "Checking the forecast.")
        self.assertEqual(message["tool_calls"][0]["id"], "call_00_Kq2mWx7LrT9vB3nYd5JpHs1c")

    async def placeholderCase(self, profile: str, model: str,
                              check: Callable[[dict, bytes], Reply | None]) -> None:
        """
        A history whose tool-call turn lost its reasoning (say, made by
        another model): the profile sends the placeholder, the generic
        profile nothing, and the thinking-mode fake refuses that.
        """
        body = {"model": model, "tools": [WEATHER_TOOL], "store": False, "input": [
            {"role": "user", "content": QUESTION},
            {"type": "function_call", "call_id": "call_early", "name": "get_weather",
             "arguments": '{"city":"Paris"}'},
            {"type": "function_call_output", "call_id": "call_early", "output": "18C"}]}
        fake = StrictFake(check, lambda b: answer())
        relay = await self.relay(fake, profile)
        _, response = await relay.stream(body)
        self.assertEqual(response["status"], "completed")
        await self.assertClean(fake, relay, 1)
        [(_, message)] = toolCallAssistants(relay.chat[0])
        self.assertEqual(message["reasoning_content"], "")

        control = StrictFake(check, lambda b: answer())
        relay = await self.relay(control, "generic")
        code, _ = await relay.failing(dict(body, stream=True))
        self.assertEqual(code, 400)
        self.assertTrue(control.rejections)

    async def test_deepseekPlaceholderWhenReasoningLost(self) -> None:
        """
        DeepSeek: a tool-call turn without its reasoning gets an empty
        C{reasoning_content} rather than a 400.
        """
        await self.placeholderCase("deepseek", "deepseek-v4-flash", deepseekThinking)

    async def test_deepseekReasonerGetsNoReasoning(self) -> None:
        """
        deepseek-reasoner: reasoning is never sent back (400 "Please remove
        the reasoning_content").
        """
        def fake() -> StrictFake:
            return StrictFake(deepseekReasoner, afterTool(lambda: raw(pf.DEEPSEEK)))
        reasoner = fake()
        relay = await self.relay(reasoner, "deepseek")
        _, second = await self.twoTurns(relay, "deepseek-reasoner")
        self.assertEqual(second["status"], "completed")
        await self.assertClean(reasoner, relay, 2)
        self.assertFalse(any("reasoning_content" in m for m in relay.chat[1]["messages"]))

        control = fake()
        relay = await self.relay(control, "generic")
        _, second = await self.twoTurns(relay, "deepseek-reasoner")
        self.assertIsNone(second)
        self.assertTrue(control.rejections)

    # Kimi.

    async def test_kimiReasoningReplayed(self) -> None:
        """
        Kimi thinking: turn one's reasoning comes back as
        C{reasoning_content} on the tool-call message; the call keeps
        Kimi's own id.
        """
        kimi = StrictFake(firstOf(kimiThinking, kimiControls),
                          afterTool(lambda: raw(pf.KIMI)))
        relay = await self.relay(kimi, "kimi")
        _, second = await self.twoTurns(relay, "kimi-k2.6")
        self.assertEqual(second["status"], "completed")
        await self.assertClean(kimi, relay, 2)
        [(_, message)] = toolCallAssistants(relay.chat[1])
        self.assertEqual(message["reasoning_content"],
                         "The user asks about Paris. I should call get_weather.")
        self.assertEqual(message["tool_calls"][0]["id"], "functions.get_weather:0")

    async def test_kimiPlaceholderWhenReasoningLost(self) -> None:
        """
        Kimi: a tool-call turn without its reasoning gets an empty
        C{reasoning_content} rather than "reasoning_content is missing".
        """
        await self.placeholderCase("kimi", "kimi-k2.6", kimiThinking)

    async def test_kimiToolChoiceAndSampling(self) -> None:
        """
        Kimi: C{tool_choice} C{required} and a named choice become C{auto};
        temperature and top_p are not sent.
        """
        bodies = [
            request("kimi-k2.6", tool_choice="required", temperature=0.3, top_p=0.9),
            request("kimi-k2.6", tool_choice={"type": "function", "name": "get_weather"}),
        ]

        def fake() -> StrictFake:
            return StrictFake(firstOf(kimiControls, kimiThinking), lambda b: raw(pf.KIMI))
        kimi = fake()
        relay = await self.relay(kimi, "kimi")
        for body in bodies:
            _, response = await relay.stream(body)
            self.assertEqual(response["status"], "completed")
        await self.assertClean(kimi, relay, 2)
        for sent in relay.chat:
            self.assertEqual(sent["tool_choice"], "auto")
            self.assertNotIn("temperature", sent)
            self.assertNotIn("top_p", sent)

        control = fake()
        relay = await self.relay(control, "generic")
        for body in bodies:
            code, _ = await relay.failing(dict(body, stream=True))
            self.assertEqual(code, 400)
        self.assertEqual(len(control.rejections), 2)

    # Qwen.

    async def test_qwenNonStreamingThinkingOff(self) -> None:
        """
        Qwen: a non-streaming call says C{enable_thinking: false} (else 400
        "parameter.enable_thinking must be set to false for non-streaming
        calls"); a streaming one does not switch thinking off.
        """
        completion = {
            "choices": [{"message": {"content": "It is 18C in Paris.", "role": "assistant"},
                         "finish_reason": "stop", "index": 0, "logprobs": None}],
            "object": "chat.completion",
            "usage": {"prompt_tokens": 120, "completion_tokens": 9, "total_tokens": 129,
                      "prompt_tokens_details": {"cached_tokens": 64}},
            "created": 1787040000, "system_fingerprint": None, "model": "qwen-plus",
            "id": "chatcmpl-0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"}

        def reply(body: dict) -> Reply:
            return raw(pf.QWEN) if body.get("stream") else JSONReply(completion)

        def fake() -> StrictFake:
            return StrictFake(qwenThinking, reply)
        qwen = fake()
        relay = await self.relay(qwen, "qwen")
        response = await relay.create(request("qwen-plus"))
        self.assertEqual(response["output"][0]["content"][0]["text"], "It is 18C in Paris.")
        self.assertEqual((response["usage"]["input_tokens"],
                          response["usage"]["input_tokens_details"]["cached_tokens"]), (120, 64))
        _, streamed = await relay.stream(request("qwen-plus"))
        self.assertEqual(streamed["status"], "completed")
        await self.assertClean(qwen, relay, 2)
        self.assertIs(relay.chat[0]["enable_thinking"], False)
        self.assertIsNot(relay.chat[1].get("enable_thinking"), False)

        control = fake()
        relay = await self.relay(control, "generic")
        code, error = await relay.failing(dict(request("qwen-plus"), stream=False))
        self.assertEqual(code, 400)
        self.assertIn("enable_thinking", error["message"])
        self.assertTrue(control.rejections)

    # xAI.

    async def test_xaiGrok4TakesNoEffort(self) -> None:
        """
        xAI grok-4: C{reasoning.effort} is not sent (400 "does not support
        parameter reasoningEffort"); grok-3-mini still gets it.
        """
        def fake() -> StrictFake:
            return StrictFake(xaiEffort, lambda b: raw(pf.XAI))
        xai = fake()
        relay = await self.relay(xai, "xai")
        for model in ("grok-4", "grok-4.20-reasoning", "grok-3-mini"):
            _, response = await relay.stream(request(model, reasoning={"effort": "high"}))
            self.assertEqual(response["status"], "completed")
        await self.assertClean(xai, relay, 3)
        self.assertEqual([sent.get("reasoning_effort") for sent in relay.chat],
                         [None, None, "high"])

        control = fake()
        relay = await self.relay(control, "generic")
        await relay.post(request("grok-4", reasoning={"effort": "high"}, stream=True))
        self.assertTrue(control.rejections)

    # OpenRouter.

    async def test_openrouterReasoningDetailsUnchanged(self) -> None:
        """
        OpenRouter: the C{reasoning_details} streamed on turn one (text
        fragments merged, the signature and the encrypted block kept) go
        back byte for byte on the tool-call message of turn two.
        """
        def fake() -> StrictFake:
            return StrictFake(openrouterDetails, afterTool(lambda: raw(pf.OPENROUTER)))
        openrouter = fake()
        relay = await self.relay(openrouter, "openrouter")
        _, second = await self.twoTurns(relay, "anthropic/claude-sonnet-4.5")
        self.assertEqual(second["status"], "completed")
        await self.assertClean(openrouter, relay, 2)
        [(_, message)] = toolCallAssistants(relay.chat[1])
        self.assertEqual(json.dumps(message["reasoning_details"]),
                         json.dumps(pf.OPENROUTER_DETAILS))
        self.assertIn(json.dumps(pf.OPENROUTER_DETAILS).encode("utf-8"), relay.chatRaw[1])
        self.assertNotIn("reasoning_content", message)

        control = fake()
        relay = await self.relay(control, "generic")
        await self.twoTurns(relay, "anthropic/claude-sonnet-4.5")
        self.assertTrue(control.rejections)

    # Ollama.

    async def test_ollamaGetsNoToolChoice(self) -> None:
        """
        Ollama: no C{tool_choice}, whichever the client asked for.
        """
        choices = ["auto", "required", {"type": "function", "name": "get_weather"}]

        def fake() -> StrictFake:
            return StrictFake(ollamaToolChoice, lambda b: raw(pf.OLLAMA))
        ollama = fake()
        relay = await self.relay(ollama, "ollama")
        for choice in choices:
            _, response = await relay.stream(request("qwen3:8b", tool_choice=choice))
            self.assertEqual(response["status"], "completed")
        await self.assertClean(ollama, relay, 3)
        self.assertFalse(any("tool_choice" in sent for sent in relay.chat))

        control = fake()
        relay = await self.relay(control, "generic")
        code, _ = await relay.failing(request("qwen3:8b", tool_choice="required", stream=True))
        self.assertEqual(code, 400)
        self.assertTrue(control.rejections)


# -- 3. Strip and retry --------------------------------------------------------


def rejecting(*names: str, reply: Callable[[str], JSONReply]) -> StrictFake:
    """
    A fake that rejects, with C{reply(name)}, the first of C{names} present
    in a request.
    """
    def check(body: dict, rawBody: bytes) -> Reply | None:
        for name in names:
            if name in body:
                return reply(name)
        return None
    return StrictFake(check, lambda b: answer())


def unrecognized(name: str) -> JSONReply:
    # OpenAI's wording, which several compatible servers copy.
    return openaiError(400, "Unrecognized request argument supplied: {}".format(name))


def extraForbidden(name: str) -> JSONReply:
    return JSONReply({"detail": [_extra(["body", name], False)]}, status=422)


class StripAndRetryTests(RelayCase):
    """
    A 400/422 naming one parameter the upstream does not take.
    """

    async def checkStripAndRetry(self, reply: Callable[[str], JSONReply]) -> None:
        fake = rejecting("parallel_tool_calls", reply=reply)
        relay = await self.relay(fake, "generic")
        body = request("model-a", parallel_tool_calls=False)

        _, response = await relay.stream(body)
        self.assertEqual(response["status"], "completed")
        first, retried = relay.chat
        self.assertIs(first["parallel_tool_calls"], False)
        self.assertNotIn("parallel_tool_calls", retried)
        self.assertEqual(dict(first, parallel_tool_calls=None),
                         dict(retried, parallel_tool_calls=None))

        # Learned: the same model's next request leaves it out at once.
        _, response = await relay.stream(body)
        self.assertEqual(response["status"], "completed")
        self.assertEqual(len(relay.chat), 3)
        self.assertNotIn("parallel_tool_calls", relay.chat[2])

        # For that upstream and model only: another model tries it once more.
        _, response = await relay.stream(dict(body, model="model-b"))
        self.assertEqual(response["status"], "completed")
        self.assertEqual(len(relay.chat), 5)
        self.assertIn("parallel_tool_calls", relay.chat[3])
        self.assertNotIn("parallel_tool_calls", relay.chat[4])
        self.assertEqual(len(fake.rejections), 2)

    async def test_retry400Unrecognized(self) -> None:
        """
        400 "Unrecognized request argument supplied: parallel_tool_calls":
        retried once without it, and left out from then on.
        """
        await self.checkStripAndRetry(unrecognized)

    async def test_retry422ExtraForbidden(self) -> None:
        """
        422 with one C{extra_forbidden} detail: the same.
        """
        await self.checkStripAndRetry(extraForbidden)

    async def test_retriedOnlyOnce(self) -> None:
        """
        The retry is rejected too, for another parameter: no third request;
        the client gets the second rejection.
        """
        fake = rejecting("parallel_tool_calls", "stream_options", reply=unrecognized)
        relay = await self.relay(fake, "generic")
        code, error = await relay.failing(request("model-a", parallel_tool_calls=True,
                                                  stream=True))
        self.assertEqual(code, 400)
        self.assertEqual(error["message"],
                         "Unrecognized request argument supplied: stream_options")
        self.assertEqual(len(relay.chat), 2)

    async def test_unnamedErrorNotRetried(self) -> None:
        """
        A 400 that names no parameter is passed on at once: one upstream
        request, the OpenAI envelope with the upstream's message.
        """
        message = "Invalid request: the conversation could not be processed."
        fake = StrictFake(lambda body, rawBody: openaiError(400, message),
                          lambda b: answer())
        relay = await self.relay(fake, "generic")
        code, error = await relay.failing(request("model-a", parallel_tool_calls=False,
                                                  stream=True))
        self.assertEqual(code, 400)
        self.assertEqual(error["message"], message)
        self.assertEqual(len(relay.chat), 1)


# -- 4. Healers ----------------------------------------------------------------

GLM_ROUTES = """
[upstreams.zai]
base_url = "UPSTREAM_URL"
profile = "glm"

[[routes]]
model = "glm-4.5-air"
upstream = "zai"
heal = { glm_thinking = false }
"""


class HealerTests(RelayCase):
    """
    GLM keeps its reasoning to itself under a long agent prompt unless the
    request says C{thinking: {"type": "enabled"}}.
    """

    async def test_glmThinkingByDefault(self) -> None:
        """
        The glm profile asks for thinking; the stream's reasoning arrives.
        """
        relay = await self.relay(lambda body, received: raw(pf.GLM), "glm")
        _, response = await relay.stream(request("glm-4.6"))
        self.assertEqual(response["output"][0]["type"], "reasoning")
        [sent] = relay.chat
        self.assertEqual(sent["thinking"], {"type": "enabled"})

    async def test_glmThinkingOffForRoute(self) -> None:
        """
        A route with C{heal = {glm_thinking = false}} sends no C{thinking};
        other models of the same upstream still do.
        """
        relay = await self.relay(lambda body, received: raw(pf.GLM), None, routes=GLM_ROUTES)
        for model in ("glm-4.5-air", "glm-4.6"):
            _, response = await relay.stream(request(model))
            self.assertEqual(response["status"], "completed")
        off, on = relay.chat
        self.assertEqual((off["model"], on["model"]), ("glm-4.5-air", "glm-4.6"))
        self.assertNotIn("thinking", off)
        self.assertEqual(on["thinking"], {"type": "enabled"})
