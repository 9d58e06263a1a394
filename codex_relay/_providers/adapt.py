"""
A translated Chat request adapted to one upstream: its profile's rules
(reasoning replay, tool-call ids, parameters it rejects or names
differently) and the route's own overrides.  No Twisted here.
"""

from typing import Any
import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping

from codex_relay._providers.healers import DSMLHealer, ThinkTagSplitter, chainFilters
from codex_relay._providers.healers.glm import HEALER_PARAMETERS
from codex_relay._providers.profiles import (
    EFFORT_DEEPSEEK,
    EFFORT_OPENROUTER,
    EFFORT_PARAMETER,
    EFFORT_QWEN,
    FORBIDDEN,
    REQUIRED,
    Profile,
)

_REASONING_FIELDS = ("reasoning_content", "reasoning", "reasoning_details")
_ALNUM9 = re.compile(r"[A-Za-z0-9]{9}")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SAMPLING = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "n")



def adaptRequest(
    body: dict[str, Any],
    profile: Profile,
    model: str,
    *,
    extraParams: Mapping[str, object] | None = None,
    dropParams: Iterable[str] = (),
    withholdTools: Iterable[str] = (),
    heal: Iterable[str] = (),
    maxTokensField: str | None = None,
    reasoningField: str | None = None,
) -> list[str]:
    """
    Adapt C{body} (changed in place) for an upstream with C{profile} that
    knows the model as C{model}.  The profile decides each choice unless an
    explicit option does.

    @param maxTokensField: the parameter the output limit goes in, instead
        of the profile's.
    @param reasoningField: the assistant-message field reasoning goes back
        in, instead of the profile's.

    @return: notes of what was changed that a user may want in the log.
    """
    notes: list[str] = []
    body["model"] = model
    _withhold(body, set(withholdTools), notes)
    replayField = reasoningField or profile.replayField
    for message in body.get("messages", ()):
        if message.get("role") == "assistant":
            _replayReasoning(message, profile, replayField)
            if profile.toolCallIds == "alnum9":
                for call in message.get("tool_calls") or ():
                    call["id"] = alnum9(call["id"])
        elif message.get("role") == "tool" and profile.toolCallIds == "alnum9":
            message["tool_call_id"] = alnum9(message["tool_call_id"])
    _tools(body, profile)
    _parameters(body, profile, maxTokensField or profile.maxTokensField)
    _effort(body, profile)
    for name in heal:
        if name in HEALER_PARAMETERS:
            body.update(copy.deepcopy(dict(HEALER_PARAMETERS[name])))
            notes.append("healer {}: added {}".format(
                name, json.dumps(HEALER_PARAMETERS[name])))
    body.update(copy.deepcopy(dict(profile.extraBody)))
    _merge(body, extraParams or {})
    for name in dropParams:
        body.pop(name, None)
    return notes


def alnum9(callId: str) -> str:
    """
    A call id as exactly nine alphanumerics (Mistral's rule): ids that
    already are stay; others map to a stable hash, so the same history
    always gives the same ids.
    """
    if _ALNUM9.fullmatch(callId):
        return callId
    number = int.from_bytes(hashlib.sha256(callId.encode("utf-8")).digest()[:8], "big")
    digits = []
    for _ in range(9):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(digits)


def _withhold(body: dict[str, Any], names: set[str], notes: list[str]) -> None:
    tools = body.get("tools")
    if not names or not tools:
        return
    kept = [t for t in tools if t.get("function", {}).get("name") not in names]
    if len(kept) == len(tools):
        return
    notes.append("withheld {} tool(s) from the upstream".format(len(tools) - len(kept)))
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("function", {}).get("name") in names:
        body["tool_choice"] = "auto"
    if kept:
        body["tools"] = kept
    else:
        for key in ("tools", "tool_choice", "parallel_tool_calls"):
            body.pop(key, None)


def _replayReasoning(message: dict[str, Any], profile: Profile, field: str) -> None:
    text = message.pop("reasoning_content", None) or message.pop("reasoning", None)
    message.pop("reasoning", None)
    details = message.pop("reasoning_details", None)
    if profile.replay == FORBIDDEN:
        return
    if field == "reasoning_details":
        if details:
            message["reasoning_details"] = details  # unchanged, signatures and all
        elif text:
            message["reasoning"] = text
        return
    if not text and profile.replay == REQUIRED and message.get("tool_calls"):
        text = profile.replayPlaceholder
    if text is None or (not text and profile.replay != REQUIRED):
        return
    if field == "thinking":
        # Mistral takes reasoning back only as a thinking chunk of the content.
        content = message.get("content")
        parts: list[dict[str, Any]] = [{"type": "thinking", "thinking": [{"type": "text", "text": text}]}]
        if content:
            parts.append({"type": "text", "text": content})
        message["content"] = parts
        return
    message[field] = text


