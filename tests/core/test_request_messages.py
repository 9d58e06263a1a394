"""
Tests for L{codex_relay._core.request.translate}, L{codex_relay._core.request.messages} and
L{codex_relay._core.request.tools}: Responses requests in, Chat Completions bodies out.
"""

import json
import re

from hypothesis import given, settings as hypothesisSettings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.carrier import ReasoningCarrier
from codex_relay._core.errors import RelayError
from codex_relay._core.request.translate import ChatRequest, translateRequest
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.request.tools import ToolMap, ToolRef, translateTools
from tests.harness.requests import SECRET, SETTINGS, assistantItem, call, chatCall, messagesOf, output, seal, tool, translate, user

EMPTY_PARAMETERS = {"type": "object", "properties": {}}
CUSTOM_PARAMETERS = {
    "type": "object",
    "properties": {"input": {"type": "string",
                             "description": "The raw tool input, not JSON-wrapped."}},
    "required": ["input"],
    "additionalProperties": False,
}


class BadRequestMixin:
    def assertBadRequest(self, request: object, param: str | None, code: str | None) -> RelayError:
        error = self.assertRaises(RelayError, translateRequest, request, SETTINGS)
        self.assertEqual(
            (error.status, error.type, error.param, error.code),
            (400, "invalid_request_error", param, code),
        )
        return error


class ValidationTests(BadRequestMixin, SynchronousTestCase):
    """
    Malformed requests are answered with a 400 naming the bad parameter.
    """

    def test_bodyNotObject(self) -> None:
        """
        A body that is not a JSON object is a 400 with no param.
        """
        for body in ([], "hi", None, 3):
            self.assertBadRequest(body, None, None)

    def test_model(self) -> None:
        """
        C{model} must be a non-empty string.
        """
        self.assertBadRequest({"input": "hi"}, "model", "missing_required_parameter")
        self.assertBadRequest({"model": "", "input": "hi"}, "model", "invalid_type")
        self.assertBadRequest({"model": 3, "input": "hi"}, "model", "invalid_type")

    def test_input(self) -> None:
        """
        C{input} is required, and a string or a list.
        """
        self.assertBadRequest({"model": "m"}, "input", "missing_required_parameter")
        self.assertBadRequest({"model": "m", "input": 5}, "input", "invalid_type")
        self.assertBadRequest({"model": "m", "input": {"role": "user"}}, "input", "invalid_type")

    def test_itemNotObject(self) -> None:
        """
        Every input item is an object.
        """
        self.assertBadRequest({"model": "m", "input": [user("a"), "b"]}, "input[1]",
                              "invalid_type")

    def test_itemTypeNotString(self) -> None:
        """
        An item's C{type} is a string.
        """
        self.assertBadRequest({"model": "m", "input": [{"type": 3}]}, "input[0].type",
                              "invalid_type")

    def test_content(self) -> None:
        """
        Message content is a string or a list of part objects.
        """
        self.assertBadRequest({"model": "m", "input": [user(None)]}, "input[0].content",
                              "invalid_type")
        self.assertBadRequest({"model": "m", "input": [user({"text": "a"})]},
                              "input[0].content", "invalid_type")
        self.assertBadRequest({"model": "m", "input": [user(["a"])]}, "input[0].content[0]",
                              "invalid_type")
        self.assertBadRequest(
            {"model": "m", "input": [user([{"type": "input_text", "text": 3}])]},
            "input[0].content[0].text", "invalid_type")

    def test_role(self) -> None:
        """
        Roles outside user/system/developer/assistant are refused.
        """
        self.assertBadRequest({"model": "m", "input": [{"role": "tool", "content": "x"}]},
                              "input[0].role", "invalid_value")

    def test_instructions(self) -> None:
        """
        C{instructions} is a string or a list of items.
        """
        self.assertBadRequest({"model": "m", "input": "x", "instructions": 3}, "instructions",
                              "invalid_type")
        self.assertBadRequest({"model": "m", "input": "x", "instructions": [3]},
                              "instructions[0]", "invalid_type")

    def test_tools(self) -> None:
        """
        C{tools} is a list.
        """
        self.assertBadRequest({"model": "m", "input": "x", "tools": {}}, "tools", "invalid_type")

    def test_numbers(self) -> None:
        """
        C{temperature} and C{top_p} are numbers, not booleans.
        """
        for key in ("temperature", "top_p"):
            for value in ("hot", True, [1]):
                self.assertBadRequest({"model": "m", "input": "x", key: value}, key,
                                      "invalid_type")

    def test_maxOutputTokens(self) -> None:
        """
        C{max_output_tokens} is a positive integer.
        """
        for value in (1.5, True, "10"):
            self.assertBadRequest({"model": "m", "input": "x", "max_output_tokens": value},
                                  "max_output_tokens", "invalid_type")
        for value in (0, -3):
            self.assertBadRequest({"model": "m", "input": "x", "max_output_tokens": value},
                                  "max_output_tokens", "invalid_value")

    def test_otherTypes(self) -> None:
        """
        Wrongly typed optional fields are refused.
        """
        for key, value in (("stream", "yes"), ("metadata", ["a"]), ("include", "x"),
                           ("include", [3]), ("reasoning", "high"), ("text", "json"),
                           ("parallel_tool_calls", "yes"), ("background", "no")):
            self.assertBadRequest({"model": "m", "input": "x", key: value}, key,
                                  "invalid_type")
        self.assertBadRequest({"model": "m", "input": "x", "reasoning": {"effort": 3}},
                              "reasoning.effort", "invalid_type")

    def test_textFormat(self) -> None:
        """
        C{text.format} is checked field by field.
        """
        def bad(textFormat, param, code):
            self.assertBadRequest({"model": "m", "input": "x", "text": {"format": textFormat}},
                                  param, code)
        bad("json", "text.format", "invalid_type")
        bad({"type": "xml"}, "text.format.type", "invalid_value")
        bad({"type": "json_schema", "schema": {}}, "text.format.name",
            "missing_required_parameter")
        bad({"type": "json_schema", "name": "n"}, "text.format.schema",
            "missing_required_parameter")
        bad({"type": "json_schema", "name": "n", "schema": []}, "text.format.schema",
            "invalid_type")
        bad({"type": "json_schema", "name": "n", "schema": {}, "strict": "yes"},
            "text.format.strict", "invalid_type")

    def test_previousResponseId(self) -> None:
        """
        The relay stores nothing, so any previous response is not found.
        """
        error = self.assertBadRequest(
            {"model": "m", "input": "x", "previous_response_id": "resp_1"},
            "previous_response_id", "previous_response_not_found")
        self.assertEqual(
            error.message,
            "Previous response with id 'resp_1' not found. This relay keeps no stored "
            "responses; send the full input instead.")

    def test_statefulFeatures(self) -> None:
        """
        Features that need server-side state are unsupported.
        """
        for key, value in (("conversation", "conv_1"), ("conversation", {"id": "c"}),
                           ("prompt", {"id": "p"}), ("background", True)):
            self.assertBadRequest({"model": "m", "input": "x", key: value}, key,
                                  "unsupported_parameter")

    def test_backgroundFalse(self) -> None:
        """
        C{background: false} is harmless.
        """
        self.assertEqual(translate({"model": "m", "input": "x", "background": False}).body,
                         translate({"model": "m", "input": "x"}).body)

    def test_itemReference(self) -> None:
        """
        Item references, typed or bare, are unsupported.
        """
        self.assertBadRequest(
            {"model": "m", "input": [user("a"), {"type": "item_reference", "id": "msg_1"}]},
            "input[1]", "unsupported_parameter")
        self.assertBadRequest({"model": "m", "input": [{"id": "msg_1"}]}, "input[0]",
                              "unsupported_parameter")

    def test_imageFileId(self) -> None:
        """
        An image needs an image_url; a file_id alone is refused.
        """
        self.assertBadRequest(
            {"model": "m", "input": [user([{"type": "input_text", "text": "see"},
                                          {"type": "input_image", "file_id": "file_1"}])]},
            "input[0].content[1].file_id", "unsupported_parameter")
        self.assertBadRequest({"model": "m", "input": [user([{"type": "input_image"}])]},
                              "input[0].content[0].image_url", "missing_required_parameter")

    def test_calls(self) -> None:
        """
        Call items need their call id, name, arguments or input.
        """
        self.assertBadRequest({"model": "m", "input": [{"type": "function_call", "name": "f",
                                                        "arguments": "{}"}]},
                              "input[0].call_id", "missing_required_parameter")
        self.assertBadRequest({"model": "m", "input": [call("c", name=None)]}, "input[0].name",
                              "missing_required_parameter")
        self.assertBadRequest({"model": "m", "input": [call("c", arguments=3)]},
                              "input[0].arguments", "invalid_type")
        self.assertBadRequest(
            {"model": "m", "input": [{"type": "custom_tool_call", "call_id": "c", "name": "p"}]},
            "input[0].input", "missing_required_parameter")
        self.assertBadRequest(
            {"model": "m", "input": [{"type": "local_shell_call", "call_id": "c",
                                      "action": {"command": "ls"}}]},
            "input[0].action.command", "invalid_type")

    def test_outputs(self) -> None:
        """
        Outputs need a call id and a string or list output.
        """
        self.assertBadRequest({"model": "m", "input": [call("c"), output("c", None)]},
                              "input[1].output", "invalid_type")
        self.assertBadRequest({"model": "m", "input": [call("c"), output("c", [1])]},
                              "input[1].output[0]", "invalid_type")
        self.assertBadRequest({"model": "m", "input": [{"type": "function_call_output",
                                                        "output": "x"}]},
                              "input[0].call_id", "missing_required_parameter")

    def test_errorEnvelope(self) -> None:
        """
        The error renders as an OpenAI envelope.
        """
        error = self.assertBadRequest({"model": "m", "input": 5}, "input", "invalid_type")
        envelope = json.loads(error.body())
        self.assertEqual(envelope["error"]["param"], "input")
        self.assertEqual(envelope["error"]["type"], "invalid_request_error")


