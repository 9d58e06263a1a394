"""
The relay onto the real llama.cpp server (see L{tests.harness.llamarelay}),
a tool call and its output: the server's streamed call as a function_call
item, and the next turn with its output accepted by the server.
"""

import json

from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage

from tests.harness.chunks import WEATHER_TOOL
from tests.harness.llamarelay import LlamaTestCase
from tests.harness.requests import output as functionCallOutput


class ToolCallTests(LlamaTestCase):
    """
    A tool call and its output, with the tools template; about 64 tokens
    give exactly one complete call, so finish_reason is length and the
    relay reports it as completed (C{lengthAsCompleted}).
    """

    async def setUp(self) -> None:
        await super().setUp()
        await self.startRelay(lengthAsCompleted=True)

    async def test_toolCallRoundTrip(self) -> None:
        """
        The server's streamed call becomes a function_call item with its
        name, call id and arguments; the next turn, with the items sent
        back and a function_call_output, is accepted by the server.
        """
        question = {"role": "user", "content": "What is the weather in Paris?"}
        first = await self.finalResponse(input=[question], tools=[WEATHER_TOOL],
                                         max_output_tokens=64)
        [upstream] = self.proxy.chat()
        self.assertEqual(upstream.json["tools"][0]["function"]["name"], "get_weather")
        [streamed] = upstream.toolCalls()
        self.assertEqual(first.status, "completed")
        calls = [i for i in first.output if isinstance(i, ResponseFunctionToolCall)]
        self.assertEqual(len(calls), 1, first.output)
        [call] = calls
        self.assertIs(first.output[-1], call)
        self.assertEqual(call.name, "get_weather")
        self.assertIsInstance(call.call_id, str)
        self.assertEqual(call.call_id, streamed["id"])
        self.assertTrue(call.id.startswith("fc_"))
        self.assertIsInstance(call.arguments, str)
        self.assertEqual(call.arguments, streamed["arguments"])
        self.assertIsInstance(json.loads(call.arguments), dict)
        # Text the model wrote before the call (it echoes its prompt) is a
        # message item before the call.
        for item in first.output[:-1]:
            self.assertIsInstance(item, ResponseOutputMessage)
        self.assertEqual(first.output_text, upstream.deltas("content"))
        self.assertUsageFrom(first.usage, upstream)
        events = self.sdkEvents()
        done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
        self.assertEqual([e["arguments"] for e in done], [call.arguments])

        second = await self.finalResponse(
            input=[question, *first.output,
                   functionCallOutput(call.call_id, '{"temperature": "18C"}')],
            tools=[WEATHER_TOOL], max_output_tokens=32)
        self.assertEqual(second.status, "completed")
        self.assertNotEqual(second.output, [])
        self.sdkEvents()
        upstream = self.proxy.chat()[1]
        self.assertEqual(upstream.status, 200)
        messages = upstream.json["messages"]
        [assistant] = [m for m in messages if m["role"] == "assistant"]
        self.assertEqual([c["id"] for c in assistant["tool_calls"]], [call.call_id])
        self.assertEqual(assistant["tool_calls"][0]["function"]["arguments"], call.arguments)
        self.assertEqual(messages[-1], {"role": "tool", "tool_call_id": call.call_id,
                                        "content": '{"temperature": "18C"}'})
        self.assertUsageFrom(second.usage, upstream)