def _tools(body: dict[str, Any], profile: Profile) -> None:
    tools = body.get("tools")
    if tools and not profile.strictTools:
        for tool in tools:
            tool.get("function", {}).pop("strict", None)
    if not profile.parallelToolCalls:
        body.pop("parallel_tool_calls", None)
    choice = body.get("tool_choice")
    if choice is None:
        return
    key = "named" if isinstance(choice, dict) else choice
    if key in profile.toolChoice:
        replacement = profile.toolChoice[key]
        if replacement is None:
            body.pop("tool_choice")
        else:
            body["tool_choice"] = replacement


def _parameters(body: dict[str, Any], profile: Profile, maxTokensField: str) -> None:
    for field in ("max_tokens", "max_completion_tokens"):
        if field in body and field != maxTokensField:
            body[maxTokensField] = body.pop(field)
    if not profile.streamOptions:
        body.pop("stream_options", None)
    if not profile.sampling:
        for field in _SAMPLING:
            body.pop(field, None)
    responseFormat = body.get("response_format")
    if (not profile.jsonSchema and isinstance(responseFormat, dict)
            and responseFormat.get("type") == "json_schema"):
        schema = responseFormat.get("json_schema", {})
        body["response_format"] = {"type": "json_object"}
        instruction = {"role": "system", "content": (
            "Answer with one JSON object that matches this JSON schema:\n"
            + json.dumps(schema.get("schema", {})))}
        messages = body.setdefault("messages", [])
        leading = next((i for i, m in enumerate(messages) if m.get("role") != "system"),
                       len(messages))
        messages.insert(leading, instruction)


def _mappedEffort(effort: str, profile: Profile) -> str | None:
    if profile.effortValues is None or effort in profile.effortValues:
        return effort
    return profile.effortMap.get(effort)


def _effort(body: dict[str, Any], profile: Profile) -> None:
    effort = body.pop("reasoning_effort", None)
    streaming = bool(body.get("stream"))
    if profile.effort == EFFORT_QWEN:
        if effort is not None or (profile.streamingOnlyThinking and not streaming):
            # Qwen thinks only while streaming; elsewhere it answers 400.
            body["enable_thinking"] = streaming and effort != "none"
        return
    if effort is None:
        return
    if profile.effort == EFFORT_PARAMETER:
        mapped = _mappedEffort(effort, profile)
        if mapped is not None:
            body["reasoning_effort"] = mapped
    elif profile.effort == EFFORT_DEEPSEEK:
        body["thinking"] = {"type": "disabled" if effort == "none" else "enabled"}
        mapped = _mappedEffort(effort, profile)
        if mapped is not None and effort != "none":
            body["reasoning_effort"] = mapped
    elif profile.effort == EFFORT_OPENROUTER:
        body["reasoning"] = {"enabled": False} if effort == "none" else {"effort": effort}


def _merge(target: dict[str, Any], extra: Mapping[str, object]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def contentFilter(profile: Profile, heal: Iterable[str],
                  tools: list[dict[str, Any]] | None = None) -> object | None:
    """
    The content filter a response from this upstream needs: inline
    reasoning tags split off, leaked DSML tool calls healed; L{None} when
    content passes as it is.

    @param tools: the Chat tools offered, whose first required parameter
        takes the value of a DSML invoke that names none.  DSML is healed
        only when some are: a leaked call needs a tool to call.  A profile
        that lists the healer itself (deepseek) heals whatever C{tools}
        says, as it always did: the doctor's probes pass none.
    """
    filters: list[Any] = []
    if profile.thinkTags:
        filters.append(ThinkTagSplitter())
    if "dsml" in heal and (tools or "dsml" in profile.heal):
        firstParameters = {
            tool["function"]["name"]: _firstRequired(tool["function"])
            for tool in tools or () if tool.get("function", {}).get("name")}
        filters.append(DSMLHealer(firstParameters.get))
    if not filters:
        return None
    return filters[0] if len(filters) == 1 else chainFilters(filters)


def _firstRequired(function: dict[str, Any]) -> str | None:
    # Codex's get_goal has "required": [], and schemas from clients may be anything.
    parameters = function.get("parameters")
    required = parameters.get("required") if isinstance(parameters, dict) else None
    if isinstance(required, list) and required and isinstance(required[0], str):
        return required[0]
    return None


def healedCalls(contentFilter: object | None) -> int:
    """
    How many leaked tool calls a content filter turned back into calls.
    """
    filters = getattr(contentFilter, "filters", [contentFilter])
    return sum(getattr(f, "fired", 0) for f in filters)