class ParameterTests(SynchronousTestCase):
    """
    Top-level parameters reach the Chat body, or are deliberately not sent.
    """

    def test_minimal(self) -> None:
        """
        A bare request gives a bare, non-streaming Chat body.
        """
        result = translate({"model": "gpt-x", "input": "hello"})
        self.assertEqual(result.body, {"model": "gpt-x",
                                       "messages": [{"role": "user", "content": "hello"}],
                                       "stream": False})
        self.assertEqual((result.stream, result.includeEncryptedReasoning, result.warnings),
                         (False, False, []))

    def test_stream(self) -> None:
        """
        A stream asks the upstream for usage too.
        """
        result = translate({"model": "m", "input": "x", "stream": True})
        self.assertEqual(result.body, {"model": "m",
                                       "messages": [{"role": "user", "content": "x"}],
                                       "stream": True,
                                       "stream_options": {"include_usage": True}})
        self.assertTrue(result.stream)

    def test_sampling(self) -> None:
        """
        Sampling parameters pass when set, and are omitted when null.
        """
        body = translate({"model": "m", "input": "x", "temperature": 0.2, "top_p": 1,
                          "max_output_tokens": 300}).body
        self.assertEqual((body["temperature"], body["top_p"], body["max_tokens"]), (0.2, 1, 300))
        body = translate({"model": "m", "input": "x", "temperature": None, "top_p": None,
                          "max_output_tokens": None}).body
        self.assertEqual(body, translate({"model": "m", "input": "x"}).body)

    def test_maxTokensNeutral(self) -> None:
        """
        C{max_output_tokens} is carried as C{max_tokens} whatever the
        settings: adaptRequest alone names it for the upstream (the tests of
        that are in test_adapt).
        """
        body = translate({"model": "m", "input": "x", "max_output_tokens": 9},
                         TranslationSettings(maxTokensField="max_completion_tokens")).body
        self.assertEqual(body["max_tokens"], 9)
        self.assertNotIn("max_completion_tokens", body)

    def test_jsonSchema(self) -> None:
        """
        A json_schema format becomes C{response_format}; verbosity stays.
        """
        schema = {"type": "object", "properties": {"a": {"type": "string"}}}
        body = translate({"model": "m", "input": "x", "text": {
            "verbosity": "low",
            "format": {"type": "json_schema", "name": "out", "schema": schema, "strict": True,
                       "description": "The answer."}}}).body
        self.assertEqual(body["response_format"], {
            "type": "json_schema",
            "json_schema": {"name": "out", "schema": schema, "strict": True,
                            "description": "The answer."}})
        self.assertNotIn("verbosity", body)
        body = translate({"model": "m", "input": "x", "text": {
            "format": {"type": "json_schema", "name": "out", "schema": schema}}}).body
        self.assertEqual(body["response_format"], {
            "type": "json_schema", "json_schema": {"name": "out", "schema": schema}})

    def test_jsonObjectAndText(self) -> None:
        """
        json_object maps; text and no format send nothing.
        """
        body = translate({"model": "m", "input": "x",
                          "text": {"format": {"type": "json_object"}}}).body
        self.assertEqual(body["response_format"], {"type": "json_object"})
        for text in ({"format": {"type": "text"}}, {"verbosity": "high"}, {}):
            body = translate({"model": "m", "input": "x", "text": text}).body
            self.assertNotIn("response_format", body)

    def test_reasoningEffort(self) -> None:
        """
        Only the effort of C{reasoning} is forwarded.
        """
        body = translate({"model": "m", "input": "x",
                          "reasoning": {"effort": "high", "summary": "detailed",
                                        "context": "all_turns", "mode": "pro"}}).body
        self.assertEqual(body["reasoning_effort"], "high")
        self.assertEqual(set(body), {"model", "messages", "stream", "reasoning_effort"})
        body = translate({"model": "m", "input": "x", "reasoning": {"summary": "auto"}}).body
        self.assertNotIn("reasoning_effort", body)

    def test_notForwarded(self) -> None:
        """
        Fields for the response or for OpenAI's platform are not sent.
        """
        request = {"model": "m", "input": "x", "store": False,
                   "include": ["reasoning.encrypted_content", "message.output_text.logprobs"],
                   "metadata": {"k": "v"}, "prompt_cache_key": "uuid", "truncation": "auto",
                   "max_tool_calls": 3, "service_tier": "priority", "user": "u",
                   "safety_identifier": "s", "text": {"verbosity": "low"},
                   "stream_options": {"include_obfuscation": False}, "top_logprobs": 2,
                   "client_metadata": {"thread": "t"}, "previous_response_id": None}
        result = translate(request)
        self.assertEqual(result.body, translate({"model": "m", "input": "x"}).body)
        self.assertTrue(result.includeEncryptedReasoning)

    def test_includeWithoutEncrypted(self) -> None:
        """
        Other include values do not ask for encrypted reasoning.
        """
        result = translate({"model": "m", "input": "x",
                            "include": ["message.output_text.logprobs"]})
        self.assertFalse(result.includeEncryptedReasoning)


