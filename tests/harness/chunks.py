"""
Builders for Chat Completions stream chunks, upstream SSE bodies and
non-streaming completions, as an OpenAI-compatible upstream sends them.

    sse(text("Hel"), text("lo"), finish("stop"),
        chunk(choices=False, usage=usage(10, 2)))

Every builder returns a plain dict (or bytes for L{sse}) that tests may
mutate freely to produce irregular shapes.
"""

import json
from dataclasses import dataclass
from typing import Any

MODEL = "model-a"


@dataclass(frozen=True)
class Comment:
    """
    An SSE comment line (C{: text}), e.g. a keep-alive.
    """

    text: str = "keep-alive"


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    usage: dict[str, Any] | None = None,
    choices: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """
    One C{chat.completion.chunk}.

    @param delta: the delta of choice 0 (C{{}} if not given).
    @param finish: its C{finish_reason}.
    @param usage: a top-level C{usage}; the key is omitted when L{None}.
    @param choices: C{False} gives C{"choices": []} (the usage-only chunk).
    @param extra: more top-level keys; they override the defaults.
    """
    result: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [],
    }
    if choices:
        result["choices"] = [
            {
                "index": 0,
                "delta": {} if delta is None else delta,
                "logprobs": None,
                "finish_reason": finish,
            }
        ]
    if usage is not None:
        result["usage"] = usage
    result.update(extra)
    return result


def text(s: str) -> dict[str, Any]:
    """
    A content delta.
    """
    return chunk({"content": s})


def reasoning(s: str, field: str = "reasoning_content") -> dict[str, Any]:
    """
    A reasoning delta in the provider field C{field} (C{reasoning_content},
    C{reasoning}, ...).
    """
    return chunk({field: s})


def toolCall(
    index: int,
    id: str | None = None,
    name: str | None = None,
    arguments: str | None = None,
    omitIndex: bool = False,
) -> dict[str, Any]:
    """
    One tool-call fragment.  C{id} (with C{type}) and the C{function} keys
    appear only when given, as in OpenAI's later fragments.

    @param omitIndex: leave out C{index}, as some providers do.
    """
    call: dict[str, Any] = {} if omitIndex else {"index": index}
    if id is not None:
        call["id"] = id
        call["type"] = "function"
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    if function:
        call["function"] = function
    return chunk({"tool_calls": [call]})


def finish(reason: str) -> dict[str, Any]:
    """
    A chunk with an empty delta and C{finish_reason}.
    """
    return chunk({}, finish=reason)


def usage(
    prompt: int,
    completion: int,
    cached: int | None = None,
    reasoning: int | None = None,
    deepseekHits: int | None = None,
) -> dict[str, Any]:
    """
    A C{CompletionUsage} dict.

    @param cached: C{prompt_tokens_details.cached_tokens}.
    @param reasoning: C{completion_tokens_details.reasoning_tokens}.
    @param deepseekHits: DeepSeek's C{prompt_cache_hit_tokens} (and the
        matching C{prompt_cache_miss_tokens}).
    """
    result: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:
        result["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning is not None:
        result["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    if deepseekHits is not None:
        result["prompt_cache_hit_tokens"] = deepseekHits
        result["prompt_cache_miss_tokens"] = prompt - deepseekHits
    return result


def encode(item: dict[str, Any] | bytes | Comment, lineEnd: str = "\n") -> bytes:
    """
    One SSE block: a dict becomes C{data: <json>}, a L{Comment} a comment
    line, and bytes are passed through untouched (for malformed input).
    """
    if isinstance(item, bytes):
        return item
    end = lineEnd.encode("ascii")
    if isinstance(item, Comment):
        return b": " + item.text.encode("utf-8") + end + end
    return b"data: " + json.dumps(item).encode("utf-8") + end + end


def sse(
    *chunks: dict[str, Any] | bytes | Comment, done: bool = True, lineEnd: str = "\n"
) -> bytes:
    """
    An upstream SSE body made of C{chunks}, ending with C{data: [DONE]}
    unless C{done} is false.
    """
    body = b"".join(encode(c, lineEnd) for c in chunks)
    if done:
        end = lineEnd.encode("ascii")
        body += b"data: [DONE]" + end + end
    return body


def completion(
    message: dict[str, Any] | str,
    finish: str = "stop",
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """
    A non-streaming C{chat.completion}.

    @param message: the assistant message, or just its text.
    @param usage: the C{usage}; the key is omitted when L{None}.
    """
    if isinstance(message, str):
        message = {"role": "assistant", "content": message}
    result: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        ],
    }
    if usage is not None:
        result["usage"] = usage
    return result


# A Responses function tool the tests offer.
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


class CountingText(str):
    """
    A delta that counts the concatenations it takes part in.
    """

    concatenations = 0

    def __add__(self, other: str) -> str:
        CountingText.concatenations += 1
        return str.__add__(self, other)

    def __radd__(self, other: str) -> str:
        CountingText.concatenations += 1
        return str.__add__(other, self)
