"""
Tests for L{tests.harness.oracle}: correct streams pass, and each broken rule is
caught.  The streams here are written by hand from PROTOCOL.md §2.5.
"""

import copy
import json
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from tests.harness.oracle import checkEvents, checkResponse, checkStream, parseSSE

USAGE = {
    "input_tokens": 12,
    "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
    "output_tokens": 5,
    "output_tokens_details": {"reasoning_tokens": 2},
    "total_tokens": 17,
}


def response(
    status: str = "in_progress", output: Any = (), usage: Any = None, **extra: Any
) -> dict[str, Any]:
    """
    A Response object with every spec-required key.
    """
    result = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1764000000,
        "model": "model-a",
        "status": status,
        "output": list(output),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": None,
        "top_p": None,
    }
    if status == "completed":
        result["completed_at"] = 1764000001
    result.update(extra)
    return result


def numbered(*events: dict[str, Any]) -> list[dict[str, Any]]:
    """
    Give C{events} their sequence numbers.
    """
    return [dict(e, sequence_number=i) for i, e in enumerate(events)]


def textPart(text: str = "") -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "status": "completed",
    "content": [textPart("Hello, world!")],
}

# PROTOCOL.md §2.5, "Plain text answer", verbatim.
TEXT = numbered(
    {"type": "response.created", "response": response()},
    {"type": "response.in_progress", "response": response()},
    {
        "type": "response.output_item.added",
        "output_index": 0,
        "item": dict(MESSAGE, status="in_progress", content=[]),
    },
    {
        "type": "response.content_part.added",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "part": textPart(),
    },
    {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hel",
        "logprobs": [],
    },
    {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "lo, ",
        "logprobs": [],
    },
    {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "world!",
        "logprobs": [],
    },
    {
        "type": "response.output_text.done",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "text": "Hello, world!",
        "logprobs": [],
    },
    {
        "type": "response.content_part.done",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "part": textPart("Hello, world!"),
    },
    {"type": "response.output_item.done", "output_index": 0, "item": MESSAGE},
    {
        "type": "response.completed",
        "response": response("completed", [MESSAGE], USAGE),
    },
)

REASONING = {
    "id": "rs_1",
    "type": "reasoning",
    "summary": [
        {"type": "summary_text", "text": "Think."},
        {"type": "summary_text", "text": "Call."},
    ],
    "encrypted_content": "crelay1.blob",
}
CALL = {
    "id": "fc_1",
    "type": "function_call",
    "status": "completed",
    "call_id": "call_1",
    "name": "get_weather",
    "arguments": '{"city":"Paris"}',
}


def summaryPart(index: int, text: str) -> list[dict[str, Any]]:
    common = {"item_id": "rs_1", "output_index": 0, "summary_index": index}
    return [
        dict(
            common,
            type="response.reasoning_summary_part.added",
            part={"type": "summary_text", "text": ""},
        ),
        dict(common, type="response.reasoning_summary_text.delta", delta=text),
        dict(common, type="response.reasoning_summary_text.done", text=text),
        dict(
            common,
            type="response.reasoning_summary_part.done",
            part={"type": "summary_text", "text": text},
        ),
    ]


REASONING_AND_CALL = numbered(
    {"type": "response.created", "response": response()},
    {"type": "response.in_progress", "response": response()},
    {
        "type": "response.output_item.added",
        "output_index": 0,
        "item": {"id": "rs_1", "type": "reasoning", "summary": []},
    },
    *summaryPart(0, "Think."),
    *summaryPart(1, "Call."),
    {"type": "response.output_item.done", "output_index": 0, "item": REASONING},
    {
        "type": "response.output_item.added",
        "output_index": 1,
        "item": dict(CALL, status="in_progress", arguments=""),
    },
    {
        "type": "response.function_call_arguments.delta",
        "item_id": "fc_1",
        "output_index": 1,
        "delta": '{"city":',
    },
    {
        "type": "response.function_call_arguments.delta",
        "item_id": "fc_1",
        "output_index": 1,
        "delta": '"Paris"}',
    },
    {
        "type": "response.function_call_arguments.done",
        "item_id": "fc_1",
        "output_index": 1,
        "arguments": '{"city":"Paris"}',
        "name": "get_weather",
    },
    {"type": "response.output_item.done", "output_index": 1, "item": CALL},
    {
        "type": "response.completed",
        "response": response("completed", [REASONING, CALL], USAGE),
    },
)

