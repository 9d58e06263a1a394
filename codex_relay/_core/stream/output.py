"""
The output of one response being translated: the item open now, Chat
tool-call fragments gathered into calls (by index, by id or by neither, as
each provider numbers them), and items closed into the output list, their
reasoning sealed for the next turn.  The translator reads the upstream's
chunks and numbers the events; this builds the items they describe.  No
Twisted here, and no randomness: ids come from the C{ids} it is given.
"""

import json
from typing import Any

from codex_relay._core.carrier import ReasoningCarrier
from codex_relay._core.request.translate import ChatRequest
from codex_relay._core.settings import REASONING_RAW, TranslationSettings
from codex_relay._core.stream.items import MessageItem, ReasoningItem, ToolCallItem
from codex_relay._core.stream.response import Ids


class OutputBuilder:
    """
    The output items of one response.  Each method returns the events (not
    numbered) of what it did.

    @ivar output: the items closed so far, as done.
    @ivar details: the C{reasoning_details} kept to seal into the next
        reasoning item.
    @ivar reasoningField: the Chat field reasoning came in, to go back in.
    """

    def __init__(self, chat: ChatRequest, settings: TranslationSettings, model: object,
                 ids: Ids, warnings: list[str]) -> None:
        """
        @param warnings: where oddities worth a log line go (the
            translator's).
        """
        self._chat = chat
        self._settings = settings
        self._carrier = ReasoningCarrier(settings.secret)
        self._model = model
        self._ids = ids
        self._warnings = warnings
        self.output: list[dict[str, Any]] = []
        self._open: MessageItem | ReasoningItem | ToolCallItem | None = None
        self._calls: dict[int, _PendingCall] = {}
        self._lastCall: _PendingCall | None = None
        self._callIds: set[str] = set()
        self.details = _ReasoningDetails()
        self.reasoningField = "reasoning_content"

    def nextCallIndex(self) -> int:
        """
        A Chat index no call has yet.
        """
        return max(self._calls) + 1 if self._calls else 0

    def _switchTo(self, kind: str) -> list[dict[str, Any]]:
        """
        Close the open item unless it is of C{kind}.
        """
        if self._open is not None and self._open.kind != kind:
            return self._closeItem("completed")
        return []

    def reasoningDelta(self, text: str) -> list[dict[str, Any]]:
        events = self._switchTo("reasoning")
        item = self._open
        if not isinstance(item, ReasoningItem):
            item = self._open = ReasoningItem(
                len(self.output), self._ids("rs_"),
                self._settings.reasoningPresentation == REASONING_RAW)
            events.extend(item.open())
        events.extend(item.delta(text))
        return events

    def messageDelta(self, partType: str, text: str) -> list[dict[str, Any]]:
        events = self._switchTo("message")
        item = self._open
        if not isinstance(item, MessageItem):
            item = self._open = MessageItem(len(self.output), self._ids("msg_"))
            events.extend(item.open())
        events.extend(item.delta(partType, text))
        return events

    def toolFragment(self, fragment: dict[str, Any]) -> list[dict[str, Any]]:
        function = fragment.get("function") or {}
        upstreamId = fragment.get("id") or None
        index = fragment.get("index")
        if index is None:
            # No index (Gemini-style): a new id starts a call, none continues one.
            last = self._lastCall
            if last is None or (upstreamId is not None and upstreamId != last.upstreamId):
                index = self.nextCallIndex()
            else:
                index = last.chatIndex
        call = self._calls.get(index)
        if call is not None and upstreamId and call.upstreamId and upstreamId != call.upstreamId:
            call = None  # the same index reused with a new id (Ollama): a second call
        events: list[dict[str, Any]] = []
        if call is None:
            events.extend(self._switchTo("none"))
            call = _PendingCall(index, upstreamId)
            self._calls[index] = call
            self._lastCall = call
        if upstreamId and not call.upstreamId:
            call.upstreamId = upstreamId
        name = function.get("name")
        if name and not call.name:
            call.name = name
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            arguments = json.dumps(arguments)  # some servers send parsed objects
        if call.item is None and call.name:
            events.extend(self._openCall(call))
        if arguments:
            if call.item is None:
                call.buffered.append(arguments)
            elif call.item is self._open:
                events.extend(call.item.delta(arguments))
            else:
                self._warnings.append(
                    "arguments for an already closed tool call were dropped")
        return events

    def _openCall(self, call: "_PendingCall") -> list[dict[str, Any]]:
        events = self._closeItem("completed")
        callId = call.upstreamId
        if not callId or callId in self._callIds:
            callId = self._ids("call_")
        self._callIds.add(callId)
        ref = self._chat.toolMap.lookup(call.name)
        itemId = self._ids("ctc_" if ref.kind == "custom" else "fc_")
        item = ToolCallItem(len(self.output), itemId, callId, ref, call.name)
        call.item = item
        self._open = item
        events.extend(item.open())
        for fragment in call.buffered:
            events.extend(item.delta(fragment))
        call.buffered = []
        return events

    def close(self, status: str) -> list[dict[str, Any]]:
        """
        Close the open item, and give calls whose name never came an item of
        their own, so that nothing the upstream sent is lost.
        """
        events = self._closeItem(status)
        for call in self._calls.values():
            if call.item is None and call.buffered:
                call.name = call.name or "unknown"
                events.extend(self._openCall(call))
                events.extend(self._closeItem(status))
        return events

    def _closeItem(self, status: str) -> list[dict[str, Any]]:
        item = self._open
        if item is None:
            return []
        self._open = None
        if isinstance(item, ReasoningItem):
            flushed = item.flush()  # its text is final only then
            events, done = item.close(status, self._seal(item.text))
            events = flushed + events
        else:
            events, done = item.close(status)
        events.append({"type": "response.output_item.done",
                       "output_index": item.outputIndex, "item": done})
        self.output.append(done)
        return events

    def _seal(self, text: str) -> str | None:
        if not self._chat.includeEncryptedReasoning:
            return None
        details = self.details.take()
        return self._carrier.seal({
            "v": 1, "model": self._model, "field": self.reasoningField,
            "text": text, "details": details or None, "origin": self._settings.origin,
        })


