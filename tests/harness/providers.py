"""
Recorded-style Chat Completions streams of the eleven provider profiles, as
raw SSE bytes in each provider's own wire format, with what the relay must
make of them.

Nothing here was captured from a live provider (no keys are used in this
project): each stream is written from the provider's documented format (its
API reference, streaming guide or server source), and the comment above it
says which, and which details are assumed.  Chunk JSON is compact, keys in
the order the provider's serialiser writes them, as a client sees it on the
wire.

Every provider has a success stream (L{FIXTURES}: reasoning in its own
field, text where the provider streams some, a tool call in its shape,
usage in its shape) and a mid-stream failure (L{ERRORS}: its error shape
after HTTP 200).  A few variants sit in L{EXTRA}.

The client side of every fixture is the same question with one tool
(L{WEATHER_TOOL}); Ollama's asks for two cities and calls twice.
"""

from dataclasses import dataclass



@dataclass(frozen=True)
class Usage:
    """
    The Responses usage a fixture's numbers must become.
    """

    input: int
    output: int
    cached: int = 0
    reasoning: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output


@dataclass(frozen=True)
class Call:
    """
    A function call the relay must output.  C{callId} L{None}: the relay
    makes one (the upstream gave none, e.g. a healed call).
    """

    name: str
    arguments: str
    callId: str | None


@dataclass(frozen=True)
class Fixture:
    """
    One provider's successful stream and what the relay must make of it.

    @ivar items: the output item types, in order.
    @ivar reasoning: the reasoning text, joined.
    @ivar text: the message text, joined ("" without a message).
    @ivar question: the user's question (Ollama asks about two cities).
    """

    name: str
    profile: str
    model: str
    body: bytes
    source: str
    items: tuple[str, ...]
    reasoning: str
    text: str
    calls: tuple[Call, ...]
    usage: Usage
    question: str = "What is the weather in Paris?"


@dataclass(frozen=True)
class ErrorFixture:
    """
    One provider's stream that fails after HTTP 200.

    @ivar code: the C{response.failed} error code the relay must give.
    @ivar message: a part of the error message the client must see, or
        L{None} when the provider's text cannot reach it.
    """

    name: str
    profile: str
    model: str
    body: bytes
    source: str
    code: str
    message: str | None


def _sse(text: str) -> bytes:
    """
    The fixture text as bytes: the leading newline of the literal dropped,
    nothing else touched.
    """
    return text[1:].encode("utf-8") if text.startswith("\n") else text.encode("utf-8")


# ---------------------------------------------------------------------------
# DeepSeek.  api-docs.deepseek.com: /guides/thinking_mode (reasoning_content
# deltas beside a null content), /api/create-chat-completion (usage:
# prompt_cache_hit_tokens / prompt_cache_miss_tokens and
# completion_tokens_details.reasoning_tokens, no prompt_tokens_details),
# /quick_start/rate_limit (": keep-alive" comments while a request waits).
# PROVIDERS.md §2/§5: usage on the finish chunk.  Assumed: the "call_00_"
# id style (seen from V3.1 on) and the exact fingerprint.

DEEPSEEK = _sse(r'''
: keep-alive

: keep-alive

data: {"id":"7c1f0e52-5d2b-4bb4-9a86-0b6f2b8e5c11","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}

data: {"id":"7c1f0e52-5d2b-4bb4-9a86-0b6f2b8e5c11","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"The user wants the weather"},"logprobs":null,"finish_reason":null}]}

data: {"id":"7c1f0e52-5d2b-4bb4-9a86-0b6f2b8e5c11","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"content":null,"reasoning_content":" in Paris; call get_weather."},"logprobs":null,"finish_reason":null}]}

data: {"id":"7c1f0e52-5d2b-4bb4-9a86-0b6f2b8e5c11","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"content":"Checking","reasoning_content":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"7c1f0e52-5d2b-4bb4-9a86-0b6f2b8e5c11","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"content":" the forecast.","reasoning_content":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"7c1f0e52-5d2b-4bb4-9a86-0b6f2b8e5c11","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_00_Kq2mWx7LrT9vB3nYd5JpHs1c","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"7c1f0e52-5d2b-4bb4-9a86-0b6f2b8e5c11","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"7c1f0e52-5d2b-4bb4-9a86-0b6f2b8e5c11","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":" \"Paris\"}"}}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"7c1f0e52-5d2b-4bb4-9a86-0b6f2b8e5c11","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1312,"completion_tokens":86,"total_tokens":1398,"completion_tokens_details":{"reasoning_tokens":41},"prompt_cache_hit_tokens":1280,"prompt_cache_miss_tokens":32}}

data: [DONE]

''')

DEEPSEEK_REASONING = "The user wants the weather in Paris; call get_weather."

# The same stream closed right after the finish chunk, without [DONE]
# (PROVIDERS.md §2: DeepSeek's native-Responses path ends without it, and
# §4: an EOF after a finish_reason is a normal end).
DEEPSEEK_NO_DONE = DEEPSEEK[:DEEPSEEK.rindex(b"data: [DONE]")]

# DeepSeek tool-call markup leaked into content (PROVIDERS.md §2 "DSML",
# the single-bar dialect with a function_calls wrapper), split mid-value.
# The relay heals it into a call of its own (no upstream id).
_BAR = "\uff5c"
DEEPSEEK_DSML = _sse(r'''
data: {"id":"3b9e61d0-8f42-4c0e-a7c3-2d6b4f9e1a57","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}

data: {"id":"3b9e61d0-8f42-4c0e-a7c3-2d6b4f9e1a57","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"content":"I will check.\n\n"},"logprobs":null,"finish_reason":null}]}

data: {"id":"3b9e61d0-8f42-4c0e-a7c3-2d6b4f9e1a57","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"content":"<<BAR>DSML<BAR>function_calls>\n<<BAR>DSML<BAR>invoke name=\"get_weather\">\n"},"logprobs":null,"finish_reason":null}]}

data: {"id":"3b9e61d0-8f42-4c0e-a7c3-2d6b4f9e1a57","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"content":"<<BAR>DSML<BAR>parameter name=\"city\" string=\"true\">Par"},"logprobs":null,"finish_reason":null}]}

data: {"id":"3b9e61d0-8f42-4c0e-a7c3-2d6b4f9e1a57","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"content":"is</<BAR>DSML<BAR>parameter>\n</<BAR>DSML<BAR>invoke>\n</<BAR>DSML<BAR>function_calls>"},"logprobs":null,"finish_reason":null}]}

data: {"id":"3b9e61d0-8f42-4c0e-a7c3-2d6b4f9e1a57","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":980,"completion_tokens":44,"total_tokens":1024,"completion_tokens_details":{"reasoning_tokens":0},"prompt_cache_hit_tokens":896,"prompt_cache_miss_tokens":84}}

data: [DONE]

'''.replace("<BAR>", _BAR))

