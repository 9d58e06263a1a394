"""
Tests for L{codex_relay._core.stream.translator} on irregular upstream
streams: tool-call fragments, usage placement, comments, content parts and
non-JSON events as providers send them.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.sse import SSEDecoder

from tests.harness import chunks as C
from tests.harness.stream import (
    COMPLETED,
    START,
    TranslatorMixin,
    customTypes,
    deltas,
    functionTypes,
    messageTypes,
    outputItems,
    summaryTypes,
    terminal,
    toolCalls,
    types,
)


class UpstreamShapeTests(TranslatorMixin, SynchronousTestCase):
    """
    Irregular upstream streams (PROVIDERS.md §4, §5).
    """

    def test_fragmentsWithoutIndex(self) -> None:
        """
        Gemini-style fragments without C{index}: a new id starts a call, a
        fragment without id continues the last one.
        """
        events = self.translate([
            C.toolCall(0, "call_1", "get_weather", '{"city":', omitIndex=True),
            C.toolCall(0, arguments='"A"}', omitIndex=True),
            C.toolCall(0, "call_2", "get_weather", '{"city":"B"}', omitIndex=True),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(2) + functionTypes(1)
                         + [COMPLETED])
        self.assertEqual([(item["call_id"], item["arguments"]) for item in outputItems(events)],
                         [("call_1", '{"city":"A"}'), ("call_2", '{"city":"B"}')])
        self.oracle(events)

    def test_indexReusedWithNewId(self) -> None:
        """
        Ollama sends parallel calls all at index 0 with different ids: two
        calls, not one merged one.
        """
        events = self.translate([
            C.toolCall(0, "call_1", "get_weather", '{"city":"A"}'),
            C.toolCall(0, "call_2", "get_weather", '{"city":"B"}'),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(1) + functionTypes(1)
                         + [COMPLETED])
        self.assertEqual([(item["call_id"], item["arguments"]) for item in outputItems(events)],
                         [("call_1", '{"city":"A"}'), ("call_2", '{"city":"B"}')])
        self.oracle(events)

    def test_sameIdRepeated(self) -> None:
        """
        Kimi and LM Studio repeat the id (and type) on every fragment: one
        call.
        """
        events = self.translate([
            C.toolCall(0, "call_1", "get_weather", ""),
            C.toolCall(0, "call_1", None, '{"city":'),
            C.toolCall(0, "call_1", None, '"A"}'),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(2) + [COMPLETED])
        self.assertEqual(outputItems(events)[0]["arguments"], '{"city":"A"}')
        self.oracle(events)

    def test_sameIdRepeatedWithoutIndex(self) -> None:
        """
        The same id repeated on fragments without C{index} is still one call.
        """
        events = self.translate([
            C.toolCall(0, "call_1", "get_weather", '{"city":', omitIndex=True),
            C.toolCall(0, "call_1", None, '"A"}', omitIndex=True),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(2) + [COMPLETED])
        self.assertEqual(outputItems(events)[0]["arguments"], '{"city":"A"}')
        self.oracle(events)

    def test_nameInLaterFragment(self) -> None:
        """
        A call whose name arrives only in a later fragment opens once the
        name is known, with the arguments received so far as its first
        delta.
        """
        events = self.translate([
            C.text("x"),
            C.toolCall(0, "call_1", None, '{"city":'),
            C.toolCall(0, None, "get_weather", '"A"'),
            C.toolCall(0, arguments="}"),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + messageTypes(1) + functionTypes(3)
                         + [COMPLETED])
        self.assertEqual(deltas(events, "response.function_call_arguments.delta"),
                         ['{"city":', '"A"', "}"])
        _, done = self.assertItem(events, 1)
        self.assertEqual((done["call_id"], done["name"], done["arguments"]),
                         ("call_1", "get_weather", '{"city":"A"}'))
        self.oracle(events)

    def test_argumentsAsObject(self) -> None:
        """
        Arguments sent as a parsed JSON object become a JSON string.
        """
        events = self.translate([
            toolCalls({"index": 0, "id": "call_1", "type": "function",
                       "function": {"name": "get_weather", "arguments": {"city": "A"}}}),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(1) + [COMPLETED])
        self.assertEqual(json.loads(outputItems(events)[0]["arguments"]), {"city": "A"})
        self.oracle(events)

    def test_usageAfterFinishEmptyChoices(self) -> None:
        """
        OpenAI: usage in a last chunk with C{choices: []}, after the
        finish_reason.
        """
        events = self.translate([C.text("a"), C.finish("stop"),
                                 C.chunk(choices=False, usage=C.usage(7, 3))])
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        usage = terminal(events)["usage"]
        self.assertEqual((usage["input_tokens"], usage["output_tokens"],
                          usage["total_tokens"]), (7, 3, 10))
        self.oracle(events)

    def test_usageAfterFinishWithChoice(self) -> None:
        """
        OpenRouter: usage on a later chunk that still has a choice with an
        empty delta.
        """
        events = self.translate([C.text("a"), C.finish("stop"),
                                 C.chunk({"content": ""}, usage=C.usage(7, 3))])
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.assertEqual(terminal(events)["usage"]["total_tokens"], 10)
        self.oracle(events)

    def test_usageOnFinishChunk(self) -> None:
        """
        DeepSeek: usage on the finish chunk itself; other chunks have
        C{usage: null}.
        """
        events = self.translate([C.chunk({"content": "a"}, usage=None),
                                 C.chunk({}, finish="stop", usage=C.usage(9, 1))])
        self.assertEqual(terminal(events)["usage"]["input_tokens"], 9)
        self.oracle(events)

    def test_emptyFirstChunk(self) -> None:
        """
        A first chunk without choices (Azure's C{prompt_filter_results}, or
        just C{choices: []}) is skipped.
        """
        azure = C.chunk(choices=False, id="", model="", prompt_filter_results=[
            {"prompt_index": 0, "content_filter_results": {"hate": {"filtered": False}}}])
        events = self.translate([azure, C.chunk(choices=False), C.text("a"),
                                 C.finish("stop")])
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.oracle(events)

    def test_noDoneMarker(self) -> None:
        """
        A stream that ends without C{[DONE]} after a finish_reason completes
        normally at EOF.
        """
        events = self.translateBody(C.sse(C.text("a"), C.finish("stop"), done=False))
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.oracle(events)

    def test_keepAliveComments(self) -> None:
        """
        Keep-alive comments (with CRLF line ends, split in 7-byte pieces)
        produce no events.
        """
        body = C.sse(C.Comment("OPENROUTER PROCESSING"), C.reasoning("r"),
                     C.Comment(), C.text("caf\u00e9"), C.Comment(), C.finish("stop"),
                     C.Comment(), lineEnd="\r\n")
        events = self.translateBody(body)
        self.assertEqual(types(events), START + summaryTypes(1) + messageTypes(1)
                         + [COMPLETED])
        self.assertEqual(outputItems(events)[1]["content"][0]["text"], "caf\u00e9")
        self.oracle(events)

    def test_mistralContentParts(self) -> None:
        """
        Mistral streams C{content} as typed parts, C{thinking} among them:
        thinking is reasoning, text parts are text.
        """
        events = self.translate([
            C.chunk({"content": [{"type": "thinking",
                                  "thinking": [{"type": "text", "text": "hmm"}]}]}),
            C.chunk({"content": [{"type": "text", "text": "Hi"}]}),
            C.finish("stop"),
        ])
        self.assertEqual(types(events), START + summaryTypes(1) + messageTypes(1)
                         + [COMPLETED])
        self.assertEqual(deltas(events, "response.reasoning_summary_text.delta"), ["hmm"])
        self.assertEqual(deltas(events, "response.output_text.delta"), ["Hi"])
        self.oracle(events)

    def test_legacyFunctionCall(self) -> None:
        """
        The legacy C{function_call} delta is one tool call.
        """
        events = self.translate([
            C.chunk({"function_call": {"name": "get_weather", "arguments": '{"city":'}}),
            C.chunk({"function_call": {"arguments": '"A"}'}}),
            C.finish("function_call"),
        ])
        self.assertEqual(types(events), START + functionTypes(2) + [COMPLETED])
        self.assertEqual((outputItems(events)[0]["name"], outputItems(events)[0]["arguments"]),
                         ("get_weather", '{"city":"A"}'))
        self.oracle(events)

    def test_nameNeverSent(self) -> None:
        """
        A call whose name never comes still becomes an item at the end
        (named C{unknown}), so its arguments are not lost.
        """
        events = self.translate([C.toolCall(0, "call_1", None, '{"a":1}'),
                                 C.finish("tool_calls")])
        self.assertEqual(types(events), START + functionTypes(1) + [COMPLETED])
        self.assertEqual(outputItems(events)[0]["name"], "unknown")
        self.assertEqual(outputItems(events)[0]["arguments"], '{"a":1}')
        self.oracle(events)

    def test_customToolOtherKey(self) -> None:
        """
        Custom tool arguments with one string member that is not C{input}:
        that string is the input.
        """
        events = self.translate([C.toolCall(0, "call_1", "apply_patch", '{"patch": "x\\ny"}'),
                                 C.finish("tool_calls")])
        self.assertEqual(types(events), START + customTypes(1) + [COMPLETED])
        self.assertEqual(outputItems(events)[0]["input"], "x\ny")
        self.oracle(events)

    def test_nonJSONEventSkipped(self) -> None:
        """
        An upstream event whose data is not a JSON object, among good
        chunks, is skipped with one warning for all of them.
        """
        body = b"data: {oops\n\ndata: 42\n\n" + C.sse(C.text("a"), C.finish("stop"))
        translator = self.translator()
        decoder = SSEDecoder()
        events = translator.start()
        for event in decoder.feed(body):
            events += translator.feedEvent(event)
        self._record(events)
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.assertEqual(translator.warnings,
                         ["skipped 2 upstream event(s) that are not JSON objects"])
        self.oracle(events)

    def test_sseMatchesChunks(self) -> None:
        """
        The same stream fed as SSE bytes (any piece size) or as parsed
        chunks gives the same events.
        """
        chunks = [C.reasoning("r\u00e9"), C.text("a\nb"),
                  C.toolCall(0, "call_1", "apply_patch", '{"input":"x\\u00e9"}'),
                  C.finish("tool_calls"), C.chunk(choices=False, usage=C.usage(3, 4))]
        expected = self.translate(chunks)
        self.oracle(expected)
        body = b"".join(b"data: " + json.dumps(c, ensure_ascii=False).encode("utf-8")
                        + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
        for size in (1, 2, 3, 5, 64, len(body)):
            events = self.translateBody(body, pieceSize=size)
            self.assertEqual(events, expected)
            self.oracle(events)
