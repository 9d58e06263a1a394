"""
The provider streams of the inference hosts and servers (Groq, OpenRouter,
vLLM, llama.cpp, Ollama), each a success and a mid-stream failure, as raw
SSE bytes; L{tests.harness.providers} says how they were written and
L{tests.harness.providercases} what the relay must make of them.
"""

from tests.harness.providers import wire


# ---------------------------------------------------------------------------
# Groq.  console.groq.com reasoning guide (reasoning_format "parsed": a
# separate delta.reasoning), chat reference (x_groq.id on chunks,
# x_groq.usage with queue/prompt/completion times on the finish chunk),
# LangChain's ChatGroq stream_options docs (include_usage: an extra usage
# chunk at the end).  Assumed: the include_usage chunk's exact keys; the
# whole tool call in one chunk.

GROQ = wire(r'''
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
GROQ_ERROR = wire(r'''
data: {"id":"chatcmpl-8c7d6e5f-4a3b-2c1d-0e9f-8a7b6c5d4e3f","object":"chat.completion.chunk","created":1787040000,"model":"qwen/qwen3-32b","system_fingerprint":"fp_5cf921caa2","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"x_groq":{"id":"req_01k3n0a9b8c7d6e5f4g3h2j1k0"}}

data: {"id":"chatcmpl-8c7d6e5f-4a3b-2c1d-0e9f-8a7b6c5d4e3f","object":"chat.completion.chunk","created":1787040000,"model":"qwen/qwen3-32b","system_fingerprint":"fp_5cf921caa2","choices":[{"index":0,"delta":{"reasoning":"I need the tool"},"logprobs":null,"finish_reason":null}]}

data: {"error":{"message":"Failed to call a function. Please adjust your prompt. See 'failed_generation' for more details.","type":"invalid_request_error","code":"tool_use_failed","failed_generation":"<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": Paris}}\n</tool_call>"}}

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

OPENROUTER = wire(r'''
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
OPENROUTER_ERROR = wire(r'''
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

VLLM = wire(r'''
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
VLLM_ERROR = wire(r'''
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

LLAMACPP = wire(r'''
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
LLAMACPP_ERROR = wire(r'''
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

OLLAMA = wire(r'''
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
OLLAMA_ERROR = wire(r'''
data: {"id":"chatcmpl-77","object":"chat.completion.chunk","created":1787040000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Paris"},"finish_reason":null}]}

data: {"id":"chatcmpl-77","object":"chat.completion.chunk","created":1787040000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

''')