# Assumed: DeepSeek documents no mid-stream error shape; this is OpenAI's
# (PROVIDERS.md §4), after some reasoning.
DEEPSEEK_ERROR = _sse(r'''
data: {"id":"c2a7d9f4-1e38-4b6a-9c05-7f3e2d1b8a64","object":"chat.completion.chunk","created":1787040000,"model":"deepseek-v4-flash","system_fingerprint":"fp_8802369eaa_prod0725","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":"Let me think"},"logprobs":null,"finish_reason":null}]}

data: {"error":{"message":"Service is temporarily unavailable, please retry later.","type":"service_unavailable_error","param":null,"code":"service_unavailable"}}

''')


# ---------------------------------------------------------------------------
# Kimi.  platform.moonshot.cn/docs/guide/utilize-the-streaming-output-feature-
# of-kimi-api: the raw SSE example, whose last chunk carries usage INSIDE
# choices[0] ("usage 字段仅会在最后一个数据块中出现"), not at the top level.
# reasoning_content deltas (Kimi thinking models); tool-call ids
# "functions.NAME:IDX" and the same id (and type) repeated on every fragment
# (PROVIDERS.md §2/§4).  Assumed: usage.cached_tokens as Moonshot's
# context-caching docs name it; no reasoning-token count.

KIMI = _sse(r'''
data: {"id":"chatcmpl-6a1f3c9e2b7d4e58a0c1f2e3","object":"chat.completion.chunk","created":1787040000,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"system_fingerprint":"fpv0_9a4c1e2f"}

data: {"id":"chatcmpl-6a1f3c9e2b7d4e58a0c1f2e3","object":"chat.completion.chunk","created":1787040000,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"reasoning_content":"The user asks about Paris."},"finish_reason":null}],"system_fingerprint":"fpv0_9a4c1e2f"}

data: {"id":"chatcmpl-6a1f3c9e2b7d4e58a0c1f2e3","object":"chat.completion.chunk","created":1787040000,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"reasoning_content":" I should call get_weather."},"finish_reason":null}],"system_fingerprint":"fpv0_9a4c1e2f"}

data: {"id":"chatcmpl-6a1f3c9e2b7d4e58a0c1f2e3","object":"chat.completion.chunk","created":1787040000,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"content":"Let me look that up."},"finish_reason":null}],"system_fingerprint":"fpv0_9a4c1e2f"}

data: {"id":"chatcmpl-6a1f3c9e2b7d4e58a0c1f2e3","object":"chat.completion.chunk","created":1787040000,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"functions.get_weather:0","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"system_fingerprint":"fpv0_9a4c1e2f"}

data: {"id":"chatcmpl-6a1f3c9e2b7d4e58a0c1f2e3","object":"chat.completion.chunk","created":1787040000,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"functions.get_weather:0","type":"function","function":{"arguments":"{\"city\": "}}]},"finish_reason":null}],"system_fingerprint":"fpv0_9a4c1e2f"}

data: {"id":"chatcmpl-6a1f3c9e2b7d4e58a0c1f2e3","object":"chat.completion.chunk","created":1787040000,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"functions.get_weather:0","type":"function","function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}],"system_fingerprint":"fpv0_9a4c1e2f"}

data: {"id":"chatcmpl-6a1f3c9e2b7d4e58a0c1f2e3","object":"chat.completion.chunk","created":1787040000,"model":"kimi-k2.6","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls","usage":{"prompt_tokens":842,"completion_tokens":57,"total_tokens":899,"cached_tokens":768}}],"system_fingerprint":"fpv0_9a4c1e2f"}

data: [DONE]

''')

# Assumed shape (OpenAI's); the type and message are Moonshot's documented
# engine_overloaded_error.
KIMI_ERROR = _sse(r'''
data: {"id":"chatcmpl-0d4e7a2b9c1f4a6e8b3d5c7e","object":"chat.completion.chunk","created":1787040000,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"system_fingerprint":"fpv0_9a4c1e2f"}

data: {"id":"chatcmpl-0d4e7a2b9c1f4a6e8b3d5c7e","object":"chat.completion.chunk","created":1787040000,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"content":"The weather in"},"finish_reason":null}],"system_fingerprint":"fpv0_9a4c1e2f"}

data: {"error":{"message":"The engine is currently overloaded, please try again later","type":"engine_overloaded_error"}}

''')


# ---------------------------------------------------------------------------
# GLM (Z.ai / Zhipu).  docs.z.ai chat-completion reference and the
# thinking guide: reasoning_content deltas, chunks without finish_reason until
# the last, the whole tool call in one chunk (no tool_stream), usage with
# prompt_tokens_details.cached_tokens on the finish chunk.  Assumed: the id
# and "call_-<digits>" id styles as seen in GLM-4 responses.

