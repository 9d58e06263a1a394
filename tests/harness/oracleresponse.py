"""
The oracle's check of one Response object (L{tests.harness.oracle}): a
non-streaming body or a lifecycle event's C{response}, with its output
items, their parts and its usage (PROTOCOL.md §5 rules 14, 15, 18 and 19).
"""

from typing import Any

from openai.types.responses import Response

from tests.harness.oracleschema import ITEM_CLASSES, fail, validate, withoutCodexCode

TERMINAL = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}


# Rule 14: spec-required, nullable, optional in the SDK.
NULLABLE_RESPONSE_KEYS = (
    "error",
    "incomplete_details",
    "instructions",
    "metadata",
    "temperature",
    "top_p",
)


def checkResponse(response: dict[str, Any], allowCodexCodes: bool = False) -> None:
    """
    Check one finished C{Response} object: a non-streaming body or the
    response of a terminal event.  Its status must be C{completed},
    C{incomplete} or C{failed}.
    """
    checkResponseObject(response, "response", allowCodexCodes, final=True)


def checkResponseObject(
    response: Any, where: str, allowCodexCodes: bool, final: bool
) -> None:
    """
    Check the Response object C{response}, named C{where} in failures;
    C{final} when it must be finished (a terminal event's, or a
    non-streaming body), not a lifecycle event's in progress.
    """
    if not isinstance(response, dict):
        fail(where, f"response is not an object: {response!r:.200}")
    for key in NULLABLE_RESPONSE_KEYS:
        if key not in response:
            fail(where, f"response lacks the spec-required key {key!r} (rule 14)")
    output = response.get("output")
    if isinstance(output, list):
        for i, item in enumerate(output):
            checkItem(item, f"{where}: response.output[{i}]", final)
    validate(Response, withoutCodexCode(response, allowCodexCodes), where)

    status = response["status"] if "status" in response else None
    if final and status not in TERMINAL.values():
        fail(where, f"status {status!r} is not completed/incomplete/failed")
    if status == "completed":
        if response["error"] is not None:
            fail(where, f"completed response with error {response['error']!r}")
        if response["incomplete_details"] is not None:
            fail(where, "completed response with incomplete_details")
    elif status == "incomplete":
        details = response["incomplete_details"]
        if not isinstance(details, dict) or details.get("reason") is None:
            fail(
                where,
                f"incomplete response without incomplete_details.reason: {details!r}",
            )
        if response["error"] is not None:
            fail(where, "incomplete response with error")
    elif status == "failed":
        if response["error"] is None:
            fail(where, "failed response without error")
    if response.get("completed_at") is not None and status != "completed":
        fail(where, f"completed_at set on a {status!r} response")
    if status in ("completed", "incomplete"):
        if response.get("usage") is None:
            fail(where, f"{status} response without usage (rule 18)")
    if response.get("usage") is not None:
        _checkUsage(response["usage"], where)

    ids, callIds = set(), set()
    for i, item in enumerate(output or []):
        if item["id"] in ids:
            fail(where, f"duplicate item id {item['id']!r} in output")
        ids.add(item["id"])
        callId = item.get("call_id")
        if callId is not None:
            if callId in callIds:
                fail(where, f"duplicate call_id {callId!r} in output")
            callIds.add(callId)


def checkItem(item: Any, where: str, final: bool) -> None:
    """
    Check one output item against its own SDK class and the part rules.
    """
    validateItem(item, where)
    if final and item.get("status") == "in_progress":
        fail(where, f"item {item['id']!r} is still in_progress")
    if item["type"] == "message":
        for j, part in enumerate(item["content"]):
            checkPart(part, f"{where}.content[{j}]")
    if item["type"] == "reasoning":
        summary = "".join(p["text"] for p in item["summary"])
        content = "".join(p["text"] for p in item.get("content") or [])
        if summary and summary == content:
            fail(where, "the same text in both summary and content")


def validateItem(item: Any, where: str) -> None:
    if not isinstance(item, dict):
        fail(where, f"item is not an object: {item!r:.200}")
    cls = ITEM_CLASSES.get(item.get("type"))  # type: ignore[arg-type]
    if cls is None:
        fail(where, f"unknown output item type {item.get('type')!r}")
    validate(cls, item, where)


def checkPart(part: dict[str, Any], where: str) -> None:
    """
    Rule 15: output_text parts carry C{logprobs: []} and C{annotations: []}.
    """
    if part.get("type") == "output_text":
        if part.get("logprobs") != []:
            fail(
                where,
                f"output_text part needs logprobs: [] (got {part.get('logprobs', '<absent>')!r})",
            )
        if part.get("annotations") != []:
            fail(
                where,
                f"output_text part needs annotations: [] (got {part.get('annotations', '<absent>')!r})",
            )


def _checkUsage(usage: Any, where: str) -> None:
    """
    Rules 18 and 19.
    """

    def number(path: str) -> int:
        value: Any = usage
        for key in path.split("."):
            if not isinstance(value, dict) or key not in value:
                fail(where, f"usage lacks {path}")
            value = value[key]
        if type(value) is not int or value < 0:
            fail(where, f"usage.{path} is not a non-negative integer: {value!r}")
        return value

    inputTokens = number("input_tokens")
    cached = number("input_tokens_details.cached_tokens")
    number("input_tokens_details.cache_write_tokens")
    outputTokens = number("output_tokens")
    reasoningTokens = number("output_tokens_details.reasoning_tokens")
    total = number("total_tokens")
    if total != inputTokens + outputTokens:
        fail(
            where,
            f"usage.total_tokens {total} != input {inputTokens} + output {outputTokens}",
        )
    if cached > inputTokens:
        fail(where, f"usage cached_tokens {cached} > input_tokens {inputTokens}")
    if reasoningTokens > outputTokens:
        fail(
            where,
            f"usage reasoning_tokens {reasoningTokens} > output_tokens {outputTokens}",
        )
