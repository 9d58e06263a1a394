"""
Chat Completions chunks in, Responses stream events out: reading each
provider's chunks (where it puts reasoning, errors and usage), numbering
the events, and the lifecycle from the opening events to the one terminal
event.  The items themselves are built by L{OutputBuilder}.  Also serves
non-streaming answers: a whole completion is fed as one chunk, so both paths
produce the same shapes.  No Twisted here, and neither clock nor randomness:
ids and the time come from the C{ids} and C{clock} it is given.
"""

import json
from collections.abc import Callable
from typing import Any

from codex_relay._core.errors import classifyFailure, retryAfterSeconds
from codex_relay._core.request.translate import ChatRequest
from codex_relay._core.stream.output import OutputBuilder
from codex_relay._core.stream.response import (
    Clock, Ids, estimateUsage, mapUsage, responseSkeleton)
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.sse import SSEEvent

_TERMINAL = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}


class StreamTranslator:
    """
    One response being translated.  Feed it upstream chunks; it returns the
    Responses events (dicts, numbered) to send, and ends with exactly one
    terminal event.

    @ivar finished: whether the terminal event has been produced: set only
        once it exists, so that after a fault on the way to it L{fail} still
        makes one.
    @ivar terminal: the terminal event, once produced.
    @ivar response: the latest Response object (the terminal one once
        finished).
    @ivar warnings: oddities worth a log line.
    """

    def __init__(
        self,
        request: dict[str, Any],
        chat: ChatRequest,
        settings: TranslationSettings,
        responseId: str | None = None,
        createdAt: int | None = None,
        contentFilter: Any = None,
        *,
        ids: Ids,
        clock: Clock,
    ) -> None:
        """
        @param contentFilter: heals content text before it becomes output
            (inline reasoning tags, leaked tool-call markup): an object with
            C{feed(text)} and C{flush()} returning L{Piece}s, or L{None}.
        @param ids: makes a fresh id from a prefix (C{"msg_"}, C{"call_"}).
        @param clock: the time, in whole seconds: C{created_at} (unless
            C{createdAt} is given) and C{completed_at}.
        """
        self._chat = chat
        self._contentFilter = contentFilter
        self._settings = settings
        self._ids = ids
        self._clock = clock
        self.warnings: list[str] = []
        self._items = OutputBuilder(chat, settings, request.get("model"), ids, self.warnings)
        self.response = responseSkeleton(
            request, responseId or ids("resp_"),
            clock() if createdAt is None else createdAt)
        self._sequence = 0
        self._usage: dict[str, Any] | None = None
        self._finishReason: str | None = None
        # Upstream events that were (not) JSON objects.
        self._chunks = 0
        self._skipped = 0
        # Numbered events that go out with the terminal event, once it exists.
        self._unsent: list[dict[str, Any]] = []
        self.finished = False
        self.terminal: dict[str, Any] | None = None

    # Numbering and lifecycle.

    def _number(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for event in events:
            event["sequence_number"] = self._sequence
            self._sequence += 1
        return events

    @property
    def nextSequence(self) -> int:
        """
        The sequence number the next event gets: what an event made outside
        the translator (a last-resort C{response.failed}) goes on from.
        """
        return self._sequence

    def start(self) -> list[dict[str, Any]]:
        """
        The two events that open every stream.
        """
        return self._number([
            {"type": "response.created", "response": self.response},
            {"type": "response.in_progress", "response": self.response},
        ])

    # Upstream input.

    def feedEvent(self, event: SSEEvent) -> list[dict[str, Any]]:
        """
        Translate one upstream SSE event.
        """
        if self.finished:
            return []
        data = event.data
        if data == "[DONE]":
            return self.finish(doneMarker=True)
        try:
            chunk = _loads(data)
        except (ValueError, RecursionError):
            self._skipped += 1
            return []
        if not isinstance(chunk, dict):
            self._skipped += 1
            return []
        self._chunks += 1
        if event.event == "error" and "error" not in chunk:
            chunk = {"error": chunk}
        return self.feedChunk(chunk)

    def feedChunk(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        """
        Translate one parsed Chat chunk (or a whole completion's choice,
        shaped as a chunk).
        """
        if self.finished:
            return []
        error = chunk.get("error")
        if error or chunk.get("object") == "error":
            if isinstance(error, str):  # xAI: {"code": ..., "error": "message"}
                error = {"message": error, "code": chunk.get("code")}
            return self._upstreamError(error if isinstance(error, dict) else chunk)
        usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage")
        if usage and isinstance(usage, dict):
            self._usage = usage
        choices = chunk.get("choices")
        if not choices:
            return []
        choice = choices[0]
        if not isinstance(choice, dict):
            return []
        if isinstance(choice.get("usage"), dict):
            self._usage = choice["usage"]  # Kimi puts it in the choice
        delta = choice.get("delta") or choice.get("message") or {}
        events: list[dict[str, Any]] = []
        if delta:
            self._translateDelta(delta, events)
        finish = choice.get("finish_reason")
        if finish:
            if finish == "error":
                self._hold(events)
                return self._upstreamError(chunk.get("error") or {})
            else:
                self._finishReason = finish
                events.extend(self._closeOpen(self._itemStatus()))
        return self._number(events)

    def _translateDelta(self, delta: dict[str, Any], events: list[dict[str, Any]]) -> None:
        reasoning = self._reasoningText(delta)
        if reasoning:
            events.extend(self._items.reasoningDelta(reasoning))
        content = delta.get("content")
        if content:
            if isinstance(content, str):
                if self._contentFilter is None:
                    events.extend(self._items.messageDelta("output_text", content))
                else:
                    events.extend(self._pieces(self._contentFilter.feed(content)))
            elif isinstance(content, list):
                self._contentParts(content, events)
        refusal = delta.get("refusal")
        if refusal and isinstance(refusal, str):
            events.extend(self._items.messageDelta("refusal", refusal))
        toolCalls = delta.get("tool_calls")
        if toolCalls:
            for fragment in toolCalls:
                if isinstance(fragment, dict):
                    events.extend(self._items.toolFragment(fragment))
        functionCall = delta.get("function_call")
        if isinstance(functionCall, dict):
            events.extend(self._items.toolFragment({"index": 0, "function": functionCall}))

    def _pieces(self, pieces: list[Any]) -> list[dict[str, Any]]:
        """
        The events for what the content filter made of some content text.
        """
        events: list[dict[str, Any]] = []
        for piece in pieces:
            if piece.kind == "text":
                events.extend(self._items.messageDelta("output_text", piece.text))
            elif piece.kind == "reasoning":
                events.extend(self._items.reasoningDelta(piece.text))
            else:
                index = self._items.nextCallIndex()
                events.extend(self._items.toolFragment({
                    "index": index, "id": self._ids("call_"),
                    "function": {"name": piece.name, "arguments": piece.arguments}}))
        return events

    def _contentParts(self, parts: list[Any], events: list[dict[str, Any]]) -> None:
        # Mistral streams content as typed chunks, thinking among them.
        for part in parts:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "thinking":
                thinking = part.get("thinking")
                text = "".join(
                    t.get("text", "") for t in thinking if isinstance(t, dict)
                ) if isinstance(thinking, list) else str(thinking or "")
                if text:
                    events.extend(self._items.reasoningDelta(text))
            elif isinstance(part.get("text"), str) and part["text"]:
                events.extend(self._items.messageDelta("output_text", part["text"]))

    def _reasoningText(self, delta: dict[str, Any]) -> str:
        """
        Reasoning from whichever field the provider uses; C{reasoning_details}
        are also kept verbatim to send back.
        """
        details = delta.get("reasoning_details")
        if details and isinstance(details, list) and self._chat.includeEncryptedReasoning:
            self._items.details.merge(details)  # only the carrier takes them back
        text = delta.get("reasoning_content")
        if text and isinstance(text, str):
            self._items.reasoningField = "reasoning_content"
            return text
        text = delta.get("reasoning")
        if isinstance(text, dict):
            text = text.get("text") or text.get("content")
        if text and isinstance(text, str):
            self._items.reasoningField = "reasoning"
            return text
        if details and isinstance(details, list):
            text = "".join(
                d.get("text") or d.get("summary") or ""
                for d in details if isinstance(d, dict)
                and isinstance(d.get("text") or d.get("summary") or "", str)
            )
            if text:
                # A signature-only fragment must not change where text goes back.
                self._items.reasoningField = "reasoning_details"
            return text
        return ""

    def _closeOpen(self, status: str) -> list[dict[str, Any]]:
        """
        Close the open item, once what the content filter still holds is
        out, and give calls whose name never came items of their own.
        """
        events = []
        if self._contentFilter is not None:
            events.extend(self._pieces(self._contentFilter.flush()))
        events.extend(self._items.close(status))
        return events

    # The end.

    def _itemStatus(self) -> str:
        if self._finishReason in ("length", "content_filter"):
            return "incomplete"
        return "completed"

    def finish(self, doneMarker: bool = False) -> list[dict[str, Any]]:
        """
        The upstream stream ended (C{[DONE]}, or EOF when C{doneMarker} is
        false): close the open item and produce the terminal event.
        """
        if self.finished:
            return []
        if self._skipped and not self._chunks:
            # Nothing the upstream sent was a chunk: not an empty answer.
            return self.fail("server_error", "The upstream sent no Chat Completions chunks: "
                             "its {} event(s) were not JSON objects.".format(self._skipped))
        if self._finishReason is None and not doneMarker:
            return self.fail("server_error",
                             "The upstream stream ended before the response was complete.")
        self._hold(self._closeOpen(self._itemStatus()))
        reason = self._finishReason
        if reason == "content_filter" and self._settings.contentFilterAsFailed:
            return self.fail(
                "invalid_prompt",
                "The upstream provider's content filter stopped the response "
                "(finish_reason: content_filter).")
        if reason == "length" and not self._settings.lengthAsCompleted:
            return self._terminal(
                "incomplete", incomplete_details={"reason": "max_output_tokens"})
        if reason == "content_filter":
            return self._terminal(
                "incomplete", incomplete_details={"reason": "content_filter"})
        return self._terminal("completed", completed_at=self._clock())

    def fail(self, code: str, message: str) -> list[dict[str, Any]]:
        """
        End the response with C{response.failed}, closing any open item as
        incomplete.
        """
        if self.finished:
            return []
        self._hold(self._closeOpen("incomplete"))
        return self._terminal("failed", error={"code": code, "message": message})

    def _upstreamError(self, error: dict[str, Any]) -> list[dict[str, Any]]:
        message = error.get("message") or "The upstream reported an error mid-stream."
        if not isinstance(message, str):
            message = json.dumps(message)
        code = error.get("code")
        kind = classifyFailure(message, str(code) if code is not None else None)
        if kind == "rate_limit_exceeded" and "try again in" not in message.lower():
            # Codex reads its retry delay from exactly this phrase.
            message = "{} Please try again in {}s.".format(
                message, retryAfterSeconds(message))
        return self.fail(kind, message)

    def _hold(self, events: list[dict[str, Any]]) -> None:
        """
        Number C{events}, which go out with the terminal event: kept until
        it exists, so that a fault in between loses none of them.
        """
        self._unsent.extend(self._number(events))

    def _terminal(self, status: str, **fields: object) -> list[dict[str, Any]]:
        """
        The events held for the terminal event, and it; only now is the
        translator L{finished}.
        """
        usage = None
        if self._usage is not None:
            try:
                usage = mapUsage(self._usage)
            except Exception:
                if status != "failed":
                    raise
                # Telling of the failure matters more than odd usage.
        elif status != "failed":
            usage = estimateUsage(self._chat.body, self._items.output)
        if self._skipped:
            self.warnings.append(
                "skipped {} upstream event(s) that are not JSON objects".format(self._skipped))
        response = dict(self.response, status=status, output=self._items.output,
                        usage=usage, **fields)
        [terminal] = self._number([{"type": _TERMINAL[status], "response": response}])
        events, self._unsent = self._unsent, []
        events.append(terminal)
        self.response = response
        self.terminal = terminal
        self.finished = True
        return events

    @property
    def usage(self) -> dict[str, Any] | None:
        return self.response.get("usage")


# The C scanner json.loads ends in.
_scan: Callable[[str, int], tuple[Any, int]] = (
    json.JSONDecoder().scan_once)  # type: ignore[attr-defined]  # set in __init__


def _loads(data: str) -> Any:
    """
    C{json.loads(data)}, in half the time for the usual chunk: one JSON
    value with nothing around it goes straight to the C scanner.
    """
    try:
        value, end = _scan(data, 0)
    except StopIteration:
        return json.loads(data)  # leading space, or not JSON: loads says which
    if end != len(data):
        return json.loads(data)
    return value
