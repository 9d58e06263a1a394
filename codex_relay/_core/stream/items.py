"""
The output items a response streams, one class per item type.  Each open
item turns upstream deltas into Responses events and, when closed, into its
done events and final item.  Events are plain dicts without
C{sequence_number}; the translator numbers them, and gives each item its
id.  No Twisted here.

Text goes out whole: a surrogate pair split across two upstream fragments
(C{"\\ud83d"} then C{"\\ude00"}) is joined by holding a trailing high
surrogate back until the next fragment of the same text, and a surrogate
that stays lone becomes U+FFFD (at the latest when its text closes).
serde_json, so Codex, refuses lone surrogates.
"""

from typing import Any
import json

from codex_relay._core.stream.custom_input import InputStringDecoder, customInput
from codex_relay._core.sse import SURROGATE, holdSurrogate, wholeText
from codex_relay._core.request.toolmap import ToolRef

# What a high surrogate that never met its low half becomes.
_REPLACEMENT = "\ufffd"
# Called on every non-ASCII delta: bound once.
_surrogate = SURROGATE.search


class MessageItem:
    """
    An assistant message: C{output_text} and C{refusal} parts, one at a time.
    """

    kind = "message"

    def __init__(self, outputIndex: int, itemId: str) -> None:
        self.id = itemId
        self.outputIndex = outputIndex
        self._parts: list[dict[str, Any]] = []
        self._partType = ""
        self._buffer: list[str] = []
        self._high = ""

    def open(self) -> list[dict[str, Any]]:
        return [{
            "type": "response.output_item.added",
            "output_index": self.outputIndex,
            "item": {"id": self.id, "type": "message", "status": "in_progress",
                     "role": "assistant", "content": []},
        }]

    def delta(self, partType: str, text: str) -> list[dict[str, Any]]:
        events = []
        if partType != self._partType:
            events.extend(self._closePart())
            self._partType = partType
            events.append({
                "type": "response.content_part.added",
                "item_id": self.id,
                "output_index": self.outputIndex,
                "content_index": len(self._parts),
                "part": _part(partType, ""),
            })
        if self._high or (not text.isascii() and _surrogate(text) is not None):
            text, self._high = holdSurrogate(self._high + text)
            if not text:
                return events
        self._buffer.append(text)
        event: dict[str, Any] = {
            "type": "response.output_text.delta" if partType == "output_text"
            else "response.refusal.delta",
            "item_id": self.id,
            "output_index": self.outputIndex,
            "content_index": len(self._parts),
            "delta": text,
        }
        if partType == "output_text":
            event["logprobs"] = []
        events.append(event)
        return events

    def _closePart(self) -> list[dict[str, Any]]:
        if not self._partType:
            return []
        events: list[dict[str, Any]] = []
        if self._high:
            self._high = ""
            events = self.delta(self._partType, _REPLACEMENT)
        text = "".join(self._buffer)
        part = _part(self._partType, text)
        common = {"item_id": self.id, "output_index": self.outputIndex,
                  "content_index": len(self._parts)}
        if self._partType == "output_text":
            done = {"type": "response.output_text.done", **common, "text": text,
                    "logprobs": []}
        else:
            done = {"type": "response.refusal.done", **common, "refusal": text}
        self._parts.append(part)
        self._partType = ""
        self._buffer = []
        events += [done, {"type": "response.content_part.done", **common, "part": part}]
        return events

    def close(self, status: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        events = self._closePart()
        item = {"id": self.id, "type": "message", "status": status,
                "role": "assistant", "content": self._parts}
        return events, item


def _part(partType: str, text: str) -> dict[str, Any]:
    if partType == "output_text":
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "refusal", "refusal": text}