GLM = _sse(r'''
data: {"id":"2026082010300098c4a1e2b3d4e5f6a7","created":1787040000,"object":"chat.completion.chunk","model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Paris weather"}}]}

data: {"id":"2026082010300098c4a1e2b3d4e5f6a7","created":1787040000,"object":"chat.completion.chunk","model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":" needs the tool."}}]}

data: {"id":"2026082010300098c4a1e2b3d4e5f6a7","created":1787040000,"object":"chat.completion.chunk","model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","content":"I will check the weather."}}]}

data: {"id":"2026082010300098c4a1e2b3d4e5f6a7","created":1787040000,"object":"chat.completion.chunk","model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"id":"call_-8173422372385393218","index":0,"type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]}}]}

data: {"id":"2026082010300098c4a1e2b3d4e5f6a7","created":1787040000,"object":"chat.completion.chunk","model":"glm-4.6","choices":[{"index":0,"finish_reason":"tool_calls","delta":{"role":"assistant","content":""}}],"usage":{"prompt_tokens":1024,"completion_tokens":96,"total_tokens":1120,"prompt_tokens_details":{"cached_tokens":896}}}

data: [DONE]

''')

# Assumed shape; the code and message are Z.ai's documented 1305
# ("temporarily overloaded").
GLM_ERROR = _sse(r'''
data: {"id":"20260820103100b7e2c4d6f8a0b1c3d5","created":1787040000,"object":"chat.completion.chunk","model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Let me"}}]}

data: {"error":{"code":"1305","message":"The service may be temporarily overloaded, please try again later"}}

''')


# ---------------------------------------------------------------------------
# Qwen (DashScope compatible mode).  help.aliyun.com model-studio
# deep-thinking and function-calling guides: chunks with "choices" first and
# "usage":null until a last choices:[] chunk (only with include_usage),
# reasoning_content beside a null content, usage with
# completion_tokens_details.reasoning_tokens and
# prompt_tokens_details.cached_tokens.  Assumed (from memory of the
# function-calling guide's stream output, not re-checked): later tool-call
# fragments carry "id":"" and no name.

QWEN = _sse(r'''
data: {"choices":[{"delta":{"content":null,"role":"assistant","reasoning_content":""},"index":0,"logprobs":null,"finish_reason":null}],"object":"chat.completion.chunk","usage":null,"created":1787040000,"system_fingerprint":null,"model":"qwen-plus","id":"chatcmpl-e2edaf2c-8f3b-9a41-b7c6-5d4e3f2a1b0c"}

data: {"choices":[{"delta":{"content":null,"reasoning_content":"The user asks for Paris."},"index":0,"logprobs":null,"finish_reason":null}],"object":"chat.completion.chunk","usage":null,"created":1787040000,"system_fingerprint":null,"model":"qwen-plus","id":"chatcmpl-e2edaf2c-8f3b-9a41-b7c6-5d4e3f2a1b0c"}

data: {"choices":[{"delta":{"content":null,"reasoning_content":" Call get_weather."},"index":0,"logprobs":null,"finish_reason":null}],"object":"chat.completion.chunk","usage":null,"created":1787040000,"system_fingerprint":null,"model":"qwen-plus","id":"chatcmpl-e2edaf2c-8f3b-9a41-b7c6-5d4e3f2a1b0c"}

data: {"choices":[{"delta":{"content":null,"tool_calls":[{"index":0,"id":"call_8f08d2b0fc0c4d8fab7123","type":"function","function":{"name":"get_weather","arguments":"{\"city\": "}}]},"index":0,"logprobs":null,"finish_reason":null}],"object":"chat.completion.chunk","usage":null,"created":1787040000,"system_fingerprint":null,"model":"qwen-plus","id":"chatcmpl-e2edaf2c-8f3b-9a41-b7c6-5d4e3f2a1b0c"}

data: {"choices":[{"delta":{"content":null,"tool_calls":[{"index":0,"id":"","type":"function","function":{"arguments":"\"Paris\"}"}}]},"index":0,"logprobs":null,"finish_reason":null}],"object":"chat.completion.chunk","usage":null,"created":1787040000,"system_fingerprint":null,"model":"qwen-plus","id":"chatcmpl-e2edaf2c-8f3b-9a41-b7c6-5d4e3f2a1b0c"}

data: {"choices":[{"finish_reason":"tool_calls","delta":{},"index":0,"logprobs":null}],"object":"chat.completion.chunk","usage":null,"created":1787040000,"system_fingerprint":null,"model":"qwen-plus","id":"chatcmpl-e2edaf2c-8f3b-9a41-b7c6-5d4e3f2a1b0c"}

data: {"choices":[],"object":"chat.completion.chunk","usage":{"prompt_tokens":310,"completion_tokens":72,"total_tokens":382,"completion_tokens_details":{"reasoning_tokens":48},"prompt_tokens_details":{"cached_tokens":256}},"created":1787040000,"system_fingerprint":null,"model":"qwen-plus","id":"chatcmpl-e2edaf2c-8f3b-9a41-b7c6-5d4e3f2a1b0c"}

data: [DONE]

''')

# The code is DashScope's documented data_inspection_failed, which output
# moderation raises while streaming; the shape (OpenAI's) is assumed.
QWEN_ERROR = _sse(r'''
data: {"choices":[{"delta":{"content":"Here is","role":"assistant"},"index":0,"logprobs":null,"finish_reason":null}],"object":"chat.completion.chunk","usage":null,"created":1787040000,"system_fingerprint":null,"model":"qwen-plus","id":"chatcmpl-a1b2c3d4-e5f6-7a8b-9c0d-1e2f3a4b5c6d"}

data: {"error":{"message":"Output data may contain inappropriate content.","type":"data_inspection_failed","param":null,"code":"data_inspection_failed"}}

''')


# ---------------------------------------------------------------------------
# Mistral.  docs.mistral.ai reasoning guide (Magistral: delta.content as a
# list of {"type":"thinking","thinking":[{"type":"text",...}]} chunks, text
# after it), function-calling guide (ids of exactly nine alphanumerics, the
# whole call in one chunk, no "type" on the call), usage in the last chunk
# beside finish_reason without being asked (PROVIDERS.md §5).  Assumed: the
# answer text streamed as plain strings after the thinking chunks; no
# cached-token field.