RAW_REASONING = {
    "id": "rs_2",
    "type": "reasoning",
    "summary": [],
    "content": [{"type": "reasoning_text", "text": "hmm"}],
}
CUSTOM = {
    "id": "ctc_1",
    "type": "custom_tool_call",
    "status": "completed",
    "call_id": "call_9",
    "name": "apply_patch",
    "input": "*** Begin Patch\n*** End Patch",
}

RAW_REASONING_AND_CUSTOM = numbered(
    {"type": "response.created", "response": response()},
    {"type": "response.in_progress", "response": response()},
    {
        "type": "response.output_item.added",
        "output_index": 0,
        "item": {"id": "rs_2", "type": "reasoning", "summary": [], "content": []},
    },
    {
        "type": "response.content_part.added",
        "item_id": "rs_2",
        "output_index": 0,
        "content_index": 0,
        "part": {"type": "reasoning_text", "text": ""},
    },
    {
        "type": "response.reasoning_text.delta",
        "item_id": "rs_2",
        "output_index": 0,
        "content_index": 0,
        "delta": "hmm",
    },
    {
        "type": "response.reasoning_text.done",
        "item_id": "rs_2",
        "output_index": 0,
        "content_index": 0,
        "text": "hmm",
    },
    {
        "type": "response.content_part.done",
        "item_id": "rs_2",
        "output_index": 0,
        "content_index": 0,
        "part": {"type": "reasoning_text", "text": "hmm"},
    },
    {"type": "response.output_item.done", "output_index": 0, "item": RAW_REASONING},
    {
        "type": "response.output_item.added",
        "output_index": 1,
        "item": dict(CUSTOM, status="in_progress", input=""),
    },
    {
        "type": "response.custom_tool_call_input.delta",
        "item_id": "ctc_1",
        "output_index": 1,
        "delta": "*** Begin Patch\n",
    },
    {
        "type": "response.custom_tool_call_input.delta",
        "item_id": "ctc_1",
        "output_index": 1,
        "delta": "*** End Patch",
    },
    {
        "type": "response.custom_tool_call_input.done",
        "item_id": "ctc_1",
        "output_index": 1,
        "input": "*** Begin Patch\n*** End Patch",
    },
    {"type": "response.output_item.done", "output_index": 1, "item": CUSTOM},
    {
        "type": "response.completed",
        "response": response("completed", [RAW_REASONING, CUSTOM], USAGE),
    },
)


def partialText(status: str) -> list[dict[str, Any]]:
    """
    A message item cut short: one delta, closed with C{status}.
    """
    item = dict(MESSAGE, status=status, content=[textPart("Hel")])
    common = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    return [
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": dict(MESSAGE, status="in_progress", content=[]),
        },
        dict(common, type="response.content_part.added", part=textPart()),
        dict(common, type="response.output_text.delta", delta="Hel", logprobs=[]),
        dict(common, type="response.output_text.done", text="Hel", logprobs=[]),
        dict(common, type="response.content_part.done", part=textPart("Hel")),
        {"type": "response.output_item.done", "output_index": 0, "item": item},
    ]


CUT = dict(MESSAGE, status="incomplete", content=[textPart("Hel")])

INCOMPLETE = numbered(
    {"type": "response.created", "response": response()},
    {"type": "response.in_progress", "response": response()},
    *partialText("incomplete"),
    {
        "type": "response.incomplete",
        "response": response(
            "incomplete",
            [CUT],
            USAGE,
            incomplete_details={"reason": "max_output_tokens"},
        ),
    },
)

FAILED = numbered(
    {"type": "response.created", "response": response()},
    {"type": "response.in_progress", "response": response()},
    *partialText("incomplete"),
    {
        "type": "error",
        "code": "server_error",
        "message": "upstream went away",
        "param": None,
    },
    {
        "type": "response.failed",
        "response": response(
            "failed",
            [CUT],
            None,
            error={"code": "server_error", "message": "upstream went away"},
        ),
    },
)

