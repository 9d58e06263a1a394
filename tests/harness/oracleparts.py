"""
The oracle's rules for the events inside an open output item
(L{tests.harness.oracle}): content and summary parts opened and closed in
order, text deltas that add up to their C{.done} event and part, and the
function-call arguments or custom tool input streamed the same way.
L{tests.harness.oracleevents} walks the stream and owns the items; the
rules here see only the open one.
"""

from typing import Any

from tests.harness.oracleresponse import checkPart
from tests.harness.oracleschema import fail

# Which item type each sub-event belongs to, and the part types allowed.
SUB_EVENT_ITEM = {
    "response.output_text.delta": "message",
    "response.output_text.done": "message",
    "response.refusal.delta": "message",
    "response.refusal.done": "message",
    "response.reasoning_summary_part.added": "reasoning",
    "response.reasoning_summary_part.done": "reasoning",
    "response.reasoning_summary_text.delta": "reasoning",
    "response.reasoning_summary_text.done": "reasoning",
    "response.reasoning_text.delta": "reasoning",
    "response.reasoning_text.done": "reasoning",
    "response.function_call_arguments.delta": "function_call",
    "response.function_call_arguments.done": "function_call",
    "response.custom_tool_call_input.delta": "custom_tool_call",
    "response.custom_tool_call_input.done": "custom_tool_call",
}
PART_TYPES = {"message": ("output_text", "refusal"), "reasoning": ("reasoning_text",)}
# The field holding a part's text, by part type.
PART_TEXT = {
    "output_text": "text",
    "refusal": "refusal",
    "reasoning_text": "text",
    "summary_text": "text",
}
# Text sub-events: (part kind, part type, field of the .done event).
TEXT_EVENTS = {
    "response.output_text": ("content", "output_text", "text"),
    "response.refusal": ("content", "refusal", "refusal"),
    "response.reasoning_text": ("content", "reasoning_text", "text"),
    "response.reasoning_summary_text": ("summary", "summary_text", "text"),
}


class Part:
    def __init__(self, kind: str, index: int, type: str) -> None:
        self.kind = kind  # "content" or "summary"
        self.index = index
        self.type = type
        self.text = ""
        self.textDone = False


class Item:
    def __init__(self, index: int, added: dict[str, Any]) -> None:
        self.index = index
        self.added = added
        self.id = added["id"]
        self.type = added["type"]
        self.content: list[dict[str, Any]] = []  # closed content parts
        self.summary: list[dict[str, Any]] = []  # closed summary parts
        self.part: Part | None = None
        self.buffer = ""  # function arguments or custom tool input
        self.bufferDone = False


