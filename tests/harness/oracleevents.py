"""
The oracle's walk over a Responses event stream (L{tests.harness.oracle}):
each event's schema, its sequence number, the lifecycle events and the
terminal one, and output items added and done in order, with unique ids
(PROTOCOL.md §5 rules 4-19).  The events inside an open item are checked
by L{tests.harness.oracleparts.OpenItemRules}.
"""

from typing import Any

from tests.harness.oracleparts import Item, OpenItemRules
from tests.harness.oracleresponse import (
    TERMINAL,
    checkItem,
    checkResponseObject,
    validateItem,
)
from tests.harness.oracleschema import (
    CODEX_CODES,
    EVENT_CLASSES,
    SDK_ERROR_CODES,
    fail,
    validate,
    withoutCodexCode,
)

# The event types of PROTOCOL.md §2.3 that a bridge emits; the hosted-tool,
# audio and annotation events are valid SDK types but never the relay's.
RELAY_EVENT_TYPES = frozenset(
    {
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.done",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_text.delta",
        "response.output_text.done",
        "response.refusal.delta",
        "response.refusal.done",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_part.done",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
        "response.completed",
        "response.incomplete",
        "response.failed",
        "error",
    }
)


def position(index: int, event: Any) -> str:
    if isinstance(event, dict):
        return (
            f"event {index} (sequence_number={event.get('sequence_number')!r}, "
            f"type={event.get('type')!r})"
        )
    return f"event {index}"


