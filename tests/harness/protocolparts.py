"""
The pieces the hand-written Responses fixtures of L{tests.harness.protocol}
are built from: a Response object with every spec-required key, usage,
an output_text part, sequence numbers, and the canonical SSE encoding.
"""

import json
from typing import Any


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
