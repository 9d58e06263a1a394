"""
An output item a passed-through upstream opened and has not closed yet,
watched as its events go by: what it takes to close it as incomplete (its
open part, its text so far, its call's buffer) when the stream must end
before the upstream closed it.  No Twisted here;
L{codex_relay._core.stream.passthrough.PassthroughStream} keeps one.
"""

from typing import Any

# The text sub-events of a part, by its type: the event prefix and the field.
_PART_TEXT = {
    "output_text": ("response.output_text", "text"),
    "refusal": ("response.refusal", "refusal"),
    "reasoning_text": ("response.reasoning_text", "text"),
    "summary_text": ("response.reasoning_summary_text", "text"),
}
_TEXT_DELTAS = frozenset(prefix + ".delta" for prefix, _ in _PART_TEXT.values())
_TEXT_DONES = frozenset(prefix + ".done" for prefix, _ in _PART_TEXT.values())
# A call's streamed buffer: the item field and the event prefix.
_BUFFERS = {
    "function_call": ("arguments", "response.function_call_arguments"),
    "custom_tool_call": ("input", "response.custom_tool_call_input"),
}
_BUFFER_DELTAS = frozenset(prefix + ".delta" for _, prefix in _BUFFERS.values())
_BUFFER_DONES = frozenset(prefix + ".done" for _, prefix in _BUFFERS.values())
# The item types whose status may say "incomplete".
_STATUS_TYPES = ("message", "reasoning", "function_call", "custom_tool_call")


class OpenItem:
    """
    The output item the upstream opened and has not closed yet: what it
    takes to close it.
    """

    def __init__(self, index: object, item: dict[str, Any]) -> None:
        self.index = index
        self.item = item
        self.id = item.get("id")
        self.parts: dict[str, list[dict[str, Any]]] = {"content": [], "summary": []}
        # The open part: its kind ("content" or "summary"), index, added
        # part, text so far, and whether its text's .done came.  Text in
        # lists, joined once at close: += on an attribute copies every time.
        self.part: tuple[str, object, dict[str, Any]] | None = None
        self.text: list[str] = []
        self.textDone = False
        self.buffer: list[str] = []
        self.bufferDone = False

    def watch(self, kind: str, data: dict[str, Any]) -> None:
        part = data.get("part")
        if kind in ("response.content_part.added", "response.reasoning_summary_part.added"):
            if isinstance(part, dict):
                where = "content" if kind == "response.content_part.added" else "summary"
                self.part = (where, data.get(where + "_index"), part)
                self.text, self.textDone = [], False
        elif kind in ("response.content_part.done", "response.reasoning_summary_part.done"):
            if self.part is not None and isinstance(part, dict):
                self.parts[self.part[0]].append(part)
            self.part = None
        elif kind in _TEXT_DELTAS:
            if isinstance(data.get("delta"), str):
                self.text.append(data["delta"])
        elif kind in _TEXT_DONES:
            self.textDone = True
        elif kind in _BUFFER_DELTAS:
            if isinstance(data.get("delta"), str):
                self.buffer.append(data["delta"])
        elif kind in _BUFFER_DONES:
            self.bufferDone = True

    def close(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """
        The events that close the item as incomplete, and the item.
        """
        events: list[dict[str, Any]] = []
        at = {"item_id": self.id, "output_index": self.index}
        if self.part is not None:
            where, index, part = self.part
            prefix, field = _PART_TEXT.get(str(part.get("type")), ("", "text"))
            key = where + "_index"
            text = "".join(self.text)
            if prefix and not self.textDone:
                done = {"type": prefix + ".done", **at, key: index, field: text}
                if part.get("type") == "output_text":
                    done["logprobs"] = []
                events.append(done)
            part = dict(part, **{field: text}) if prefix else part
            events.append({"type": "response.content_part.done" if where == "content"
                           else "response.reasoning_summary_part.done",
                           **at, key: index, "part": part})
            self.parts[where].append(part)
        kind = self.item.get("type")
        item = dict(self.item)
        if kind in _STATUS_TYPES:
            item["status"] = "incomplete"
        if kind == "message":
            item["content"] = self.parts["content"]
        elif kind == "reasoning":
            item["summary"] = self.parts["summary"]
            if self.parts["content"]:
                item["content"] = self.parts["content"]
        elif kind in _BUFFERS:
            field, prefix = _BUFFERS[kind]
            buffer = "".join(self.buffer)
            if not self.bufferDone:
                done = {"type": prefix + ".done", **at, field: buffer}
                if kind == "function_call":
                    done["name"] = self.item.get("name")
                events.append(done)
            item[field] = buffer
        events.append({"type": "response.output_item.done", "output_index": self.index,
                       "item": item})
        return events, item
