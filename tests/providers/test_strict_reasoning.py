"""
Reasoning replay against strict provider fakes, through the real relay:
per profile, a fake that rejects exactly what the real provider rejects
about reasoning sent back (status and body in the provider's shape), and a
test per rule that passes because the profile keeps the request clear of
it: the fake records every rejection, the profile run must cause none, and
a control run of the same exchange with the generic profile must cause at
least one (so each fake is known to bite).
"""

import json
from collections.abc import Callable

from tests.harness import oracle
from tests.harness.hoststreams import GROQ, OPENROUTER, OPENROUTER_DETAILS
from tests.harness.vendorstreams import DEEPSEEK, DEEPSEEK_REASONING, KIMI, MISTRAL
from tests.harness.chunks import WEATHER_TOOL
from tests.harness.relaycase import INCLUDE, QUESTION, Relay, StrictCase, afterTool, answer, raw, toolOutputs
from tests.harness.rules import MISTRAL_RULES, StrictFake, signedParts, deepseekReasoner, deepseekThinking, firstOf, groqNoReasoning, kimiControls, kimiThinking, mistralMessages, openrouterDetails
from tests.harness.rules import toolCallAssistants
from tests.harness.upstream import Reply


# Groq: strict schemas; reasoning never goes back (PROVIDERS.md §2, §7.2:
# janhq/jan#8136 and others quote this message).


# DeepSeek V4 thinking mode and Kimi thinking models: reasoning_content on
# every assistant message with tool calls (PROVIDERS.md §2, §7.1).


# Mistral: reasoning goes back as a thinking chunk of the content, never as
# reasoning_content (pydantic's extra="forbid").


class StrictReasoningTests(StrictCase):
    """
    Each reasoning rule of a real provider, met only because of the profile.
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

    # Groq.

    async def test_groqNeverGetsReasoningBack(self) -> None:
        """
        Groq: reasoning streamed as C{delta.reasoning} on turn one does not
        go back on turn two (400 "property 'reasoning' is unsupported"), and
        C{reasoning_format: parsed} is asked for.
        """
        def fake() -> StrictFake:
            return StrictFake(groqNoReasoning, afterTool(lambda: raw(GROQ)))
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

    async def test_mistralReasoningAsThinkingChunk(self) -> None:
        """
        Mistral: reasoning from turn one's thinking chunks goes back as a
        thinking chunk of the assistant content, never as
        C{reasoning_content} (422 extra_forbidden); its own nine-character
        call id is kept.
        """
        def fake(rules: Callable[[dict, bytes], Reply | None]) -> StrictFake:
            return StrictFake(rules, afterTool(lambda: raw(MISTRAL)))
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
        deepseek = StrictFake(deepseekThinking, afterTool(lambda: raw(DEEPSEEK)))
        relay = await self.relay(deepseek, "deepseek")
        _, second = await self.twoTurns(relay, "deepseek-v4-flash")
        self.assertEqual(second["status"], "completed")
        await self.assertClean(deepseek, relay, 2)
        [(_, message)] = toolCallAssistants(relay.chat[1])
        self.assertEqual(message["reasoning_content"], DEEPSEEK_REASONING)
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
            return StrictFake(deepseekReasoner, afterTool(lambda: raw(DEEPSEEK)))
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
                          afterTool(lambda: raw(KIMI)))
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

    # OpenRouter.

    async def test_openrouterReasoningDetailsUnchanged(self) -> None:
        """
        OpenRouter: the C{reasoning_details} streamed on turn one (text
        fragments merged, the signature and the encrypted block kept) go
        back byte for byte on the tool-call message of turn two.
        """
        def fake() -> StrictFake:
            return StrictFake(openrouterDetails, afterTool(lambda: raw(OPENROUTER)))
        openrouter = fake()
        relay = await self.relay(openrouter, "openrouter")
        _, second = await self.twoTurns(relay, "anthropic/claude-sonnet-4.5")
        self.assertEqual(second["status"], "completed")
        await self.assertClean(openrouter, relay, 2)
        [(_, message)] = toolCallAssistants(relay.chat[1])
        self.assertEqual(json.dumps(message["reasoning_details"]),
                         json.dumps(OPENROUTER_DETAILS))
        for part in signedParts(OPENROUTER_DETAILS):
            self.assertIn(part, relay.chatRaw[1])
        self.assertNotIn("reasoning_content", message)

        control = fake()
        relay = await self.relay(control, "generic")
        await self.twoTurns(relay, "anthropic/claude-sonnet-4.5")
        self.assertTrue(control.rejections)
