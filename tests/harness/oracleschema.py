"""
The oracle's schema check (L{tests.harness.oracle}): every event, Response
and output item validated strictly against the openai SDK's own pydantic
models, and the fields the SDK does not model rejected (PROTOCOL.md §5
rule 16).

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

# Rule 16: the only SDK-unmodelled fields the relay may emit.
ALLOWED_EXTRAS: dict[type, frozenset[str]] = {
    ResponseFunctionCallArgumentsDoneEvent: frozenset({"name"}),
    ResponseCustomToolCall: frozenset({"status"}),
}


_adapters: dict[Any, pydantic.TypeAdapter[Any]] = {}


def fail(where: str, message: str) -> NoReturn:
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


def validate(cls: Any, data: Any, where: str) -> Any:
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
        fail(where, f"fields the SDK does not model (rule 16): {', '.join(extras)}")
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


def withoutCodexCode(
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
