"""
What the relay must make of each provider stream
(L{tests.harness.providers}): the success streams in L{FIXTURES}, a few
variants in L{EXTRA}, the mid-stream failures in L{ERRORS}.
"""

from tests.harness.hoststreams import (
    GROQ,
    GROQ_ERROR,
    LLAMACPP,
    LLAMACPP_ERROR,
    OLLAMA,
    OLLAMA_ERROR,
    OPENROUTER,
    OPENROUTER_ERROR,
    VLLM,
    VLLM_ERROR,
)
from tests.harness.providers import Call, ErrorFixture, Fixture, Usage
from tests.harness.vendorstreams import (
    DEEPSEEK,
    DEEPSEEK_DSML,
    DEEPSEEK_ERROR,
    DEEPSEEK_NO_DONE,
    DEEPSEEK_REASONING,
    GLM,
    GLM_ERROR,
    KIMI,
    KIMI_ERROR,
    MISTRAL,
    MISTRAL_ERROR,
    QWEN,
    QWEN_ERROR,
    XAI,
    XAI_ERROR,
)


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
