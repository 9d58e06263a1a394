"""
The openai SDK through the relay (see L{tests.harness.sdk}), reasoning
passed back: a thinking-mode upstream that refuses a turn without the
reasoning it streamed, which the relay restores from
C{encrypted_content}.
"""

from collections.abc import Callable
from typing import Any

import openai
from openai.types.responses import Response, ResponseFunctionToolCall, ResponseReasoningItem

from tests.harness.chunks import WEATHER_TOOL, chunk, finish, reasoning, text, toolCall, usage
from tests.harness.requests import output as functionCallOutput
from tests.harness.sdk import MODEL, SDKTestCase, upstreamError
from tests.harness.upstream import JSONReply, ReceivedRequest, Stream

THINKING_REQUIRED = "The reasoning_content in the thinking mode must be passed back to the API."


class SDKReasoningTests(SDKTestCase):
    """
    Reasoning streamed before a tool call, carried back through the SDK.
    """

    def thinkingUpstream(self, thought: str) -> None:
        """
        Script a thinking-mode upstream (DeepSeek-style): the first turn
        reasons, then calls a tool; any later request is refused unless its
        assistant tool-call messages carry that reasoning back.
        """
        def respond(body: Any, received: ReceivedRequest) -> Stream | JSONReply:
            calls = [m for m in body["messages"]
                     if m["role"] == "assistant" and m.get("tool_calls")]
            if not calls:
                half = len(thought) // 2
                return Stream([
                    reasoning(thought[:half]), reasoning(thought[half:]),
                    toolCall(0, id="call_oslo", name="get_weather",
                             arguments='{"city":"Oslo"}'),
                    finish("tool_calls"),
                    chunk(choices=False, usage=usage(50, 30, reasoning=12)),
                ])
            if any(m.get("reasoning_content") != thought for m in calls):
                return upstreamError(400, THINKING_REQUIRED,
                                     type="invalid_request_error", code="invalid_request_error")
            return Stream([text("It is 3C in Oslo."), finish("stop")])

        self.upstream.respond = respond

    async def reasoningTurns(self, thought: str, resend: Callable[[Any], Any]) -> Response:
        """
        Run the two turns of L{thinkingUpstream}, sending the first turn's
        output items back through C{resend}.
        """
        self.thinkingUpstream(thought)
        question = {"role": "user", "content": "Weather in Oslo?"}
        include = ["reasoning.encrypted_content"]
        first = await self.finalResponse(input=[question], tools=[WEATHER_TOOL],
                                         include=include, store=False)
        thinking, call = first.output
        self.assertIsInstance(thinking, ResponseReasoningItem)
        self.assertIsInstance(call, ResponseFunctionToolCall)
        self.assertEqual([s.text for s in thinking.summary], [thought])
        self.assertIsInstance(thinking.encrypted_content, str)
        self.assertNotIn(thought, thinking.encrypted_content)
        self.assertEqual(first.usage.output_tokens_details.reasoning_tokens, 12)
        self.sdkEvents()

        second = await self.finalResponse(
            input=[question, *[resend(i) for i in first.output],
                   functionCallOutput("call_oslo", "3C")],
            tools=[WEATHER_TOOL], include=include, store=False)
        self.assertEqual(second.output_text, "It is 3C in Oslo.")
        self.sdkEvents()
        assistant = self.chatRequests()[1].json["messages"][1]
        self.assertEqual(assistant["reasoning_content"], thought)
        self.assertEqual(assistant["tool_calls"][0]["id"], "call_oslo")
        return second

    async def test_reasoningPassedBack(self) -> None:
        """
        Reasoning streamed before a tool call travels back to the upstream
        on the next turn, on the assistant message with the tool call, when
        the client returns the output items it got.
        """
        await self.reasoningTurns("The user wants Oslo; call get_weather.", lambda i: i)

    async def test_reasoningFromEncryptedContent(self) -> None:
        """
        The reasoning sent back comes from C{encrypted_content}, not from the
        visible summary, which clients may drop or alter.
        """
        def withoutSummary(item: Any) -> Any:
            if isinstance(item, ResponseReasoningItem):
                return {"type": "reasoning", "summary": [],
                        "encrypted_content": item.encrypted_content}
            return item

        await self.reasoningTurns("Think about Oslo first.", withoutSummary)

    async def test_reasoningRequiredByUpstream(self) -> None:
        """
        Without the reasoning item the scripted upstream refuses the turn,
        and the SDK sees its message: the check in L{thinkingUpstream} bites.
        """
        self.thinkingUpstream("Some thought.")
        request = dict(model=MODEL, tools=[WEATHER_TOOL], input=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"type": "function_call", "call_id": "call_oslo", "name": "get_weather",
             "arguments": '{"city":"Oslo"}'},
            functionCallOutput("call_oslo", "3C")])
        with self.assertRaises(openai.BadRequestError) as caught:
            await self.sdk(lambda c: c.responses.create(**request))
        self.assertEqual(caught.exception.body["message"], THINKING_REQUIRED)