class ToolTests(BadRequestMixin, SynchronousTestCase):
    """
    Responses tools become Chat function tools; the map leads back.
    """

    def chat(self, tools: list, **fields) -> ChatRequest:
        return translate(dict({"model": "m", "input": "x", "tools": tools}, **fields))

    def test_function(self) -> None:
        """
        Function tools pass with their schema; platform-only keys go.
        """
        parameters = {"type": "object", "properties": {"cmd": {"type": "string"}}}
        result = self.chat([
            {"type": "function", "name": "shell", "description": "Run it.",
             "parameters": parameters, "strict": False, "defer_loading": True,
             "allowed_callers": ["x"], "output_schema": {"type": "string"}},
            {"type": "function", "name": "bare", "parameters": None, "strict": None},
        ], tool_choice="auto", parallel_tool_calls=True)
        self.assertEqual(result.body["tools"], [
            {"type": "function", "function": {"name": "shell", "description": "Run it.",
                                              "parameters": parameters, "strict": False}},
            {"type": "function", "function": {"name": "bare", "parameters": EMPTY_PARAMETERS}},
        ])
        self.assertEqual((result.body["tool_choice"], result.body["parallel_tool_calls"]),
                         ("auto", True))
        self.assertEqual(result.toolMap.lookup("shell"), ToolRef("function", "shell"))

    def test_custom(self) -> None:
        """
        Custom tools take one string and carry their grammar in the description.
        """
        result = self.chat([
            {"type": "custom", "name": "apply_patch", "description": "Patch files.",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
            {"type": "custom", "name": "plain", "format": {"type": "text"}},
            {"type": "custom", "name": "described", "description": "Free text."},
            {"type": "custom", "name": "regex",
             "format": {"type": "grammar", "syntax": "regex", "definition": "[a-z]+"}},
        ])
        self.assertEqual(result.body["tools"], [
            {"type": "function", "function": {
                "name": "apply_patch",
                "description": "Patch files.\n\nInput grammar (lark):\nstart: x",
                "parameters": CUSTOM_PARAMETERS}},
            {"type": "function", "function": {"name": "plain", "parameters": CUSTOM_PARAMETERS}},
            {"type": "function", "function": {"name": "described", "description": "Free text.",
                                              "parameters": CUSTOM_PARAMETERS}},
            {"type": "function", "function": {"name": "regex",
                                              "description": "Input grammar (regex):\n[a-z]+",
                                              "parameters": CUSTOM_PARAMETERS}},
        ])
        self.assertEqual(result.toolMap.lookup("apply_patch"), ToolRef("custom", "apply_patch"))

    def test_namespace(self) -> None:
        """
        Namespace tools are flattened and mapped back.
        """
        result = self.chat([{"type": "namespace", "name": "multi_agent_v1",
                             "description": "Agents.", "tools": [
                                 {"type": "function", "name": "close_agent",
                                  "description": "Close.", "parameters": None},
                                 {"type": "custom", "name": "note"}]}])
        self.assertEqual(result.body["tools"], [
            {"type": "function", "function": {"name": "multi_agent_v1__close_agent",
                                              "description": "Close.",
                                              "parameters": EMPTY_PARAMETERS}},
            {"type": "function", "function": {"name": "multi_agent_v1__note",
                                              "parameters": CUSTOM_PARAMETERS}},
        ])
        toolMap = result.toolMap
        self.assertEqual(toolMap.lookup("multi_agent_v1__close_agent"),
                         ToolRef("function", "close_agent", "multi_agent_v1"))
        self.assertEqual(toolMap.lookup("multi_agent_v1__note"),
                         ToolRef("custom", "note", "multi_agent_v1"))
        self.assertEqual(toolMap.chatName("close_agent", "multi_agent_v1"),
                         "multi_agent_v1__close_agent")

    def test_namespaceLongAndOddNames(self) -> None:
        """
        Flattened names too long or odd are hashed, reversibly.
        """
        longName = "t" * 70
        result = self.chat([{"type": "namespace", "name": "mcp.server", "tools": [
            {"type": "function", "name": longName}, {"type": "function", "name": "a b"}]}])
        names = [entry["function"]["name"] for entry in result.body["tools"]]
        for name in names:
            self.assertRegex(name, r"^[A-Za-z0-9_-]{1,64}$")
        self.assertEqual(len(set(names)), 2)
        self.assertTrue(names[1].startswith("mcp_server__a_b_"))
        self.assertEqual(result.toolMap.lookup(names[0]),
                         ToolRef("function", longName, "mcp.server"))
        self.assertEqual(result.toolMap.lookup(names[1]), ToolRef("function", "a b", "mcp.server"))
        self.assertEqual(result.toolMap.chatName(longName, "mcp.server"), names[0])
        # The same names in a later request, where the tool is not offered.
        self.assertEqual(ToolMap().chatName(longName, "mcp.server"), names[0])

    def test_flattenedCollisions(self) -> None:
        """
        Flattened names never collide with each other or plain names.
        """
        result = self.chat([
            {"type": "namespace", "name": "a__b", "tools": [{"type": "function", "name": "c"}]},
            {"type": "namespace", "name": "a", "tools": [{"type": "function", "name": "b__c"}]},
            {"type": "function", "name": "a__b__c"},
        ])
        names = [entry["function"]["name"] for entry in result.body["tools"]]
        self.assertEqual(len(set(names)), 3)
        self.assertEqual(names[2], "a__b__c")
        self.assertEqual(result.toolMap.lookup("a__b__c"), ToolRef("function", "a__b__c"))
        self.assertEqual(result.toolMap.lookup(names[0]), ToolRef("function", "c", "a__b"))
        self.assertEqual(result.toolMap.lookup(names[1]), ToolRef("function", "b__c", "a"))

    def test_localShell(self) -> None:
        """
        C{local_shell} becomes a function of that name.
        """
        result = self.chat([{"type": "local_shell"}])
        self.assertEqual(result.body["tools"], [{"type": "function", "function": {
            "name": "local_shell",
            "parameters": {"type": "object",
                           "properties": {"command": {"type": "array",
                                                      "items": {"type": "string"}},
                                          "workdir": {"type": "string"},
                                          "timeout_ms": {"type": "integer"}},
                           "required": ["command"]}}}])
        self.assertEqual(result.toolMap.lookup("local_shell"),
                         ToolRef("local_shell", "local_shell"))

    def test_hostedDropped(self) -> None:
        """
        Hosted and unknown tools are dropped, each with a warning.
        """
        hosted = ["web_search", "web_search_2025_08_26", "web_search_preview",
                  "web_search_preview_2025_03_11", "file_search", "code_interpreter",
                  "image_generation", "mcp", "computer", "computer_use_preview", "computer_use",
                  "tool_search", "programmatic_tool_calling", "shell", "apply_patch",
                  "brand_new_tool"]
        result = self.chat([{"type": "function", "name": "f"}]
                           + [{"type": kind} for kind in hosted])
        self.assertEqual([entry["function"]["name"] for entry in result.body["tools"]], ["f"])
        self.assertEqual(len(result.warnings), len(hosted))
        for kind, warning in zip(hosted, result.warnings):
            self.assertIn(repr(kind), warning)

    def test_noToolsLeft(self) -> None:
        """
        Without tools, no tool field is sent at all.
        """
        for tools in ([], [{"type": "web_search"}], None):
            result = self.chat(tools, tool_choice="auto", parallel_tool_calls=False)
            for key in ("tools", "tool_choice", "parallel_tool_calls"):
                self.assertNotIn(key, result.body)

    def test_duplicateDropped(self) -> None:
        """
        A second tool of the same name is dropped.
        """
        result = self.chat([{"type": "function", "name": "f", "description": "one"},
                            {"type": "custom", "name": "f"}])
        self.assertEqual(result.body["tools"], [{"type": "function", "function": {
            "name": "f", "description": "one", "parameters": EMPTY_PARAMETERS}}])
        self.assertEqual(result.toolMap.lookup("f"), ToolRef("function", "f"))
        self.assertIn("duplicate", result.warnings[0])

    def test_malformed(self) -> None:
        """
        Malformed tools are a 400 naming the exact field.
        """
        good = {"type": "function", "name": "f"}
        self.assertBadRequest({"model": "m", "input": "x", "tools": [good, good, "f"]},
                              "tools[2]", "invalid_type")
        self.assertBadRequest({"model": "m", "input": "x",
                               "tools": [good, good, {"type": "function"}]},
                              "tools[2].name", "missing_required_parameter")
        self.assertBadRequest({"model": "m", "input": "x",
                               "tools": [{"type": "custom", "name": ""}]},
                              "tools[0].name", "invalid_type")
        self.assertBadRequest({"model": "m", "input": "x", "tools": [{"name": "f"}]},
                              "tools[0].type", "missing_required_parameter")
        self.assertBadRequest({"model": "m", "input": "x", "tools": [
            {"type": "namespace", "name": "ns", "tools": [good, {"type": "function"}]}]},
            "tools[0].tools[1].name", "missing_required_parameter")
        self.assertBadRequest({"model": "m", "input": "x",
                               "tools": [{"type": "namespace", "name": "ns"}]},
                              "tools[0].tools", "invalid_type")
        self.assertBadRequest({"model": "m", "input": "x", "tools": [
            {"type": "function", "name": "f", "parameters": "{}"}]},
            "tools[0].parameters", "invalid_type")

    def test_toolChoiceModes(self) -> None:
        """
        String tool choices pass; others are refused.
        """
        for mode in ("none", "auto", "required"):
            result = self.chat([{"type": "function", "name": "f"}], tool_choice=mode)
            self.assertEqual(result.body["tool_choice"], mode)
        result = self.chat([{"type": "function", "name": "f"}])
        self.assertNotIn("tool_choice", result.body)
        self.assertBadRequest({"model": "m", "input": "x", "tool_choice": "always",
                               "tools": [{"type": "function", "name": "f"}]},
                              "tool_choice", "invalid_value")

    def test_toolChoiceForced(self) -> None:
        """
        Forcing a function, custom or namespaced tool forces its function.
        """
        tools = [{"type": "function", "name": "f"}, {"type": "custom", "name": "apply_patch"},
                 {"type": "namespace", "name": "ns",
                  "tools": [{"type": "function", "name": "g"}]}]
        for choice, name in (({"type": "function", "name": "f"}, "f"),
                             ({"type": "custom", "name": "apply_patch"}, "apply_patch"),
                             ({"type": "function", "name": "g", "namespace": "ns"}, "ns__g")):
            result = self.chat(tools, tool_choice=choice)
            self.assertEqual(result.body["tool_choice"],
                             {"type": "function", "function": {"name": name}})
            self.assertEqual(len(result.body["tools"]), 3)

    def test_toolChoiceMissingTool(self) -> None:
        """
        Forcing a tool that is not offered is a 400.
        """
        for choice in ({"type": "function", "name": "nope"},
                       {"type": "function", "name": "g"},
                       {"type": "custom", "name": "web_search"}):
            self.assertBadRequest(
                {"model": "m", "input": "x", "tool_choice": choice,
                 "tools": [{"type": "function", "name": "f"}, {"type": "web_search"},
                           {"type": "namespace", "name": "ns",
                            "tools": [{"type": "function", "name": "g"}]}]},
                "tool_choice", "invalid_value")

    def test_toolChoiceHosted(self) -> None:
        """
        Forcing a hosted tool is a 400.
        """
        for kind in ("web_search_preview", "web_search_preview_2025_03_11", "file_search",
                     "computer", "computer_use_preview", "computer_use", "image_generation",
                     "code_interpreter", "mcp", "apply_patch", "shell",
                     "programmatic_tool_calling"):
            error = self.assertBadRequest(
                {"model": "m", "input": "x", "tools": [{"type": "function", "name": "f"}],
                 "tool_choice": {"type": kind, "server_label": "s"}},
                "tool_choice", "invalid_value")
            self.assertIn("not available through this relay", error.message)

    def test_allowedTools(self) -> None:
        """
        allowed_tools filters the tools and sends its mode.
        """
        tools = [{"type": "function", "name": "f"}, {"type": "function", "name": "g"},
                 {"type": "custom", "name": "p"}, {"type": "local_shell"},
                 {"type": "namespace", "name": "ns",
                  "tools": [{"type": "function", "name": "a"}, {"type": "function", "name": "b"}]}]
        result = self.chat(tools, tool_choice={
            "type": "allowed_tools", "mode": "required",
            "tools": [{"type": "function", "name": "g"}, {"type": "custom", "name": "p"},
                      {"type": "web_search"}, {"type": "namespace", "name": "ns"}]},
            parallel_tool_calls=False)
        self.assertEqual([entry["function"]["name"] for entry in result.body["tools"]],
                         ["g", "p", "ns__a", "ns__b"])
        self.assertEqual(result.body["tool_choice"], "required")
        self.assertFalse(result.body["parallel_tool_calls"])
        result = self.chat(tools, tool_choice={
            "type": "allowed_tools", "mode": "auto",
            "tools": [{"type": "local_shell"}, {"type": "function", "name": "a",
                                                "namespace": "ns"}]})
        self.assertEqual([entry["function"]["name"] for entry in result.body["tools"]],
                         ["local_shell", "ns__a"])
        self.assertEqual(result.body["tool_choice"], "auto")
        self.assertBadRequest({"model": "m", "input": "x", "tools": tools, "tool_choice": {
            "type": "allowed_tools", "mode": "none", "tools": []}},
            "tool_choice.mode", "invalid_value")

    def test_translateToolsDirect(self) -> None:
        """
        L{translateTools} gives the fields for the Chat body.
        """
        result = translateTools([{"type": "function", "name": "f"}], "required", True)
        self.assertEqual(result.fields, {
            "tools": [{"type": "function",
                       "function": {"name": "f", "parameters": EMPTY_PARAMETERS}}],
            "tool_choice": "required", "parallel_tool_calls": True})

    def test_toolMapUnknown(self) -> None:
        """
        Names the map does not know still map deterministically.
        """
        toolMap = ToolMap()
        self.assertEqual(toolMap.lookup("mystery"), ToolRef("function", "mystery"))
        self.assertEqual(toolMap.chatName("shell"), "shell")
        self.assertEqual(toolMap.chatName("close_agent", "multi_agent_v1"),
                         "multi_agent_v1__close_agent")


class MessageTests(BadRequestMixin, SynchronousTestCase):
    """
    Input items become Chat messages, in order, losing nothing.
    """

    def test_instructionsString(self) -> None:
        """
        String instructions become the first system message.
        """
        self.assertEqual(
            translate({"model": "m", "instructions": "Be brief.", "input": "hi"}).body["messages"],
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])

    def test_instructionsItems(self) -> None:
        """
        Instructions given as items are translated as items.
        """
        messages = messagesOf([user("hi")], instructions=[
            {"type": "message", "role": "developer", "content": "Rules."},
            {"role": "system", "content": [{"type": "input_text", "text": "More."}]}])
        self.assertEqual(messages, [{"role": "system", "content": "Rules."},
                                    {"role": "system", "content": "More."},
                                    {"role": "user", "content": "hi"}])

    def test_rolesKeepTheirPlaces(self) -> None:
        """
        Developer, system and user messages are neither merged nor moved.
        """
        items = [
            {"type": "message", "role": "developer", "content": "base prompt"},
            {"type": "message", "role": "developer",
             "content": [{"type": "input_text", "text": "skills"},
                         {"type": "input_text", "text": "permissions"}]},
            {"type": "message", "role": "user", "content": "environment"},
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "prompt"},
        ]
        self.assertEqual(messagesOf(items), [
            {"role": "system", "content": "base prompt"},
            {"role": "system", "content": "skills\npermissions"},
            {"role": "user", "content": "environment"},
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "prompt"}])
        developer = TranslationSettings(developerRole="developer")
        self.assertEqual([m["role"] for m in messagesOf(items, developer)],
                         ["developer", "developer", "user", "system", "user"])

    def test_images(self) -> None:
        """
        Image parts become image_url parts with a detail Chat accepts.
        """
        parts = [{"type": "input_text", "text": "<image name=[Image #1]>"},
                 {"type": "input_image", "image_url": "data:image/png;base64,AA",
                  "detail": "original"},
                 {"type": "input_text", "text": "</image>"},
                 {"type": "input_image", "image_url": "https://x/y.png"},
                 {"type": "input_image", "image_url": "https://x/z.png", "detail": "low"}]
        self.assertEqual(messagesOf([user(parts)]), [{"role": "user", "content": [
            {"type": "text", "text": "<image name=[Image #1]>"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA",
                                                "detail": "auto"}},
            {"type": "text", "text": "</image>"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "auto"}},
            {"type": "image_url", "image_url": {"url": "https://x/z.png", "detail": "low"}}]}])

    def test_files(self) -> None:
        """
        Files with data pass; others and unknown parts are dropped with warnings.
        """
        result = translate({"model": "m", "input": [user([
            {"type": "input_text", "text": "read"},
            {"type": "input_file", "file_data": "data:application/pdf;base64,AA",
             "filename": "a.pdf"},
            {"type": "input_file", "file_id": "file_1"},
            {"type": "input_file", "file_url": "https://x/a.pdf"},
            {"type": "input_audio", "input_audio": {}}])]})
        self.assertEqual(result.body["messages"], [{"role": "user", "content": [
            {"type": "text", "text": "read"},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,AA",
                                      "filename": "a.pdf"}}]}])
        self.assertEqual(len(result.warnings), 3)
        self.assertIn("input[0].content[2]", result.warnings[0])

    def test_assistant(self) -> None:
        """
        Assistant text from consecutive items forms one message.
        """
        items = [user("q"),
                 {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
                  "phase": "commentary",
                  "content": [{"type": "output_text", "text": "Hel", "annotations": [],
                               "logprobs": []},
                              {"type": "output_text", "text": "lo.", "annotations": []}]},
                 {"role": "assistant", "content": "Second."},
                 {"type": "message", "role": "assistant",
                  "content": [{"type": "refusal", "refusal": "No."}]}]
        self.assertEqual(messagesOf(items), [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "Hello.\n\nSecond.\n\nNo."}])

    def test_reasoningSealed(self) -> None:
        """
        A sealed blob replays the provider's own reasoning fields.
        """
        def replayed(payload: dict, settings: TranslationSettings = SETTINGS) -> dict:
            messages = messagesOf([
                user("q"),
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "shown"}],
                 "content": None, "encrypted_content": seal(payload)},
                assistantItem("a")], settings)
            return messages[1]

        self.assertEqual(
            replayed({"text": "deep", "field": "reasoning_content", "details": None}),
            {"role": "assistant", "content": "a", "reasoning_content": "deep"})
        self.assertEqual(replayed({"text": "deep", "field": "reasoning", "details": []}),
                         {"role": "assistant", "content": "a", "reasoning": "deep"})
        details = [{"type": "reasoning.text", "text": "deep", "signature": "sig"}]
        self.assertEqual(
            replayed({"text": "deep", "field": "reasoning_details", "details": details}),
            {"role": "assistant", "content": "a", "reasoning_content": "deep",
             "reasoning_details": details})
        self.assertEqual(
            replayed({"text": "deep", "field": "reasoning_details", "details": details},
                     TranslationSettings(secret=SECRET, reasoningField="reasoning")),
            {"role": "assistant", "content": "a", "reasoning_content": "deep",
             "reasoning_details": details})

    def test_reasoningFallback(self) -> None:
        """
        Without a valid blob, the visible reasoning text is replayed.
        """
        def replayed(**reasoning) -> list:
            return messagesOf([dict({"type": "reasoning"}, **reasoning), assistantItem("a")])

        summary = [{"type": "summary_text", "text": "one"}, {"type": "summary_text", "text": "two"}]
        content = [{"type": "reasoning_text", "text": "raw"}]
        expectSummary = [{"role": "assistant", "content": "a",
                          "reasoning_content": "one\n\ntwo"}]
        forged = ReasoningCarrier(b"other").seal({"text": "x", "field": "reasoning"})
        tampered = seal({"text": "x", "field": "reasoning"})[:-2] + "AA"
        for blob in (None, "gAAAAABfoo==", forged, tampered,
                     seal({"text": 3, "field": "reasoning"}),
                     seal({"text": "x", "field": "thoughts"})):
            self.assertEqual(replayed(summary=summary, encrypted_content=blob), expectSummary)
        self.assertEqual(replayed(summary=summary, content=content),
                         [{"role": "assistant", "content": "a", "reasoning_content": "raw"}])
        self.assertEqual(replayed(summary=[], content=None),
                         [{"role": "assistant", "content": "a"}])
        self.assertEqual(
            messagesOf([{"type": "reasoning", "summary": summary}, assistantItem("a")],
                       TranslationSettings(reasoningField="reasoning")),
            [{"role": "assistant", "content": "a", "reasoning_content": "one\n\ntwo"}])

    def test_reasoningDroppedBeforeUser(self) -> None:
        """
        Reasoning with no assistant message after it is dropped.
        """
        result = translate({"model": "m", "input": [
            user("q"), {"type": "reasoning", "summary": [{"type": "summary_text", "text": "r"}]},
            user("again"), assistantItem("a")]})
        self.assertEqual(result.body["messages"], [
            {"role": "user", "content": "q"}, {"role": "user", "content": "again"},
            {"role": "assistant", "content": "a"}])
        self.assertEqual(len(result.warnings), 1)

    def test_reasoningStartsNextAssistant(self) -> None:
        """
        Reasoning belongs to the following assistant message.
        """
        messages = messagesOf([
            user("q"), assistantItem("first"),
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "r"}]},
            call("c1"), output("c1")])
        self.assertEqual(messages, [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "first"},
            {"role": "assistant", "content": None, "reasoning_content": "r",
             "tool_calls": [chatCall("c1")]},
            tool("c1")])

    def test_reasoningAcrossToolOutputs(self) -> None:
        """
        Tool outputs do not separate reasoning from its message.
        """
        messages = messagesOf([
            call("c1"), {"type": "reasoning", "summary": [{"type": "summary_text", "text": "r"}]},
            output("c1"), assistantItem("done")])
        self.assertEqual(messages, [
            {"role": "assistant", "content": None, "tool_calls": [chatCall("c1")]},
            tool("c1"),
            {"role": "assistant", "content": "done", "reasoning_content": "r"}])

    def test_calls(self) -> None:
        """
        Consecutive calls of every kind form one assistant message.
        """
        messages = messagesOf([
            user("q"),
            call("c1", "exec", '{"cmd":"ls"}', id="fc_1", status="completed"),
            call("c2", "close_agent", "{}", namespace="multi_agent_v1"),
            {"type": "custom_tool_call", "call_id": "c3", "name": "apply_patch",
             "input": "*** Begin Patch\n"},
            {"type": "local_shell_call", "id": "ls_1", "call_id": "c4", "status": "completed",
             "action": {"type": "exec", "command": ["ls", "-l"], "env": {},
                        "working_directory": "/tmp", "timeout_ms": 500}},
            {"type": "local_shell_call", "call_id": "c5",
             "action": {"type": "exec", "command": ["pwd"], "env": {}}},
            output("c1", "a.txt"),
            output("c2", "closed"),
            {"type": "custom_tool_call_output", "call_id": "c3", "output": "Success"},
            {"type": "local_shell_call_output", "id": "c4", "output": "total 0"},
            {"type": "local_shell_call_output", "id": "ls_x", "call_id": "c5", "output": "/"},
        ])
        self.assertEqual(messages, [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": None, "tool_calls": [
                chatCall("c1", "exec", '{"cmd":"ls"}'),
                chatCall("c2", "multi_agent_v1__close_agent"),
                chatCall("c3", "apply_patch", '{"input": "*** Begin Patch\\n"}'),
                chatCall("c4", "local_shell",
                         '{"command": ["ls", "-l"], "workdir": "/tmp", "timeout_ms": 500}'),
                chatCall("c5", "local_shell", '{"command": ["pwd"]}')]},
            tool("c1", "a.txt"), tool("c2", "closed"), tool("c3", "Success"),
            tool("c4", "total 0"), tool("c5", "/")])
        self.assertEqual(json.loads(messages[1]["tool_calls"][2]["function"]["arguments"]),
                         {"input": "*** Begin Patch\n"})

    def test_textThenCalls(self) -> None:
        """
        Text and the calls after it share one message.
        """
        self.assertEqual(messagesOf([assistantItem("Looking."), call("c1"), output("c1")]), [
            {"role": "assistant", "content": "Looking.", "tool_calls": [chatCall("c1")]},
            tool("c1")])

    def test_textAfterCalls(self) -> None:
        """
        Text after calls is a later message, after the answers.
        """
        self.assertEqual(messagesOf([call("c1"), assistantItem("late"), output("c1")]), [
            {"role": "assistant", "content": None, "tool_calls": [chatCall("c1")]},
            tool("c1"),
            {"role": "assistant", "content": "late"}])

    def test_emptyTextWithCalls(self) -> None:
        """
        Empty text next to calls is null content.
        """
        self.assertEqual(messagesOf([assistantItem(""), call("c1"), output("c1")])[0],
                         {"role": "assistant", "content": None, "tool_calls": [chatCall("c1")]})
        self.assertEqual(messagesOf([assistantItem("")]), [{"role": "assistant", "content": ""}])

    def test_listOutputs(self) -> None:
        """
        List outputs give text, and their images follow all the answers.
        """
        messages = messagesOf([
            call("c1"), call("c2"), call("c3"),
            output("c1", [{"type": "input_text", "text": "line 1"},
                          {"type": "input_image", "image_url": "data:image/png;base64,AA"},
                          {"type": "input_text", "text": "line 2"}]),
            output("c2", [{"type": "input_image", "image_url": "https://x/a.png",
                           "detail": "high"}]),
            output("c3", [{"type": "input_text", "text": "plain"}]),
            user("next")])
        self.assertEqual(messages, [
            {"role": "assistant", "content": None,
             "tool_calls": [chatCall("c1"), chatCall("c2"), chatCall("c3")]},
            tool("c1", "line 1\nline 2"), tool("c2", "(image output follows)"),
            tool("c3", "plain"),
            {"role": "user", "content": [
                {"type": "text", "text": "[image output of call c1]"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA",
                                                    "detail": "auto"}}]},
            {"role": "user", "content": [
                {"type": "text", "text": "[image output of call c2]"},
                {"type": "image_url", "image_url": {"url": "https://x/a.png",
                                                    "detail": "high"}}]},
            {"role": "user", "content": "next"}])

    def test_missingOutput(self) -> None:
        """
        An unanswered call gets a synthetic answer.
        """
        self.assertEqual(messagesOf([call("c1"), call("c2"), output("c2"), user("stop")]), [
            {"role": "assistant", "content": None,
             "tool_calls": [chatCall("c1"), chatCall("c2")]},
            tool("c1", "(no output)"), tool("c2"),
            {"role": "user", "content": "stop"}])

    def test_orphanOutputs(self) -> None:
        """
        Outputs with no earlier call are dropped.
        """
        result = translate({"model": "m", "input": [
            output("early"), call("early"), output("ghost"), user("q"), output("early", "late")]})
        self.assertEqual(result.body["messages"], [
            {"role": "assistant", "content": None, "tool_calls": [chatCall("early")]},
            tool("early", "late"), {"role": "user", "content": "q"}])
        self.assertEqual(len(result.warnings), 2)
        self.assertIn("'early'", result.warnings[0])
        self.assertIn("'ghost'", result.warnings[1])

    def test_repeatedOutputAndCall(self) -> None:
        """
        A repeated call or output is kept once.
        """
        result = translate({"model": "m", "input": [
            call("c1"), call("c1"), output("c1", "one"), output("c1", "two")]})
        self.assertEqual(result.body["messages"], [
            {"role": "assistant", "content": None, "tool_calls": [chatCall("c1")]},
            tool("c1", "one")])
        self.assertEqual(len(result.warnings), 2)

    def test_messagesBetweenCallAndOutput(self) -> None:
        """
        Messages between calls and answers move after the answers, in order.
        """
        messages = messagesOf([
            call("c1"), call("c2"), user("between 1"),
            {"role": "developer", "content": "between 2"},
            output("c2", "two"), user("between 3"), output("c1", "one"), user("after")])
        self.assertEqual(messages, [
            {"role": "assistant", "content": None,
             "tool_calls": [chatCall("c1"), chatCall("c2")]},
            tool("c1", "one"), tool("c2", "two"),
            {"role": "user", "content": "between 1"},
            {"role": "system", "content": "between 2"},
            {"role": "user", "content": "between 3"},
            {"role": "user", "content": "after"}])

    def test_droppedItems(self) -> None:
        """
        Hosted and unknown items are dropped with warnings, never refused.
        """
        kinds = ["web_search_call", "file_search_call", "compaction", "compaction_trigger",
                 "tool_search_call", "tool_search_output", "mcp_call", "mcp_list_tools",
                 "mcp_approval_request", "mcp_approval_response", "computer_call",
                 "computer_call_output", "image_generation_call", "code_interpreter_call",
                 "shell_call", "shell_call_output", "apply_patch_call",
                 "apply_patch_call_output", "additional_tools", "program", "program_output",
                 "something_from_2027"]
        items = [user("q")]
        items.extend({"type": kind, "id": "x"} for kind in kinds)
        items.append(assistantItem("a"))
        result = translate({"model": "m", "input": items})
        self.assertEqual(result.body["messages"], [{"role": "user", "content": "q"},
                                                   {"role": "assistant", "content": "a"}])
        self.assertEqual(len(result.warnings), len(kinds))
        for kind, warning in zip(kinds, result.warnings):
            self.assertIn(repr(kind), warning)

    def test_droppedItemKeepsParallelCalls(self) -> None:
        """
        A dropped item does not split parallel calls.
        """
        self.assertEqual(
            messagesOf([call("c1"), {"type": "web_search_call"}, call("c2"),
                        output("c1"), output("c2")]),
            [{"role": "assistant", "content": None,
              "tool_calls": [chatCall("c1"), chatCall("c2")]}, tool("c1"), tool("c2")])