class _PendingCall:
    """
    An upstream tool call, known by its Chat index; its item opens once its
    name is known.
    """

    __slots__ = ("chatIndex", "upstreamId", "name", "item", "buffered")

    def __init__(self, chatIndex: int, upstreamId: str | None) -> None:
        self.chatIndex = chatIndex
        self.upstreamId = upstreamId
        self.name: str = ""
        self.item: ToolCallItem | None = None
        self.buffered: list[str] = []


_DETAIL_TEXTS = frozenset(("text", "summary", "data"))


class _ReasoningDetails:
    """
    Streamed C{reasoning_details} fragments, merged by their C{index} and
    C{type} with the text fields joined, so they can go back upstream whole.
    Linear: fragments find their detail by key, and text parts are joined
    once, in L{take}.
    """

    __slots__ = ("_kept", "_byKey", "_parts")

    def __init__(self) -> None:
        self._kept: list[dict[str, Any]] = []
        self._byKey: dict[tuple[Any, Any], dict[str, Any]] = {}
        # The text parts of a field, by (id of the detail, field name).
        self._parts: dict[tuple[int, str], tuple[dict[str, Any], list[str]]] = {}

    def merge(self, fragments: list[Any]) -> None:
        for fragment in fragments:
            if not isinstance(fragment, dict):
                continue
            index = fragment.get("index")
            key = (index, fragment.get("type"))
            try:
                target = self._byKey.get(key) if index is not None else None
            except TypeError:
                target, index = None, None  # an unhashable index or type: never merged
            if target is None:
                target = dict(fragment)
                self._kept.append(target)
                if index is not None:
                    self._byKey[key] = target
                continue
            for name, value in fragment.items():
                if name in _DETAIL_TEXTS and isinstance(value, str):
                    where = (id(target), name)
                    entry = self._parts.get(where)
                    if entry is None:
                        current = target.get(name)
                        entry = self._parts[where] = (
                            target, [current] if isinstance(current, str) else [])
                    entry[1].append(value)
                elif value is not None:
                    target[name] = value
                    self._parts.pop((id(target), name), None)

    def take(self) -> list[dict[str, Any]]:
        """
        The merged details, their text joined; the merger starts afresh.
        """
        for (_, name), (target, parts) in self._parts.items():
            target[name] = "".join(parts)
        kept = self._kept
        self._kept, self._byKey, self._parts = [], {}, {}
        return kept