class OpenItemRules:
    """
    The checks of the sub-events of the open item, one method per event
    type (C{_response_output_text_delta} for C{response.output_text.delta}).
    """

    item: Item | None

    def _openItem(
        self, event: dict[str, Any], where: str, itemType: str | None = None
    ) -> Item:
        item = self.item
        if item is None:
            fail(where, "no item is open")
        if event["output_index"] != item.index:
            fail(
                where,
                f"output_index {event['output_index']} but the open item is {item.index}",
            )
        if "item_id" in event and event["item_id"] != item.id:
            fail(
                where, f"item_id {event['item_id']!r} but the open item is {item.id!r}"
            )
        if itemType is not None and item.type != itemType:
            fail(
                where,
                f"event for a {itemType} item, but the open item is a {item.type}",
            )
        return item

    # parts

    def _openPart(self, item: Item, part: Part, where: str) -> None:
        if item.part is not None:
            fail(where, f"{item.part.kind} part {item.part.index} is still open")
        item.part = part

    def _response_content_part_added(self, event: dict[str, Any], where: str) -> None:
        item = self._openItem(event, where)
        part = event["part"]
        if part["type"] not in PART_TYPES.get(item.type, ()):
            fail(where, f"a {part['type']} part in a {item.type} item")
        if event["content_index"] != len(item.content):
            fail(
                where,
                f"content_index {event['content_index']}, expected {len(item.content)}",
            )
        if part[PART_TEXT[part["type"]]] != "":
            fail(where, "content_part.added must carry an empty part")
        checkPart(part, where)
        self._openPart(
            item, Part("content", event["content_index"], part["type"]), where
        )

    def _response_reasoning_summary_part_added(
        self, event: dict[str, Any], where: str
    ) -> None:
        item = self._openItem(event, where, "reasoning")
        if event["summary_index"] != len(item.summary):
            fail(
                where,
                f"summary_index {event['summary_index']}, expected {len(item.summary)}",
            )
        if event["part"]["text"] != "":
            fail(where, "reasoning_summary_part.added must carry an empty part")
        self._openPart(
            item, Part("summary", event["summary_index"], "summary_text"), where
        )

    def _currentPart(
        self, event: dict[str, Any], where: str, kind: str, type: str
    ) -> Part:
        item = self._openItem(event, where, SUB_EVENT_ITEM.get(event["type"]))
        part = item.part
        indexKey = "summary_index" if kind == "summary" else "content_index"
        if part is None or part.kind != kind or part.index != event[indexKey]:
            fail(where, f"no open {kind} part with {indexKey} {event[indexKey]}")
        if part.type != type:
            fail(where, f"event for a {type} part, but the open part is {part.type}")
        return part

    def _partDone(self, event: dict[str, Any], where: str, kind: str) -> None:
        item = self._openItem(event, where)
        part = event["part"]
        current = self._currentPart(event, where, kind, part["type"])
        if not current.textDone:
            fail(where, f"part done before its {current.type} .done event")
        if part[PART_TEXT[part["type"]]] != current.text:
            fail(
                where,
                f"part text {part[PART_TEXT[part['type']]]!r:.200} differs from the deltas {current.text!r:.200}",
            )
        checkPart(part, where)
        (item.summary if kind == "summary" else item.content).append(part)
        item.part = None

    def _response_content_part_done(self, event: dict[str, Any], where: str) -> None:
        self._partDone(event, where, "content")

    def _response_reasoning_summary_part_done(
        self, event: dict[str, Any], where: str
    ) -> None:
        self._partDone(event, where, "summary")

    def _textDelta(self, event: dict[str, Any], where: str) -> None:
        kind, type, _ = TEXT_EVENTS[event["type"].rsplit(".", 1)[0]]
        part = self._currentPart(event, where, kind, type)
        if part.textDone:
            fail(where, "delta after the .done event")
        if event["delta"] == "":
            fail(where, "empty delta")
        if type == "output_text" and event.get("logprobs") != []:
            fail(
                where,
                f"output_text delta needs logprobs: [] (got {event.get('logprobs', '<absent>')!r})",
            )
        part.text += event["delta"]

    def _textDone(self, event: dict[str, Any], where: str) -> None:
        kind, type, field = TEXT_EVENTS[event["type"].rsplit(".", 1)[0]]
        part = self._currentPart(event, where, kind, type)
        if part.textDone:
            fail(where, "second .done event for the part")
        if event[field] != part.text:
            fail(
                where,
                f"{field} {event[field]!r:.200} differs from the deltas {part.text!r:.200}",
            )
        if type == "output_text" and event.get("logprobs") != []:
            fail(
                where,
                f"output_text.done needs logprobs: [] (got {event.get('logprobs', '<absent>')!r})",
            )
        part.textDone = True

    _response_output_text_delta = _textDelta
    _response_output_text_done = _textDone
    _response_refusal_delta = _textDelta
    _response_refusal_done = _textDone
    _response_reasoning_text_delta = _textDelta
    _response_reasoning_text_done = _textDone
    _response_reasoning_summary_text_delta = _textDelta
    _response_reasoning_summary_text_done = _textDone

    # tool calls

    def _toolDelta(self, event: dict[str, Any], where: str) -> None:
        item = self._openItem(event, where, SUB_EVENT_ITEM[event["type"]])
        if item.bufferDone:
            fail(where, "delta after the .done event")
        if event["delta"] == "":
            fail(where, "empty delta")
        item.buffer += event["delta"]

    def _toolDone(self, event: dict[str, Any], where: str) -> None:
        item = self._openItem(event, where, SUB_EVENT_ITEM[event["type"]])
        key = "arguments" if item.type == "function_call" else "input"
        if item.bufferDone:
            fail(where, "second .done event for the item")
        if event[key] != item.buffer:
            fail(
                where,
                f"{key} {event[key]!r:.200} differs from the deltas {item.buffer!r:.200}",
            )
        if item.type == "function_call":
            if "name" not in event:
                fail(
                    where, "function_call_arguments.done lacks the spec-required 'name'"
                )
            if event["name"] != item.added["name"]:
                fail(
                    where,
                    f"name {event['name']!r} differs from the item's {item.added['name']!r}",
                )
        item.bufferDone = True

    _response_function_call_arguments_delta = _toolDelta
    _response_function_call_arguments_done = _toolDone
    _response_custom_tool_call_input_delta = _toolDelta
    _response_custom_tool_call_input_done = _toolDone