MISTRAL = _sse(r'''
data: {"id":"4f2e9c0b8a7d4e6f9b1c2d3e4f5a6b7c","object":"chat.completion.chunk","created":1787040000,"model":"magistral-medium-2509","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

data: {"id":"4f2e9c0b8a7d4e6f9b1c2d3e4f5a6b7c","object":"chat.completion.chunk","created":1787040000,"model":"magistral-medium-2509","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"The user wants Paris weather."}]}]},"finish_reason":null}]}

data: {"id":"4f2e9c0b8a7d4e6f9b1c2d3e4f5a6b7c","object":"chat.completion.chunk","created":1787040000,"model":"magistral-medium-2509","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":" Use get_weather."}]}]},"finish_reason":null}]}

data: {"id":"4f2e9c0b8a7d4e6f9b1c2d3e4f5a6b7c","object":"chat.completion.chunk","created":1787040000,"model":"magistral-medium-2509","choices":[{"index":0,"delta":{"content":"I'll check"},"finish_reason":null}]}

data: {"id":"4f2e9c0b8a7d4e6f9b1c2d3e4f5a6b7c","object":"chat.completion.chunk","created":1787040000,"model":"magistral-medium-2509","choices":[{"index":0,"delta":{"content":" now."},"finish_reason":null}]}

data: {"id":"4f2e9c0b8a7d4e6f9b1c2d3e4f5a6b7c","object":"chat.completion.chunk","created":1787040000,"model":"magistral-medium-2509","choices":[{"index":0,"delta":{"tool_calls":[{"id":"D681PevKs","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"},"index":0}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":214,"total_tokens":300,"completion_tokens":86}}

data: [DONE]

''')

# Mistral's error object ({"object":"error",...,"code":"3505"}) as its HTTP
# errors carry it; sent mid-stream here (assumed).
MISTRAL_ERROR = _sse(r'''
data: {"id":"9a8b7c6d5e4f4a3b2c1d0e9f8a7b6c5d","object":"chat.completion.chunk","created":1787040000,"model":"magistral-medium-2509","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

data: {"id":"9a8b7c6d5e4f4a3b2c1d0e9f8a7b6c5d","object":"chat.completion.chunk","created":1787040000,"model":"magistral-medium-2509","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"Hmm"}]}]},"finish_reason":null}]}

data: {"object":"error","message":"Service tier capacity exceeded for this model.","type":"service_tier_capacity_exceeded","param":null,"code":"3505"}

''')


# ---------------------------------------------------------------------------
# Groq.  console.groq.com reasoning guide (reasoning_format "parsed": a
# separate delta.reasoning), chat reference (x_groq.id on chunks,
# x_groq.usage with queue/prompt/completion times on the finish chunk),
# LangChain's ChatGroq stream_options docs (include_usage: an extra usage
# chunk at the end).  Assumed: the include_usage chunk's exact keys; the
# whole tool call in one chunk.

GROQ = _sse(r'''
data: {"id":"chatcmpl-5b1e8d2a-3c4f-4a6b-9d7e-1f2a3b4c5d6e","object":"chat.completion.chunk","created":1787040000,"model":"qwen/qwen3-32b","system_fingerprint":"fp_5cf921caa2","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"x_groq":{"id":"req_01k3m9x8q7w6e5r4t3y2u1i0op"}}

data: {"id":"chatcmpl-5b1e8d2a-3c4f-4a6b-9d7e-1f2a3b4c5d6e","object":"chat.completion.chunk","created":1787040000,"model":"qwen/qwen3-32b","system_fingerprint":"fp_5cf921caa2","choices":[{"index":0,"delta":{"reasoning":"Okay, the user wants"},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-5b1e8d2a-3c4f-4a6b-9d7e-1f2a3b4c5d6e","object":"chat.completion.chunk","created":1787040000,"model":"qwen/qwen3-32b","system_fingerprint":"fp_5cf921caa2","choices":[{"index":0,"delta":{"reasoning":" the weather in Paris."},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-5b1e8d2a-3c4f-4a6b-9d7e-1f2a3b4c5d6e","object":"chat.completion.chunk","created":1787040000,"model":"qwen/qwen3-32b","system_fingerprint":"fp_5cf921caa2","choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_f3h1k9m2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"},"index":0}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-5b1e8d2a-3c4f-4a6b-9d7e-1f2a3b4c5d6e","object":"chat.completion.chunk","created":1787040000,"model":"qwen/qwen3-32b","system_fingerprint":"fp_5cf921caa2","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"x_groq":{"id":"req_01k3m9x8q7w6e5r4t3y2u1i0op","usage":{"queue_time":0.051,"prompt_tokens":305,"prompt_time":0.021,"completion_tokens":74,"completion_time":0.17,"total_tokens":379,"total_time":0.191}}}

data: {"id":"chatcmpl-5b1e8d2a-3c4f-4a6b-9d7e-1f2a3b4c5d6e","object":"chat.completion.chunk","created":1787040000,"model":"qwen/qwen3-32b","system_fingerprint":"fp_5cf921caa2","choices":[],"usage":{"queue_time":0.051,"prompt_tokens":305,"prompt_time":0.021,"completion_tokens":74,"completion_time":0.17,"total_tokens":379,"total_time":0.191},"x_groq":{"id":"req_01k3m9x8q7w6e5r4t3y2u1i0op"}}

data: [DONE]

''')

# Groq's documented tool_use_failed error (with failed_generation); its
# arrival as an SSE data line mid-stream is assumed.
GROQ_ERROR = _sse(r'''
data: {"id":"chatcmpl-8c7d6e5f-4a3b-2c1d-0e9f-8a7b6c5d4e3f","object":"chat.completion.chunk","created":1787040000,"model":"qwen/qwen3-32b","system_fingerprint":"fp_5cf921caa2","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"x_groq":{"id":"req_01k3n0a9b8c7d6e5f4g3h2j1k0"}}

data: {"id":"chatcmpl-8c7d6e5f-4a3b-2c1d-0e9f-8a7b6c5d4e3f","object":"chat.completion.chunk","created":1787040000,"model":"qwen/qwen3-32b","system_fingerprint":"fp_5cf921caa2","choices":[{"index":0,"delta":{"reasoning":"I need the tool"},"logprobs":null,"finish_reason":null}]}

data: {"error":{"message":"Failed to call a function. Please adjust your prompt. See 'failed_generation' for more details.","type":"invalid_request_error","code":"tool_use_failed","failed_generation":"<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": Paris}}\n</tool_call>"}}

''')


