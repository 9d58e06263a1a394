"""
The provider streams of the model makers' own APIs (DeepSeek, Kimi, GLM,
Qwen, Mistral, xAI), each a success and a mid-stream failure, as raw SSE
bytes; L{tests.harness.providers} says how they were written and
L{tests.harness.providercases} what the relay must make of them.
"""

from tests.harness.providers import wire


# ---------------------------------------------------------------------------
# DeepSeek.  api-docs.deepseek.com: /guides/thinking_mode (reasoning_content
# deltas beside a null content), /api/create-chat-completion (usage:
# prompt_cache_hit_tokens / prompt_cache_miss_tokens and
# completion_tokens_details.reasoning_tokens, no prompt_tokens_details),
# /quick_start/rate_limit (": keep-alive" comments while a request waits).
# PROVIDERS.md §2/§5: usage on the finish chunk.  Assumed: the "call_00_"
# id style (seen from V3.1 on) and the exact fingerprint.

DEEPSEEK = wire(r'''
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
DEEPSEEK_DSML = wire(r'''
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
DEEPSEEK_ERROR = wire(r'''
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

KIMI = wire(r'''
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
KIMI_ERROR = wire(r'''
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

GLM = wire(r'''
data: {"id":"2026082010300098c4a1e2b3d4e5f6a7","created":1787040000,"object":"chat.completion.chunk","model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Paris weather"}}]}

data: {"id":"2026082010300098c4a1e2b3d4e5f6a7","created":1787040000,"object":"chat.completion.chunk","model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":" needs the tool."}}]}

data: {"id":"2026082010300098c4a1e2b3d4e5f6a7","created":1787040000,"object":"chat.completion.chunk","model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","content":"I will check the weather."}}]}

data: {"id":"2026082010300098c4a1e2b3d4e5f6a7","created":1787040000,"object":"chat.completion.chunk","model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"id":"call_-8173422372385393218","index":0,"type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]}}]}

data: {"id":"2026082010300098c4a1e2b3d4e5f6a7","created":1787040000,"object":"chat.completion.chunk","model":"glm-4.6","choices":[{"index":0,"finish_reason":"tool_calls","delta":{"role":"assistant","content":""}}],"usage":{"prompt_tokens":1024,"completion_tokens":96,"total_tokens":1120,"prompt_tokens_details":{"cached_tokens":896}}}

data: [DONE]

''')

# Assumed shape; the code and message are Z.ai's documented 1305
# ("temporarily overloaded").
GLM_ERROR = wire(r'''
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

QWEN = wire(r'''
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
QWEN_ERROR = wire(r'''
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

MISTRAL = wire(r'''
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
MISTRAL_ERROR = wire(r'''
data: {"id":"9a8b7c6d5e4f4a3b2c1d0e9f8a7b6c5d","object":"chat.completion.chunk","created":1787040000,"model":"magistral-medium-2509","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

data: {"id":"9a8b7c6d5e4f4a3b2c1d0e9f8a7b6c5d","object":"chat.completion.chunk","created":1787040000,"model":"magistral-medium-2509","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"Hmm"}]}]},"finish_reason":null}]}

data: {"object":"error","message":"Service tier capacity exceeded for this model.","type":"service_tier_capacity_exceeded","param":null,"code":"3505"}

''')


# ---------------------------------------------------------------------------
# xAI.  docs.x.ai streaming guide (usage on EVERY chunk, cumulative; choices
# without finish_reason until the end; the whole function call in one
# chunk), reasoning guide (grok-3-mini streams reasoning_content;
# reasoning_tokens are counted APART from completion_tokens: total_tokens =
# prompt + completion + reasoning, also stated by Vertex AI's Grok docs),
# usage details text/audio/image/cached tokens and num_sources_used.

XAI = wire(r'''
data: {"id":"3f6e2a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":"The user wants","role":"assistant"}}],"usage":{"prompt_tokens":620,"completion_tokens":0,"total_tokens":622,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":512},"completion_tokens_details":{"reasoning_tokens":2,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: {"id":"3f6e2a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":" Paris weather.","role":"assistant"}}],"usage":{"prompt_tokens":620,"completion_tokens":0,"total_tokens":738,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":512},"completion_tokens_details":{"reasoning_tokens":118,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: {"id":"3f6e2a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"content":"Let me check.","role":"assistant"}}],"usage":{"prompt_tokens":620,"completion_tokens":4,"total_tokens":742,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":512},"completion_tokens_details":{"reasoning_tokens":118,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: {"id":"3f6e2a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"content":"","tool_calls":[{"id":"call_48219350","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"},"index":0,"type":"function"}],"role":"assistant"}}],"usage":{"prompt_tokens":620,"completion_tokens":27,"total_tokens":765,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":512},"completion_tokens_details":{"reasoning_tokens":118,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: {"id":"3f6e2a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"content":"","role":"assistant"},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":620,"completion_tokens":27,"total_tokens":765,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":512},"completion_tokens_details":{"reasoning_tokens":118,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: [DONE]

''')

# xAI's documented error body ({"code": <text>, "error": <text>}, both
# strings); sent mid-stream here (assumed).
XAI_ERROR = wire(r'''
data: {"id":"8e7d6c5b-4a3f-4e2d-b1c0-a9f8e7d6c5b4","object":"chat.completion.chunk","created":1787040000,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":"First","role":"assistant"}}],"usage":{"prompt_tokens":620,"completion_tokens":0,"total_tokens":621,"prompt_tokens_details":{"text_tokens":620,"audio_tokens":0,"image_tokens":0,"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":1,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0},"system_fingerprint":"fp_6ca29cf396"}

data: {"code":"The service is currently unavailable","error":"The model is overloaded. Please retry your request."}

''')
