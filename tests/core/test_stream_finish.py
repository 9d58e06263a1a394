"""
Tests for how L{codex_relay._core.stream.translator} ends a stream:
finish_reason, C{[DONE]} and EOF pick the one terminal event, and a fault
before it still leaves the stream able to fail.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.stream import translator as _translate_stream
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.sse import SSEDecoder

from tests.harness import chunks as C
from tests.harness.stream import (
    COMPLETED,
    COMPLETED_AT,
    FAILED,
    INCOMPLETE,
    SECRET,
    START,
    TranslatorMixin,
    functionTypes,
    messageTypes,
    outputItems,
    summaryTypes,
    terminal,
    types,
)


class FinishTests(TranslatorMixin, SynchronousTestCase):
    """
    finish_reason, [DONE] and EOF pick the terminal event (PROTOCOL.md §4.6).
    """

    def test_length(self) -> None:
        """
        C{length}: the open item closes incomplete and the response is
        C{incomplete} with reason C{max_output_tokens}; earlier items stay
        completed.
        """
        events = self.translate([C.reasoning("r"), C.text("abc"), C.finish("length"),
                                 C.chunk(choices=False, usage=C.usage(5, 8))])
        self.assertEqual(types(events), START + summaryTypes(1) + messageTypes(1)
                         + [INCOMPLETE])
        response = self.assertTerminal(events, INCOMPLETE, "incomplete")
        self.assertEqual(response["incomplete_details"], {"reason": "max_output_tokens"})
        self.assertEqual((response["error"], response.get("completed_at")), (None, None))
        self.assertEqual(response["usage"]["output_tokens"], 8)
        self.assertNotIn("status", response["output"][0])
        self.assertEqual(response["output"][1]["status"], "incomplete")
        self.oracle(events)

    def test_lengthInToolCall(self) -> None:
        """
        C{length} inside a call's arguments: the call closes incomplete.
        """
        events = self.translate([C.toolCall(0, "call_1", "get_weather", '{"ci'),
                                 C.finish("length")])
        self.assertEqual(types(events), START + functionTypes(1) + [INCOMPLETE])
        self.assertEqual(outputItems(events)[0]["status"], "incomplete")
        self.oracle(events)

    def test_lengthAsCompleted(self) -> None:
        """
        With C{lengthAsCompleted}, C{length} gives C{response.completed}
        whose last item is marked incomplete.
        """
        settings = TranslationSettings(secret=SECRET, lengthAsCompleted=True)
        events = self.translate([C.text("a"), C.toolCall(0, "call_1", "get_weather", "{"),
                                 C.finish("length")], settings=settings)
        self.assertEqual(types(events), START + messageTypes(1) + functionTypes(1)
                         + [COMPLETED])
        response = self.assertTerminal(events, COMPLETED, "completed")
        self.assertEqual([item["status"] for item in response["output"]],
                         ["completed", "incomplete"])
        self.assertEqual((response["incomplete_details"], response["completed_at"]),
                         (None, COMPLETED_AT))
        self.oracle(events)

    def test_contentFilterFailed(self) -> None:
        """
        C{content_filter} by default: C{response.failed} with the
        non-retryable code C{invalid_prompt}, the open item incomplete.
        """
        events = self.translate([C.text("a"), C.finish("content_filter")])
        self.assertEqual(types(events), START + messageTypes(1) + [FAILED])
        response = self.assertTerminal(events, FAILED, "failed")
        self.assertEqual(response["error"]["code"], "invalid_prompt")
        self.assertIn("content_filter", response["error"]["message"])
        self.assertEqual(response["output"][0]["status"], "incomplete")
        self.assertIsNone(response["incomplete_details"])
        self.oracle(events)

    def test_contentFilterIncomplete(self) -> None:
        """
        With C{contentFilterAsFailed=False}: C{response.incomplete} with
        reason C{content_filter}.
        """
        settings = TranslationSettings(secret=SECRET, contentFilterAsFailed=False)
        events = self.translate([C.text("a"), C.finish("content_filter")], settings=settings)
        self.assertEqual(types(events), START + messageTypes(1) + [INCOMPLETE])
        response = self.assertTerminal(events, INCOMPLETE, "incomplete")
        self.assertEqual(response["incomplete_details"], {"reason": "content_filter"})
        self.assertEqual(response["output"][0]["status"], "incomplete")
        self.assertIsNone(response["error"])
        self.oracle(events)

    def test_unknownFinishReason(self) -> None:
        """
        Unknown finish reasons (C{eos}, C{MALFORMED_FUNCTION_CALL}, ...)
        complete.
        """
        events = self.translate([C.text("a"), C.finish("eos")])
        self.assertTerminal(events, COMPLETED, "completed")
        self.assertEqual(outputItems(events)[0]["status"], "completed")
        self.oracle(events)

    def test_eofWithoutFinishReason(self) -> None:
        """
        EOF without a finish_reason: the open item closes incomplete, then
        C{response.failed} with C{server_error}.
        """
        events = self.translate([C.reasoning("r"), C.toolCall(0, "call_1", "get_weather", "{")],
                                done=False)
        self.assertEqual(types(events), START + summaryTypes(1) + functionTypes(1) + [FAILED])
        response = self.assertTerminal(events, FAILED, "failed")
        self.assertEqual(response["error"]["code"], "server_error")
        self.assertEqual([item.get("status") for item in response["output"]],
                         [None, "incomplete"])
        self.assertIsNone(response["usage"])
        self.oracle(events)

    def test_finishReasonThenEOF(self) -> None:
        """
        A finish_reason then EOF without C{[DONE]}: completed by
        C{finish()}.
        """
        translator = self.translator()
        events = translator.start() + translator.feedChunk(C.text("a"))
        events += translator.feedChunk(C.finish("stop"))
        self.assertFalse(translator.finished)
        self.assertEqual(types(events), START + messageTypes(1))
        events += translator.finish()
        self.assertTrue(translator.finished)
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.assertIs(translator.response, terminal(events))
        self.assertEqual(translator.usage, terminal(events)["usage"])
        self.oracle(events)

    def test_exactlyOneTerminal(self) -> None:
        """
        After the terminal event, more chunks, C{[DONE]}, C{finish()} and
        C{fail()} produce nothing.
        """
        translator = self.translator()
        body = C.sse(C.text("a"), C.finish("stop"), C.chunk(choices=False, usage=C.usage(1, 1)))
        body += C.sse(C.text("late"), C.finish("stop"))
        decoder = SSEDecoder()
        events = translator.start()
        for event in decoder.feed(body):
            events += translator.feedEvent(event)
        response = terminal(events)
        self.assertEqual(translator.feedChunk(C.text("more")), [])
        self.assertEqual(translator.feedChunk({"error": {"message": "boom"}}), [])
        self.assertEqual(translator.finish(), [])
        self.assertEqual(translator.finish(doneMarker=True), [])
        self.assertEqual(translator.fail("server_error", "late"), [])
        self.assertIs(translator.response, response)
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self._record(events)
        self.oracle(events)

    def test_errorAfterFinishReason(self) -> None:
        """
        An error chunk after the finish_reason but before C{[DONE]} fails
        the response, once.
        """
        events = self.translate([C.text("a"), C.finish("stop"),
                                 {"error": {"message": "boom", "code": "server_error"}}])
        self.assertEqual(types(events), START + messageTypes(1) + [FAILED])
        self.assertEqual(outputItems(events)[0]["status"], "completed")
        self.oracle(events)


class TerminalTests(TranslatorMixin, SynchronousTestCase):
    """
    The translator is L{StreamTranslator.finished} only once its terminal
    event exists: a fault on the way leaves L{StreamTranslator.fail} able
    to end the stream, with nothing made before the fault lost.
    """

    # Usage whose details are not an object: mapping it raises.
    ODD_USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "prompt_tokens_details": "n/a"}

    def test_terminalExposed(self) -> None:
        translator = self.translator()
        events = translator.start()
        self.assertEqual((translator.terminal, translator.nextSequence), (None, 2))
        events += translator.feedChunk(C.text("a"))
        events += translator.finish(doneMarker=True)
        self._record(events)
        self.assertIs(translator.terminal, events[-1])
        self.assertEqual(translator.nextSequence, len(events))
        self.assertEqual(translator.fail("server_error", "late"), [])
        self.oracle(events)

    def test_faultBeforeTerminal(self) -> None:
        """
        A fault while the terminal event is made (here: usage the mapping
        cannot read) leaves the translator unfinished; L{fail} then sends
        the item events made before the fault and C{response.failed}, with
        no gap in the sequence numbers.
        """
        def broken(usage: dict) -> dict:
            raise AttributeError("a bug in the usage mapping")

        self.patch(_translate_stream, "mapUsage", broken)
        translator = self.translator()
        events = translator.start()
        events += translator.feedChunk(C.text("a"))
        events += translator.feedChunk(C.chunk(choices=False, usage=self.ODD_USAGE))
        self.assertRaises(AttributeError, translator.finish, doneMarker=True)
        self.assertFalse(translator.finished)
        self.assertIsNone(translator.terminal)
        events += translator.fail("server_error", "The relay failed.")
        self._record(events)
        self.assertEqual(types(events), START + messageTypes(1) + [FAILED])
        self.assertEqual([event["sequence_number"] for event in events],
                         list(range(len(events))))
        response = self.assertTerminal(events, FAILED, "failed")
        self.assertIsNone(response["usage"])
        self.assertEqual(response["output"][0]["content"][0]["text"], "a")
        self.assertTrue(translator.finished)
        self.oracle(events)

    def test_failWithOddUsage(self) -> None:
        """
        Usage the mapping cannot read does not stop a failure from being
        told.
        """
        events = self.translate([C.text("a"), C.chunk(choices=False, usage=self.ODD_USAGE),
                                 {"error": {"message": "boom"}}])
        response = self.assertTerminal(events, FAILED, "failed")
        self.assertEqual(response["usage"]["input_tokens_details"]["cached_tokens"], 0)
        self.oracle(events)
