"""
The doctor's probes, without any I/O: the two requests it sends (a short
streamed answer and one trivial tool call), built the way the relay itself
would send them, and what an answer shows (L{StreamFindings}).
"""

import json
from dataclasses import dataclass, field
from typing import Any


from codex_relay._providers.adapt import adaptRequest, contentFilter
from codex_relay._core.request.translate import ChatRequest, translateRequest
from codex_relay._providers.routes import Route, RoutingTable, Upstream, routeTo
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.sse import SSEDecoder, SSEEvent
from codex_relay._core.stream.translator import StreamTranslator
from codex_relay._web.ids import newId, now

OK = "ok"
WARN = "warn"
FAIL = "FAIL"
INFO = "info"
SKIP = "skip"

STREAM_PROMPT = "Reply with the single word: ok"
STREAM_MAX_TOKENS = 16
TOOL_PROMPT = "What time is it? Call the get_time tool to find out."
TOOL_MAX_TOKENS = 64
TOOL_NAME = "get_time"
GET_TIME = {
    "type": "function",
    "name": TOOL_NAME,
    "description": "The current time.",
    "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    "strict": False,
}

_THINK_OPENERS = ("<think>", "\u25c1think\u25b7")
BASE_URL_STEP = ("check the base URL (--upstream or base_url): it is the root that "
                  "/chat/completions and /models are under, often ending in /v1")


# -- The probe requests -----------------------------------------------------------


def streamRequest(model: str) -> dict[str, Any]:
    """
    The Responses request of the streaming probe.
    """
    return {"model": model, "input": STREAM_PROMPT, "stream": True,
            "max_output_tokens": STREAM_MAX_TOKENS, "reasoning": {"effort": "low"}}


def toolRequest(model: str) -> dict[str, Any]:
    """
    The Responses request of the tool probe: one trivial tool, called (or
    not) as Codex would let the model choose.
    """
    return {"model": model, "input": TOOL_PROMPT, "stream": True,
            "max_output_tokens": TOOL_MAX_TOKENS, "tools": [dict(GET_TIME)],
            "tool_choice": "auto"}


@dataclass
class Probe:
    """
    One probe: the Responses request and the Chat request the relay would
    send upstream for it.

    @ivar notes: what the profile or route changed, worth a mention.
    """

    request: dict[str, Any]
    chat: ChatRequest
    route: Route
    notes: list[str] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        return json.dumps(self.chat.body).encode("utf-8")


def buildProbe(request: dict[str, Any], route: Route, settings: TranslationSettings) -> Probe:
    """
    Translate C{request} and adapt it to C{route}, as the relay would.
    """
    chat = translateRequest(request, settings)
    notes = adaptRequest(
        chat.body, route.profile, route.upstreamModel, extraParams=route.extraParams,
        dropParams=route.dropParams, withholdTools=route.withholdTools, heal=route.heal,
        maxTokensField=settings.maxTokensField, reasoningField=settings.reasoningField)
    return Probe(request, chat, route, chat.warnings + notes)


def probeRoute(table: RoutingTable, upstream: Upstream, listed: list[str],
               model: str | None) -> Route | None:
    """
    The route a probe of C{upstream} takes: C{model} when it routes there,
    else the first model the upstream listed, under the name a client
    would use; L{None} when there is nothing to probe.
    """
    if model:
        route = table.route(model)
        if route is not None and route.upstream is upstream:
            return route
        if not listed:
            return routeTo(upstream, model)
    for name in table.listedModels(upstream.name, listed):
        route = table.route(name)
        if route is not None and route.upstream is upstream:
            return route
    return routeTo(upstream, listed[0]) if listed else None


# -- Reading an answer into findings --------------------------------------------------


