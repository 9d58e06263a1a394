"""
Tests for L{codex_relay._core.request.translate} on requests shaped like
the ones Codex sends.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.request.toolmap import ToolRef
from tests.harness.requests import chatCall, seal, tool, translate, user
from tests.harness.translation import CUSTOM_PARAMETERS


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