class CodexRequestTests(SynchronousTestCase):
    """
    A request shaped like the ones Codex 0.169 sends.
    """

    def test_codexTurn(self) -> None:
        """
        A Codex tool-loop turn translates completely and in order.
        """
        execParameters = {"type": "object", "properties": {"cmd": {"type": "string"}},
                          "required": ["cmd"], "additionalProperties": False}
        agentParameters = {"type": "object", "properties": {"id": {"type": "string"}}}
        request = {
            "model": "deepseek-chat",
            "input": [
                {"type": "message", "role": "developer", "id": "msg_1",
                 "content": [{"type": "input_text", "text": "You are Codex."}]},
                {"type": "message", "role": "developer", "id": "msg_2",
                 "content": [{"type": "input_text", "text": "<skills_instructions>"},
                             {"type": "input_text", "text": "<permissions instructions>"}]},
                {"type": "message", "role": "user", "id": "msg_3",
                 "content": [{"type": "input_text",
                              "text": "<environment_context>cwd</environment_context>"}]},
                {"type": "message", "role": "user", "id": "msg_4",
                 "content": [{"type": "input_text", "text": "fix the bug"}]},
                {"type": "reasoning", "id": "rs_1", "content": None,
                 "summary": [{"type": "summary_text", "text": "Looking around"}],
                 "encrypted_content": seal({"text": "I should list the files.",
                                            "field": "reasoning_content", "details": None})},
                {"type": "message", "role": "assistant", "id": "msg_5", "status": "completed",
                 "phase": "commentary",
                 "content": [{"type": "output_text", "text": "Listing files.",
                              "annotations": [], "logprobs": []}]},
                {"type": "function_call", "id": "fc_1", "status": "completed",
                 "name": "exec_command", "arguments": '{"cmd":"ls"}', "call_id": "call_a"},
                {"type": "function_call", "id": "fc_2", "status": "completed",
                 "name": "exec_command", "arguments": '{"cmd":"cat a.txt"}',
                 "call_id": "call_b"},
                {"type": "function_call_output", "id": "fco_1", "call_id": "call_a",
                 "output": "a.txt\n"},
                {"type": "function_call_output", "id": "fco_2", "call_id": "call_b",
                 "output": "hello\n"},
                {"type": "reasoning", "id": "rs_2", "summary": [],
                 "content": [{"type": "reasoning_text", "text": "Patch it."}],
                 "encrypted_content": None},
                {"type": "custom_tool_call", "id": "ctc_1", "status": "completed",
                 "call_id": "call_c", "name": "apply_patch",
                 "input": "*** Begin Patch\n*** End Patch\n"},
                {"type": "custom_tool_call_output", "id": "ctco_1", "call_id": "call_c",
                 "output": "Exit code: 0\nOutput:\nSuccess.\n"},
                {"type": "function_call", "id": "fc_3", "name": "close_agent",
                 "namespace": "multi_agent_v1", "arguments": '{"id":"x"}',
                 "call_id": "call_d"},
                {"type": "function_call_output", "id": "fco_3", "call_id": "call_d",
                 "output": "closed"},
                {"type": "tool_search_call", "id": "tsc_1", "execution": "client",
                 "arguments": {"query": "x"}},
                {"type": "tool_search_output", "id": "tso_1", "execution": "client",
                 "tools": []},
                {"type": "message", "role": "assistant", "id": "msg_6", "status": "completed",
                 "content": [{"type": "output_text", "text": "Fixed.", "annotations": []}]},
                {"type": "message", "role": "user", "id": "msg_7",
                 "content": [{"type": "input_text", "text": "thanks"}]},
            ],
            "tools": [
                {"type": "function", "name": "exec_command", "description": "Runs a command.",
                 "strict": False, "parameters": execParameters},
                {"type": "custom", "name": "apply_patch",
                 "description": "Edit files. FREEFORM tool.",
                 "format": {"type": "grammar", "syntax": "lark",
                            "definition": "start: begin_patch hunk+ end_patch"}},
                {"type": "namespace", "name": "multi_agent_v1", "description": "Agents.",
                 "tools": [{"type": "function", "name": "close_agent",
                            "description": "Close an agent.", "strict": False,
                            "parameters": agentParameters}]},
                {"type": "tool_search", "execution": "client", "description": "Find tools.",
                 "parameters": {"type": "object", "properties": {}}},
                {"type": "web_search", "external_web_access": False},
            ],
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "reasoning": {"effort": "medium", "summary": "auto"},
            "store": False,
            "stream": True,
            "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "0199-thread",
            "text": {"verbosity": "low"},
            "client_metadata": {"thread_id": "0199-thread"},
        }
        result = translate(request)
        self.assertEqual(result.body, {
            "model": "deepseek-chat",
            "messages": [
                {"role": "system", "content": "You are Codex."},
                {"role": "system",
                 "content": "<skills_instructions>\n<permissions instructions>"},
                {"role": "user", "content": "<environment_context>cwd</environment_context>"},
                {"role": "user", "content": "fix the bug"},
                {"role": "assistant", "content": "Listing files.",
                 "reasoning_content": "I should list the files.",
                 "tool_calls": [chatCall("call_a", "exec_command", '{"cmd":"ls"}'),
                                chatCall("call_b", "exec_command", '{"cmd":"cat a.txt"}')]},
                tool("call_a", "a.txt\n"),
                tool("call_b", "hello\n"),
                {"role": "assistant", "content": None, "reasoning_content": "Patch it.",
                 "tool_calls": [chatCall("call_c", "apply_patch",
                                         '{"input": "*** Begin Patch\\n*** End Patch\\n"}')]},
                tool("call_c", "Exit code: 0\nOutput:\nSuccess.\n"),
                {"role": "assistant", "content": None,
                 "tool_calls": [chatCall("call_d", "multi_agent_v1__close_agent",
                                         '{"id":"x"}')]},
                tool("call_d", "closed"),
                {"role": "assistant", "content": "Fixed."},
                {"role": "user", "content": "thanks"},
            ],
            "tools": [
                {"type": "function", "function": {
                    "name": "exec_command", "description": "Runs a command.",
                    "parameters": execParameters, "strict": False}},
                {"type": "function", "function": {
                    "name": "apply_patch",
                    "description": "Edit files. FREEFORM tool.\n\nInput grammar (lark):\n"
                                   "start: begin_patch hunk+ end_patch",
                    "parameters": CUSTOM_PARAMETERS}},
                {"type": "function", "function": {
                    "name": "multi_agent_v1__close_agent", "description": "Close an agent.",
                    "parameters": agentParameters, "strict": False}},
            ],
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "reasoning_effort": "medium",
            "stream": True,
            "stream_options": {"include_usage": True},
        })
        self.assertTrue(result.stream)
        self.assertTrue(result.includeEncryptedReasoning)
        self.assertEqual(result.toolMap.lookup("apply_patch"), ToolRef("custom", "apply_patch"))
        self.assertEqual(result.toolMap.lookup("multi_agent_v1__close_agent"),
                         ToolRef("function", "close_agent", "multi_agent_v1"))
        self.assertEqual(len(result.warnings), 4)
        for word in ("tool_search", "web_search", "tool_search_call", "tool_search_output"):
            self.assertTrue(any(repr(word) in warning for warning in result.warnings), word)

    def test_compaction(self) -> None:
        """
        The compaction request, with C{tools: []}, sends no tool fields.
        """
        body = translate({"model": "m", "tools": [], "tool_choice": "auto",
                          "parallel_tool_calls": False, "stream": True,
                          "input": [user("You are performing a CONTEXT CHECKPOINT "
                                         "COMPACTION.")]}).body
        self.assertEqual(set(body), {"model", "messages", "stream", "stream_options"})