# ---------------------------------------------------------------------------
# xAI.  docs.x.ai streaming guide (usage on EVERY chunk, cumulative; choices
# without finish_reason until the end; the whole function call in one
# chunk), reasoning guide (grok-3-mini streams reasoning_content;
# reasoning_tokens are counted APART from completion_tokens: total_tokens =
# prompt + completion + reasoning, also stated by Vertex AI's Grok docs),
# usage details text/audio/image/cached tokens and num_sources_used.

XAI = _sse(r'''
data: {"id":"3f6e2a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":"The user wants","role":"assistant"}}],"usage":{"prompt_tokens":620,"completion_tokens":0,"total_tokens":622,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":512},"completion_tokens_details":{"reasoning_tokens":2,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: {"id":"3f6e2a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":" Paris weather.","role":"assistant"}}],"usage":{"prompt_tokens":620,"completion_tokens":0,"total_tokens":738,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":512},"completion_tokens_details":{"reasoning_tokens":118,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: {"id":"3f6e2a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"content":"Let me check.","role":"assistant"}}],"usage":{"prompt_tokens":620,"completion_tokens":4,"total_tokens":742,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":512},"completion_tokens_details":{"reasoning_tokens":118,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: {"id":"3f6e2a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"content":"","tool_calls":[{"id":"call_48219350","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"},"index":0,"type":"function"}],"role":"assistant"}}],"usage":{"prompt_tokens":620,"completion_tokens":27,"total_tokens":765,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":512},"completion_tokens_details":{"reasoning_tokens":118,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: {"id":"3f6e2a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"content":"","role":"assistant"},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":620,"completion_tokens":27,"total_tokens":765,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":512},"completion_tokens_details":{"reasoning_tokens":118,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: [DONE]

''')

# xAI's documented error body ({"code": <text>, "error": <text>}, both
# strings); sent mid-stream here (assumed).
XAI_ERROR = _sse(r'''
data: {"id":"8e7d6c5b-4a3f-4e2d-b1c0-a9f8e7d6c5b4","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":"First","role":"assistant"}}],"usage":{"prompt_tokens":620,"completion_tokens":0,"total_tokens":621,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":1,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: {"code":"The service is currently unavailable","error":"The model is overloaded. Please retry your request."}

''')


# ---------------------------------------------------------------------------
# OpenRouter.  openrouter.ai/docs: api-reference/streaming (": OPENROUTER
# PROCESSING" comments; mid-stream errors as a chunk with top-level "error"
# and finish_reason "error"), use-cases/reasoning-tokens (delta.reasoning
# plus reasoning_details[] typed reasoning.text / reasoning.encrypted with
# format and index; signatures on a later fragment), usage accounting (cost
# and the token details on a later chunk with an empty delta), provider and
# native_finish_reason fields.  Assumed: the exact key order.

OPENROUTER_SIGNATURE = ("ErUBCkYIBxgCIkD8xq3vZk1mN2pQ7rS9tU4wV6yA0bC3dE5fG8hJ1kL2mN4pQ6rS8tU0wX2y"
                        "Z4aB6cD8eF0gH==")
OPENROUTER_REDACTED = "EmwKAhgBEgy3vaKMbxzmTqLk9PUaDFhgL2sbRw7jXvN5UiIwq9pR4tY7wE2sD6fG1hJ8kL3zX5cV0bN=="

OPENROUTER = _sse(r'''
: OPENROUTER PROCESSING

: OPENROUTER PROCESSING

data: {"id":"gen-1787040000-Xy7pQ2rS9tUvW3aBcD4e","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1787040000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"The user wants","reasoning_details":[{"type":"reasoning.text","text":"The user wants","format":"anthropic-claude-v1","index":0}]},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1787040000-Xy7pQ2rS9tUvW3aBcD4e","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1787040000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":" Paris weather.","reasoning_details":[{"type":"reasoning.text","text":" Paris weather.","format":"anthropic-claude-v1","index":0}]},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1787040000-Xy7pQ2rS9tUvW3aBcD4e","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1787040000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning_details":[{"type":"reasoning.text","signature":"SIGNATURE","format":"anthropic-claude-v1","index":0}]},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1787040000-Xy7pQ2rS9tUvW3aBcD4e","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1787040000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning_details":[{"type":"reasoning.encrypted","data":"REDACTED","format":"anthropic-claude-v1","index":1}]},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

: OPENROUTER PROCESSING

data: {"id":"gen-1787040000-Xy7pQ2rS9tUvW3aBcD4e","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1787040000,"choices":[{"index":0,"delta":{"role":"assistant","content":"I'll look it up."},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1787040000-Xy7pQ2rS9tUvW3aBcD4e","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1787040000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"index":0,"id":"toolu_01XyZ3AbCdEfGhIjKlMnOpQr","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1787040000-Xy7pQ2rS9tUvW3aBcD4e","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1787040000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"index":0,"type":"function","function":{"arguments":"{\"city\": \"Pa"}}]},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1787040000-Xy7pQ2rS9tUvW3aBcD4e","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1787040000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"index":0,"type":"function","function":{"arguments":"ris\"}"}}]},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1787040000-Xy7pQ2rS9tUvW3aBcD4e","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1787040000,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"tool_calls","native_finish_reason":"tool_use","logprobs":null}]}

data: {"id":"gen-1787040000-Xy7pQ2rS9tUvW3aBcD4e","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1787040000,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"native_finish_reason":null,"logprobs":null}],"usage":{"prompt_tokens":1450,"completion_tokens":212,"total_tokens":1662,"cost":0.007527,"is_byok":false,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"cost_details":{"upstream_inference_cost":null,"upstream_inference_prompt_cost":0.004347,"upstream_inference_completions_cost":0.00318},"completion_tokens_details":{"reasoning_tokens":96,"image_tokens":0}}}

data: [DONE]

'''.replace("SIGNATURE", OPENROUTER_SIGNATURE).replace("REDACTED", OPENROUTER_REDACTED))

