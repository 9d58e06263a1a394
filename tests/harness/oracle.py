"""
An independent checker for what codex-relay sends to its clients.

It implements PROTOCOL.md §5 ("Output rules") without sharing any code with
the relay, so every test layer (translator units, resource tests, loopback
tests) can hold the relay's output to the same standard:

    parseSSE(body) -> [(eventName, data), ...]   SSE framing (rules 2, 3)
    checkStream(body) -> [data, ...]             parseSSE + checkEvents
    checkEvents(events) -> terminal response     the event stream (rules 4-19)
    checkResponse(response)                      one finished Response object

Failures raise L{AssertionError} (never a bare C{assert}, so C{-O} cannot
switch the oracle off); event messages name the event's position and
C{sequence_number}.

Schema validation uses the openai SDK's own pydantic models in strict mode:
the event class is chosen by C{type} from the members of
C{openai.types.responses.ResponseStreamEvent} and validated with
C{TypeAdapter(cls).validate_python(event, strict=True)}.  What was found
about strict mode with SDK 3.57 / pydantic 2.14:

  - It works: the models use C{Literal} (not C{Enum}), plain
    C{int}/C{float}/C{str}/C{bool}, C{List}, C{Dict} and nested models, and
    strict C{validate_python} accepts dicts for nested models, C{int} for
    C{float} fields, and C{str} for C{Literal} fields.  So data freshly
    decoded from JSON validates as-is, while lax-only coercions (C{"3"} for
    an int, C{1} for a bool) are rejected.
  - The SDK's unions are tagged with its own C{PropertyInfo(discriminator=)}
    marker, which pydantic ignores: C{TypeAdapter(ResponseStreamEvent)} is a
    plain "smart" union that reports one error per member (200+ lines for an
    unknown type).  Hence the per-C{type} lookup here, which gives the same
    verdict with a readable message; output items are likewise checked one
    by one against their own class before the whole Response.
  - The models are C{extra="allow"}: unknown keys are never rejected by
    pydantic.  Rule 16 is enforced separately by walking C{model_extra}.
  - C{ResponseErrorEvent.code} is C{Optional[str]}, so the error-code enum
    (C{ResponseError.code}) is checked by hand on C{error} events.

C{allowCodexCodes=True} additionally accepts the Codex-meaningful codes
L{CODEX_CODES}: the rest of the object is still validated strictly, by
substituting an in-enum code for validation only.
"""

import copy
import json
from typing import Annotated, Any, NoReturn, get_args, get_origin

import pydantic
from openai.types.responses import (
    Response,
    ResponseCustomToolCall,
    ResponseError,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseOutputItem,
    ResponseStreamEvent,
)

__all__ = [
    "CODEX_CODES",
    "SDK_ERROR_CODES",
    "parseSSE",
    "checkStream",
    "checkEvents",
    "checkResponse",
]


def _byType(alias: Any) -> dict[str, type[pydantic.BaseModel]]:
    """
    Map each C{type} literal of a (possibly C{Annotated}) union of SDK models
    to its model class.
    """
    union = get_args(alias)[0] if get_origin(alias) is Annotated else alias
    result = {}
    for cls in get_args(union):
        for literal in get_args(cls.model_fields["type"].annotation):
            result[literal] = cls
    return result


EVENT_CLASSES = _byType(ResponseStreamEvent)
ITEM_CLASSES = _byType(ResponseOutputItem)

SDK_ERROR_CODES = frozenset(get_args(ResponseError.model_fields["code"].annotation))
CODEX_CODES = frozenset({"context_length_exceeded", "insufficient_quota"})

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
TERMINAL = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}