_OPS = st.lists(st.one_of(
    st.tuples(st.just("user")),
    st.tuples(st.just("developer")),
    st.tuples(st.just("assistant")),
    st.tuples(st.just("reasoning")),
    st.tuples(st.just("call")),
    st.tuples(st.just("output"), st.integers(0, 8)),
    st.tuples(st.just("imageOutput"), st.integers(0, 8)),
    st.tuples(st.just("hosted")),
), max_size=40)


def _itemsFor(ops: list) -> tuple[list, list, list]:
    """
    Input items for C{ops}, the user texts in order, and the outputs that
    must survive: the first output after each call.
    """
    items, users, expected = [], [], []
    calls = 0
    answered = set()
    for index, op in enumerate(ops):
        kind = op[0]
        if kind in ("user", "developer"):
            items.append({"role": kind, "content": "text {}".format(index)})
            users.append("text {}".format(index))
        elif kind == "assistant":
            items.append(assistantItem("said {}".format(index)))
        elif kind == "reasoning":
            items.append({"type": "reasoning",
                          "summary": [{"type": "summary_text", "text": "r"}]})
        elif kind == "call":
            items.append(call("call_{}".format(calls)))
            calls += 1
        elif kind == "hosted":
            items.append({"type": "web_search_call", "id": "ws"})
        else:
            callId = "call_{}".format(op[1])
            content = "out {}".format(index)
            if kind == "imageOutput":
                items.append(output(callId, [{"type": "input_text", "text": content},
                                             {"type": "input_image", "image_url": "u"}]))
            else:
                items.append(output(callId, content))
            if op[1] < calls and callId not in answered:
                answered.add(callId)
                expected.append(content)
    return items, users, expected


