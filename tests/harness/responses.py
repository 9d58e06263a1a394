"""
Shared test harness.
"""

import json
from typing import Any


RESPONSE_ID = "resp_upstream_0001"


ITEM_ID = "msg_upstream_0001"


USAGE = {
    "input_tokens": 21,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 7,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 28,
}


def responseObject(status: str = "in_progress", **fields: Any) -> dict[str, Any]:
    """
    A Response as an upstream might send it: its own id and model name.
    """
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1760000000,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "metadata": {},
        "model": "grok-4-fast",
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "temperature": 0.7,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 0.95,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        **fields,
    }


def upstreamEvents(words: tuple[str, ...] = ("Hel", "lo")) -> list[dict[str, Any]]:
    """
    A whole, valid Responses event stream with one message.
    """
    whole = "".join(words)
    item = {"id": ITEM_ID, "type": "message", "role": "assistant", "status": "in_progress",
            "content": []}
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    donePart = dict(part, text=whole)
    doneItem = dict(item, status="completed", content=[donePart])
    at = {"item_id": ITEM_ID, "output_index": 0, "content_index": 0}
    events = [
        {"type": "response.created", "response": responseObject()},
        {"type": "response.in_progress", "response": responseObject()},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **at, "part": part},
        *({"type": "response.output_text.delta", **at, "delta": w, "logprobs": []}
          for w in words),
        {"type": "response.output_text.done", **at, "text": whole, "logprobs": []},
        {"type": "response.content_part.done", **at, "part": donePart},
        {"type": "response.output_item.done", "output_index": 0, "item": doneItem},
        {"type": "response.completed", "response": responseObject(
            "completed", output=[doneItem], usage=USAGE, completed_at=1760000001)},
    ]
    return [dict(event, sequence_number=i) for i, event in enumerate(events)]


def frame(event: dict[str, Any]) -> bytes:
    """
    One event as this upstream frames it: spaces in its JSON, unlike the
    relay's own encoder, so a re-encoded event would show.
    """
    return "event: {}\ndata: {}\n\n".format(event["type"], json.dumps(event)).encode()


def frames(events: list[dict[str, Any]]) -> list[bytes]:
    return [frame(event) for event in events]
