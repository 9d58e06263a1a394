"""
Tests for L{codex_relay._core.stream.translator} fed a whole, non-streamed
C{chat.completion}.
"""

import json

from twisted.trial.unittest import SynchronousTestCase


from tests.harness import chunks as C
from tests.harness.oracle import checkResponse
from tests.harness.stream import TranslatorMixin, outputItems, streamRequest


class NonStreamingTests(TranslatorMixin, SynchronousTestCase):
    """
    A whole C{chat.completion} fed as one chunk gives the same items as the
    equivalent stream.
    """

    def test_wholeCompletion(self) -> None:
        """
        Reasoning, text and tool calls without C{index}: the response passes
        the oracle and has the same output (same ids, statuses, shapes) as
        the streamed case.
        """
        message = {
            "role": "assistant", "reasoning_content": "Need weather.",
            "content": "Let me check.",
            "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                {"id": "call_2", "type": "function",
                 "function": {"name": "apply_patch",
                              "arguments": json.dumps({"input": "a\n\u00e9"})}},
            ],
        }
        request = streamRequest(stream=False)
        translator = self.translator(request=request)
        events = translator.start()
        events += translator.feedChunk(C.completion(message, "tool_calls", C.usage(30, 12)))
        events += translator.finish(doneMarker=True)
        self._record(events)
        response = translator.response
        checkResponse(response)
        self.assertEqual(response["status"], "completed")
        self.assertEqual(response["usage"]["total_tokens"], 42)
        self.oracle(events)

        streamed = self.translate([
            C.reasoning("Need weather."), C.text("Let me check."),
            C.toolCall(0, "call_1", "get_weather", '{"city":"Paris"}'),
            C.toolCall(1, "call_2", "apply_patch", json.dumps({"input": "a\n\u00e9"})),
            C.finish("tool_calls"),
        ], request=request)
        self.oracle(streamed)
        self.assertEqual(response["output"], outputItems(streamed))
        self.assertEqual([item["type"] for item in response["output"]],
                         ["reasoning", "message", "function_call", "custom_tool_call"])
        self.assertEqual(response["output"][3]["input"], "a\n\u00e9")

    def test_wholeCompletionLength(self) -> None:
        """
        A whole completion cut by C{length} is an incomplete response.
        """
        translator = self.translator(request=streamRequest(stream=False))
        events = translator.start()
        events += translator.feedChunk(C.completion("partial", "length"))
        events += translator.finish(doneMarker=True)
        self._record(events)
        checkResponse(translator.response)
        self.assertEqual(translator.response["incomplete_details"],
                         {"reason": "max_output_tokens"})
        self.assertEqual(translator.response["output"][0]["status"], "incomplete")
        self.oracle(events)
