"""
Tests for L{codex_relay._core.request.tools} and
L{codex_relay._core.request.toolmap}: Responses tools and tool choices
become Chat tools, under names every Chat provider accepts.
"""

import re

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.request.translate import ChatRequest
from codex_relay._core.request.toolmap import ToolMap, ToolRef
from codex_relay._core.request.tools import translateTools
from tests.harness.requests import translate
from tests.harness.translation import CUSTOM_PARAMETERS, EMPTY_PARAMETERS, BadRequestMixin


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