class InvariantTests(SynchronousTestCase):
    """
    Whatever the interleaving, the Chat invariants hold and nothing is lost.
    """

    @hypothesisSettings(max_examples=400, deadline=None)
    @given(_OPS)
    def test_toolCallsAnswered(self, ops: list) -> None:
        """
        Each call is answered right after its message; no answer is orphaned or lost.
        """
        items, users, expected = _itemsFor(ops)
        messages = messagesOf(items)
        index = 0
        kept = []
        while index < len(messages):
            message = messages[index]
            self.assertNotEqual(message["role"], "tool", "orphaned tool message")
            index += 1
            calls = message.get("tool_calls") or []
            answers = messages[index:index + len(calls)]
            self.assertEqual([answer.get("tool_call_id") for answer in answers],
                             [entry["id"] for entry in calls])
            self.assertEqual({answer["role"] for answer in answers} | {"tool"}, {"tool"})
            kept.extend(answer["content"] for answer in answers
                        if answer["content"] != "(no output)")
            index += len(calls)
        self.assertEqual(sorted(kept), sorted(expected))
        self.assertEqual([m["content"] for m in messages
                          if m["role"] in ("user", "system") and isinstance(m["content"], str)],
                         users)
        callIds = [entry["id"] for m in messages for entry in m.get("tool_calls", ())]
        self.assertEqual(len(callIds), len(set(callIds)))
        self.assertEqual(len(callIds), sum(1 for op in ops if op[0] == "call"))