# What must go back upstream, unchanged, on the tool-call turn: the
# streamed fragments merged by index (text joined, the signature added),
# keys in the order they first arrived.
OPENROUTER_DETAILS = [
    {"type": "reasoning.text", "text": "The user wants Paris weather.",
     "format": "anthropic-claude-v1", "index": 0, "signature": OPENROUTER_SIGNATURE},
    {"type": "reasoning.encrypted", "data": OPENROUTER_REDACTED,
     "format": "anthropic-claude-v1", "index": 1},
]

# Documented verbatim in openrouter.ai/docs/api-reference/streaming
# ("Stream Cancellation"/"Error handling during streaming").
OPENROUTER_ERROR = _sse(r'''
: OPENROUTER PROCESSING

data: {"id":"gen-1787040001-Ab3cD4eF5gH6iJ7kL8mN","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1787040001,"choices":[{"index":0,"delta":{"role":"assistant","content":"Let me"},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1787040001-Ab3cD4eF5gH6iJ7kL8mN","object":"chat.completion.chunk","created":1787040001,"model":"anthropic/claude-sonnet-4.5","provider":"Anthropic","error":{"code":"server_error","message":"Provider disconnected unexpectedly"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error","native_finish_reason":"error"}]}

data: [DONE]

''')


# ---------------------------------------------------------------------------
# vLLM.  vllm-project/vllm entrypoints/openai chat serving: delta.reasoning
# (the reasoning_content output was removed, PR #33402), hermes tool parser
# fragments (id "chatcmpl-tool-<hex>", name first, then argument pieces),
# stop_reason beside finish_reason, the include_usage chunk with choices []
# and prompt_tokens_details.cached_tokens (only with
# --enable-prompt-tokens-details, assumed on here).

VLLM = _sse(r'''
data: {"id":"chatcmpl-5e0d2b1c9a8f4e3d","object":"chat.completion.chunk","created":1787040000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-5e0d2b1c9a8f4e3d","object":"chat.completion.chunk","created":1787040000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"reasoning":"The user asks for"},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-5e0d2b1c9a8f4e3d","object":"chat.completion.chunk","created":1787040000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"reasoning":" the weather in Paris."},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-5e0d2b1c9a8f4e3d","object":"chat.completion.chunk","created":1787040000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":"Let me check."},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-5e0d2b1c9a8f4e3d","object":"chat.completion.chunk","created":1787040000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"tool_calls":[{"id":"chatcmpl-tool-8d3f1a2b4c5e4f60a7b8c9d0e1f2a3b4","type":"function","index":0,"function":{"name":"get_weather"}}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-5e0d2b1c9a8f4e3d","object":"chat.completion.chunk","created":1787040000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \""}}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-5e0d2b1c9a8f4e3d","object":"chat.completion.chunk","created":1787040000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"Paris\"}"}}]},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-5e0d2b1c9a8f4e3d","object":"chat.completion.chunk","created":1787040000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"tool_calls","stop_reason":null}]}

data: {"id":"chatcmpl-5e0d2b1c9a8f4e3d","object":"chat.completion.chunk","created":1787040000,"model":"Qwen/Qwen3-8B","choices":[],"usage":{"prompt_tokens":402,"total_tokens":497,"completion_tokens":95,"prompt_tokens_details":{"cached_tokens":384}}}

data: [DONE]

''')

# vLLM's error object (PROVIDERS.md §4, block/goose PR #8031) for an engine
# failure mid-generation; vLLM still ends with [DONE].
VLLM_ERROR = _sse(r'''
data: {"id":"chatcmpl-7f6e5d4c3b2a4918","object":"chat.completion.chunk","created":1787040000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-7f6e5d4c3b2a4918","object":"chat.completion.chunk","created":1787040000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":"Paris is"},"logprobs":null,"finish_reason":null}]}

data: {"object":"error","message":"EngineCore encountered an issue. See stack trace (above) for the root cause.","type":"InternalServerError","param":null,"code":500}

data: [DONE]

''')


# ---------------------------------------------------------------------------
# llama.cpp.  ggml-org/llama.cpp tools/server (server-task.cpp
# to_json_oaicompat_chat_stream: "choices" first, system_fingerprint, a
# finish chunk with an empty delta, then with include_usage a choices:[]
# chunk with usage (prompt_tokens_details.cached_tokens) and "timings").
# Started with --reasoning-format none, so a Qwen3 GGUF's <think> stays
# inline in content (split across chunks here).  Tool-call ids are random
# 32-character alphanumerics.

LLAMACPP = _sse(r'''
data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1787040000,"id":"chatcmpl-Qm3xV8rT2pLk9sWd4hJf6gNb1cZy7aE5","model":"qwen3-8b","system_fingerprint":"b6700-a1b2c3d4","object":"chat.completion.chunk"}

data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"<th"}}],"created":1787040000,"id":"chatcmpl-Qm3xV8rT2pLk9sWd4hJf6gNb1cZy7aE5","model":"qwen3-8b","system_fingerprint":"b6700-a1b2c3d4","object":"chat.completion.chunk"}

data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"ink>\nThe user wants"}}],"created":1787040000,"id":"chatcmpl-Qm3xV8rT2pLk9sWd4hJf6gNb1cZy7aE5","model":"qwen3-8b","system_fingerprint":"b6700-a1b2c3d4","object":"chat.completion.chunk"}

data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":" Paris weather.\n</thi"}}],"created":1787040000,"id":"chatcmpl-Qm3xV8rT2pLk9sWd4hJf6gNb1cZy7aE5","model":"qwen3-8b","system_fingerprint":"b6700-a1b2c3d4","object":"chat.completion.chunk"}

data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"nk>\n\nChecking now."}}],"created":1787040000,"id":"chatcmpl-Qm3xV8rT2pLk9sWd4hJf6gNb1cZy7aE5","model":"qwen3-8b","system_fingerprint":"b6700-a1b2c3d4","object":"chat.completion.chunk"}

data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"id":"zJ8rK2mQ5vX9pL3nT7wB1cF6hD4gS0aE","type":"function","function":{"name":"get_weather","arguments":"{\"city\":"}}]}}],"created":1787040000,"id":"chatcmpl-Qm3xV8rT2pLk9sWd4hJf6gNb1cZy7aE5","model":"qwen3-8b","system_fingerprint":"b6700-a1b2c3d4","object":"chat.completion.chunk"}

data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}],"created":1787040000,"id":"chatcmpl-Qm3xV8rT2pLk9sWd4hJf6gNb1cZy7aE5","model":"qwen3-8b","system_fingerprint":"b6700-a1b2c3d4","object":"chat.completion.chunk"}

data: {"choices":[{"finish_reason":"tool_calls","index":0,"delta":{}}],"created":1787040000,"id":"chatcmpl-Qm3xV8rT2pLk9sWd4hJf6gNb1cZy7aE5","model":"qwen3-8b","system_fingerprint":"b6700-a1b2c3d4","object":"chat.completion.chunk"}

data: {"choices":[],"created":1787040000,"id":"chatcmpl-Qm3xV8rT2pLk9sWd4hJf6gNb1cZy7aE5","model":"qwen3-8b","system_fingerprint":"b6700-a1b2c3d4","object":"chat.completion.chunk","usage":{"completion_tokens":58,"prompt_tokens":377,"total_tokens":435,"prompt_tokens_details":{"cached_tokens":320}},"timings":{"cache_n":320,"prompt_n":57,"prompt_ms":88.4,"prompt_per_token_ms":1.551,"prompt_per_second":644.8,"predicted_n":58,"predicted_ms":712.3,"predicted_per_token_ms":12.281,"predicted_per_second":81.43}}

data: [DONE]

''')