class _StreamChecker(OpenItemRules):
    """
    Walks a Responses event stream once, keeping the state the rules need.
    """

    def __init__(self, allowCodexCodes: bool) -> None:
        self.allowCodexCodes = allowCodexCodes
        self.responseId: str | None = None
        self.terminal: dict[str, Any] | None = None
        self.sawError = False
        self.item: Item | None = None
        self.done: list[dict[str, Any]] = []
        self.itemIds: set[str] = set()
        self.callIds: set[str] = set()

    def check(self, index: int, event: Any) -> None:
        where = position(index, event)
        if not isinstance(event, dict):
            fail(where, f"event is not an object: {event!r:.200}")
        kind = event.get("type")
        if "error" in event:
            fail(where, "top-level 'error' key (the SDK raises APIError on it)")
        if "obfuscation" in event:
            fail(where, "obfuscation is not emitted by the relay")
        if self.terminal is not None:
            fail(where, "event after the terminal event")
        if self.sawError and kind != "response.failed":
            fail(where, "only response.failed may follow an error event")
        self._validate(event, where)
        if event["sequence_number"] != index:
            fail(where, f"sequence_number should be {index}")
        if index == 0 and kind != "response.created":
            fail(where, "the first event must be response.created")
        if index == 1 and kind != "response.in_progress":
            fail(where, "the second event must be response.in_progress")
        getattr(self, "_" + kind.replace(".", "_"))(event, where)

    def _validate(self, event: dict[str, Any], where: str) -> None:
        kind = event.get("type")
        cls = EVENT_CLASSES.get(kind)  # type: ignore[arg-type]
        if cls is None:
            fail(
                where,
                f"unknown event type {kind!r}: not in the SDK's ResponseStreamEvent",
            )
        if kind not in RELAY_EVENT_TYPES:
            fail(where, f"{kind!r} is an SDK event the relay never emits")
        # Items first, against their own class, for a readable message.
        if isinstance(event.get("item"), dict):
            validateItem(event["item"], f"{where}: item")
        if isinstance(event.get("response"), dict):
            output = event["response"].get("output")
            for i, item in enumerate(output if isinstance(output, list) else []):
                validateItem(item, f"{where}: response.output[{i}]")
            event = dict(
                event,
                response=withoutCodexCode(event["response"], self.allowCodexCodes),
            )
        validate(cls, event, where)

    def finish(self, count: int) -> dict[str, Any]:
        if count == 0:
            raise AssertionError("empty event stream")
        if self.terminal is None:
            if self.sawError:
                raise AssertionError(
                    "the error event is not followed by response.failed"
                )
            raise AssertionError(f"no terminal event after {count} events")
        return self.terminal

    # lifecycle

    def _lifecycle(
        self, event: dict[str, Any], where: str, final: bool
    ) -> dict[str, Any]:
        response = event["response"]
        checkResponseObject(response, where, self.allowCodexCodes, final)
        if self.responseId is None:
            self.responseId = response["id"]
        elif response["id"] != self.responseId:
            fail(
                where,
                f"response id {response['id']!r} differs from {self.responseId!r}",
            )
        return response

    def _response_created(self, event: dict[str, Any], where: str) -> None:
        if event["sequence_number"] != 0:
            fail(where, "response.created is only the first event")
        response = self._lifecycle(event, where, final=False)
        if response.get("status") != "in_progress":
            fail(where, f"status {response.get('status')!r}, expected 'in_progress'")
        if response["output"] != []:
            fail(where, "response.created must have output []")
        if response.get("usage", "<absent>") is not None:
            fail(where, "response.created must have usage: null")

    def _response_in_progress(self, event: dict[str, Any], where: str) -> None:
        if event["sequence_number"] != 1:
            fail(where, "response.in_progress is only the second event")
        response = self._lifecycle(event, where, final=False)
        if response.get("status") != "in_progress":
            fail(where, f"status {response.get('status')!r}, expected 'in_progress'")
        if response["output"] != []:
            fail(where, "response.in_progress must have output []")

    def _terminal(self, event: dict[str, Any], where: str) -> None:
        response = self._lifecycle(event, where, final=True)
        expected = TERMINAL[event["type"]]
        if response["status"] != expected:
            fail(where, f"status {response['status']!r}, expected {expected!r}")
        if self.item is not None:
            fail(
                where,
                f"item {self.item.id!r} (output_index {self.item.index}) is still open",
            )
        if response["output"] != self.done:
            fail(
                where,
                "response.output differs from the output_item.done items:\n"
                f"  output: {response['output']!r:.600}\n  done:   {self.done!r:.600}",
            )
        self.terminal = response

    _response_completed = _terminal
    _response_incomplete = _terminal
    _response_failed = _terminal

    def _error(self, event: dict[str, Any], where: str) -> None:
        for key in ("code", "param"):
            if key not in event:
                fail(where, f"error event lacks the spec-required key {key!r}")
        code = event["code"]
        allowed = SDK_ERROR_CODES | (
            CODEX_CODES if self.allowCodexCodes else frozenset()
        )
        if code is not None and code not in allowed:
            fail(where, f"error code {code!r} is outside the SDK enum")
        self.sawError = True

    # items

    def _response_output_item_added(self, event: dict[str, Any], where: str) -> None:
        item = event["item"]
        checkItem(item, where, final=False)
        if self.item is not None:
            fail(
                where,
                f"item {self.item.id!r} (output_index {self.item.index}) is still open",
            )
        if event["output_index"] != len(self.done):
            fail(
                where,
                f"output_index {event['output_index']}, expected {len(self.done)}",
            )
        if item["id"] in self.itemIds:
            fail(where, f"duplicate item id {item['id']!r}")
        self.itemIds.add(item["id"])
        callId = item.get("call_id")
        if callId is not None:
            if callId in self.callIds:
                fail(where, f"duplicate call_id {callId!r}")
            self.callIds.add(callId)
        empty = {
            "message": ("content", []),
            "reasoning": ("summary", []),
            "function_call": ("arguments", ""),
            "custom_tool_call": ("input", ""),
        }
        if item["type"] in empty:
            key, value = empty[item["type"]]
            if item[key] != value:
                fail(
                    where,
                    f"added {item['type']} must have {key} {value!r}, got {item[key]!r:.200}",
                )
        if item["type"] == "reasoning" and item.get("content") not in (None, []):
            fail(where, "added reasoning item must have no content")
        self.item = Item(event["output_index"], item)

    def _response_output_item_done(self, event: dict[str, Any], where: str) -> None:
        open = self._openItem(event, where)
        item = event["item"]
        checkItem(item, where, final=True)
        for key in ("id", "type", "call_id", "name"):
            if item.get(key) != open.added.get(key):
                fail(
                    where,
                    f"item {key} {item.get(key)!r} differs from added {open.added.get(key)!r}",
                )
        if open.part is not None:
            fail(where, f"{open.part.kind} part {open.part.index} is still open")
        if open.type == "message" and item["content"] != open.content:
            fail(
                where,
                f"content {item['content']!r:.300} differs from the streamed parts {open.content!r:.300}",
            )
        if open.type == "reasoning":
            if item["summary"] != open.summary:
                fail(
                    where,
                    f"summary {item['summary']!r:.300} differs from the streamed parts {open.summary!r:.300}",
                )
            if (item.get("content") or []) != open.content:
                fail(
                    where,
                    f"content {item.get('content')!r:.300} differs from the streamed parts {open.content!r:.300}",
                )
        if open.type in ("function_call", "custom_tool_call"):
            key = "arguments" if open.type == "function_call" else "input"
            if not open.bufferDone:
                fail(where, f"output_item.done before the {key} .done event")
            if item[key] != open.buffer:
                fail(
                    where,
                    f"{key} {item[key]!r:.200} differs from the deltas {open.buffer!r:.200}",
                )
        self.done.append(item)
        self.item = None


def checkEvents(
    events: list[dict[str, Any]], allowCodexCodes: bool = False
) -> dict[str, Any]:
    """
    Check a whole Responses event stream (the parsed C{data} of each event)
    against the SDK's strict schema and PROTOCOL.md §5 rules 4-19.

    @param allowCodexCodes: also accept the error codes in L{CODEX_CODES}.
    @return: the terminal event's C{response}.
    """
    checker = _StreamChecker(allowCodexCodes)
    for index, event in enumerate(events):
        checker.check(index, event)
    return checker.finish(len(events))