class ChatNameTests(SynchronousTestCase):
    """
    L{ToolMap.chatName} gives names every Chat provider accepts.
    """

    def test_namesAreChatNames(self) -> None:
        """
        Flattened names are always valid Chat names.
        """
        pattern = re.compile(r"[A-Za-z0-9_-]{1,64}")
        toolMap = ToolMap()
        for namespace, name in (("n" * 40, "t" * 40), ("a/b", "c"), ("x", "y.z")):
            self.assertTrue(pattern.fullmatch(toolMap.chatName(name, namespace)))


class FailedTailTests(SynchronousTestCase):
    """
    Partial output that a failed response left behind, and that Codex
    resends on retry, does not reach the upstream.
    """

    def translate(self, items: list) -> ChatRequest:
        return translateRequest({"model": "m", "input": items}, SETTINGS)

    def test_trailingIncompleteDropped(self) -> None:
        prompt = {"type": "message", "role": "user", "content": "Hi."}
        partial = {"type": "message", "role": "assistant", "status": "incomplete",
                   "content": [{"type": "output_text", "text": "Partial"}]}
        chat = self.translate([prompt, partial, dict(partial)])
        self.assertEqual(chat.body["messages"], [{"role": "user", "content": "Hi."}])
        self.assertEqual(len(chat.warnings), 1)
        self.assertIn("2 incomplete item(s)", chat.warnings[0])

    def test_incompleteFollowedByUserKept(self) -> None:
        """
        A truncated answer the conversation went on from stays in history.
        """
        items = [
            {"type": "message", "role": "user", "content": "Hi."},
            {"type": "message", "role": "assistant", "status": "incomplete",
             "content": [{"type": "output_text", "text": "Partial"}]},
            {"type": "message", "role": "user", "content": "Go on."},
        ]
        self.assertEqual(self.translate(items).body["messages"], [
            {"role": "user", "content": "Hi."},
            {"role": "assistant", "content": "Partial"},
            {"role": "user", "content": "Go on."},
        ])


