"""
Responses streams and bodies written by hand from PROTOCOL.md §2.5, for the
tests of L{tests.harness.oracle}: fixtures independent of the relay.  They
are built from L{tests.harness.protocolparts}, whose pieces are importable
from here too.
"""

from typing import Any

from tests.harness.protocolparts import USAGE, encode, numbered, renumber, response, textPart

__all__ = [
    "CALL", "CUSTOM", "CUT", "FAILED", "INCOMPLETE", "MESSAGE", "RAW_REASONING",
    "RAW_REASONING_AND_CUSTOM", "REASONING", "REASONING_AND_CALL", "REFUSAL",
    "REFUSAL_ITEM", "TEXT", "USAGE", "encode", "numbered", "partialText", "renumber",
    "response", "summaryPart", "textPart",
]


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