REFUSAL_ITEM = {
    "id": "msg_2",
    "type": "message",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "refusal", "refusal": "No."}],
}
REFUSAL = numbered(
    {"type": "response.created", "response": response()},
    {"type": "response.in_progress", "response": response()},
    {
        "type": "response.output_item.added",
        "output_index": 0,
        "item": dict(REFUSAL_ITEM, status="in_progress", content=[]),
    },
    {
        "type": "response.content_part.added",
        "item_id": "msg_2",
        "output_index": 0,
        "content_index": 0,
        "part": {"type": "refusal", "refusal": ""},
    },
    {
        "type": "response.refusal.delta",
        "item_id": "msg_2",
        "output_index": 0,
        "content_index": 0,
        "delta": "No.",
    },
    {
        "type": "response.refusal.done",
        "item_id": "msg_2",
        "output_index": 0,
        "content_index": 0,
        "refusal": "No.",
    },
    {
        "type": "response.content_part.done",
        "item_id": "msg_2",
        "output_index": 0,
        "content_index": 0,
        "part": {"type": "refusal", "refusal": "No."},
    },
    {"type": "response.output_item.done", "output_index": 0, "item": REFUSAL_ITEM},
    {
        "type": "response.completed",
        "response": response("completed", [REFUSAL_ITEM], USAGE),
    },
)


def encode(events: list[dict[str, Any]]) -> bytes:
    """
    The canonical SSE encoding of C{events}.
    """
    return b"".join(
        b"event: %s\ndata: %s\n\n" % (e["type"].encode(), json.dumps(e).encode())
        for e in events
    )