# tools/server: an error result while streaming is written as
# format_oai_sse({"error": ...}) and the stream is terminated (no [DONE]);
# "Failed to parse input at pos N" is its chat parser's message.
LLAMACPP_ERROR = _sse(r'''
data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1787040000,"id":"chatcmpl-Bv2nM4kL6jH8gF0dS2aP4oI6uY8tR0eW","model":"qwen3-8b","system_fingerprint":"b6700-a1b2c3d4","object":"chat.completion.chunk"}

data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"<think>\nLet me"}}],"created":1787040000,"id":"chatcmpl-Bv2nM4kL6jH8gF0dS2aP4oI6uY8tR0eW","model":"qwen3-8b","system_fingerprint":"b6700-a1b2c3d4","object":"chat.completion.chunk"}

data: {"error":{"code":500,"message":"Failed to parse input at pos 27: <tool_call>\n{\"name\": \"get_weather\"","type":"server_error"}}

''')


# ---------------------------------------------------------------------------
# Ollama.  ollama/ollama openai/openai.go (ToChunk): "chatcmpl-<n>" ids,
# system_fingerprint "fp_ollama", delta.role and content on every chunk,
# delta.reasoning for thinking, each tool call whole, parallel calls all at
# index 0 with different "call_<8 alnum>" ids (PROVIDERS.md §4), a choices:[]
# usage chunk without cached or reasoning details.

OLLAMA = _sse(r'''
data: {"id":"chatcmpl-512","object":"chat.completion.chunk","created":1787040000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Two cities,"},"finish_reason":null}]}

data: {"id":"chatcmpl-512","object":"chat.completion.chunk","created":1787040000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":" so two calls."},"finish_reason":null}]}

data: {"id":"chatcmpl-512","object":"chat.completion.chunk","created":1787040000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_k3v9x2qa","index":0,"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-512","object":"chat.completion.chunk","created":1787040000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_7m1z8w4r","index":0,"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-512","object":"chat.completion.chunk","created":1787040000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"tool_calls"}]}

data: {"id":"chatcmpl-512","object":"chat.completion.chunk","created":1787040000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[],"usage":{"prompt_tokens":188,"completion_tokens":61,"total_tokens":249}}

data: [DONE]

''')

# From reading ollama's source, not captured: server/routes.go
# streamResponse encodes a mid-stream failure as {"error": "..."}, which the
# openai middleware's ChatWriter (status already 200) decodes as an ordinary
# ChatResponse and re-encodes as an empty chunk; "done" never comes, so no
# usage chunk and no [DONE].  The provider's text is lost on this path.
OLLAMA_ERROR = _sse(r'''
data: {"id":"chatcmpl-77","object":"chat.completion.chunk","created":1787040000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Paris"},"finish_reason":null}]}

data: {"id":"chatcmpl-77","object":"chat.completion.chunk","created":1787040000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

''')


# ---------------------------------------------------------------------------
# What the relay must make of them.

