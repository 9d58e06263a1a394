"""
A Responses API request translated to a Chat Completions request.  No
Twisted here: the shell sends L{ChatRequest.body} upstream and hands
L{ChatRequest.toolMap} to the stream translator.
"""

from typing import Any
from dataclasses import dataclass, field

from codex_relay._core.errors import invalidRequest
from codex_relay._core.request.messages import MessageBuilder
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.request.tools import ToolMap, translateTools

ENCRYPTED_REASONING = "reasoning.encrypted_content"

# Deeper than any real request nests (Codex's tool schemas reach about 10),
# and far from the depth where copying, encoding or echoing it would
# exhaust Python's recursion.
MAX_NESTING = 64


@dataclass(slots=True)
class ChatRequest:
    """
    @ivar body: the Chat Completions request body.
    @ivar toolMap: Chat tool names back to Responses tools.
    @ivar stream: the client asked for a stream.
    @ivar includeEncryptedReasoning: the client asked for
        C{reasoning.encrypted_content}.
    @ivar warnings: what was dropped, for the shell to log.
    """

    body: dict[str, Any]
    toolMap: ToolMap
    stream: bool
    includeEncryptedReasoning: bool
    warnings: list[str] = field(default_factory=list)


def checkNesting(body: object, limit: int = MAX_NESTING) -> None:
    """
    Check, without recursion, that C{body} nests arrays and objects at most
    C{limit} deep.

    @raise RelayError: a 400 when it nests deeper.
    """
    level = [body] if isinstance(body, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise invalidRequest(
                "The request nests arrays and objects more than {} deep.".format(limit),
                None, "nesting_too_deep")
        inner: list[Any] = []
        for value in level:
            children = value.values() if isinstance(value, dict) else value
            inner.extend(c for c in children if isinstance(c, (dict, list)))
        level = inner


def _typeError(message: str, param: str) -> Exception:
    return invalidRequest(message, param, "invalid_type")


def _optional(request: dict[str, Any], key: str, types: tuple[Any, ...], what: str,
              param: str | None = None) -> Any:
    """
    C{request[key]} if it is absent, null or one of C{types}; else a 400.
    """
    value = request.get(key)
    if value is None:
        return None
    # bool is an int in Python, never in JSON.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise _typeError("'{}' must be {}.".format(key, what), param or key)
    return value


def _unsupported(request: dict[str, Any]) -> None:
    # previous_response_id and item_reference are resolved before: a
    # request reaches translation whole (codex_relay._core.stored).
    for key, why in (("conversation", "keeps no conversations"),
                     ("prompt", "has no stored prompts")):
        if request.get(key) is not None:
            raise invalidRequest(
                "'{}' is not supported: this relay {}.".format(key, why),
                key, "unsupported_parameter",
            )
    if _optional(request, "background", (bool,), "a boolean"):
        raise invalidRequest(
            "Background responses are not supported by this relay.",
            "background", "unsupported_parameter",
        )


def _responseFormat(text: object) -> dict[str, Any] | None:
    if text is None:
        return None
    if not isinstance(text, dict):
        raise _typeError("'text' must be an object.", "text")
    textFormat = text.get("format")
    if textFormat is None:
        return None
    if not isinstance(textFormat, dict):
        raise _typeError("'text.format' must be an object.", "text.format")
    kind = textFormat.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind != "json_schema":
        raise invalidRequest(
            "text.format.type must be text, json_schema or json_object.",
            "text.format.type", "invalid_value",
        )
    name = textFormat.get("name")
    if not isinstance(name, str) or not name:
        raise invalidRequest(
            "json_schema needs a name.", "text.format.name", "missing_required_parameter"
        )
    schema = textFormat.get("schema")
    if not isinstance(schema, dict):
        raise invalidRequest(
            "json_schema needs a schema object.", "text.format.schema",
            "missing_required_parameter" if schema is None else "invalid_type",
        )
    jsonSchema: dict[str, Any] = {"name": name, "schema": schema}
    for key, kinds in (("strict", bool), ("description", str)):
        value = textFormat.get(key)
        if value is not None:
            if not isinstance(value, kinds):
                raise _typeError("Wrong type for {}.".format(key), "text.format." + key)
            jsonSchema[key] = value
    return {"type": "json_schema", "json_schema": jsonSchema}


def _parameters(request: dict[str, Any], settings: TranslationSettings) -> dict[str, Any]:
    """
    The sampling and output parameters of the Chat body.
    """
    parameters: dict[str, Any] = {}
    maxTokens = _optional(request, "max_output_tokens", (int,), "a positive integer")
    if maxTokens is not None:
        if maxTokens < 1:
            raise invalidRequest(
                "'max_output_tokens' must be a positive integer.", "max_output_tokens",
                "invalid_value",
            )
        # Neutral here: adaptRequest names it for the upstream.
        parameters["max_tokens"] = maxTokens
    for key in ("temperature", "top_p"):
        value = _optional(request, key, (int, float), "a number")
        if value is not None:
            parameters[key] = value
    responseFormat = _responseFormat(request.get("text"))
    if responseFormat is not None:
        parameters["response_format"] = responseFormat
    reasoning = _optional(request, "reasoning", (dict,), "an object")
    if reasoning is not None:
        effort = _optional(reasoning, "effort", (str,), "a string", "reasoning.effort")
        if effort is not None:
            parameters["reasoning_effort"] = effort
    # The response echoes metadata, which the SDK reads as strings only.
    metadata = _optional(request, "metadata", (dict,), "an object")
    if metadata is not None and not all(isinstance(v, str) for v in metadata.values()):
        raise _typeError("'metadata' values must be strings.", "metadata")
    return parameters


def _includeEncrypted(request: dict[str, Any]) -> bool:
    include = _optional(request, "include", (list,), "a list of strings")
    if include is None:
        return False
    if not all(isinstance(value, str) for value in include):
        raise _typeError("'include' must be a list of strings.", "include")
    return ENCRYPTED_REASONING in include


def _messages(request: dict[str, Any], builder: MessageBuilder) -> list[dict[str, Any]]:
    instructions = request.get("instructions")
    if isinstance(instructions, str):
        if instructions:
            builder.addMessage("system", instructions)
    elif isinstance(instructions, list):
        builder.addItems(instructions, "instructions")
    elif instructions is not None:
        raise _typeError("'instructions' must be a string or a list of items.", "instructions")
    if "input" not in request:
        raise invalidRequest("Missing required parameter: 'input'.", "input",
                             "missing_required_parameter")
    items = request["input"]
    if isinstance(items, str):
        builder.addMessage("user", items)
    elif isinstance(items, list):
        builder.addItems(items, "input")
    else:
        raise _typeError("'input' must be a string or a list of items.", "input")
    return builder.messages()


def translateRequest(request: object, settings: TranslationSettings) -> ChatRequest:
    """
    Translate a decoded Responses request body.

    @raise RelayError: (400) for a request that is malformed or needs
        server-side state this relay does not keep.
    """
    if not isinstance(request, dict):
        raise invalidRequest("The request body must be a JSON object.")
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise invalidRequest(
            "'model' must be a non-empty string.", "model",
            "missing_required_parameter" if model is None else "invalid_type",
        )
    _unsupported(request)
    stream = bool(_optional(request, "stream", (bool,), "a boolean"))
    includeEncrypted = _includeEncrypted(request)
    tools = translateTools(
        request.get("tools"), request.get("tool_choice"), request.get("parallel_tool_calls")
    )
    warnings = tools.warnings
    messages = _messages(request, MessageBuilder(tools.toolMap, settings, warnings))
    body: dict[str, Any] = {"model": model, "messages": messages}
    body.update(tools.fields)
    body.update(_parameters(request, settings))
    body["stream"] = stream
    if stream:
        body["stream_options"] = {"include_usage": True}
    return ChatRequest(body, tools.toolMap, stream, includeEncrypted, warnings)