class ReasoningOriginTests(SynchronousTestCase):
    """
    Provider-specific reasoning data goes back only to the upstream it came
    from; the reasoning text, which is neutral, goes anywhere.
    """

    def translateWith(self, origin: str) -> dict:
        blob = ReasoningCarrier(SECRET).seal({
            "v": 1, "model": "m", "field": "reasoning", "text": "because",
            "details": [{"type": "reasoning.text", "text": "because", "signature": "s"}],
            "origin": "https://openrouter.ai/api/v1"})
        items = [
            {"type": "message", "role": "user", "content": "hi"},
            {"type": "reasoning", "summary": [], "encrypted_content": blob},
            {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "ok"}]},
        ]
        settings = TranslationSettings(secret=SECRET, origin=origin)
        chat = translateRequest({"model": "m", "input": items}, settings)
        return chat.body["messages"][1]

    def test_sameOrigin(self) -> None:
        message = self.translateWith("https://openrouter.ai/api/v1")
        self.assertEqual(message["reasoning"], "because")
        self.assertEqual(message["reasoning_details"][0]["signature"], "s")

    def test_otherOrigin(self) -> None:
        message = self.translateWith("https://api.deepseek.com/v1")
        self.assertEqual(message["reasoning"], "because")
        self.assertNotIn("reasoning_details", message)
