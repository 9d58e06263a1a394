"""
Responses tools, C{tool_choice} and C{parallel_tool_calls} translated to
Chat Completions: each tool validated and given a Chat function definition
under the name its L{ToolMap} (L{codex_relay._core.request.toolmap}) gives
it, hosted tools dropped with a warning.  No Twisted here.
"""

from typing import Any
import copy
from dataclasses import dataclass, field

from codex_relay._core.errors import invalidRequest
from codex_relay._core.request.toolmap import ToolMap, ToolRef

# ToolMap and ToolRef are re-exported: the request translation takes them from here.
__all__ = ["Notice", "ToolMap", "ToolRef", "TranslatedTools", "translateTools"]

_EMPTY_PARAMETERS = {"type": "object", "properties": {}}

_CUSTOM_PARAMETERS = {
    "type": "object",
    "properties": {
        "input": {
            "type": "string",
            "description": "The raw tool input, not JSON-wrapped.",
        }
    },
    "required": ["input"],
    "additionalProperties": False,
}

_LOCAL_SHELL_PARAMETERS = {
    "type": "object",
    "properties": {
        "command": {"type": "array", "items": {"type": "string"}},
        "workdir": {"type": "string"},
        "timeout_ms": {"type": "integer"},
    },
    "required": ["command"],
}

_TOOL_CHOICE_MODES = ("none", "auto", "required")


@dataclass(slots=True)
class TranslatedTools:
    """
    @ivar fields: C{tools}, C{tool_choice} and C{parallel_tool_calls} for
        the Chat body; empty when no tool survives.
    """

    toolMap: ToolMap
    fields: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _requireName(tool: dict[str, Any], param: str) -> str:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise invalidRequest(
            "Tool name must be a non-empty string.", param + ".name",
            "missing_required_parameter" if name is None else "invalid_type",
        )
    return name


def _optionalString(tool: dict[str, Any], key: str, param: str) -> str | None:
    value = tool.get(key)
    if value is not None and not isinstance(value, str):
        raise invalidRequest(
            "'{}' must be a string.".format(key), "{}.{}".format(param, key), "invalid_type"
        )
    return value


def _functionTool(tool: dict[str, Any], chatName: str, param: str) -> dict[str, Any]:
    parameters = tool.get("parameters")
    if parameters is None:
        parameters = dict(_EMPTY_PARAMETERS)
    elif not isinstance(parameters, dict):
        raise invalidRequest(
            "Tool parameters must be a JSON schema object.", param + ".parameters",
            "invalid_type",
        )
    function: dict[str, Any] = {"name": chatName}
    description = _optionalString(tool, "description", param)
    if description is not None:
        function["description"] = description
    function["parameters"] = parameters
    strict = tool.get("strict")
    if strict is not None:
        if not isinstance(strict, bool):
            raise invalidRequest("'strict' must be a boolean.", param + ".strict", "invalid_type")
        function["strict"] = strict
    return {"type": "function", "function": function}


def _customTool(tool: dict[str, Any], chatName: str, param: str) -> dict[str, Any]:
    description = _optionalString(tool, "description", param)
    toolFormat = tool.get("format")
    if isinstance(toolFormat, dict) and toolFormat.get("type") == "grammar":
        # The grammar cannot constrain a Chat model; the model can still read it.
        grammar = "Input grammar ({}):\n{}".format(
            toolFormat.get("syntax"), toolFormat.get("definition", "")
        )
        description = grammar if description is None else description + "\n\n" + grammar
    function: dict[str, Any] = {"name": chatName}
    if description is not None:
        function["description"] = description
    function["parameters"] = copy.deepcopy(_CUSTOM_PARAMETERS)
    return {"type": "function", "function": function}


_BUILDERS = {"function": _functionTool, "custom": _customTool}


def _collectTools(tools: list[Any]) -> tuple[list[tuple[ToolRef, dict[str, Any], str]], list[str]]:
    """
    Validate C{tools}: the translatable ones as (ref, definition, param),
    in order, and a warning for each dropped one.
    """
    collected = []
    warnings = []
    for index, tool in enumerate(tools):
        param = "tools[{}]".format(index)
        if not isinstance(tool, dict):
            raise invalidRequest("Each tool must be an object.", param, "invalid_type")
        kind = tool.get("type")
        if not isinstance(kind, str):
            raise invalidRequest(
                "Tool type must be a string.", param + ".type",
                "missing_required_parameter" if kind is None else "invalid_type",
            )
        if kind in _BUILDERS:
            collected.append((ToolRef(kind, _requireName(tool, param)), tool, param))
        elif kind == "local_shell":
            collected.append((ToolRef("local_shell", "local_shell"), tool, param))
        elif kind == "namespace":
            namespace = _requireName(tool, param)
            inner = tool.get("tools")
            if not isinstance(inner, list):
                raise invalidRequest(
                    "Namespace tools must be a list.", param + ".tools", "invalid_type"
                )
            for innerIndex, innerTool in enumerate(inner):
                innerParam = "{}.tools[{}]".format(param, innerIndex)
                if not isinstance(innerTool, dict):
                    raise invalidRequest("Each tool must be an object.", innerParam, "invalid_type")
                innerKind = innerTool.get("type", "function")
                if innerKind not in _BUILDERS:
                    warnings.append("dropped tool of type {!r} inside namespace {!r} ({})".format(
                        innerKind, namespace, innerParam))
                    continue
                ref = ToolRef(innerKind, _requireName(innerTool, innerParam), namespace)
                collected.append((ref, innerTool, innerParam))
        else:
            # Hosted tools (and types newer than this relay) run at OpenAI only.
            warnings.append(Notice("dropped tool of type {!r} ({}): not available through "
                                   "this relay".format(kind, param), key=kind))
    return collected, warnings


