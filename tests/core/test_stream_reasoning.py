"""
Tests for L{codex_relay._core.stream.translator}: provider reasoning becomes
reasoning items, shown as summary or raw text and sealed in
C{encrypted_content} for the next turn.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.request.translate import translateRequest
from codex_relay._core.settings import REASONING_RAW, TranslationSettings

from tests.harness import chunks as C
from tests.harness.stream import (
    COMPLETED,
    SECRET,
    SETTINGS,
    START,
    TranslatorMixin,
    deltas,
    messageTypes,
    outputItems,
    rawReasoningTypes,
    reasoningPayload,
    streamRequest,
    summaryTypes,
    types,
)


class ReasoningTests(TranslatorMixin, SynchronousTestCase):
    """
    Provider reasoning becomes reasoning items (PROTOCOL.md §2.5, §4.4).
    """

    def test_summaryThenText(self) -> None:
        """
        In the default summary mode reasoning streams as summary text of a
        reasoning item at index 0, closed before the message at index 1.
        """
        events = self.translate([
            C.reasoning("Let me "), C.reasoning("think."), C.text("Sunny."),
            C.finish("stop"),
        ])
        self.assertEqual(types(events), START + summaryTypes(2) + messageTypes(1) + [COMPLETED])
        added, done = self.assertItem(events, 0)
        self.assertEqual(added, {"id": "rs_1", "type": "reasoning", "summary": []})
        self.assertEqual(events[3], {
            "type": "response.reasoning_summary_part.added", "sequence_number": 3,
            "item_id": "rs_1", "output_index": 0, "summary_index": 0,
            "part": {"type": "summary_text", "text": ""},
        })
        self.assertEqual(deltas(events, "response.reasoning_summary_text.delta"),
                         ["Let me ", "think."])
        self.assertEqual([event["summary_index"] for event in events[3:8]], [0] * 5)
        self.assertEqual(events[6]["text"], "Let me think.")
        self.assertEqual(events[7]["part"], {"type": "summary_text", "text": "Let me think."})
        self.assertEqual(done["summary"], [{"type": "summary_text", "text": "Let me think."}])
        self.assertNotIn("content", done)
        self.assertTrue(done["encrypted_content"].startswith("crelay1."))
        message, _ = self.assertItem(events, 1)
        self.assertEqual(message["id"], "msg_2")
        self.assertEqual(deltas(events, "response.output_text.delta", 1), ["Sunny."])
        self.assertTerminal(events, COMPLETED, "completed")
        self.oracle(events)

    def test_raw(self) -> None:
        """
        In raw mode reasoning streams as C{reasoning_text} content; the
        summary stays empty.
        """
        settings = TranslationSettings(secret=SECRET, reasoningPresentation=REASONING_RAW)
        events = self.translate([C.reasoning("a"), C.reasoning("b"), C.text("c"),
                                 C.finish("stop")], settings=settings)
        self.assertEqual(types(events),
                         START + rawReasoningTypes(2) + messageTypes(1) + [COMPLETED])
        added, done = self.assertItem(events, 0)
        self.assertEqual(added, {"id": "rs_1", "type": "reasoning", "summary": [],
                                 "content": []})
        self.assertEqual(events[3]["part"], {"type": "reasoning_text", "text": ""})
        self.assertEqual(events[3]["content_index"], 0)
        self.assertEqual(deltas(events, "response.reasoning_text.delta"), ["a", "b"])
        self.assertEqual(events[6]["text"], "ab")
        self.assertEqual(done["summary"], [])
        self.assertEqual(done["content"], [{"type": "reasoning_text", "text": "ab"}])
        self.oracle(events)

    def test_alternation(self) -> None:
        """
        Reasoning after text opens a new reasoning item, and text after that
        a new message: four items, each closed before the next.
        """
        events = self.translate([
            C.reasoning("r1"), C.text("t1"), C.reasoning("r2"), C.text("t2"),
            C.finish("stop"),
        ])
        self.assertEqual(types(events), START + summaryTypes(1) + messageTypes(1)
                         + summaryTypes(1) + messageTypes(1) + [COMPLETED])
        output = outputItems(events)
        self.assertEqual([(item["id"], item["type"]) for item in output],
                         [("rs_1", "reasoning"), ("msg_2", "message"),
                          ("rs_3", "reasoning"), ("msg_4", "message")])
        for index in range(4):
            self.assertItem(events, index)
        self.assertEqual(output[2]["summary"][0]["text"], "r2")
        self.assertEqual(reasoningPayload(output[2])["text"], "r2")
        self.oracle(events)

    def assertReasoningText(self, chunks: list[dict], text: str, field: str) -> list[dict]:
        events = self.translate(chunks + [C.text("ok"), C.finish("stop")])
        self.assertEqual(types(events), START + summaryTypes(len(chunks)) + messageTypes(1)
                         + [COMPLETED])
        reasoning = outputItems(events)[0]
        self.assertEqual(reasoning["summary"], [{"type": "summary_text", "text": text}])
        self.assertEqual(reasoningPayload(reasoning)["field"], field)
        self.oracle(events)
        return events

    def test_reasoningContent(self) -> None:
        """
        DeepSeek, Kimi, Qwen: C{reasoning_content}.
        """
        self.assertReasoningText([C.reasoning("a"), C.reasoning("b")], "ab",
                                 "reasoning_content")

    def test_reasoningString(self) -> None:
        """
        vLLM, Ollama, OpenRouter: C{reasoning} as a string.
        """
        self.assertReasoningText([C.reasoning("a", "reasoning"), C.reasoning("b", "reasoning")],
                                 "ab", "reasoning")

    def test_reasoningObject(self) -> None:
        """
        C{reasoning} as an object with C{text} (Codex's legacy parser
        accepted it).
        """
        self.assertReasoningText([C.chunk({"reasoning": {"text": "a"}}),
                                  C.chunk({"reasoning": {"text": "b"}})], "ab", "reasoning")

    def test_reasoningDetailsOnly(self) -> None:
        """
        Reasoning only in C{reasoning_details}: their text is shown.
        """
        self.assertReasoningText(
            [C.chunk({"reasoning_details": [{"type": "reasoning.text", "text": "a",
                                             "index": 0}]}),
             C.chunk({"reasoning_details": [{"type": "reasoning.summary", "summary": "b",
                                             "index": 1}]})],
            "ab", "reasoning_details")

    def test_openRouterBothFields(self) -> None:
        """
        OpenRouter sends each piece in C{reasoning} and again in
        C{reasoning_details}: the text is shown once, and the details are
        kept verbatim, merged by index, in the sealed C{encrypted_content}.
        """
        chunks = [
            C.chunk({"reasoning": "Let", "reasoning_details": [
                {"type": "reasoning.text", "text": "Let", "index": 0,
                 "format": "anthropic-claude-v1"}]}),
            C.chunk({"reasoning": " me", "reasoning_details": [
                {"type": "reasoning.text", "text": " me", "index": 0}]}),
            C.chunk({"reasoning": " see", "reasoning_details": [
                {"type": "reasoning.text", "text": " see", "index": 0,
                 "signature": "sig=="}]}),
        ]
        events = self.assertReasoningText(chunks, "Let me see", "reasoning")
        self.assertEqual(deltas(events, "response.reasoning_summary_text.delta"),
                         ["Let", " me", " see"])
        self.assertEqual(reasoningPayload(outputItems(events)[0])["details"], [
            {"type": "reasoning.text", "text": "Let me see", "index": 0,
             "format": "anthropic-claude-v1", "signature": "sig=="},
        ])

    def test_openRouterTrailingSignature(self) -> None:
        """
        A last C{reasoning_details} fragment that only carries a signature
        (no text) is merged into the details, and does not change the field
        the reasoning text came from: the replay field must not depend on
        whether the signature arrived in its own chunk.
        """
        chunks = [
            C.chunk({"reasoning": "Let", "reasoning_details": [
                {"type": "reasoning.text", "text": "Let", "index": 0}]}),
            C.chunk({"reasoning": " me", "reasoning_details": [
                {"type": "reasoning.text", "text": " me", "index": 0}]}),
            C.chunk({"reasoning_details": [
                {"type": "reasoning.text", "signature": "sig==", "index": 0}]}),
        ]
        events = self.translate(chunks + [C.text("ok"), C.finish("stop")])
        self.assertEqual(types(events), START + summaryTypes(2) + messageTypes(1) + [COMPLETED])
        payload = reasoningPayload(outputItems(events)[0])
        self.assertEqual(payload["details"], [
            {"type": "reasoning.text", "text": "Let me", "index": 0, "signature": "sig=="}])
        self.assertEqual((payload["text"], payload["field"]), ("Let me", "reasoning"))
        self.oracle(events)

    def test_deepSeekNullContent(self) -> None:
        """
        DeepSeek sends C{content: null} next to C{reasoning_content}: null is
        no content, so no message opens during the reasoning.
        """
        events = self.translate([
            C.chunk({"role": "assistant", "content": None, "reasoning_content": "hm"}),
            C.chunk({"content": None, "reasoning_content": "m"}),
            C.chunk({"content": "Yes", "reasoning_content": None}),
            C.finish("stop"),
        ])
        self.assertEqual(types(events), START + summaryTypes(2) + messageTypes(1) + [COMPLETED])
        self.assertEqual(outputItems(events)[0]["summary"][0]["text"], "hmm")
        self.assertEqual(outputItems(events)[1]["content"][0]["text"], "Yes")
        self.oracle(events)


class EncryptedReasoningTests(TranslatorMixin, SynchronousTestCase):
    """
    Reasoning carried to the next turn in C{encrypted_content}
    (PROTOCOL.md §4.5).
    """

    def test_notIncluded(self) -> None:
        """
        Without C{reasoning.encrypted_content} in C{include}, reasoning items
        have no C{encrypted_content}.
        """
        for include in (None, [], ["message.output_text.logprobs"]):
            request = streamRequest(include=include)
            events = self.translate([C.reasoning("r"), C.text("t"), C.finish("stop")],
                                    request=request)
            self.assertNotIn("encrypted_content", outputItems(events)[0])
            self.oracle(events)

    def test_sealed(self) -> None:
        """
        The blob is only on C{output_item.done}; it opens with the same
        secret to the text, the field, the details, the model and the
        upstream it came from, and not with another secret.
        """
        events = self.translate([C.reasoning("Let me "), C.reasoning("check."),
                                 C.text("t"), C.finish("stop")])
        self.assertNotIn("encrypted_content", events[2]["item"])
        item = outputItems(events)[0]
        self.assertEqual(reasoningPayload(item), {
            "v": 1, "model": "model-a", "field": "reasoning_content",
            "text": "Let me check.", "details": None, "origin": ""})
        self.assertIsNone(reasoningPayload(item, b"another-secret"))
        self.oracle(events)

    def test_roundTrip(self) -> None:
        """
        The output items fed back as the next request's input put the
        reasoning text on the assistant message holding the tool calls, and
        map every call back to its Chat name and arguments.
        """
        patch = "*** Begin Patch\n*** End Patch"
        events = self.translate([
            C.reasoning("I should "), C.reasoning("look."),
            C.toolCall(0, "call_1", "get_weather", '{"city":"Paris"}'),
            C.toolCall(1, "call_2", "apply_patch", json.dumps({"input": patch})),
            C.toolCall(2, "call_3", "mcp__search", '{"q":"x"}'),
            C.finish("tool_calls"),
        ])
        self.oracle(events)
        items = outputItems(events)
        self.assertEqual([item["type"] for item in items],
                         ["reasoning", "function_call", "custom_tool_call", "function_call"])
        nextRequest = streamRequest()
        nextRequest["input"] = nextRequest["input"] + items + [
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Done"},
            {"type": "function_call_output", "call_id": "call_3", "output": "found"},
        ]
        messages = translateRequest(nextRequest, SETTINGS).body["messages"]
        self.assertEqual(messages[2:], [
            {"role": "assistant", "content": None, "reasoning_content": "I should look.",
             "tool_calls": [
                 {"id": "call_1", "type": "function",
                  "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                 {"id": "call_2", "type": "function",
                  "function": {"name": "apply_patch",
                               "arguments": json.dumps({"input": patch})}},
                 {"id": "call_3", "type": "function",
                  "function": {"name": "mcp__search", "arguments": '{"q":"x"}'}},
             ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "Done"},
            {"role": "tool", "tool_call_id": "call_3", "content": "found"},
        ])

    def test_roundTripOtherSecret(self) -> None:
        """
        A relay with another secret cannot open the blob and falls back to
        the visible summary text.
        """
        events = self.translate([C.reasoning("why"),
                                 C.toolCall(0, "call_1", "get_weather", "{}"),
                                 C.finish("tool_calls")])
        self.oracle(events)
        nextRequest = streamRequest()
        nextRequest["input"] = nextRequest["input"] + outputItems(events) + [
            {"type": "function_call_output", "call_id": "call_1", "output": "ok"}]
        other = TranslationSettings(secret=b"another-secret")
        assistant = translateRequest(nextRequest, other).body["messages"][2]
        self.assertEqual(assistant["reasoning_content"], "why")
