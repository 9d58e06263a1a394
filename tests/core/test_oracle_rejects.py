"""
Tests for L{tests.harness.oracle}: each broken rule of a stream is caught,
with a message naming the event.
"""

import copy
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from tests.harness.oracle import checkEvents
from tests.harness.protocol import (
    FAILED,
    INCOMPLETE,
    RAW_REASONING_AND_CUSTOM,
    REASONING_AND_CALL,
    TEXT,
    USAGE,
    renumber,
    textPart,
)


class BrokenStreamTests(SynchronousTestCase):
    """
    Each rule violation is rejected with a message naming the event.
    """

    def assertRejected(
        self, events: list[dict[str, Any]], fragment: str, **kw: Any
    ) -> str:
        with self.assertRaises(AssertionError) as cm:
            checkEvents(events, **kw)
        message = str(cm.exception)
        self.assertIn(fragment, message)
        return message

    def mutated(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return copy.deepcopy(events)

    def test_sequenceGap(self) -> None:
        events = self.mutated(TEXT)
        for e in events[5:]:
            e["sequence_number"] += 1
        message = self.assertRejected(events, "sequence_number should be 5")
        self.assertIn("sequence_number=6", message)

    def test_sequenceStartsAtOne(self) -> None:
        events = self.mutated(TEXT)
        for e in events:
            e["sequence_number"] += 1
        self.assertRejected(events, "sequence_number should be 0")

    def test_sequenceNumberAsString(self) -> None:
        """
        Strict mode: C{"3"} is not an int, although lax pydantic coerces it.
        """
        events = self.mutated(TEXT)
        events[3]["sequence_number"] = "3"
        self.assertRejected(events, "does not validate strictly")

    def test_missingLogprobs(self) -> None:
        events = self.mutated(TEXT)
        del events[4]["logprobs"]
        self.assertRejected(events, "sequence_number=4")

    def test_missingPartLogprobs(self) -> None:
        """
        The SDK does not require C{logprobs} on parts; the spec does.
        """
        events = self.mutated(TEXT)
        del events[3]["part"]["logprobs"]
        self.assertRejected(events, "logprobs: []")

    def test_annotations(self) -> None:
        events = self.mutated(TEXT)
        events[8]["part"]["annotations"] = [
            {"type": "file_citation", "file_id": "f", "filename": "a", "index": 0}
        ]
        self.assertRejected(events, "annotations: []")

    def test_wrongTotalTokens(self) -> None:
        events = self.mutated(TEXT)
        events[-1]["response"]["usage"]["total_tokens"] = 18
        self.assertRejected(events, "total_tokens 18")

    def test_cachedAboveInput(self) -> None:
        events = self.mutated(TEXT)
        events[-1]["response"]["usage"]["input_tokens_details"]["cached_tokens"] = 13
        self.assertRejected(events, "cached_tokens 13 > input_tokens 12")

    def test_missingCacheWriteTokens(self) -> None:
        events = self.mutated(TEXT)
        del events[-1]["response"]["usage"]["input_tokens_details"][
            "cache_write_tokens"
        ]
        self.assertRejected(events, "cache_write_tokens")

    def test_completedWithoutUsage(self) -> None:
        events = self.mutated(TEXT)
        events[-1]["response"]["usage"] = None
        self.assertRejected(events, "without usage")

    def test_deltaMismatch(self) -> None:
        events = self.mutated(TEXT)
        events[5]["delta"] = "lo "
        self.assertRejected(events, "differs from the deltas")

    def test_argumentsMismatch(self) -> None:
        events = self.mutated(REASONING_AND_CALL)
        events[-2]["item"]["arguments"] = '{"city":"Rome"}'
        self.assertRejected(events, "arguments")

    def test_customInputMismatch(self) -> None:
        events = self.mutated(RAW_REASONING_AND_CUSTOM)
        events[-3]["input"] = "*** Begin Patch"
        self.assertRejected(events, "input")

    def test_doneItemDiffersFromParts(self) -> None:
        events = self.mutated(TEXT)
        events[9]["item"]["content"] = [textPart("Hello!")]
        events[10]["response"]["output"] = [events[9]["item"]]
        self.assertRejected(events, "differs from the streamed parts")

    def test_summaryDiffersFromParts(self) -> None:
        events = self.mutated(REASONING_AND_CALL)
        done = events[11]
        self.assertEqual(done["type"], "response.output_item.done")
        done["item"]["summary"] = done["item"]["summary"][:1]
        events[-1]["response"]["output"][0] = done["item"]
        self.assertRejected(events, "summary")

    def test_interleavedItems(self) -> None:
        """
        A second item added while the first is open.
        """
        events = self.mutated(REASONING_AND_CALL)
        call = events.pop(12)  # the function call's output_item.added
        events.insert(5, call)
        self.assertRejected(renumber(events), "is still open")

    def test_twoTerminalEvents(self) -> None:
        events = self.mutated(TEXT)
        events.append(dict(events[-1], sequence_number=len(events)))
        self.assertRejected(events, "after the terminal event")

    def test_noTerminalEvent(self) -> None:
        self.assertRejected(self.mutated(TEXT)[:-1], "no terminal event")

    def test_unknownEventType(self) -> None:
        events = self.mutated(TEXT)
        events.insert(4, {"type": "response.ping"})
        self.assertRejected(renumber(events), "unknown event type 'response.ping'")

    def test_hostedEventType(self) -> None:
        """
        A valid SDK event that the relay never produces.
        """
        events = self.mutated(TEXT)
        events.insert(
            4,
            {
                "type": "response.web_search_call.searching",
                "item_id": "msg_1",
                "output_index": 0,
            },
        )
        self.assertRejected(renumber(events), "never emits")

    def test_missingSummary(self) -> None:
        events = self.mutated(REASONING_AND_CALL)
        del events[2]["item"]["summary"]
        self.assertRejected(events, "summary: Field required")

    def test_missingRequiredField(self) -> None:
        events = self.mutated(TEXT)
        del events[7]["text"]
        self.assertRejected(events, "text: Field required")

    def test_outOfEnumErrorCode(self) -> None:
        events = self.mutated(FAILED)
        events[-1]["response"]["error"]["code"] = "context_length_exceeded"
        self.assertRejected(events, "error.code")
        events[-2]["code"] = "bogus"
        events[-1]["response"]["error"]["code"] = "bogus"
        self.assertRejected(
            events, "'bogus' is outside the SDK enum", allowCodexCodes=True
        )
        events[-2]["code"] = "server_error"
        self.assertRejected(events, "error.code", allowCodexCodes=True)

    def test_outputIndexGap(self) -> None:
        events = self.mutated(REASONING_AND_CALL)
        for e in events[12:-1]:
            e["output_index"] = 2
        self.assertRejected(events, "output_index 2, expected 1")

    def test_addedDoneIdentity(self) -> None:
        events = self.mutated(REASONING_AND_CALL)
        events[-2]["item"]["call_id"] = "call_2"
        events[-1]["response"]["output"][1]["call_id"] = "call_2"
        self.assertRejected(events, "item call_id 'call_2' differs from added 'call_1'")

    def test_duplicateCallId(self) -> None:
        """
        A second function call (fc_2) reusing call_1.
        """
        events = self.mutated(REASONING_AND_CALL)
        second = copy.deepcopy(events[12:17])
        for e in second:
            e["output_index"] = 2
            if "item_id" in e:
                e["item_id"] = "fc_2"
            if "item" in e:
                e["item"]["id"] = "fc_2"
        events[17:17] = second
        events[-1]["response"]["output"].append(second[-1]["item"])
        self.assertRejected(renumber(events), "duplicate call_id 'call_1'")

    def test_itemIdMismatch(self) -> None:
        events = self.mutated(TEXT)
        events[5]["item_id"] = "msg_2"
        self.assertRejected(events, "item_id 'msg_2' but the open item is 'msg_1'")

    def test_deltaBeforePartAdded(self) -> None:
        events = self.mutated(TEXT)
        events[3], events[4] = events[4], events[3]
        self.assertRejected(renumber(events), "no open content part")

    def test_partDoneBeforeTextDone(self) -> None:
        events = self.mutated(TEXT)
        events[7], events[8] = events[8], events[7]
        self.assertRejected(
            renumber(events), "part done before its output_text .done event"
        )

    def test_itemDoneBeforePartDone(self) -> None:
        events = self.mutated(TEXT)
        events[8], events[9] = events[9], events[8]
        self.assertRejected(renumber(events), "content part 0 is still open")

    def test_terminalOutputDiffers(self) -> None:
        events = self.mutated(REASONING_AND_CALL)
        output = events[-1]["response"]["output"]
        output.reverse()
        self.assertRejected(events, "response.output differs")

    def test_missingNullableKey(self) -> None:
        events = self.mutated(TEXT)
        del events[-1]["response"]["instructions"]
        self.assertRejected(events, "'instructions'")

    def test_statusMismatch(self) -> None:
        events = self.mutated(INCOMPLETE)
        events[-1]["type"] = "response.completed"
        self.assertRejected(events, "expected 'completed'")

    def test_incompleteWithoutReason(self) -> None:
        events = self.mutated(INCOMPLETE)
        events[-1]["response"]["incomplete_details"] = None
        self.assertRejected(events, "incomplete_details.reason")

    def test_completedWithError(self) -> None:
        events = self.mutated(TEXT)
        events[-1]["response"]["error"] = {"code": "server_error", "message": "x"}
        self.assertRejected(events, "completed response with error")

    def test_errorNotFollowedByFailed(self) -> None:
        events = self.mutated(FAILED)
        events[-1]["type"] = "response.incomplete"
        self.assertRejected(events, "only response.failed may follow an error event")
        self.assertRejected(
            self.mutated(FAILED)[:-1], "not followed by response.failed"
        )

    def test_topLevelErrorKey(self) -> None:
        events = self.mutated(TEXT)
        events[4]["error"] = {"message": "x"}
        self.assertRejected(events, "top-level 'error' key")

    def test_obfuscation(self) -> None:
        events = self.mutated(TEXT)
        events[4]["obfuscation"] = "abc"
        self.assertRejected(events, "obfuscation")

    def test_unmodelledField(self) -> None:
        events = self.mutated(TEXT)
        events[-1]["response"]["store"] = False
        self.assertRejected(
            events, "fields the SDK does not model (rule 16): response.store"
        )

    def test_functionCallDoneWithoutName(self) -> None:
        events = self.mutated(REASONING_AND_CALL)
        del events[-3]["name"]
        self.assertRejected(events, "'name'")

    def test_lifecycleIdChanges(self) -> None:
        events = self.mutated(TEXT)
        events[-1]["response"]["id"] = "resp_2"
        self.assertRejected(events, "response id 'resp_2' differs from 'resp_1'")

    def test_createdNotFirst(self) -> None:
        events = self.mutated(TEXT)
        events[0], events[1] = events[1], events[0]
        self.assertRejected(
            renumber(events), "the first event must be response.created"
        )

    def test_createdWithUsage(self) -> None:
        events = self.mutated(TEXT)
        events[0]["response"]["usage"] = USAGE
        self.assertRejected(events, "usage: null")

    def test_emptyDelta(self) -> None:
        events = self.mutated(TEXT)
        events[4]["delta"] = ""
        events[5]["delta"] = "Hello, "
        self.assertRejected(events, "empty delta")

    def test_sameTextInSummaryAndContent(self) -> None:
        events = self.mutated(RAW_REASONING_AND_CUSTOM)
        events[7]["item"]["summary"] = [{"type": "summary_text", "text": "hmm"}]
        self.assertRejected(events, "both summary and content")