# Rule 16: the only SDK-unmodelled fields the relay may emit.
ALLOWED_EXTRAS: dict[type, frozenset[str]] = {
    ResponseFunctionCallArgumentsDoneEvent: frozenset({"name"}),
    ResponseCustomToolCall: frozenset({"status"}),
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

_adapters: dict[Any, pydantic.TypeAdapter[Any]] = {}


def _fail(where: str, message: str) -> NoReturn:
    raise AssertionError(f"{where}: {message}")


def _adapter(cls: Any) -> pydantic.TypeAdapter[Any]:
    if cls not in _adapters:
        _adapters[cls] = pydantic.TypeAdapter(cls)
    return _adapters[cls]


def _describe(error: pydantic.ValidationError, limit: int = 8) -> str:
    lines = []
    for e in error.errors()[:limit]:
        loc = ".".join(str(p) for p in e["loc"]) or "<root>"
        lines.append(f"  {loc}: {e['msg']} (got {e.get('input')!r:.80})")
    if error.error_count() > limit:
        lines.append(f"  ... {error.error_count() - limit} more")
    return "\n".join(lines)


def _validate(cls: Any, data: Any, where: str) -> Any:
    """
    Validate C{data} strictly against the SDK model C{cls}, then reject
    SDK-unmodelled keys (rule 16).
    """
    try:
        model = _adapter(cls).validate_python(data, strict=True)
    except pydantic.ValidationError as e:
        name = getattr(cls, "__name__", str(cls))
        raise AssertionError(
            f"{where}: does not validate strictly as the SDK's {name}:\n{_describe(e)}"
        ) from None
    extras: list[str] = []
    _findExtras(model, "", extras)
    if extras:
        _fail(where, f"fields the SDK does not model (rule 16): {', '.join(extras)}")
    return model


def _findExtras(value: Any, path: str, found: list[str]) -> None:
    if isinstance(value, pydantic.BaseModel):
        allowed = ALLOWED_EXTRAS.get(type(value), frozenset())
        for key in value.model_extra or {}:
            if key not in allowed:
                found.append(f"{path}.{key}".lstrip("."))
        for name in type(value).model_fields:
            # Echoed client tool definitions are the client's, not the relay's.
            if isinstance(value, Response) and name == "tools":
                continue
            _findExtras(getattr(value, name), f"{path}.{name}", found)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _findExtras(v, f"{path}[{i}]", found)
    elif isinstance(value, dict):
        for k, v in value.items():
            _findExtras(v, f"{path}.{k}", found)


def _withoutCodexCode(
    response: dict[str, Any], allowCodexCodes: bool
) -> dict[str, Any]:
    """
    A copy of C{response} whose Codex-only error code is replaced by an
    in-enum one, so the rest still validates strictly.
    """
    error = response.get("error")
    if allowCodexCodes and isinstance(error, dict) and error.get("code") in CODEX_CODES:
        response = copy.deepcopy(response)
        response["error"]["code"] = "server_error"
    return response


# -- SSE framing --------------------------------------------------------------


def parseSSE(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    """
    Parse the relay's SSE output strictly (PROTOCOL.md §5 rules 2 and 3).

    Accepted: blocks of exactly one C{event:} line and one single-line
    C{data:} line holding a JSON object, separated by blank lines, and
    comment-only blocks (C{: ...}).  Rejected: C{id:} or C{retry:} lines,
    other fields, blocks without data, empty data, multi-line data,
    invalid JSON, C{[DONE]}, a BOM, CR line ends, and an unterminated last
    block.

    @return: C{(event name, parsed data)} per event.
    """
    if not isinstance(body, bytes):
        raise AssertionError(f"SSE body must be bytes, not {type(body).__name__}")
    if body.startswith(b"\xef\xbb\xbf"):
        raise AssertionError("SSE body starts with a BOM")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError(f"SSE body is not UTF-8: {e}") from None
    if "\r" in text:
        raise AssertionError("SSE body has CR line ends; the relay emits LF only")
    if text and not text.endswith("\n\n"):
        raise AssertionError(
            f"last SSE block is not terminated by a blank line: {text[-80:]!r}"
        )
    events = []
    block: list[str] = []
    for line in text.split("\n"):
        if line:
            block.append(line)
            continue
        if block:
            parsed = _parseBlock(block, len(events))
            if parsed is not None:
                events.append(parsed)
            block = []
    return events


def _parseBlock(lines: list[str], number: int) -> tuple[str, dict[str, Any]] | None:
    where = f"SSE block after event {number}"
    if all(line.startswith(":") for line in lines):
        return None
    fields: dict[str, list[str]] = {"event": [], "data": []}
    for line in lines:
        if line.startswith(":"):
            _fail(
                where, f"comment inside an event block (comments go alone): {lines!r}"
            )
        name, colon, value = line.partition(":")
        if not colon:
            _fail(where, f"line without a colon: {line!r}")
        if name == "id":
            _fail(where, f"id: line (never send id:): {line!r}")
        if name == "retry":
            _fail(where, f"retry: line (never send retry:): {line!r}")
        if name not in fields:
            _fail(where, f"unknown SSE field {name!r}: {line!r}")
        fields[name].append(value[1:] if value.startswith(" ") else value)
    if not fields["data"]:
        _fail(where, f"block without data: {lines!r}")
    if len(fields["data"]) > 1:
        _fail(where, f"multi-line data (keep JSON on one line): {lines!r}")
    if len(fields["event"]) != 1:
        _fail(where, f"expected exactly one event: line: {lines!r}")
    data = fields["data"][0]
    if data == "":
        _fail(where, "empty data:")
    if data.strip() == "[DONE]":
        _fail(where, "data: [DONE] (Chat-only; never in a Responses stream)")
    try:
        parsed = json.loads(data)
    except ValueError as e:
        raise AssertionError(f"{where}: invalid JSON ({e}): {data[:200]!r}") from None
    if not isinstance(parsed, dict):
        _fail(where, f"data is not a JSON object: {data[:200]!r}")
    return fields["event"][0], parsed


def checkStream(body: bytes, allowCodexCodes: bool = False) -> list[dict[str, Any]]:
    """
    Check a whole SSE body from the relay: framing, C{event:} name equal to
    C{data.type}, then L{checkEvents}.

    @return: the events' data dicts, in order.
    """
    parsed = parseSSE(body)
    for i, (name, data) in enumerate(parsed):
        if name != data.get("type"):
            _fail(
                _where(i, data),
                f"event: name {name!r} differs from data.type {data.get('type')!r}",
            )
    events = [data for _, data in parsed]
    checkEvents(events, allowCodexCodes=allowCodexCodes)
    return events


# -- Response objects ---------------------------------------------------------


def checkResponse(response: dict[str, Any], allowCodexCodes: bool = False) -> None:
    """
    Check one finished C{Response} object: a non-streaming body or the
    response of a terminal event.  Its status must be C{completed},
    C{incomplete} or C{failed}.
    """
    _checkResponse(response, "response", allowCodexCodes, final=True)


def _checkResponse(
    response: Any, where: str, allowCodexCodes: bool, final: bool
) -> None:
    if not isinstance(response, dict):
        _fail(where, f"response is not an object: {response!r:.200}")
    for key in NULLABLE_RESPONSE_KEYS:
        if key not in response:
            _fail(where, f"response lacks the spec-required key {key!r} (rule 14)")
    output = response.get("output")
    if isinstance(output, list):
        for i, item in enumerate(output):
            _checkItem(item, f"{where}: response.output[{i}]", final)
    _validate(Response, _withoutCodexCode(response, allowCodexCodes), where)

    status = response["status"] if "status" in response else None
    if final and status not in TERMINAL.values():
        _fail(where, f"status {status!r} is not completed/incomplete/failed")
    if status == "completed":
        if response["error"] is not None:
            _fail(where, f"completed response with error {response['error']!r}")
        if response["incomplete_details"] is not None:
            _fail(where, "completed response with incomplete_details")
    elif status == "incomplete":
        details = response["incomplete_details"]
        if not isinstance(details, dict) or details.get("reason") is None:
            _fail(
                where,
                f"incomplete response without incomplete_details.reason: {details!r}",
            )
        if response["error"] is not None:
            _fail(where, "incomplete response with error")
    elif status == "failed":
        if response["error"] is None:
            _fail(where, "failed response without error")
    if response.get("completed_at") is not None and status != "completed":
        _fail(where, f"completed_at set on a {status!r} response")
    if status in ("completed", "incomplete"):
        if response.get("usage") is None:
            _fail(where, f"{status} response without usage (rule 18)")
    if response.get("usage") is not None:
        _checkUsage(response["usage"], where)

    ids, callIds = set(), set()
    for i, item in enumerate(output or []):
        if item["id"] in ids:
            _fail(where, f"duplicate item id {item['id']!r} in output")
        ids.add(item["id"])
        callId = item.get("call_id")
        if callId is not None:
            if callId in callIds:
                _fail(where, f"duplicate call_id {callId!r} in output")
            callIds.add(callId)


def _checkItem(item: Any, where: str, final: bool) -> None:
    """
    Check one output item against its own SDK class and the part rules.
    """
    _validateItem(item, where)
    if final and item.get("status") == "in_progress":
        _fail(where, f"item {item['id']!r} is still in_progress")
    if item["type"] == "message":
        for j, part in enumerate(item["content"]):
            _checkPart(part, f"{where}.content[{j}]")
    if item["type"] == "reasoning":
        summary = "".join(p["text"] for p in item["summary"])
        content = "".join(p["text"] for p in item.get("content") or [])
        if summary and summary == content:
            _fail(where, "the same text in both summary and content")


def _validateItem(item: Any, where: str) -> None:
    if not isinstance(item, dict):
        _fail(where, f"item is not an object: {item!r:.200}")
    cls = ITEM_CLASSES.get(item.get("type"))  # type: ignore[arg-type]
    if cls is None:
        _fail(where, f"unknown output item type {item.get('type')!r}")
    _validate(cls, item, where)


def _checkPart(part: dict[str, Any], where: str) -> None:
    """
    Rule 15: output_text parts carry C{logprobs: []} and C{annotations: []}.
    """
    if part.get("type") == "output_text":
        if part.get("logprobs") != []:
            _fail(
                where,
                f"output_text part needs logprobs: [] (got {part.get('logprobs', '<absent>')!r})",
            )
        if part.get("annotations") != []:
            _fail(
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
                _fail(where, f"usage lacks {path}")
            value = value[key]
        if type(value) is not int or value < 0:
            _fail(where, f"usage.{path} is not a non-negative integer: {value!r}")
        return value

    inputTokens = number("input_tokens")
    cached = number("input_tokens_details.cached_tokens")
    number("input_tokens_details.cache_write_tokens")
    outputTokens = number("output_tokens")
    reasoningTokens = number("output_tokens_details.reasoning_tokens")
    total = number("total_tokens")
    if total != inputTokens + outputTokens:
        _fail(
            where,
            f"usage.total_tokens {total} != input {inputTokens} + output {outputTokens}",
        )
    if cached > inputTokens:
        _fail(where, f"usage cached_tokens {cached} > input_tokens {inputTokens}")
    if reasoningTokens > outputTokens:
        _fail(
            where,
            f"usage reasoning_tokens {reasoningTokens} > output_tokens {outputTokens}",
        )


# -- Event streams ------------------------------------------------------------


def _where(index: int, event: Any) -> str:
    if isinstance(event, dict):
        return (
            f"event {index} (sequence_number={event.get('sequence_number')!r}, "
            f"type={event.get('type')!r})"
        )
    return f"event {index}"


class _Part:
    def __init__(self, kind: str, index: int, type: str) -> None:
        self.kind = kind  # "content" or "summary"
        self.index = index
        self.type = type
        self.text = ""
        self.textDone = False


class _Item:
    def __init__(self, index: int, added: dict[str, Any]) -> None:
        self.index = index
        self.added = added
        self.id = added["id"]
        self.type = added["type"]
        self.content: list[dict[str, Any]] = []  # closed content parts
        self.summary: list[dict[str, Any]] = []  # closed summary parts
        self.part: _Part | None = None
        self.buffer = ""  # function arguments or custom tool input
        self.bufferDone = False


class _StreamChecker:
    """
    Walks a Responses event stream once, keeping the state the rules need.
    """

    def __init__(self, allowCodexCodes: bool) -> None:
        self.allowCodexCodes = allowCodexCodes
        self.responseId: str | None = None
        self.terminal: dict[str, Any] | None = None
        self.sawError = False
        self.item: _Item | None = None
        self.done: list[dict[str, Any]] = []
        self.itemIds: set[str] = set()
        self.callIds: set[str] = set()

    def check(self, index: int, event: Any) -> None:
        where = _where(index, event)
        if not isinstance(event, dict):
            _fail(where, f"event is not an object: {event!r:.200}")
        kind = event.get("type")
        if "error" in event:
            _fail(where, "top-level 'error' key (the SDK raises APIError on it)")
        if "obfuscation" in event:
            _fail(where, "obfuscation is not emitted by the relay")
        if self.terminal is not None:
            _fail(where, "event after the terminal event")
        if self.sawError and kind != "response.failed":
            _fail(where, "only response.failed may follow an error event")
        self._validate(event, where)
        if event["sequence_number"] != index:
            _fail(where, f"sequence_number should be {index}")
        if index == 0 and kind != "response.created":
            _fail(where, "the first event must be response.created")
        if index == 1 and kind != "response.in_progress":
            _fail(where, "the second event must be response.in_progress")
        getattr(self, "_" + kind.replace(".", "_"))(event, where)

    def _validate(self, event: dict[str, Any], where: str) -> None:
        kind = event.get("type")
        cls = EVENT_CLASSES.get(kind)  # type: ignore[arg-type]
        if cls is None:
            _fail(
                where,
                f"unknown event type {kind!r}: not in the SDK's ResponseStreamEvent",
            )
        if kind not in RELAY_EVENT_TYPES:
            _fail(where, f"{kind!r} is an SDK event the relay never emits")
        # Items first, against their own class, for a readable message.
        if isinstance(event.get("item"), dict):
            _validateItem(event["item"], f"{where}: item")
        if isinstance(event.get("response"), dict):
            output = event["response"].get("output")
            for i, item in enumerate(output if isinstance(output, list) else []):
                _validateItem(item, f"{where}: response.output[{i}]")
            event = dict(
                event,
                response=_withoutCodexCode(event["response"], self.allowCodexCodes),
            )
        _validate(cls, event, where)

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
        _checkResponse(response, where, self.allowCodexCodes, final)
        if self.responseId is None:
            self.responseId = response["id"]
        elif response["id"] != self.responseId:
            _fail(
                where,
                f"response id {response['id']!r} differs from {self.responseId!r}",
            )
        return response

    def _response_created(self, event: dict[str, Any], where: str) -> None:
        if event["sequence_number"] != 0:
            _fail(where, "response.created is only the first event")
        response = self._lifecycle(event, where, final=False)
        if response.get("status") != "in_progress":
            _fail(where, f"status {response.get('status')!r}, expected 'in_progress'")
        if response["output"] != []:
            _fail(where, "response.created must have output []")
        if response.get("usage", "<absent>") is not None:
            _fail(where, "response.created must have usage: null")

    def _response_in_progress(self, event: dict[str, Any], where: str) -> None:
        if event["sequence_number"] != 1:
            _fail(where, "response.in_progress is only the second event")
        response = self._lifecycle(event, where, final=False)
        if response.get("status") != "in_progress":
            _fail(where, f"status {response.get('status')!r}, expected 'in_progress'")
        if response["output"] != []:
            _fail(where, "response.in_progress must have output []")

    def _terminal(self, event: dict[str, Any], where: str) -> None:
        response = self._lifecycle(event, where, final=True)
        expected = TERMINAL[event["type"]]
        if response["status"] != expected:
            _fail(where, f"status {response['status']!r}, expected {expected!r}")
        if self.item is not None:
            _fail(
                where,
                f"item {self.item.id!r} (output_index {self.item.index}) is still open",
            )
        if response["output"] != self.done:
            _fail(
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
                _fail(where, f"error event lacks the spec-required key {key!r}")
        code = event["code"]
        allowed = SDK_ERROR_CODES | (
            CODEX_CODES if self.allowCodexCodes else frozenset()
        )
        if code is not None and code not in allowed:
            _fail(where, f"error code {code!r} is outside the SDK enum")
        self.sawError = True

    # items

    def _response_output_item_added(self, event: dict[str, Any], where: str) -> None:
        item = event["item"]
        _checkItem(item, where, final=False)
        if self.item is not None:
            _fail(
                where,
                f"item {self.item.id!r} (output_index {self.item.index}) is still open",
            )
        if event["output_index"] != len(self.done):
            _fail(
                where,
                f"output_index {event['output_index']}, expected {len(self.done)}",
            )
        if item["id"] in self.itemIds:
            _fail(where, f"duplicate item id {item['id']!r}")
        self.itemIds.add(item["id"])
        callId = item.get("call_id")
        if callId is not None:
            if callId in self.callIds:
                _fail(where, f"duplicate call_id {callId!r}")
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
                _fail(
                    where,
                    f"added {item['type']} must have {key} {value!r}, got {item[key]!r:.200}",
                )
        if item["type"] == "reasoning" and item.get("content") not in (None, []):
            _fail(where, "added reasoning item must have no content")
        self.item = _Item(event["output_index"], item)

    def _response_output_item_done(self, event: dict[str, Any], where: str) -> None:
        open = self._openItem(event, where)
        item = event["item"]
        _checkItem(item, where, final=True)
        for key in ("id", "type", "call_id", "name"):
            if item.get(key) != open.added.get(key):
                _fail(
                    where,
                    f"item {key} {item.get(key)!r} differs from added {open.added.get(key)!r}",
                )
        if open.part is not None:
            _fail(where, f"{open.part.kind} part {open.part.index} is still open")
        if open.type == "message" and item["content"] != open.content:
            _fail(
                where,
                f"content {item['content']!r:.300} differs from the streamed parts {open.content!r:.300}",
            )
        if open.type == "reasoning":
            if item["summary"] != open.summary:
                _fail(
                    where,
                    f"summary {item['summary']!r:.300} differs from the streamed parts {open.summary!r:.300}",
                )
            if (item.get("content") or []) != open.content:
                _fail(
                    where,
                    f"content {item.get('content')!r:.300} differs from the streamed parts {open.content!r:.300}",
                )
        if open.type in ("function_call", "custom_tool_call"):
            key = "arguments" if open.type == "function_call" else "input"
            if not open.bufferDone:
                _fail(where, f"output_item.done before the {key} .done event")
            if item[key] != open.buffer:
                _fail(
                    where,
                    f"{key} {item[key]!r:.200} differs from the deltas {open.buffer!r:.200}",
                )
        self.done.append(item)
        self.item = None

    def _openItem(
        self, event: dict[str, Any], where: str, itemType: str | None = None
    ) -> _Item:
        item = self.item
        if item is None:
            _fail(where, "no item is open")
        if event["output_index"] != item.index:
            _fail(
                where,
                f"output_index {event['output_index']} but the open item is {item.index}",
            )
        if "item_id" in event and event["item_id"] != item.id:
            _fail(
                where, f"item_id {event['item_id']!r} but the open item is {item.id!r}"
            )
        if itemType is not None and item.type != itemType:
            _fail(
                where,
                f"event for a {itemType} item, but the open item is a {item.type}",
            )
        return item

    # parts

    def _openPart(self, item: _Item, part: _Part, where: str) -> None:
        if item.part is not None:
            _fail(where, f"{item.part.kind} part {item.part.index} is still open")
        item.part = part

    def _response_content_part_added(self, event: dict[str, Any], where: str) -> None:
        item = self._openItem(event, where)
        part = event["part"]
        if part["type"] not in PART_TYPES.get(item.type, ()):
            _fail(where, f"a {part['type']} part in a {item.type} item")
        if event["content_index"] != len(item.content):
            _fail(
                where,
                f"content_index {event['content_index']}, expected {len(item.content)}",
            )
        if part[PART_TEXT[part["type"]]] != "":
            _fail(where, "content_part.added must carry an empty part")
        _checkPart(part, where)
        self._openPart(
            item, _Part("content", event["content_index"], part["type"]), where
        )

    def _response_reasoning_summary_part_added(
        self, event: dict[str, Any], where: str
    ) -> None:
        item = self._openItem(event, where, "reasoning")
        if event["summary_index"] != len(item.summary):
            _fail(
                where,
                f"summary_index {event['summary_index']}, expected {len(item.summary)}",
            )
        if event["part"]["text"] != "":
            _fail(where, "reasoning_summary_part.added must carry an empty part")
        self._openPart(
            item, _Part("summary", event["summary_index"], "summary_text"), where
        )

    def _currentPart(
        self, event: dict[str, Any], where: str, kind: str, type: str
    ) -> _Part:
        item = self._openItem(event, where, SUB_EVENT_ITEM.get(event["type"]))
        part = item.part
        indexKey = "summary_index" if kind == "summary" else "content_index"
        if part is None or part.kind != kind or part.index != event[indexKey]:
            _fail(where, f"no open {kind} part with {indexKey} {event[indexKey]}")
        if part.type != type:
            _fail(where, f"event for a {type} part, but the open part is {part.type}")
        return part

    def _partDone(self, event: dict[str, Any], where: str, kind: str) -> None:
        item = self._openItem(event, where)
        part = event["part"]
        current = self._currentPart(event, where, kind, part["type"])
        if not current.textDone:
            _fail(where, f"part done before its {current.type} .done event")
        if part[PART_TEXT[part["type"]]] != current.text:
            _fail(
                where,
                f"part text {part[PART_TEXT[part['type']]]!r:.200} differs from the deltas {current.text!r:.200}",
            )
        _checkPart(part, where)
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
            _fail(where, "delta after the .done event")
        if event["delta"] == "":
            _fail(where, "empty delta")
        if type == "output_text" and event.get("logprobs") != []:
            _fail(
                where,
                f"output_text delta needs logprobs: [] (got {event.get('logprobs', '<absent>')!r})",
            )
        part.text += event["delta"]

    def _textDone(self, event: dict[str, Any], where: str) -> None:
        kind, type, field = TEXT_EVENTS[event["type"].rsplit(".", 1)[0]]
        part = self._currentPart(event, where, kind, type)
        if part.textDone:
            _fail(where, "second .done event for the part")
        if event[field] != part.text:
            _fail(
                where,
                f"{field} {event[field]!r:.200} differs from the deltas {part.text!r:.200}",
            )
        if type == "output_text" and event.get("logprobs") != []:
            _fail(
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
            _fail(where, "delta after the .done event")
        if event["delta"] == "":
            _fail(where, "empty delta")
        item.buffer += event["delta"]

    def _toolDone(self, event: dict[str, Any], where: str) -> None:
        item = self._openItem(event, where, SUB_EVENT_ITEM[event["type"]])
        key = "arguments" if item.type == "function_call" else "input"
        if item.bufferDone:
            _fail(where, "second .done event for the item")
        if event[key] != item.buffer:
            _fail(
                where,
                f"{key} {event[key]!r:.200} differs from the deltas {item.buffer!r:.200}",
            )
        if item.type == "function_call":
            if "name" not in event:
                _fail(
                    where, "function_call_arguments.done lacks the spec-required 'name'"
                )
            if event["name"] != item.added["name"]:
                _fail(
                    where,
                    f"name {event['name']!r} differs from the item's {item.added['name']!r}",
                )
        item.bufferDone = True

    _response_function_call_arguments_delta = _toolDelta
    _response_function_call_arguments_done = _toolDone
    _response_custom_tool_call_input_delta = _toolDelta
    _response_custom_tool_call_input_done = _toolDone


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
