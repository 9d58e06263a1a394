"""
Tests for surrogates in L{codex_relay._core.stream.translator}: a pair split
between upstream events is joined, a lone half becomes U+FFFD.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.settings import REASONING_RAW, TranslationSettings

from tests.harness import chunks as C
from tests.harness.stream import (
    COMPLETED,
    SECRET,
    START,
    TranslatorMixin,
    deltas,
    messageTypes,
    outputItems,
    reasoningPayload,
    streamRequest,
    types,
)


def assertCarriable(testCase: SynchronousTestCase, events: list[dict]) -> None:
    """
    No surrogate anywhere in C{events}: every string is one UTF-8 (and
    serde_json) can carry as it is.
    """
    try:
        json.dumps(events, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        testCase.fail("a surrogate in the events: {}".format(e))


class SurrogateTests(TranslatorMixin, SynchronousTestCase):
    """
    A surrogate pair split across two upstream events (an emoji escaped as
    C{\\ud83d\\ude00}, cut between its halves) is joined; a lone surrogate
    never goes out: it becomes U+FFFD.  serde_json (Codex) and pydantic
    refuse lone surrogates.
    """

    def translateSSE(self, *chunks: dict, **kwargs) -> list[dict]:
        # C.sse escapes non-ASCII as json.dumps does: \ud83d on the wire.
        body = C.sse(*chunks)
        self.assertIn(b"\\ud83d", body)
        events = self.translateBody(body, **kwargs)
        assertCarriable(self, events)
        return events

    def test_contentPairSplit(self) -> None:
        events = self.translateSSE(C.text("a\ud83d"), C.text("\ude00b"), C.finish("stop"))
        self.assertEqual(deltas(events, "response.output_text.delta"), ["a", "\U0001F600b"])
        self.assertEqual(outputItems(events)[0]["content"][0]["text"], "a\U0001F600b")
        self.oracle(events)

    def test_contentOnlyHalves(self) -> None:
        """
        Fragments that are each one half: the high one sends nothing, the
        low one the whole character.
        """
        events = self.translateSSE(C.text("\ud83d"), C.text("\ude00"), C.finish("stop"))
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.assertEqual(deltas(events, "response.output_text.delta"), ["\U0001F600"])
        self.oracle(events)

    def test_highNeverFollowed(self) -> None:
        """
        A high surrogate that ends the text becomes U+FFFD when its part
        closes, as a last delta, so deltas still add up to the text.
        """
        events = self.translateSSE(C.text("a\ud83d"), C.finish("stop"))
        self.assertEqual(deltas(events, "response.output_text.delta"), ["a", "\ufffd"])
        self.assertEqual(outputItems(events)[0]["content"][0]["text"], "a\ufffd")
        self.oracle(events)

    def test_highThenOther(self) -> None:
        """
        A high surrogate followed by anything but its low half, and a stray
        low one, are each U+FFFD.
        """
        events = self.translateSSE(C.text("\ud83d"), C.text("x\ude00y"), C.text("\ud800\ud800"),
                                   C.text("z"), C.finish("stop"))
        self.assertEqual("".join(deltas(events, "response.output_text.delta")),
                         "\ufffdx\ufffdy\ufffd\ufffdz")
        self.oracle(events)

    def test_partChange(self) -> None:
        """
        The halves of a pair in two different parts are two lone halves.
        """
        events = self.translateSSE(C.text("a\ud83d"), C.chunk({"refusal": "\ude00"}),
                                   C.finish("stop"))
        self.assertEqual(deltas(events, "response.output_text.delta"), ["a", "\ufffd"])
        self.assertEqual(deltas(events, "response.refusal.delta"), ["\ufffd"])
        self.oracle(events)

    def test_refusal(self) -> None:
        events = self.translateSSE(C.chunk({"refusal": "no \ud83d"}),
                                   C.chunk({"refusal": "\ude00"}), C.finish("stop"))
        self.assertEqual(deltas(events, "response.refusal.delta"), ["no ", "\U0001F600"])
        self.assertEqual(outputItems(events)[0]["content"][0]["refusal"], "no \U0001F600")
        self.oracle(events)

    def test_reasoningSummary(self) -> None:
        """
        Reasoning shown as a summary, and the text sealed in
        C{encrypted_content}: joined, and a last lone half replaced.
        """
        events = self.translateSSE(C.reasoning("r\ud83d"), C.reasoning("\ude00\ud83d"),
                                   C.text("ok"), C.finish("stop"))
        self.assertEqual(deltas(events, "response.reasoning_summary_text.delta"),
                         ["r", "\U0001F600", "\ufffd"])
        item = outputItems(events)[0]
        self.assertEqual(item["summary"][0]["text"], "r\U0001F600\ufffd")
        self.assertEqual(reasoningPayload(item)["text"], "r\U0001F600\ufffd")
        self.oracle(events)

    def test_reasoningRaw(self) -> None:
        events = self.translateSSE(
            C.reasoning("\ud83d"), C.reasoning("\ude00"), C.finish("stop"),
            settings=TranslationSettings(secret=SECRET, reasoningPresentation=REASONING_RAW))
        self.assertEqual(deltas(events, "response.reasoning_text.delta"), ["\U0001F600"])
        self.assertEqual(outputItems(events)[0]["content"][0]["text"], "\U0001F600")
        self.oracle(events)

    def test_functionArguments(self) -> None:
        """
        Arguments whose upstream JSON escaped an emoji and cut it in two:
        the arguments carry the character.
        """
        events = self.translateSSE(
            C.toolCall(0, "call_1", "get_weather", '{"city":"\ud83d'),
            C.toolCall(0, arguments='\ude00"}'), C.finish("tool_calls"))
        self.assertEqual(deltas(events, "response.function_call_arguments.delta"),
                         ['{"city":"', '\U0001F600"}'])
        self.assertEqual(outputItems(events)[0]["arguments"], '{"city":"\U0001F600"}')
        self.oracle(events)

    def test_functionArgumentsLoneAtEnd(self) -> None:
        events = self.translateSSE(
            C.toolCall(0, "call_1", "get_weather", '{"city":"x"}\ud83d'), C.finish("tool_calls"))
        self.assertEqual(deltas(events, "response.function_call_arguments.delta"),
                         ['{"city":"x"}', "\ufffd"])
        self.assertEqual(outputItems(events)[0]["arguments"], '{"city":"x"}\ufffd')
        self.oracle(events)

    def test_customInputOuterEscapes(self) -> None:
        """
        A custom tool's input, its emoji cut by the upstream's own escaping.
        """
        events = self.translateSSE(
            C.toolCall(0, "call_p", "apply_patch", '{"input": "a\ud83d'),
            C.toolCall(0, arguments='\ude00"}'), C.finish("tool_calls"))
        self.assertEqual(deltas(events, "response.custom_tool_call_input.delta"),
                         ["a", "\U0001F600"])
        self.assertEqual(outputItems(events)[0]["input"], "a\U0001F600")
        self.oracle(events)

    def test_customInputInnerLone(self) -> None:
        """
        Lone surrogates escaped inside the custom tool's JSON arguments
        (C{\\\\ud83d} as text): U+FFFD in the deltas and in the done input
        alike.
        """
        for arguments, expected in [
                ('{"input": "a\\ud83d"}', "a\ufffd"),
                ('{"input": "a\\ud83db"}', "a\ufffdb"),
                ('{"input": "\\ude00\\ud83d\\ude00"}', "\ufffd\U0001F600"),
                ('{"input": "a\\ud83d\\u0041"}', "a\ufffdA")]:
            for size in (1, 3, 7, 100):
                events = self.translate(
                    [C.toolCall(0, "call_p", "apply_patch", "")]
                    + [C.toolCall(0, arguments=arguments[i:i + size])
                       for i in range(0, len(arguments), size)]
                    + [C.finish("tool_calls")])
                assertCarriable(self, events)
                self.assertEqual(
                    [ascii("".join(deltas(events, "response.custom_tool_call_input.delta"))),
                     ascii(outputItems(events)[0]["input"])],
                    [ascii(expected)] * 2, (arguments, size))
                self.oracle(events)

    def test_wholeCompletion(self) -> None:
        """
        A non-streamed completion with lone surrogates: its output is
        carriable too.
        """
        translator = self.translator(request=streamRequest(stream=False))
        events = translator.start()
        events += translator.feedChunk(C.completion(
            {"role": "assistant", "reasoning_content": "\ude00", "content": "a\ud83d"}))
        events += translator.finish(doneMarker=True)
        self._record(events)
        assertCarriable(self, [translator.response])
        self.assertEqual(translator.response["output"][1]["content"][0]["text"], "a\ufffd")
        self.oracle(events)