class ReasoningItem:
    """
    Provider reasoning, shown as summary text (Codex displays it) or as raw
    C{reasoning_text}; C{encrypted_content} carries it back on the next turn.
    """

    kind = "reasoning"

    def __init__(self, outputIndex: int, itemId: str, raw: bool) -> None:
        self.id = itemId
        self.outputIndex = outputIndex
        self._raw = raw
        self._buffer: list[str] = []
        self._high = ""

    def open(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"id": self.id, "type": "reasoning", "summary": []}
        common = {"item_id": self.id, "output_index": self.outputIndex}
        if self._raw:
            item["content"] = []
            part = {"type": "response.content_part.added", **common, "content_index": 0,
                    "part": {"type": "reasoning_text", "text": ""}}
        else:
            part = {"type": "response.reasoning_summary_part.added", **common,
                    "summary_index": 0, "part": {"type": "summary_text", "text": ""}}
        return [{"type": "response.output_item.added", "output_index": self.outputIndex,
                 "item": item}, part]

    @property
    def text(self) -> str:
        return "".join(self._buffer)

    def delta(self, text: str) -> list[dict[str, Any]]:
        if self._high or (not text.isascii() and _surrogate(text) is not None):
            text, self._high = holdSurrogate(self._high + text)
            if not text:
                return []
        self._buffer.append(text)
        if self._raw:
            return [{"type": "response.reasoning_text.delta", "item_id": self.id,
                     "output_index": self.outputIndex, "content_index": 0,
                     "delta": text}]
        return [{"type": "response.reasoning_summary_text.delta", "item_id": self.id,
                 "output_index": self.outputIndex, "summary_index": 0, "delta": text}]

    def flush(self) -> list[dict[str, Any]]:
        """
        The delta of a held surrogate that no low half followed, if any:
        before L{text} is final.
        """
        if not self._high:
            return []
        self._high = ""
        return self.delta(_REPLACEMENT)

    def close(self, status: str, encrypted: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """
        Close the item; L{flush} first, as the translator does (before
        sealing L{text}).
        """
        events = self.flush()
        text = self.text
        common = {"item_id": self.id, "output_index": self.outputIndex}
        item: dict[str, Any] = {"id": self.id, "type": "reasoning"}
        if self._raw:
            part = {"type": "reasoning_text", "text": text}
            events += [
                {"type": "response.reasoning_text.done", **common, "content_index": 0,
                 "text": text},
                {"type": "response.content_part.done", **common, "content_index": 0,
                 "part": part},
            ]
            item["summary"] = []
            item["content"] = [part]
        else:
            part = {"type": "summary_text", "text": text}
            events += [
                {"type": "response.reasoning_summary_text.done", **common,
                 "summary_index": 0, "text": text},
                {"type": "response.reasoning_summary_part.done", **common,
                 "summary_index": 0, "part": part},
            ]
            item["summary"] = [part]
        if encrypted is not None:
            item["encrypted_content"] = encrypted
        if status != "completed":
            item["status"] = status
        return events, item


class ToolCallItem:
    """
    One Chat tool call, streamed as a C{function_call}, a
    C{custom_tool_call} or (at close) a C{local_shell_call}.  Like the other
    items, C{close} leaves the C{output_item.done} event to the translator.
    """

    kind = "tool"

    def __init__(self, outputIndex: int, itemId: str, callId: str, ref: ToolRef,
                 chatName: str) -> None:
        """
        @param itemId: a C{ctc_} id for a custom tool's call, else C{fc_}.
        """
        self.outputIndex = outputIndex
        self.callId = callId
        self.ref = ref
        self.chatName = chatName
        self._custom = ref.kind == "custom"
        self.id = itemId
        self._arguments: list[str] = []
        self._decoder = InputStringDecoder() if self._custom else None
        self._streamed: list[str] = []
        # Held surrogates: of the arguments, and of the decoded custom input.
        self._high = ""
        self._inputHigh = ""

    def _common(self) -> dict[str, Any]:
        return {"item_id": self.id, "output_index": self.outputIndex}

    def _item(self, status: str, payload: dict[str, Any]) -> dict[str, Any]:
        if self._custom:
            item = {"id": self.id, "type": "custom_tool_call", "status": status,
                    "call_id": self.callId, "name": self.ref.name, **payload}
        else:
            item = {"id": self.id, "type": "function_call", "status": status,
                    "call_id": self.callId, "name": self.ref.name, **payload}
        if self.ref.namespace is not None:
            item["namespace"] = self.ref.namespace
        return item

    def open(self) -> list[dict[str, Any]]:
        if self.ref.kind == "local_shell":
            return []  # no delta events exist for it: it is announced at close
        payload = {"input": ""} if self._custom else {"arguments": ""}
        return [{"type": "response.output_item.added", "output_index": self.outputIndex,
                 "item": self._item("in_progress", payload)}]

    def delta(self, fragment: str) -> list[dict[str, Any]]:
        if self._high or (not fragment.isascii() and _surrogate(fragment) is not None):
            fragment, self._high = holdSurrogate(self._high + fragment)
            if not fragment:
                return []
        self._arguments.append(fragment)
        if self.ref.kind == "local_shell":
            return []
        if self._decoder is None:
            return [{"type": "response.function_call_arguments.delta", **self._common(),
                     "delta": fragment}]
        decoded = self._decoder.feed(fragment)
        if self._inputHigh or (not decoded.isascii() and _surrogate(decoded) is not None):
            # The input's own \u escapes may hold lone surrogates too.
            decoded, self._inputHigh = holdSurrogate(self._inputHigh + decoded)
        if not decoded:
            return []
        self._streamed.append(decoded)
        return [{"type": "response.custom_tool_call_input.delta", **self._common(),
                 "delta": decoded}]

    def close(self, status: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if self._high:
            self._high = ""
            events = self.delta(_REPLACEMENT)
        arguments = "".join(self._arguments)
        if self.ref.kind == "local_shell":
            return self._closeLocalShell(arguments, status)
        if self._decoder is None:
            item = self._item(status, {"arguments": arguments})
            events.append({"type": "response.function_call_arguments.done",
                           **self._common(), "name": self.ref.name, "arguments": arguments})
            return events, item
        streamed = "".join(self._streamed)
        # A held surrogate of the input is in value, as U+FFFD: its delta
        # goes with the rest below.
        value = wholeText(customInput(arguments))
        if value.startswith(streamed) and len(value) > len(streamed):
            events.append({"type": "response.custom_tool_call_input.delta",
                           **self._common(), "delta": value[len(streamed):]})
        elif not value.startswith(streamed):
            value = streamed  # keep the deltas and the done value consistent
        item = self._item(status, {"input": value})
        events.append({"type": "response.custom_tool_call_input.done", **self._common(),
                       "input": value})
        return events, item

    def _closeLocalShell(self, arguments: str, status: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        try:
            parsed = json.loads(arguments)
        except ValueError:
            parsed = {}
        if not isinstance(parsed, dict):
            parsed = {}
        command = parsed.get("command")
        if isinstance(command, str):
            command = [command]
        action: dict[str, Any] = {"type": "exec", "command": command or [], "env": {}}
        if parsed.get("workdir") is not None:
            action["working_directory"] = parsed["workdir"]
        if parsed.get("timeout_ms") is not None:
            action["timeout_ms"] = parsed["timeout_ms"]
        item = {"id": self.id, "type": "local_shell_call", "status": status,
                "call_id": self.callId, "action": action}
        added = dict(item, status="in_progress")
        return [{"type": "response.output_item.added", "output_index": self.outputIndex,
                 "item": added}], item
