"""
Shared test harness.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from tests.harness.hoststreams import OPENROUTER_DETAILS
from tests.harness.upstream import JSONReply, Reply


@dataclass
class StrictFake:
    """
    An upstream that answers C{check(body)}'s rejection when there is one
    (recording it), else C{reply(body)}.
    """

    check: Callable[[dict, bytes], Reply | None]
    reply: Callable[[dict], Reply]
    rejections: list[Reply] = field(default_factory=list)

    def __call__(self, body: Any, received: Any) -> Reply:
        rejection = self.check(body, received.body)
        if rejection is not None:
            self.rejections.append(rejection)
            return rejection
        return self.reply(body)


def openaiError(status: int, message: str, type: str = "invalid_request_error",
                code: str | None = None, **more: Any) -> JSONReply:
    return JSONReply({"error": {"message": message, "type": type, "param": None,
                                "code": code, **more}}, status=status)


def firstOf(*rules: Callable[[dict, bytes], Reply | None]) -> Callable[[dict, bytes], Reply | None]:
    def check(body: dict, rawBody: bytes) -> Reply | None:
        for rule in rules:
            rejection = rule(body, rawBody)
            if rejection is not None:
                return rejection
        return None
    return check


def groqNoReasoning(body: dict, rawBody: bytes) -> Reply | None:
    for i, message in assistants(body):
        for name in ("reasoning_content", "reasoning"):
            if name in message:
                return openaiError(400, (
                    "'messages.{0}' : for 'role:assistant' the following must be "
                    "satisfied[('messages.{0}' : property '{1}' is unsupported)]"
                ).format(i, name))
    return None


MISTRAL_TOP = {"model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop",
               "random_seed", "response_format", "tools", "tool_choice", "presence_penalty",
               "frequency_penalty", "n", "prediction", "parallel_tool_calls", "prompt_mode",
               "safe_prompt", "reasoning_effort"}


MISTRAL_MESSAGE = {"system": {"role", "content"}, "user": {"role", "content"},
                   "assistant": {"role", "content", "tool_calls", "prefix"},
                   "tool": {"role", "content", "tool_call_id", "name"}}


MISTRAL_ID = re.compile(r"[A-Za-z0-9]{9}")


def _extra(loc: list, value: Any) -> dict:
    return {"type": "extra_forbidden", "loc": loc, "msg": "Extra inputs are not permitted",
            "input": value}


def _unprocessable(detail: list) -> Reply | None:
    return JSONReply({"detail": detail}, status=422) if detail else None


def mistralParameters(body: dict, rawBody: bytes) -> Reply | None:
    """
    Unknown top-level fields and tool-schema fields; the tool_choice enum.
    """
    detail = [_extra(["body", key], body[key]) for key in body if key not in MISTRAL_TOP]
    for i, tool in enumerate(body.get("tools") or ()):
        function = tool.get("function", {})
        detail += [_extra(["body", "tools", i, "function", key], function[key])
                   for key in function if key not in {"name", "description", "parameters"}]
    if detail:
        return _unprocessable(detail)
    choice = body.get("tool_choice")
    if isinstance(choice, str) and choice not in ("auto", "none", "any"):
        return _unprocessable([{
            "type": "enum", "loc": ["body", "tool_choice", "enum[ToolChoiceEnum]"],
            "msg": "Input should be 'auto', 'none' or 'any'", "input": choice,
            "ctx": {"expected": "'auto', 'none' or 'any'"}}])
    return None


def mistralMessages(body: dict, rawBody: bytes) -> Reply | None:
    """
    Unknown fields on messages and their tool calls (reasoning_content
    among them: charmbracelet/crush#1590).
    """
    detail = []
    for i, message in enumerate(body.get("messages", ())):
        role = message.get("role")
        allowed = MISTRAL_MESSAGE.get(role, set())
        detail += [_extra(["body", "messages", i, role, key], message[key])
                   for key in message if key not in allowed]
        for j, call in enumerate(message.get("tool_calls") or ()):
            detail += [_extra(["body", "messages", i, role, "tool_calls", j, key], call[key])
                       for key in call if key not in {"id", "type", "function", "index"}]
    return _unprocessable(detail)


def _mistralIdError(callId: str) -> JSONReply:
    return JSONReply({
        "object": "error",
        "message": "Tool call id was {} but must be a-z, A-Z, 0-9, with a length of 9.".format(
            callId),
        "type": "invalid_request_message_error", "param": None, "code": "3230"}, status=400)


def mistralIds(body: dict, rawBody: bytes) -> Reply | None:
    known: set[str] = set()
    for message in body["messages"]:
        for call in message.get("tool_calls") or ():
            if not MISTRAL_ID.fullmatch(call["id"]):
                return _mistralIdError(call["id"])
            known.add(call["id"])
        if message.get("role") == "tool":
            callId = message["tool_call_id"]
            if not MISTRAL_ID.fullmatch(callId):
                return _mistralIdError(callId)
            if callId not in known:
                return JSONReply({"object": "error", "message": (
                    "Unexpected tool call id {} in tool results".format(callId)),
                    "type": "invalid_request_message_error", "param": None,
                    "code": "3230"}, status=400)
    return None


MISTRAL_RULES = firstOf(mistralParameters, mistralMessages, mistralIds)


DEEPSEEK_THINKING = "The `reasoning_content` in the thinking mode must be passed back to the API."


def deepseekThinking(body: dict, rawBody: bytes) -> Reply | None:
    for _, message in toolCallAssistants(body):
        if not isinstance(message.get("reasoning_content"), str):
            return openaiError(400, DEEPSEEK_THINKING, code="invalid_request_error")
    return None


# The legacy reasoner: reasoning_content in the input is a 400.
def deepseekReasoner(body: dict, rawBody: bytes) -> Reply | None:
    if any("reasoning_content" in m for m in body["messages"]):
        return openaiError(400, (
            "The reasoning_content is an intermediate result for display purposes only and "
            "will not be included in the context for inference. Please remove the "
            "reasoning_content from your message to reduce network traffic."),
            code="invalid_request_error")
    return None


def kimiThinking(body: dict, rawBody: bytes) -> Reply | None:
    for i, message in toolCallAssistants(body):
        if not isinstance(message.get("reasoning_content"), str):
            return openaiError(400, (
                "thinking is enabled but reasoning_content is missing in assistant tool call "
                "message at index {}").format(i))
    return None


def kimiControls(body: dict, rawBody: bytes) -> Reply | None:
    # Sampling is fixed on kimi-* models; thinking models take tool_choice auto only.
    for name in ("temperature", "top_p"):
        if name in body:
            return openaiError(400, "invalid {}: only 1 is allowed for this model".format(name))
    choice = body.get("tool_choice")
    if choice not in (None, "auto", "none"):
        return openaiError(400, "tool_choice '{}' is incompatible with thinking enabled".format(
            choice if isinstance(choice, str) else "specified"))
    return None


# Qwen (DashScope): thinking needs a stream (langchain4j#3974 and others).
def qwenThinking(body: dict, rawBody: bytes) -> Reply | None:
    if not body.get("stream") and body.get("enable_thinking") is not False:
        return openaiError(400, "parameter.enable_thinking must be set to false for "
                           "non-streaming calls", code="invalid_parameter_error")
    return None


# xAI grok-4 reasoning models (docs.x.ai; Vertex AI's Grok page): no
# reasoning_effort.  xAI's error body is {"code": text, "error": text}.
def xaiEffort(body: dict, rawBody: bytes) -> Reply | None:
    if re.match(r"grok-4(?!\.3)", body["model"]) and "reasoning_effort" in body:
        return JSONReply({"code": "Client specified an invalid argument",
                          "error": "Model grok-4-0709 does not support parameter "
                                   "reasoningEffort"}, status=400)
    return None


# OpenRouter in front of Anthropic: the signed thinking blocks must come
# back unchanged on the tool-call turn; the error is OpenRouter's wrapping
# of Anthropic's.
def signedParts(details: list[dict]) -> list[bytes]:
    """
    The signature and encrypted data of C{details} as JSON strings: what
    must reach the upstream byte for byte (the JSON around them may be
    spaced any way).
    """
    return [json.dumps(part[key]).encode("utf-8") for part in details
            for key in ("signature", "data") if key in part]


def openrouterDetails(body: dict, rawBody: bytes) -> Reply | None:
    for i, message in toolCallAssistants(body):
        if message.get("reasoning_details") != OPENROUTER_DETAILS or \
                not all(part in rawBody for part in signedParts(OPENROUTER_DETAILS)):
            return JSONReply({"error": {"code": 400, "message": "Provider returned error",
                                        "metadata": {"raw": json.dumps({
                                            "type": "error", "error": {
                                                "type": "invalid_request_error",
                                                "message": "messages.{}.content.0: Invalid "
                                                "`signature` in `thinking` block".format(i)}}),
                                            "provider_name": "Anthropic"}}}, status=400)
    return None


# Ollama: tool_choice is not supported (PROVIDERS.md §2; its openai layer has
# no field for it).  The rejection itself is this fake's.
def ollamaToolChoice(body: dict, rawBody: bytes) -> Reply | None:
    if "tool_choice" in body:
        return openaiError(400, "tool_choice is not supported")
    return None


def assistants(body: dict) -> list[tuple[int, dict]]:
    return [(i, m) for i, m in enumerate(body["messages"]) if m.get("role") == "assistant"]


def toolCallAssistants(body: dict) -> list[tuple[int, dict]]:
    return [(i, m) for i, m in assistants(body) if m.get("tool_calls")]
