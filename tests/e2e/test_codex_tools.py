"""
Codex through the relay, tool calls both ways (flows 1 to 3): a shell
round trip, the freeform apply_patch tool, and DeepSeek's reasoning passed
back on the tool-call turn (see L{tests.harness.codexflow}).
"""

import json
import os
from typing import Any

from tests.harness.codexflow import (
    CATALOG_MODEL,
    FALLBACK_MODEL,
    REASONING,
    RELAY_KEY,
    CodexFlowTestCase,
    answering,
    assistantCalling,
    offers,
    textReply,
    toolCallReply,
    unexpected,
)
from tests.harness.upstream import JSONReply, ReceivedRequest, Reply

PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello world\n*** End Patch\n"
DEEPSEEK_PASS_BACK = ("The reasoning_content in the thinking mode must be passed back to "
                      "the API.")


class ToolRoundTripTests(CodexFlowTestCase):
    """
    Flows 1 to 3: tool calls through the relay, both ways.
    """

    async def test_shellRoundTrip(self) -> None:
        """
        Codex offers exec_command; the upstream calls it to create a file;
        Codex runs it and sends the output back as the tool message
        answering that call; the upstream then answers in text.
        """
        callId = "call_shell_1"
        command = "printf 'made by codex' > created.txt && echo created-ok"
        answer = "I created created.txt."

        def respond(body: Any, received: ReceivedRequest) -> Reply:
            if answering(body, callId) is not None:
                return textReply(answer)
            if len(self.chat) > 1:
                return unexpected("the second request does not answer " + callId)
            if offers(body, "exec_command") is None:
                return unexpected("exec_command is not offered")
            return toolCallReply(callId, "exec_command", {"cmd": command})

        upstream, url = await self.serveUpstream(respond)
        environment = self.environment(self.startRelay(url))
        run = await self.codex(environment, "Create created.txt.")

        self.assertAnswered(run, answer)
        with open(os.path.join(environment.workdir, "created.txt")) as f:
            self.assertEqual(f.read(), "made by codex")
        self.assertEqual(len(self.chat), 2)
        first, second = (r.json for r in self.chat)
        self.assertEqual(self.chat[0].headers["authorization"], "Bearer " + RELAY_KEY)
        self.assertEqual(first["model"], FALLBACK_MODEL)
        # Codex's fallback metadata: a namespace tool arrives flattened.
        self.assertIsNotNone(offers(first, "multi_agent_v1__close_agent"))
        assistant = assistantCalling(second, callId)
        self.assertEqual(assistant["tool_calls"], [{
            "id": callId, "type": "function",
            "function": {"name": "exec_command", "arguments": json.dumps({"cmd": command})}}])
        output = answering(second, callId)
        self.assertIn("Process exited with code 0", output["content"])
        self.assertIn("created-ok", output["content"])
        self.assertIs(second["messages"][-2], assistant)

    async def test_freeformApplyPatch(self) -> None:
        """
        With a catalog entry whose apply_patch_tool_type is freeform, Codex
        sends apply_patch as a custom tool; the relay offers it upstream as a
        function with an C{input} string; the upstream calls it; Codex
        applies the patch, and the follow-up tool message answers the call.
        """
        callId = "call_patch_1"
        answer = "Added hello.txt."

        def respond(body: Any, received: ReceivedRequest) -> Reply:
            if answering(body, callId) is not None:
                return textReply(answer)
            if len(self.chat) > 1:
                return unexpected("the second request does not answer " + callId)
            function = offers(body, "apply_patch")
            if function is None:
                return unexpected("apply_patch is not offered")
            if list(function["parameters"]["properties"]) != ["input"]:
                return unexpected("apply_patch is not the freeform tool: {}".format(function))
            return toolCallReply(callId, "apply_patch", {"input": PATCH})

        upstream, url = await self.serveUpstream(respond)
        environment = self.environment(self.startRelay(url), model=CATALOG_MODEL, catalog=True)
        run = await self.codex(environment, "Add hello.txt.")

        self.assertAnswered(run, answer)
        self.assertNotIn("Model metadata for", run.stderr)  # the catalog entry was used
        with open(os.path.join(environment.workdir, "hello.txt")) as f:
            self.assertEqual(f.read(), "hello world\n")
        self.assertEqual(len(self.chat), 2)
        first, second = (r.json for r in self.chat)
        self.assertEqual(first["model"], CATALOG_MODEL)
        self.assertIn("Input grammar (lark)", offers(first, "apply_patch")["description"])
        # Codex replayed a custom_tool_call; the relay made it a function call again.
        call = assistantCalling(second, callId)["tool_calls"][0]
        self.assertEqual(call["function"]["name"], "apply_patch")
        self.assertEqual(json.loads(call["function"]["arguments"]), {"input": PATCH})
        output = answering(second, callId)
        self.assertIn("Success. Updated the following files:\nA hello.txt", output["content"])

    async def test_reasoningPassBack(self) -> None:
        """
        DeepSeek's thinking mode: reasoning streamed before a tool call
        must come back, unchanged, on that assistant tool-call message, or
        the upstream answers 400.  The relay carries it through Codex in
        C{encrypted_content}.
        """
        callId = "call_think_1"
        answer = "Said hello."

        def respond(body: Any, received: ReceivedRequest) -> Reply:
            assistant = assistantCalling(body, callId)
            if assistant is None:
                if len(self.chat) > 1:
                    return unexpected("the call {} is missing from the history".format(callId))
                return toolCallReply(callId, "exec_command", {"cmd": "echo hello"},
                                     thinking=REASONING)
            if assistant.get("reasoning_content") != REASONING:
                return JSONReply({"error": {"message": DEEPSEEK_PASS_BACK,
                                            "type": "invalid_request_error", "param": None,
                                            "code": "invalid_request_error"}}, status=400)
            if answering(body, callId) is None:
                return unexpected("the call {} is not answered last".format(callId))
            return textReply(answer)

        upstream, url = await self.serveUpstream(respond)
        environment = self.environment(self.startRelay(url), model="deepseek-reasoner")
        run = await self.codex(environment, "Say hello with echo.")

        self.assertAnswered(run, answer)
        self.assertEqual(len(self.chat), 2)
        second = self.chat[1].json
        self.assertEqual(assistantCalling(second, callId)["reasoning_content"], REASONING)
        # Only that assistant message carries it.
        self.assertEqual(
            [m for m in second["messages"] if "reasoning_content" in m],
            [assistantCalling(second, callId)])
