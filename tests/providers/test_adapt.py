"""
Profiles and the adaptation of a translated Chat request to one upstream.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.adapt import adaptRequest, alnum9
from codex_relay._providers.profiles import GENERIC, PROFILES, detectProfile, profileNamed


def body(**fields: object) -> dict:
    """
    A translated Chat body with a reasoning tool-call turn in its history.
    """
    base = {
        "model": "client-name",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "reasoning_content": "think",
             "tool_calls": [{"id": "call_abc", "type": "function",
                             "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_abc", "content": "ok"},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {},
                                                    "strict": True}},
                  {"type": "function", "function": {"name": "spawn_agent",
                                                    "parameters": {}}}],
        "tool_choice": "required",
        "parallel_tool_calls": True,
        "max_tokens": 100,
        "temperature": 0.2,
        "top_p": 0.9,
        "reasoning_effort": "medium",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    base.update(fields)
    return base


def adapted(profileName: str, model: str = "m", **options: object) -> dict:
    chat = body()
    profile = profileNamed(profileName).forModel(model)
    adaptRequest(chat, profile, model, **options)  # type: ignore[arg-type]
    return chat


def assistant(chat: dict) -> dict:
    return chat["messages"][2]


class DetectionTests(SynchronousTestCase):
    def test_hosts(self) -> None:
        for url, name in [
            ("https://api.deepseek.com/v1", "deepseek"),
            ("https://api.moonshot.ai/v1", "kimi"),
            ("https://api.kimi.com/coding/v1", "kimi"),
            ("https://open.bigmodel.cn/api/coding/paas/v4", "glm"),
            ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "qwen"),
            ("https://api.mistral.ai/v1", "mistral"),
            ("https://api.groq.com/openai/v1", "groq"),
            ("https://api.x.ai/v1", "xai"),
            ("https://openrouter.ai/api/v1", "openrouter"),
            ("http://127.0.0.1:11434/v1", "ollama"),
            ("http://localhost:8000/v1", "vllm"),
            ("http://127.0.0.1:8080/v1", "llama.cpp"),
            ("https://llm.example.com/v1", "generic"),
            ("http://10.0.0.5:11434/v1", "generic"),
        ]:
            self.assertEqual(detectProfile(url).name, name, url)

    def test_unknownName(self) -> None:
        error = self.assertRaises(KeyError, profileNamed, "nope")
        self.assertIn("deepseek", error.args[0])

    def test_elevenAndGeneric(self) -> None:
        self.assertEqual(len(PROFILES), 12)


class ReplayTests(SynchronousTestCase):
    def test_requiredKeepsReasoning(self) -> None:
        self.assertEqual(assistant(adapted("deepseek", "deepseek-chat"))["reasoning_content"],
                         "think")

    def test_requiredPlaceholder(self) -> None:
        chat = body()
        del assistant(chat)["reasoning_content"]
        adaptRequest(chat, profileNamed("kimi"), "kimi-k2-thinking")
        self.assertEqual(assistant(chat)["reasoning_content"], "")

    def test_forbidden(self) -> None:
        for name, model in [("groq", "m"), ("deepseek", "deepseek-reasoner"), ("xai", "m")]:
            message = assistant(adapted(name, model))
            self.assertFalse({"reasoning_content", "reasoning", "reasoning_details"} & set(message),
                             name)

    def test_fieldRenamed(self) -> None:
        message = assistant(adapted("ollama"))
        self.assertEqual(message["reasoning"], "think")
        self.assertNotIn("reasoning_content", message)

    def test_mistralThinkingChunk(self) -> None:
        message = assistant(adapted("mistral"))
        self.assertEqual(message["content"], [
            {"type": "thinking", "thinking": [{"type": "text", "text": "think"}]}])
        self.assertNotIn("reasoning_content", message)

    def test_openRouterDetailsUnchanged(self) -> None:
        chat = body()
        details = [{"type": "reasoning.text", "text": "think", "signature": "sig", "index": 0}]
        assistant(chat)["reasoning_details"] = details
        adaptRequest(chat, profileNamed("openrouter"), "m")
        self.assertEqual(assistant(chat)["reasoning_details"], details)
        self.assertNotIn("reasoning_content", assistant(chat))


class ToolTests(SynchronousTestCase):
    def test_alnum9(self) -> None:
        chat = adapted("mistral")
        callId = assistant(chat)["tool_calls"][0]["id"]
        self.assertRegex(callId, r"^[A-Za-z0-9]{9}$")
        self.assertEqual(chat["messages"][3]["tool_call_id"], callId)
        self.assertEqual(alnum9("call_abc"), callId)  # stable across requests
        self.assertEqual(alnum9("Ab3dE6gH9"), "Ab3dE6gH9")

    def test_toolChoiceMapping(self) -> None:
        self.assertEqual(adapted("mistral")["tool_choice"], "any")
        self.assertEqual(adapted("kimi")["tool_choice"], "auto")
        self.assertNotIn("tool_choice", adapted("ollama"))
        named = body(tool_choice={"type": "function", "function": {"name": "f"}})
        adaptRequest(named, profileNamed("kimi"), "m")
        self.assertEqual(named["tool_choice"], "auto")

    def test_strictStripped(self) -> None:
        self.assertNotIn("strict", adapted("mistral")["tools"][0]["function"])
        self.assertTrue(adapted("generic")["tools"][0]["function"]["strict"])

    def test_withhold(self) -> None:
        chat = adapted("generic", withholdTools=["spawn_agent"])
        self.assertEqual([t["function"]["name"] for t in chat["tools"]], ["f"])
        everything = adapted("generic", withholdTools=["spawn_agent", "f"])
        self.assertFalse({"tools", "tool_choice", "parallel_tool_calls"} & set(everything))


class ParameterTests(SynchronousTestCase):
    def test_generic(self) -> None:
        chat = adapted("generic", "upstream-name")
        self.assertEqual(chat["model"], "upstream-name")
        self.assertEqual((chat["max_tokens"], chat["temperature"], chat["reasoning_effort"]),
                         (100, 0.2, "medium"))
        self.assertIn("stream_options", chat)

    def test_kimi(self) -> None:
        chat = adapted("kimi")
        self.assertEqual(chat["max_completion_tokens"], 100)
        self.assertFalse({"max_tokens", "temperature", "top_p", "reasoning_effort"} & set(chat))

    def test_explicitFieldsOverrideProfile(self) -> None:
        """
        C{--max-tokens-field} and C{--reasoning-field} win over every
        profile's own choice; without them the profile decides.  (They used
        to be applied in translation and undone here.)
        """
        for name in PROFILES:
            chat = adapted(name, maxTokensField="max_completion_tokens",
                           reasoningField="reasoning")
            self.assertEqual(chat.get("max_completion_tokens"), 100, name)
            self.assertNotIn("max_tokens", chat, name)
            if PROFILES[name].replay != "forbidden":
                self.assertEqual(assistant(chat).get("reasoning"), "think", name)
                self.assertNotIn("reasoning_content", assistant(chat), name)
        self.assertEqual(adapted("generic")["max_tokens"], 100)
        self.assertEqual(adapted("kimi")["max_completion_tokens"], 100)
        self.assertEqual(assistant(adapted("ollama"))["reasoning"], "think")

    def test_mistralNoStreamOptions(self) -> None:
        self.assertNotIn("stream_options", adapted("mistral"))

    def test_effortMappings(self) -> None:
        deepseek = adapted("deepseek", "deepseek-chat")
        self.assertEqual((deepseek["thinking"], deepseek["reasoning_effort"]),
                         ({"type": "enabled"}, "high"))
        self.assertEqual(adapted("openrouter")["reasoning"], {"effort": "medium"})
        self.assertNotIn("reasoning_effort", adapted("xai", "grok-4-0709"))
        self.assertEqual(adapted("xai", "grok-3-mini")["reasoning_effort"], "medium")
        k3 = adapted("kimi", "kimi-k3")
        self.assertEqual(k3["reasoning_effort"], "high")
        qwen = adapted("qwen")
        self.assertIs(qwen["enable_thinking"], True)
        self.assertNotIn("reasoning_effort", qwen)

    def test_qwenNonStreamingThinksNot(self) -> None:
        chat = body(stream=False)
        del chat["stream_options"]
        del chat["reasoning_effort"]
        adaptRequest(chat, profileNamed("qwen"), "qwen-plus")
        self.assertIs(chat["enable_thinking"], False)

    def test_jsonSchemaFallback(self) -> None:
        schema = {"type": "object", "properties": {"a": {"type": "string"}}}
        chat = body(response_format={"type": "json_schema",
                                     "json_schema": {"name": "x", "schema": schema}})
        adaptRequest(chat, profileNamed("qwen"), "m")
        self.assertEqual(chat["response_format"], {"type": "json_object"})
        self.assertEqual(chat["messages"][1]["role"], "system")
        self.assertIn(json.dumps(schema), chat["messages"][1]["content"])

    def test_glmThinkingHealer(self) -> None:
        self.assertEqual(adapted("glm", heal=["glm_thinking"])["thinking"], {"type": "enabled"})
        self.assertNotIn("thinking", adapted("glm", heal=[]))

    def test_routeOverrides(self) -> None:
        chat = adapted("generic", extraParams={"options": {"num_ctx": 8192}, "top_k": 5},
                       dropParams=["parallel_tool_calls", "top_p"])
        self.assertEqual((chat["options"], chat["top_k"]), ({"num_ctx": 8192}, 5))
        self.assertFalse({"parallel_tool_calls", "top_p"} & set(chat))

    def test_genericLeavesBodyAlone(self) -> None:
        chat = body()
        expected = json.loads(json.dumps(chat))
        expected["model"] = "m"
        adaptRequest(chat, GENERIC, "m")
        self.assertEqual(chat, expected)


class ContentFilterTests(SynchronousTestCase):
    def test_dsmlHealedIntoCalls(self) -> None:
        """
        A DSML invoke that names no parameter gives its value to the tool's
        first required parameter, and the healing is counted.
        """
        from codex_relay._providers.adapt import contentFilter, healedCalls

        tools = [{"type": "function", "function": {
            "name": "exec_command", "parameters": {"required": ["cmd"]}}}]
        healer = contentFilter(profileNamed("deepseek"), {"dsml"}, tools)
        pieces = healer.feed('Sure.<｜｜DSML｜｜invoke name="exec_command" string="ls" />')
        pieces += healer.flush()
        self.assertEqual([(p.kind, p.name, p.arguments) for p in pieces if p.kind == "call"],
                         [("call", "exec_command", json.dumps({"cmd": "ls"}))])
        self.assertEqual(healedCalls(healer), 1)

    def test_noFilterForPlainProfiles(self) -> None:
        from codex_relay._providers.adapt import contentFilter

        self.assertIsNone(contentFilter(GENERIC, ()))
        self.assertIsNotNone(contentFilter(profileNamed("llama.cpp"), ()))