def jsonOrNone(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


class StreamFindings:
    """
    A Chat answer (an SSE stream, or a whole completion) read two ways: raw,
    for the provider's own fields, and through the relay's stream
    translator, for what Codex would receive.

    @ivar reasoningFields: the reasoning fields seen, in order.
    @ivar usage: the last C{usage} object seen.
    @ivar toolCalls: the raw tool calls by index: C{id}, C{name},
        C{arguments}.
    @ivar error: an error the upstream reported inside the answer.
    @ivar brokenOff: why the body ended early, if it did.
    @ivar whole: the answer was a whole completion, not a stream.
    """

    def __init__(self, probe: Probe, settings: TranslationSettings) -> None:
        self._decoder = SSEDecoder()
        self._translator = StreamTranslator(
            probe.request, probe.chat, settings,
            contentFilter=contentFilter(probe.route.profile, probe.route.heal),
            ids=newId, clock=now)
        self.chunks = 0
        self.notJSON = 0
        self.done = False
        self.whole = False
        self.closed = False
        self.brokenOff: str | None = None
        self.content = ""
        self.reasoningFields: list[str] = []
        self.finishReason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.toolCalls: dict[int, dict[str, Any]] = {}
        self.error: str | None = None

    # Input.

    def feed(self, data: bytes) -> None:
        """
        Some bytes of an SSE body.
        """
        for event in self._decoder.feed(data):
            self._event(event)

    def feedCompletion(self, data: bytes) -> None:
        """
        A whole (non-streamed) completion's body.
        """
        self.whole = True
        completion = jsonOrNone(data.decode("utf-8", "replace"))
        if not isinstance(completion, dict):
            self.notJSON += 1
            return
        self._chunk(completion)
        self._translator.feedChunk(completion)
        self.done = True

    def close(self, brokenOff: str | None = None) -> None:
        """
        The body ended; C{brokenOff} says why, if it ended early.
        """
        if self.closed:
            return
        self.closed = True
        for event in self._decoder.close():
            self._event(event)
        self.brokenOff = brokenOff
        if brokenOff is not None:
            self._translator.fail("server_error", brokenOff)
        else:
            self._translator.finish(doneMarker=self.done)

    def _event(self, event: SSEEvent) -> None:
        if event.data == "[DONE]":
            self.done = True
        else:
            chunk = jsonOrNone(event.data)
            if isinstance(chunk, dict):
                if event.event == "error" and "error" not in chunk:
                    chunk = {"error": chunk}
                self._chunk(chunk)
            else:
                self.notJSON += 1
        self._translator.feedEvent(event)

    def _chunk(self, chunk: dict[str, Any]) -> None:
        error = chunk.get("error")
        if error or chunk.get("object") == "error":
            found = error if isinstance(error, dict) else chunk
            self.error = str(found.get("message") or json.dumps(found))[:300]
            return
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return
        self.chunks += 1
        choice = choices[0]
        delta = choice.get("delta") or choice.get("message") or {}
        if isinstance(delta, dict):
            self._delta(delta)
        if choice.get("finish_reason"):
            self.finishReason = str(choice["finish_reason"])

    def _sawReasoning(self, name: str) -> None:
        if name not in self.reasoningFields:
            self.reasoningFields.append(name)

    def _delta(self, delta: dict[str, Any]) -> None:
        if isinstance(delta.get("reasoning_content"), str) and delta["reasoning_content"]:
            self._sawReasoning("reasoning_content")
        reasoning = delta.get("reasoning")
        if isinstance(reasoning, dict):
            reasoning = reasoning.get("text") or reasoning.get("content")
        if isinstance(reasoning, str) and reasoning:
            self._sawReasoning("reasoning")
        if isinstance(delta.get("reasoning_details"), list) and delta["reasoning_details"]:
            self._sawReasoning("reasoning_details")
        content = delta.get("content")
        if isinstance(content, str):
            self.content += content
            if any(opener in self.content for opener in _THINK_OPENERS):
                self._sawReasoning("<think> in content")
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict):
                    if part.get("type") == "thinking":
                        self._sawReasoning("thinking content parts")
                    elif isinstance(part.get("text"), str):
                        self.content += part["text"]
        for fragment in delta.get("tool_calls") or ():
            if not isinstance(fragment, dict):
                continue
            index = fragment.get("index")
            if not isinstance(index, int):
                index = max(self.toolCalls) + 1 if self.toolCalls and fragment.get("id") \
                    else max(self.toolCalls, default=0)
            call = self.toolCalls.setdefault(index, {"id": None, "name": "", "arguments": ""})
            function = fragment.get("function") or {}
            if fragment.get("id") and not call["id"]:
                call["id"] = fragment["id"]
            if isinstance(function.get("name"), str) and not call["name"]:
                call["name"] = function["name"]
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                call["arguments"] += arguments
            elif arguments is not None:
                call["arguments"] += json.dumps(arguments)

    # What Codex would receive.

    @property
    def response(self) -> dict[str, Any]:
        """
        The translated Response (terminal once L{close}d).
        """
        return self._translator.response

    @property
    def status(self) -> str:
        return str(self.response.get("status"))

    def _items(self, kind: str) -> list[dict[str, Any]]:
        return [item for item in self.response.get("output") or ()
                if item.get("type") == kind]

    @property
    def text(self) -> str:
        return "".join(part.get("text") or part.get("refusal") or ""
                       for item in self._items("message")
                       for part in item.get("content") or ())

    @property
    def reasoningText(self) -> str:
        return "".join(
            part.get("text") or ""
            for item in self._items("reasoning")
            for part in (item.get("summary") or []) + (item.get("content") or []))

    @property
    def calls(self) -> list[dict[str, Any]]:
        """
        The C{function_call} items Codex would receive.
        """
        return self._items("function_call")

    @property
    def failure(self) -> str | None:
        """
        The translated Response's error message, if it failed.
        """
        if self.status != "failed":
            return None
        return str((self.response.get("error") or {}).get("message") or "failed")

