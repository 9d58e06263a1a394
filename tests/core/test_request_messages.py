"""
Tests for L{codex_relay._core.request.messages}: Responses input items
become Chat messages.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.carrier import ReasoningCarrier
from codex_relay._core.settings import TranslationSettings
from tests.harness.requests import SECRET, SETTINGS, assistantItem, call, chatCall, messagesOf, output, seal, tool, translate, user
from tests.harness.translation import BadRequestMixin


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
