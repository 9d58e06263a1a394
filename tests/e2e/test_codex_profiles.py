"""
Codex through the relay forced to the deepseek, kimi and glm profiles
(C{--profile}): a shell round trip onto a scripted upstream that rejects
what that provider would; and DSML markup healed on the generic route.
"""

import json
from collections.abc import Callable
from typing import Any

from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.codex import CodexRun
from tests.harness.codexflow import (
    FALLBACK_MODEL,
    REASONING,
    CodexFlowTestCase,
    answering,
    assistantCalling,
    offers,
    textReply,
    toolCallReply,
    unexpected,
)
from tests.harness.rules import deepseekThinking, firstOf, kimiControls, kimiThinking
from tests.harness.upstream import ReceivedRequest, Reply, Stream

# What the providers behind the profiles demand, for the scripted upstream.

Demand = Callable[[dict, bytes], Reply | None]


def kimiNoStrict(body: dict, rawBody: bytes) -> Reply | None:
    # PROVIDERS.md §2: Kimi wants tool schemas without "strict".
    for tool in body.get("tools") or ():
        if "strict" in tool.get("function", {}):
            return unexpected("Kimi: 'strict' in the schema of tool {}".format(
                tool["function"].get("name")))
    return None


def glmThinking(body: dict, rawBody: bytes) -> Reply | None:
    # GLM does answer without it, but keeps its reasoning to itself under
    # Codex's long prompt (PROVIDERS.md §2): a relay that forgets it is broken.
    if body.get("thinking") != {"type": "enabled"}:
        return unexpected("GLM: no thinking: {\"type\": \"enabled\"}")
    return None


class ProfileRoundTripTests(CodexFlowTestCase):
    """
    The shell round trip of flow 1 with the profiles that change the request
    most, forced with C{--profile} onto the scripted upstream, which rejects
    what that provider would (the strict fakes' rules of
    L{tests.harness.rules}, and the provider's own error) and needs the
    reasoning it streamed back on the tool-call turn.
    """

    async def roundTrip(self, profile: str, model: str, demands: Demand,
                        final: str = "Ran it.") -> tuple[CodexRun, list[dict]]:
        """
        Codex asks; the upstream reasons and calls exec_command; Codex runs
        it and sends its output; the upstream answers C{final}.  Every
        request must meet C{demands}.

        @return: Codex's run and the Chat requests.
        """
        callId = "call_profile_1"

        def respond(body: Any, received: ReceivedRequest) -> Reply:
            rejection = demands(body, received.body)
            if rejection is not None:
                return rejection
            assistant = assistantCalling(body, callId)
            if assistant is None:
                if len(self.chat) > 1:
                    return unexpected("the call {} is missing from the history".format(callId))
                if offers(body, "exec_command") is None:
                    return unexpected("exec_command is not offered")
                return toolCallReply(callId, "exec_command", {"cmd": "echo profile-ok"},
                                     thinking=REASONING)
            if answering(body, callId) is None:
                return unexpected("the call {} is not answered last".format(callId))
            return textReply(final)

        upstream, url = await self.serveUpstream(respond)
        environment = self.environment(self.startRelay(url, profile=profile), model=model)
        run = await self.codex(environment, "Say profile-ok with echo.")
        requests = [r.json for r in self.chat]
        self.assertEqual(len(requests), 2, run.describe())
        self.assertIn("profile-ok", answering(requests[1], callId)["content"])
        return run, requests

    def assertReasoningBack(self, requests: list[dict]) -> None:
        """
        The second request has the streamed reasoning itself (not a
        placeholder) in C{reasoning_content} of the tool-call turn.
        """
        assistant = assistantCalling(requests[1], "call_profile_1")
        self.assertEqual(assistant["reasoning_content"], REASONING)

    async def test_deepseek(self) -> None:
        """
        DeepSeek: C{reasoning_content} on every assistant message with tool
        calls.  Codex offers C{get_goal} with C{"required": []}, which once
        made the DeepSeek route fail every request.
        """
        run, requests = await self.roundTrip(
            "deepseek", FALLBACK_MODEL, deepseekThinking)
        self.assertAnswered(run, "Ran it.")
        self.assertEqual(offers(requests[0], "get_goal")["parameters"]["required"], [])
        self.assertReasoningBack(requests)

    async def test_kimi(self) -> None:
        """
        Kimi: C{reasoning_content} on every tool-call message, fixed
        sampling, C{tool_choice} auto only, no C{strict} in tool schemas.
        """
        run, requests = await self.roundTrip(
            "kimi", "kimi-k2.6", firstOf(kimiThinking, kimiControls, kimiNoStrict))
        self.assertAnswered(run, "Ran it.")
        self.assertReasoningBack(requests)

    async def test_glm(self) -> None:
        """
        GLM: C{thinking: {"type": "enabled"}} on every request; its inline
        C{<think>} in the final text is split off, so Codex's answer is the
        text alone.
        """
        run, requests = await self.roundTrip(
            "glm", "glm-4.6", glmThinking,
            final="<think>The echo worked.</think>Ran it.")
        self.assertAnswered(run, "Ran it.")
        self.assertReasoningBack(requests)

    async def test_dsmlHealedOnGenericRoute(self) -> None:
        """
        A DeepSeek model behind a host with no profile (generic here) leaks
        its tool call as DSML markup: the relay heals it into an
        exec_command call, Codex runs it, and the next request carries the
        call and its output.
        """
        markup = ('I will run it.<\uff5c\uff5cDSML\uff5c\uff5cinvoke name="exec_command" '
                  'string="echo healed-ok" />')

        def respond(body: Any, received: ReceivedRequest) -> Reply:
            messages = body.get("messages") or []
            if messages and messages[-1].get("role") == "tool":
                return textReply("Healed.")
            if len(self.chat) > 1:
                return unexpected("the second request does not answer the healed call")
            return Stream([text(markup[:20]), text(markup[20:]), finish("stop"),
                           chunk(choices=False, usage=usage(2000, 30))])

        upstream, url = await self.serveUpstream(respond)
        environment = self.environment(self.startRelay(url))
        run = await self.codex(environment, "Say healed-ok with echo.")

        self.assertAnswered(run, "Healed.")
        second = self.chat[1].json
        call = second["messages"][-2]["tool_calls"][0]
        self.assertEqual((call["function"]["name"], json.loads(call["function"]["arguments"])),
                         ("exec_command", {"cmd": "echo healed-ok"}))
        self.assertEqual(second["messages"][-2]["content"], "I will run it.")
        self.assertIn("healed-ok", answering(second, call["id"])["content"])
