"""
The Responses-side objects the relay answers with: the Response skeleton
that echoes the request, and usage mapping.  No Twisted here, and neither
clock nor randomness: ids and times are passed in (the shell's
L{codex_relay._web.ids} makes them).
"""

from collections.abc import Callable
from typing import Any
import json

# The events that end a response, and those of them a relay keeps (a
# failed response is not stored).
TERMINAL_EVENTS = frozenset(("response.completed", "response.incomplete", "response.failed"))
KEPT_EVENTS = frozenset(("response.completed", "response.incomplete"))
# The events whose first one is the latency that matters to a user.
DELTA_EVENTS = frozenset((
    "response.output_text.delta", "response.reasoning_summary_text.delta",
    "response.reasoning_text.delta", "response.function_call_arguments.delta",
    "response.custom_tool_call_input.delta"))

# What the core is handed to make fresh ids (C{ids("msg_")}) and to tell
# the time (whole seconds since the epoch).
Ids = Callable[[str], str]
Clock = Callable[[], int]


def responseSkeleton(request: dict[str, Any], responseId: str, createdAt: int) -> dict[str, Any]:
    """
    An in-progress Response echoing C{request}, with every key the spec
    requires (nullable ones as C{None}).
    """
    reasoning = request.get("reasoning") or {}
    return {
        "id": responseId,
        "object": "response",
        "created_at": createdAt,
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": request.get("max_tool_calls"),
        "metadata": request.get("metadata"),
        "model": request["model"],
        "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls") is not False,
        "previous_response_id": _string(request.get("previous_response_id")),
        "prompt_cache_key": request.get("prompt_cache_key"),
        "reasoning": {
            "effort": reasoning.get("effort"),
            "summary": reasoning.get("summary"),
        },
        "safety_identifier": request.get("safety_identifier"),
        "service_tier": "default",
        "temperature": request.get("temperature"),
        "text": request.get("text") or {"format": {"type": "text"}},
        "tool_choice": request.get("tool_choice") or "auto",
        "tools": request.get("tools") or [],
        "top_p": request.get("top_p"),
        "truncation": request.get("truncation") or "disabled",
        "usage": None,
        "user": request.get("user"),
    }


def failedResponse(responseId: str, createdAt: int, code: str, message: str) -> dict[str, Any]:
    """
    A failed Response that echoes nothing of the client's request: what a
    stream ends with when the relay itself broke, and the request's own
    fields may be what broke it.
    """
    return dict(responseSkeleton({"model": ""}, responseId, createdAt), status="failed",
                error={"code": code, "message": message})


def _object(value: object) -> dict[str, Any]:
    # Upstreams send null, or worse, where an object is due.
    return value if isinstance(value, dict) else {}


def _int(value: object) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def mapUsage(usage: dict[str, Any]) -> dict[str, Any]:
    """
    Map a Chat C{usage} object onto Responses usage, whichever field the
    provider reports cache hits and reasoning in; the total is recomputed.
    """
    inputTokens = _int(usage.get("prompt_tokens"))
    outputTokens = _int(usage.get("completion_tokens"))
    promptDetails = _object(usage.get("prompt_tokens_details"))
    completionDetails = _object(usage.get("completion_tokens_details"))
    cached = promptDetails.get("cached_tokens")
    if cached is None:
        cached = usage.get("prompt_cache_hit_tokens")  # DeepSeek
    if cached is None:
        cached = usage.get("cached_tokens")  # Kimi
    reasoning = _int(completionDetails.get("reasoning_tokens")
                     or usage.get("reasoning_tokens"))
    if reasoning and usage.get("total_tokens") == inputTokens + outputTokens + reasoning:
        # xAI counts reasoning beside the completion, not inside it.
        outputTokens += reasoning
    return usageObject(
        inputTokens, outputTokens, _int(cached),
        _int(promptDetails.get("cache_write_tokens")), reasoning,
    )


def usageObject(
    inputTokens: int, outputTokens: int, cached: int = 0,
    cacheWrite: int = 0, reasoning: int = 0,
) -> dict[str, Any]:
    return {
        "input_tokens": inputTokens,
        "input_tokens_details": {
            "cached_tokens": min(cached, inputTokens),
            "cache_write_tokens": min(cacheWrite, inputTokens),
        },
        "output_tokens": outputTokens,
        "output_tokens_details": {"reasoning_tokens": min(reasoning, outputTokens)},
        "total_tokens": inputTokens + outputTokens,
    }


def estimateUsage(chatBody: dict[str, Any], output: list[dict[str, Any]]) -> dict[str, Any]:
    """
    About four characters a token: Codex tracks its context window from
    usage, so an estimate beats zeros when the upstream reports none.
    """
    prompt = json.dumps(
        [chatBody.get("messages"), chatBody.get("tools")], ensure_ascii=False
    )
    produced = json.dumps(output, ensure_ascii=False)
    return usageObject(-(-len(prompt) // 4), -(-len(produced) // 4) if output else 0)


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None
