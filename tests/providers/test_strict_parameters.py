"""
Request parameters, tool-call ids and tool choices against strict provider
fakes, through the real relay: per profile, a fake that rejects exactly
what the real provider rejects (status and body in the provider's shape),
and a test per rule that passes because the profile keeps the request
clear of it: the fake records every rejection, the profile run must cause
none, and a control run of the same exchange with the generic profile must
cause at least one (so each fake is known to bite).
"""

from collections.abc import Callable

from codex_relay import TranslationSettings
from tests.harness.hoststreams import OLLAMA
from tests.harness.vendorstreams import KIMI, MISTRAL, QWEN, XAI
from tests.harness.chunks import WEATHER_TOOL
from tests.harness.relaycase import SECRET, StrictCase, answer, raw, request
from tests.harness.rules import MISTRAL_RULES, StrictFake, firstOf, kimiControls, kimiThinking, mistralIds, mistralParameters, ollamaToolChoice, qwenThinking, xaiEffort
from tests.harness.upstream import JSONReply, Reply


# Mistral: pydantic models with extra="forbid" (422 in FastAPI's detail
# shape, as Gitlawb/openclaude#739 and zeroclaw-labs/zeroclaw#2693 quote it),
# tool-call ids of exactly nine alphanumerics (magentic#276), tool_choice an
# enum of auto/none/any.


class StrictParameterTests(StrictCase):
    """
    Each parameter rule of a real provider, met only because of the profile.
    """

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
            return StrictFake(rules, lambda b: raw(MISTRAL))
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


    # Kimi.

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
            return StrictFake(firstOf(kimiControls, kimiThinking), lambda b: raw(KIMI))
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
            return raw(QWEN) if body.get("stream") else JSONReply(completion)

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
            return StrictFake(xaiEffort, lambda b: raw(XAI))
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

    # Ollama.

    async def test_ollamaGetsNoToolChoice(self) -> None:
        """
        Ollama: no C{tool_choice}, whichever the client asked for.
        """
        choices = ["auto", "required", {"type": "function", "name": "get_weather"}]

        def fake() -> StrictFake:
            return StrictFake(ollamaToolChoice, lambda b: raw(OLLAMA))
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
