"""
The openai SDK through the relay (see L{tests.harness.sdk}), tool calls:
a streamed function call, parallel calls and their outputs, and a
custom (freeform) tool.
"""

import json

from openai.types.responses import ResponseCustomToolCall, ResponseFunctionToolCall

from tests.harness.chunks import WEATHER_TOOL, chunk, finish, text, toolCall, usage
from tests.harness.requests import output as functionCallOutput
from tests.harness.sdk import SDKTestCase
from tests.harness.upstream import Stream

PATCH_GRAMMAR = (
    'start: begin_patch hunk+ end_patch\n'
    'begin_patch: "*** Begin Patch" LF\n'
    'end_patch: "*** End Patch" LF?\n'
    'hunk: "*** Add File: " filename LF add_line+\n'
    'add_line: "+" /(.*)/ LF\n'
    'filename: /(.+)/\n'
    '%import common.LF\n'
)

APPLY_PATCH_TOOL = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files with a patch.",
    "format": {"type": "grammar", "syntax": "lark", "definition": PATCH_GRAMMAR},
}

PATCH = (
    "*** Begin Patch\n"
    "*** Add File: hello.txt\n"
    '+print("hi {there}") \\ "quoted"\n'
    "*** End Patch\n"
)


def weatherCalls() -> Stream:
    """
    Two parallel calls of get_weather, streamed in fragments.
    """
    return Stream([
        toolCall(0, id="call_paris", name="get_weather", arguments=""),
        toolCall(0, arguments='{"city":'),
        toolCall(0, arguments='"Paris"}'),
        toolCall(1, id="call_rome", name="get_weather", arguments='{"city":"Rome"}'),
        finish("tool_calls"),
        chunk(choices=False, usage=usage(30, 20)),
    ])


class SDKToolTests(SDKTestCase):
    """
    Function and custom tool calls, through the SDK.
    """

    async def test_functionCall(self) -> None:
        """
        A streamed tool call comes back as a ResponseFunctionToolCall with the
        upstream's id, name and joined arguments.
        """
        reply = Stream([
            toolCall(0, id="call_abc", name="get_weather", arguments=""),
            toolCall(0, arguments='{"ci'),
            toolCall(0, arguments='ty": "Paris"}'),
            finish("tool_calls"),
        ])
        self.upstream.queue(reply, reply)
        final = await self.finalResponse(input="Weather in Paris?", tools=[WEATHER_TOOL])
        self.assertEqual(len(final.output), 1)
        call = final.output[0]
        self.assertIsInstance(call, ResponseFunctionToolCall)
        self.assertEqual((call.name, call.arguments, call.call_id, call.status),
                         ("get_weather", '{"city": "Paris"}', "call_abc", "completed"))
        self.assertTrue(call.id.startswith("fc_"))
        [sent] = self.chatRequests()
        self.assertEqual(sent.json["tools"], [{
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather in a city.",
                "parameters": WEATHER_TOOL["parameters"],
                "strict": True,
            },
        }])
        events = await self.replayRaw()
        done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
        self.assertEqual([(e["name"], e["arguments"]) for e in done],
                         [("get_weather", '{"city": "Paris"}')])

    async def test_parallelCallsAndOutputs(self) -> None:
        """
        Two calls in one response; sending back the output items with two
        function_call_output items gives the upstream one assistant message
        with both tool_calls, then the two tool messages.
        """
        self.upstream.queue(weatherCalls(),
                            Stream([text("Paris 18C, Rome 21C."), finish("stop")]))
        question = {"role": "user", "content": "Weather in Paris and Rome?"}
        first = await self.finalResponse(input=[question], tools=[WEATHER_TOOL])
        for item in first.output:
            self.assertIsInstance(item, ResponseFunctionToolCall)
        self.assertEqual(
            [(i.call_id, i.name, i.arguments) for i in first.output],
            [("call_paris", "get_weather", '{"city":"Paris"}'),
             ("call_rome", "get_weather", '{"city":"Rome"}')])
        self.sdkEvents()

        second = await self.finalResponse(
            input=[question, *first.output, functionCallOutput("call_paris", "18C"),
                   functionCallOutput("call_rome", "21C")],
            tools=[WEATHER_TOOL])
        self.assertEqual(second.output_text, "Paris 18C, Rome 21C.")
        self.sdkEvents()
        self.assertEqual(self.chatRequests()[1].json["messages"], [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_paris", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                {"id": "call_rome", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}},
            ]},
            {"role": "tool", "tool_call_id": "call_paris", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_rome", "content": "21C"},
        ])

    # Custom tools.

    async def test_customTool(self) -> None:
        """
        A custom (freeform) tool is offered upstream as a function with one
        string parameter, and its call comes back as a ResponseCustomToolCall
        with the raw input.
        """
        arguments = json.dumps({"input": PATCH})
        reply = Stream([
            toolCall(0, id="call_patch", name="apply_patch", arguments=arguments[:17]),
            toolCall(0, arguments=arguments[17:40]),
            toolCall(0, arguments=arguments[40:]),
            finish("tool_calls"),
        ])
        self.upstream.queue(reply, reply)
        final = await self.finalResponse(input="Add hello.txt", tools=[APPLY_PATCH_TOOL])
        [call] = final.output
        self.assertIsInstance(call, ResponseCustomToolCall)
        self.assertEqual((call.name, call.call_id, call.input),
                         ("apply_patch", "call_patch", PATCH))
        [tool] = self.chatRequests()[0].json["tools"]
        self.assertEqual(tool["type"], "function")
        function = tool["function"]
        self.assertEqual(function["name"], "apply_patch")
        self.assertTrue(function["description"].startswith("Edit files with a patch."))
        self.assertIn("lark", function["description"])
        self.assertIn(PATCH_GRAMMAR.strip(), function["description"])
        self.assertEqual(function["parameters"]["properties"]["input"]["type"], "string")
        self.assertEqual(function["parameters"]["required"], ["input"])
        events = await self.replayRaw()
        deltas = "".join(e["delta"] for e in events
                         if e["type"] == "response.custom_tool_call_input.delta")
        self.assertEqual(deltas, PATCH)
