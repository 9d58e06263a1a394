"""
Tests for L{codex_relay._core.stream.translator}: the opening events, a
plain text answer, item ids, and message items (refusals, empty deltas).
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.request.translate import translateRequest
from codex_relay._core.stream.translator import StreamTranslator

from tests.harness import chunks as C
from tests.harness.oracle import checkEvents
from tests.harness.stream import (
    ADDED,
    APPLY_PATCH,
    COMPLETED,
    COMPLETED_AT,
    CREATED_AT,
    DONE,
    CountingIds,
    LOCAL_SHELL,
    NAMESPACE,
    RESPONSE_ID,
    SETTINGS,
    START,
    WEATHER,
    TranslatorMixin,
    deltas,
    messageTypes,
    stoppedClock,
    streamRequest,
    terminal,
    types,
)


class LifecycleTests(TranslatorMixin, SynchronousTestCase):
    """
    The opening events and a plain text answer.
    """

    def test_plainText(self) -> None:
        """
        A text answer is one message item: part added, a delta per upstream
        chunk, the done events with the full text, then C{response.completed}
        with the upstream usage.
        """
        events = self.translate([
            C.chunk({"role": "assistant", "content": "", "refusal": None}),
            C.text("Hel"), C.text("lo, "), C.text("world!"),
            C.finish("stop"),
            C.chunk(choices=False, usage=C.usage(12, 5)),
        ])
        self.assertEqual(types(events), START + messageTypes(3) + [COMPLETED])
        self.assertEqual([event["sequence_number"] for event in events],
                         list(range(len(events))))
        self.assertEqual(events[2], {
            "type": ADDED, "sequence_number": 2, "output_index": 0,
            "item": {"id": "msg_1", "type": "message", "status": "in_progress",
                     "role": "assistant", "content": []},
        })
        self.assertEqual(events[3], {
            "type": "response.content_part.added", "sequence_number": 3,
            "item_id": "msg_1", "output_index": 0, "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
        })
        self.assertEqual(events[4], {
            "type": "response.output_text.delta", "sequence_number": 4,
            "item_id": "msg_1", "output_index": 0, "content_index": 0,
            "delta": "Hel", "logprobs": [],
        })
        self.assertEqual(deltas(events, "response.output_text.delta"),
                         ["Hel", "lo, ", "world!"])
        self.assertEqual(events[7]["text"], "Hello, world!")
        part = {"type": "output_text", "text": "Hello, world!", "annotations": [],
                "logprobs": []}
        self.assertEqual(events[8]["part"], part)
        self.assertEqual(events[9]["item"], {
            "id": "msg_1", "type": "message", "status": "completed",
            "role": "assistant", "content": [part],
        })
        response = self.assertTerminal(events, COMPLETED, "completed")
        self.assertEqual(response["output"], [events[9]["item"]])
        self.assertEqual((response["id"], response["created_at"], response["completed_at"]),
                         (RESPONSE_ID, CREATED_AT, COMPLETED_AT))
        self.assertEqual((response["error"], response["incomplete_details"]), (None, None))
        self.assertEqual(response["usage"], {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 17,
        })
        self.oracle(events)

    def test_start(self) -> None:
        """
        The stream opens with C{response.created} and C{response.in_progress}:
        in progress, no output, no usage, the request echoed.
        """
        events = self.translate([C.text("hi"), C.finish("stop")])
        for event in events[:2]:
            response = event["response"]
            self.assertEqual(
                (response["id"], response["status"], response["output"], response["usage"]),
                (RESPONSE_ID, "in_progress", [], None))
            self.assertEqual((response["model"], response["instructions"]),
                             ("model-a", "You are a coding agent."))
            self.assertEqual(response["tools"], [WEATHER, APPLY_PATCH, NAMESPACE, LOCAL_SHELL])
        self.oracle(events)

    def test_noStoreEcho(self) -> None:
        """
        The Response carries no C{store} key: the SDK does not model it, so
        PROTOCOL.md §5 rule 16 forbids it (the oracle rejects it too).
        """
        events = self.translate([C.text("hi"), C.finish("stop")])
        for event in (events[0], events[1], events[-1]):
            self.assertNotIn("store", event["response"])
        self.oracle(events)


class IdTests(SynchronousTestCase):
    """
    Ids and times, from the C{ids} and C{clock} the translator is given.
    """

    def test_prefixes(self) -> None:
        """
        Items get fresh ids from C{ids}: C{rs_}, C{msg_}, C{fc_}, C{ctc_};
        a call without an upstream id gets a C{call_} id, and a response
        without a C{responseId} a C{resp_} one.  Without a C{createdAt}, the
        clock tells C{created_at} too.
        """
        request = streamRequest()
        ids = CountingIds()
        translator = StreamTranslator(request, translateRequest(request, SETTINGS), SETTINGS,
                                      ids=ids, clock=stoppedClock)
        events = translator.start()
        for chunk in [C.reasoning("r"), C.text("t"),
                      C.toolCall(0, None, "get_weather", "{}"),
                      C.toolCall(1, "call_b", "apply_patch", '{"input":"x"}'),
                      C.finish("tool_calls")]:
            events += translator.feedChunk(chunk)
        events += translator.finish(doneMarker=True)
        response = terminal(events)
        output = response["output"]
        self.assertEqual([item["id"] for item in output], ["rs_2", "msg_3", "fc_5", "ctc_6"])
        self.assertEqual([item["call_id"] for item in output[2:]], ["call_4", "call_b"])
        self.assertEqual((response["id"], response["created_at"], response["completed_at"]),
                         ("resp_1", COMPLETED_AT, COMPLETED_AT))
        self.assertEqual(len({item["id"] for item in output}), 4)
        checkEvents(events)


class MessageTests(TranslatorMixin, SynchronousTestCase):
    """
    Message items: refusals, empty deltas.
    """

    def test_refusal(self) -> None:
        """
        A refusal is a message with a refusal part.
        """
        events = self.translate([C.chunk({"refusal": "I can't "}),
                                 C.chunk({"refusal": "help."}), C.finish("stop")])
        self.assertEqual(types(events), START + messageTypes(2, "refusal") + [COMPLETED])
        self.assertEqual(events[3]["part"], {"type": "refusal", "refusal": ""})
        self.assertEqual(deltas(events, "response.refusal.delta"), ["I can't ", "help."])
        self.assertNotIn("logprobs", events[4])
        self.assertEqual(events[6]["refusal"], "I can't help.")
        _, done = self.assertItem(events, 0)
        self.assertEqual(done["content"], [{"type": "refusal", "refusal": "I can't help."}])
        self.oracle(events)

    def test_textThenRefusal(self) -> None:
        """
        Text then refusal: one message, two parts, the first closed before
        the second opens.
        """
        events = self.translate([C.text("Well, "), C.chunk({"refusal": "no."}),
                                 C.finish("stop")])
        self.assertEqual(types(events), START + [
            ADDED, "response.content_part.added", "response.output_text.delta",
            "response.output_text.done", "response.content_part.done",
            "response.content_part.added", "response.refusal.delta",
            "response.refusal.done", "response.content_part.done", DONE, COMPLETED])
        self.assertEqual([event["content_index"] for event in events[3:11]],
                         [0, 0, 0, 0, 1, 1, 1, 1])
        self.oracle(events)

    def test_emptyDeltasSkipped(self) -> None:
        """
        Empty content and role-only deltas produce no events.
        """
        events = self.translate([C.chunk({"role": "assistant", "content": ""}),
                                 C.text(""), C.text("a"), C.text(""), C.finish("stop")])
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.oracle(events)