def renumber(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return numbered(
        *[{k: v for k, v in e.items() if k != "sequence_number"} for e in events]
    )


class CorrectStreamTests(SynchronousTestCase):
    """
    Streams that follow every rule pass.
    """

    def test_text(self) -> None:
        terminal = checkEvents(copy.deepcopy(TEXT))
        self.assertEqual(terminal["output"], [MESSAGE])

    def test_reasoningAndFunctionCall(self) -> None:
        terminal = checkEvents(copy.deepcopy(REASONING_AND_CALL))
        self.assertEqual(
            [i["type"] for i in terminal["output"]], ["reasoning", "function_call"]
        )

    def test_rawReasoningAndCustomToolCall(self) -> None:
        terminal = checkEvents(copy.deepcopy(RAW_REASONING_AND_CUSTOM))
        self.assertEqual(terminal["output"][1]["status"], "completed")

    def test_refusal(self) -> None:
        checkEvents(copy.deepcopy(REFUSAL))

    def test_incomplete(self) -> None:
        terminal = checkEvents(copy.deepcopy(INCOMPLETE))
        self.assertEqual(
            terminal["incomplete_details"], {"reason": "max_output_tokens"}
        )

    def test_failed(self) -> None:
        terminal = checkEvents(copy.deepcopy(FAILED))
        self.assertEqual(terminal["error"]["code"], "server_error")

    def test_failedWithoutItems(self) -> None:
        """
        A stream may fail before any item, without an error event.
        """
        events = numbered(
            {"type": "response.created", "response": response()},
            {"type": "response.in_progress", "response": response()},
            {
                "type": "response.failed",
                "response": response(
                    "failed",
                    error={"code": "rate_limit_exceeded", "message": "try again in 2s"},
                ),
            },
        )
        checkEvents(events)

    def test_codexCodeAllowedOnRequest(self) -> None:
        """
        C{allowCodexCodes=True} accepts C{context_length_exceeded} on both
        the error event and the failed response.
        """
        events = copy.deepcopy(FAILED)
        events[-2]["code"] = "context_length_exceeded"
        events[-1]["response"]["error"]["code"] = "context_length_exceeded"
        checkEvents(events, allowCodexCodes=True)
        self.assertRaises(AssertionError, checkEvents, events)

    def test_checkStream(self) -> None:
        """
        C{checkStream} parses the canonical framing and returns the data,
        ignoring comment blocks and extra blank lines.
        """
        body = b": keep-alive\n\n" + encode(TEXT[:3]) + b"\n" + encode(TEXT[3:])
        self.assertEqual(checkStream(body), TEXT)

    def test_nonStreamingResponse(self) -> None:
        checkResponse(response("completed", [REASONING, CALL], USAGE))
        checkResponse(
            response(
                "incomplete",
                [CUT],
                USAGE,
                incomplete_details={"reason": "content_filter"},
            )
        )


class SDKAgreementTests(SynchronousTestCase):
    """
    The openai SDK's own stream accumulator accepts the hand-written
    streams, so they are sound fixtures rather than the oracle's echo.
    """

    def test_accumulator(self) -> None:
        # A private SDK module: the accumulator has no public entry point
        # that works without HTTP.
        from openai import NOT_GIVEN
        from openai._models import construct_type
        from openai.lib.streaming.responses._responses import ResponseStreamState
        from openai.types.responses import ResponseStreamEvent

        streams = [
            TEXT,
            REASONING_AND_CALL,
            RAW_REASONING_AND_CUSTOM,
            REFUSAL,
            INCOMPLETE,
            FAILED,
        ]
        for events in streams:
            state: Any = ResponseStreamState(
                input_tools=NOT_GIVEN, text_format=NOT_GIVEN
            )
            for event in copy.deepcopy(events):
                state.handle_event(
                    construct_type(type_=ResponseStreamEvent, value=event)
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


class ResponseTests(SynchronousTestCase):
    """
    L{checkResponse} on non-streaming bodies.
    """

    def test_inProgress(self) -> None:
        self.assertRaises(AssertionError, checkResponse, response())

    def test_missingTemperature(self) -> None:
        body = response("completed", [MESSAGE], USAGE)
        del body["temperature"]
        self.assertRaises(AssertionError, checkResponse, body)

    def test_reasoningTokensAboveOutput(self) -> None:
        usage = copy.deepcopy(USAGE)
        usage["output_tokens_details"]["reasoning_tokens"] = 6
        self.assertRaises(
            AssertionError, checkResponse, response("completed", [MESSAGE], usage)
        )

    def test_duplicateItemIds(self) -> None:
        call = dict(CALL, id="msg_1")
        self.assertRaises(
            AssertionError, checkResponse, response("completed", [MESSAGE, call], USAGE)
        )

    def test_itemStillInProgress(self) -> None:
        item = dict(MESSAGE, status="in_progress")
        self.assertRaises(
            AssertionError, checkResponse, response("completed", [item], USAGE)
        )

    def test_boolForInt(self) -> None:
        usage = dict(USAGE, output_tokens=True)
        self.assertRaises(
            AssertionError, checkResponse, response("completed", [MESSAGE], usage)
        )

    def test_codexCode(self) -> None:
        body = response("failed", error={"code": "insufficient_quota", "message": "no"})
        self.assertRaises(AssertionError, checkResponse, body)
        checkResponse(body, allowCodexCodes=True)
        body["error"]["code"] = "usage_limit"
        self.assertRaises(AssertionError, checkResponse, body, allowCodexCodes=True)


class SSEFramingTests(SynchronousTestCase):
    """
    L{parseSSE} and L{checkStream} reject every framing the SDK or Codex
    mishandles.
    """

    def assertBadFraming(self, body: bytes, fragment: str) -> None:
        with self.assertRaises(AssertionError) as cm:
            parseSSE(body)
        self.assertIn(fragment, str(cm.exception))

    def test_parse(self) -> None:
        self.assertEqual(
            parseSSE(
                b'event: a\ndata: {"type":"a"}\n\n: ping\n\nevent:b\ndata:{"x":1}\n\n'
            ),
            [("a", {"type": "a"}), ("b", {"x": 1})],
        )

    def test_empty(self) -> None:
        self.assertEqual(parseSSE(b""), [])

    def test_idLine(self) -> None:
        self.assertBadFraming(b"id: 1\nevent: a\ndata: {}\n\n", "id:")

    def test_retryLine(self) -> None:
        self.assertBadFraming(b"retry: 1000\n\n", "retry:")

    def test_blockWithoutData(self) -> None:
        self.assertBadFraming(b"event: ping\n\n", "without data")

    def test_emptyData(self) -> None:
        self.assertBadFraming(b"event: a\ndata:\n\n", "empty data")

    def test_invalidJSON(self) -> None:
        self.assertBadFraming(b"event: a\ndata: {nope\n\n", "invalid JSON")

    def test_done(self) -> None:
        self.assertBadFraming(b"data: [DONE]\n\n", "[DONE]")

    def test_unterminated(self) -> None:
        self.assertBadFraming(b'event: a\ndata: {"type":"a"}\n', "not terminated")

    def test_multiLineData(self) -> None:
        self.assertBadFraming(b"event: a\ndata: {\ndata: }\n\n", "multi-line")

    def test_missingEventLine(self) -> None:
        self.assertBadFraming(b'data: {"type":"a"}\n\n', "event:")

    def test_crlf(self) -> None:
        self.assertBadFraming(b"event: a\r\ndata: {}\r\n\r\n", "CR")

    def test_eventNameMismatch(self) -> None:
        body = encode(TEXT).replace(
            b"event: response.output_text.delta", b"event: delta", 1
        )
        with self.assertRaises(AssertionError) as cm:
            checkStream(body)
        self.assertIn("differs from data.type", str(cm.exception))