FIXTURES: dict[str, Fixture] = {f.name: f for f in [
    Fixture(
        "deepseek", "deepseek", "deepseek-v4-flash", DEEPSEEK,
        "api-docs.deepseek.com thinking_mode + chat-completion usage",
        ("reasoning", "message", "function_call"), DEEPSEEK_REASONING,
        "Checking the forecast.",
        (Call("get_weather", '{"city": "Paris"}', "call_00_Kq2mWx7LrT9vB3nYd5JpHs1c"),),
        Usage(1312, 86, cached=1280, reasoning=41)),
    Fixture(
        "kimi", "kimi", "kimi-k2.6", KIMI,
        "platform.moonshot.cn streaming guide (usage in choices[0])",
        ("reasoning", "message", "function_call"),
        "The user asks about Paris. I should call get_weather.", "Let me look that up.",
        (Call("get_weather", '{"city": "Paris"}', "functions.get_weather:0"),),
        Usage(842, 57, cached=768)),
    Fixture(
        "glm", "glm", "glm-4.6", GLM, "docs.z.ai chat completion + thinking",
        ("reasoning", "message", "function_call"), "Paris weather needs the tool.",
        "I will check the weather.",
        (Call("get_weather", '{"city": "Paris"}', "call_-8173422372385393218"),),
        Usage(1024, 96, cached=896)),
    Fixture(
        "qwen", "qwen", "qwen-plus", QWEN, "help.aliyun.com deep-thinking + function calling",
        ("reasoning", "function_call"), "The user asks for Paris. Call get_weather.", "",
        (Call("get_weather", '{"city": "Paris"}', "call_8f08d2b0fc0c4d8fab7123"),),
        Usage(310, 72, cached=256, reasoning=48)),
    Fixture(
        "mistral", "mistral", "magistral-medium-latest", MISTRAL,
        "docs.mistral.ai reasoning + function calling",
        ("reasoning", "message", "function_call"),
        "The user wants Paris weather. Use get_weather.", "I'll check now.",
        (Call("get_weather", '{"city": "Paris"}', "D681PevKs"),),
        Usage(214, 86)),
    Fixture(
        "groq", "groq", "qwen/qwen3-32b", GROQ,
        "console.groq.com reasoning (parsed) + x_groq usage",
        ("reasoning", "function_call"), "Okay, the user wants the weather in Paris.", "",
        (Call("get_weather", '{"city":"Paris"}', "call_f3h1k9m2"),),
        Usage(305, 74)),
    Fixture(
        "xai", "xai", "grok-3-mini", XAI, "docs.x.ai streaming + reasoning",
        ("reasoning", "message", "function_call"), "The user wants Paris weather.",
        "Let me check.",
        (Call("get_weather", '{"city":"Paris"}', "call_48219350"),),
        # completion_tokens (27) leave out the 118 reasoning tokens.
        Usage(620, 27 + 118, cached=512, reasoning=118)),
    Fixture(
        "openrouter", "openrouter", "anthropic/claude-sonnet-4.5", OPENROUTER,
        "openrouter.ai/docs streaming + reasoning-tokens + usage accounting",
        ("reasoning", "message", "function_call"), "The user wants Paris weather.",
        "I'll look it up.",
        (Call("get_weather", '{"city": "Paris"}', "toolu_01XyZ3AbCdEfGhIjKlMnOpQr"),),
        Usage(1450, 212, cached=1024, reasoning=96)),
    Fixture(
        "vllm", "vllm", "Qwen/Qwen3-8B", VLLM, "vLLM chat serving + hermes parser",
        ("reasoning", "message", "function_call"),
        "The user asks for the weather in Paris.", "Let me check.",
        (Call("get_weather", '{"city": "Paris"}',
              "chatcmpl-tool-8d3f1a2b4c5e4f60a7b8c9d0e1f2a3b4"),),
        Usage(402, 95, cached=384)),
    Fixture(
        "llama.cpp", "llama.cpp", "qwen3-8b", LLAMACPP,
        "llama.cpp tools/server server-task.cpp",
        ("reasoning", "message", "function_call"), "The user wants Paris weather.",
        "Checking now.",
        (Call("get_weather", '{"city":"Paris"}', "zJ8rK2mQ5vX9pL3nT7wB1cF6hD4gS0aE"),),
        Usage(377, 58, cached=320)),
    Fixture(
        "ollama", "ollama", "qwen3:8b", OLLAMA, "ollama openai/openai.go",
        ("reasoning", "function_call", "function_call"), "Two cities, so two calls.", "",
        (Call("get_weather", '{"city":"Paris"}', "call_k3v9x2qa"),
         Call("get_weather", '{"city":"Rome"}', "call_7m1z8w4r")),
        Usage(188, 61), question="What is the weather in Paris and in Rome?"),
]}

EXTRA: dict[str, Fixture] = {f.name: f for f in [
    Fixture(
        "deepseek-no-done", "deepseek", "deepseek-v4-flash", DEEPSEEK_NO_DONE,
        "DEEPSEEK without [DONE]",
        ("reasoning", "message", "function_call"), DEEPSEEK_REASONING,
        "Checking the forecast.",
        (Call("get_weather", '{"city": "Paris"}', "call_00_Kq2mWx7LrT9vB3nYd5JpHs1c"),),
        Usage(1312, 86, cached=1280, reasoning=41)),
    Fixture(
        "deepseek-dsml", "deepseek", "deepseek-v4-flash", DEEPSEEK_DSML,
        "PROVIDERS.md DSML single-bar dialect",
        ("message", "function_call"), "", "I will check.",
        (Call("get_weather", '{"city": "Paris"}', None),),
        Usage(980, 44, cached=896)),
]}

ERRORS: dict[str, ErrorFixture] = {f.name: f for f in [
    ErrorFixture("deepseek", "deepseek", "deepseek-v4-flash", DEEPSEEK_ERROR,
                 "assumed OpenAI shape", "server_error", "temporarily unavailable"),
    ErrorFixture("kimi", "kimi", "kimi-k2.6", KIMI_ERROR,
                 "assumed shape, Moonshot error type", "server_error", "overloaded"),
    ErrorFixture("glm", "glm", "glm-4.6", GLM_ERROR,
                 "assumed shape, Z.ai code 1305", "server_error", "temporarily overloaded"),
    ErrorFixture("qwen", "qwen", "qwen-plus", QWEN_ERROR,
                 "DashScope data_inspection_failed", "server_error", "inappropriate content"),
    ErrorFixture("mistral", "mistral", "magistral-medium-latest", MISTRAL_ERROR,
                 "Mistral error object", "server_error", "capacity exceeded"),
    ErrorFixture("groq", "groq", "qwen/qwen3-32b", GROQ_ERROR,
                 "Groq tool_use_failed", "server_error", "Failed to call a function"),
    ErrorFixture("xai", "xai", "grok-3-mini", XAI_ERROR,
                 "xAI error body", "server_error", None),
    ErrorFixture("openrouter", "openrouter", "anthropic/claude-sonnet-4.5", OPENROUTER_ERROR,
                 "openrouter.ai/docs streaming errors", "server_error",
                 "Provider disconnected unexpectedly"),
    ErrorFixture("vllm", "vllm", "Qwen/Qwen3-8B", VLLM_ERROR,
                 "vLLM error object", "server_error", "EngineCore encountered an issue"),
    ErrorFixture("llama.cpp", "llama.cpp", "qwen3-8b", LLAMACPP_ERROR,
                 "llama.cpp format_oai_sse error", "server_error", "Failed to parse input"),
    ErrorFixture("ollama", "ollama", "qwen3:8b", OLLAMA_ERROR,
                 "ollama routes.go + openai.go (source reading)", "server_error", None),
]}