class Notice(str):
    """
    A warning about something a client always sends (Codex's C{web_search}):
    worth one log line per process, not one per request.

    @ivar key: what makes two notices the same (the tool type).
    """

    key: str

    def __new__(cls, text: str, key: str) -> "Notice":
        notice = super().__new__(cls, text)
        notice.key = key
        return notice


def _chatTools(tools: list[Any], toolMap: ToolMap, warnings: list[str]) -> list[dict[str, Any]]:
    collected, dropped = _collectTools(tools)
    warnings.extend(dropped)
    # Plain names first, so a flattened namespace name never takes one.
    for ref, _, param in sorted(collected, key=lambda entry: entry[0].namespace is not None):
        if toolMap.register(ref) is None:
            warnings.append("dropped duplicate tool {!r} ({})".format(ref.name, param))
    chatTools = []
    seen = set()
    for ref, tool, param in collected:
        chatName = toolMap.chatName(ref.name, ref.namespace)
        if toolMap.lookup(chatName) != ref or chatName in seen:
            continue
        seen.add(chatName)
        if ref.kind == "local_shell":
            chatTools.append({"type": "function", "function": {
                "name": chatName, "parameters": copy.deepcopy(_LOCAL_SHELL_PARAMETERS)}})
        else:
            chatTools.append(_BUILDERS[ref.kind](tool, chatName, param))
    return chatTools


def _forcedName(choice: dict[str, Any], toolMap: ToolMap) -> str:
    name = choice.get("name")
    if not isinstance(name, str) or not name:
        raise invalidRequest(
            "tool_choice must name a tool.", "tool_choice.name", "missing_required_parameter"
        )
    namespace = choice.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise invalidRequest(
            "'namespace' must be a string.", "tool_choice.namespace", "invalid_type"
        )
    if not toolMap.isRegistered(name, namespace):
        raise invalidRequest(
            "Tool choice {!r} is not among the tools of this request.".format(name),
            "tool_choice", "invalid_value",
        )
    return toolMap.chatName(name, namespace)


def _allowedNames(choice: dict[str, Any], toolMap: ToolMap) -> set[str]:
    listed = choice.get("tools")
    if not isinstance(listed, list):
        raise invalidRequest(
            "allowed_tools needs a list of tools.", "tool_choice.tools", "invalid_type"
        )
    names = set()
    for entry in listed:
        if not isinstance(entry, dict):
            continue
        kind = entry.get("type")
        name = entry.get("name")
        if kind == "local_shell":
            names.add(toolMap.chatName("local_shell"))
        elif kind == "namespace" and isinstance(name, str):
            names.update(toolMap.chatNamesIn(name))
        elif kind in _BUILDERS and isinstance(name, str):
            names.add(toolMap.chatName(name, entry.get("namespace")))
        # Hosted entries name tools that were dropped anyway.
    return names


def _toolChoice(choice: object, chatTools: list[dict[str, Any]], toolMap: ToolMap) -> tuple[object, list[Any]]:
    """
    The Chat C{tool_choice} and the tools it leaves offered.
    """
    if choice is None or choice in _TOOL_CHOICE_MODES:
        return choice, chatTools
    if not isinstance(choice, dict):
        raise invalidRequest(
            "tool_choice must be 'none', 'auto', 'required' or an object.",
            "tool_choice", "invalid_value",
        )
    kind = choice.get("type")
    if kind in ("function", "custom"):
        return {"type": "function", "function": {"name": _forcedName(choice, toolMap)}}, chatTools
    if kind == "allowed_tools":
        mode = choice.get("mode")
        if mode not in ("auto", "required"):
            raise invalidRequest(
                "allowed_tools mode must be 'auto' or 'required'.", "tool_choice.mode",
                "invalid_value",
            )
        allowed = _allowedNames(choice, toolMap)
        return mode, [tool for tool in chatTools if tool["function"]["name"] in allowed]
    raise invalidRequest(
        "Tool choice {!r} is not available through this relay: it forwards only function, "
        "custom and namespace tools.".format(kind),
        "tool_choice", "invalid_value",
    )


def translateTools(
    tools: object, toolChoice: object, parallelToolCalls: object
) -> TranslatedTools:
    """
    Translate the tool fields of a Responses request.

    @raise RelayError: (400) for malformed tools, a C{tool_choice} forcing a
        tool that is not there, or a hosted C{tool_choice}.
    """
    result = TranslatedTools(ToolMap())
    if tools is None:
        tools = []
    if not isinstance(tools, list):
        raise invalidRequest("'tools' must be a list.", "tools", "invalid_type")
    if parallelToolCalls is not None and not isinstance(parallelToolCalls, bool):
        raise invalidRequest(
            "'parallel_tool_calls' must be a boolean.", "parallel_tool_calls", "invalid_type"
        )
    chatTools = _chatTools(tools, result.toolMap, result.warnings)
    choice, chatTools = _toolChoice(toolChoice, chatTools, result.toolMap)
    if not chatTools:
        # Chat rejects tool_choice and parallel_tool_calls without tools.
        if choice not in (None, "none", "auto"):
            result.warnings.append("tool_choice {!r} dropped: no tools left".format(choice))
        return result
    result.fields["tools"] = chatTools
    if choice is not None:
        result.fields["tool_choice"] = choice
    if parallelToolCalls is not None:
        result.fields["parallel_tool_calls"] = parallelToolCalls
    return result
