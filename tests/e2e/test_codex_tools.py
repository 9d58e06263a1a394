"""
End-to-end tests: the real Codex CLI (0.169.0, see L{tests.harness.codex})
driven through codex-relay, run as a separate process by
L{codex_relay.start}, onto a scripted Chat Completions upstream
(L{tests.harness.upstream.ScriptedUpstream}) served on a loopback port by the
test's reactor.

    codex exec  --Responses-->  relay process  --Chat-->  ScriptedUpstream

The upstream decides from the Chat request it receives (for instance: if
the last message is the tool message answering call X, reply with text,
else call the tool), and answers anything unexpected with a 400 that Codex
treats as fatal, so a broken translation fails fast and visibly.

L{ProfileRoundTripTests} runs a tool round trip with the relay forced to
the deepseek, kimi and glm profiles (C{--profile}), the upstream rejecting
what that provider would.

Codex exits 0 with an empty answer when it drops output it cannot parse,
so every test checks the answer itself (the C{-o} file) and that Codex's
debug log (C{RUST_LOG=codex_api=debug}) has no "failed to parse" line.

Set C{CODEX_RELAY_CODEX_BIN} to run them; without it they are skipped
(loudly), except under C{CI=true}, where that is a failure.  Set
C{CODEX_RELAY_TEST_VERBOSE=1} to print each Codex run (command, exit
status, answer, stderr).
"""

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from typing import Any

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from twisted.web.server import Site

from codex_relay import start
from codex_relay._tools.catalog import buildCatalog
from tests.harness.chunks import chunk, finish, reasoning, text, toolCall, usage
from tests.harness.codex import (
    CodexEnvironment,
    CodexRun,
    bundledModels,
    requireCodex,
    stopProcess,
    trackingFactory,
)
from tests.fixtures import capture_codex
from tests.harness.rules import deepseekThinking, firstOf, kimiControls, kimiThinking
from tests.harness.upstream import Drop, JSONReply, ReceivedRequest, Reply, ScriptedUpstream, Stream

RELAY_KEY = "sk-test"
FALLBACK_MODEL = "deepseek-chat"
CATALOG_MODEL = "relay-model"
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello world\n*** End Patch\n"
REASONING = "The user wants a greeting. Running echo is the simplest way."
DEEPSEEK_PASS_BACK = ("The reasoning_content in the thinking mode must be passed back to "
                      "the API.")
CONTEXT_OVERFLOW = (
    "This model's maximum context length is 8192 tokens. However, you requested 9321 tokens "
    "(8297 in the messages, 1024 in the completion). Please reduce the length of the "
    "messages or completion.")

_catalogs: dict[str, dict] = {}


def relayCatalog(binary: str) -> dict:
    """
    The catalog C{codex-relay model-catalog} would write for
    L{CATALOG_MODEL} (made once per binary).
    """
    if binary not in _catalogs:
        _catalogs[binary] = buildCatalog(bundledModels(binary), [CATALOG_MODEL])
    return _catalogs[binary]


# What the scripted upstream answers with.

def textReply(answer: str) -> Stream:
    """
    A streamed text answer, split in two deltas, with usage.
    """
    middle = len(answer) // 2
    return Stream([text(answer[:middle]), text(answer[middle:]), finish("stop"),
                   chunk(choices=False, usage=usage(2000, 12))])


def toolCallReply(callId: str, name: str, arguments: dict,
                  thinking: str | None = None) -> Stream:
    """
    A streamed tool call, arguments in fragments, optionally after
    C{reasoning_content} deltas.
    """
    encoded = json.dumps(arguments)
    chunks: list[dict] = []
    if thinking is not None:
        middle = len(thinking) // 2
        chunks += [reasoning(thinking[:middle]), reasoning(thinking[middle:])]
    chunks += [toolCall(0, id=callId, name=name, arguments=""),
               toolCall(0, arguments=encoded[:10]), toolCall(0, arguments=encoded[10:]),
               finish("tool_calls"), chunk(choices=False, usage=usage(2000, 30))]
    return Stream(chunks)


def unexpected(why: str) -> JSONReply:
    """
    A 400 for a request the script did not expect: Codex gives up at once.
    """
    return JSONReply({"error": {"message": "scripted upstream: " + why,
                                "type": "invalid_request_error", "param": None,
                                "code": None}}, status=400)


def offers(body: dict, name: str) -> dict | None:
    """
    The Chat function tool C{name} of C{body}, if offered.
    """
    for tool in body.get("tools") or []:
        if tool.get("type") == "function" and tool["function"].get("name") == name:
            return tool["function"]
    return None


def answering(body: dict, callId: str) -> dict | None:
    """
    The last message of C{body} if it is the tool message answering
    C{callId}.
    """
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    if last.get("role") == "tool" and last.get("tool_call_id") == callId:
        return last
    return None


def assistantCalling(body: dict, callId: str) -> dict | None:
    """
    The assistant message of C{body} that holds the tool call C{callId}.
    """
    for message in body.get("messages") or []:
        if message.get("role") == "assistant" and any(
                call.get("id") == callId for call in message.get("tool_calls") or ()):
            return message
    return None


class _CodexTestCase(TestCase):
    """
    Starts the pieces of one flow: the upstream on the test's reactor, the
    relay process, a Codex environment; runs Codex in a thread.
    """

    timeout = 120

    def setUp(self) -> None:
        self.binary = requireCodex(self)

    async def serveUpstream(
        self, respond: Callable[[Any, ReceivedRequest], Reply]
    ) -> tuple[ScriptedUpstream, str]:
        """
        Serve a L{ScriptedUpstream} with C{respond} on a loopback port.
        Each Chat request is recorded in C{self.chat} (the upstream's
        C{requests} also holds the relay's model-list requests), and its
        arrival time (C{reactor.seconds()}) in C{self.arrivals}.
        """
        self.arrivals: list[float] = []
        self.chat: list[ReceivedRequest] = []
        self.scriptErrors: list[str] = []

        def timed(body: Any, received: ReceivedRequest) -> Reply:
            self.arrivals.append(reactor.seconds())
            self.chat.append(received)
            try:
                return respond(body, received)
            except Exception:
                # A 500 would be retried by Codex for half a minute.
                self.scriptErrors.append(traceback.format_exc())
                return unexpected("the script raised")

        upstream = ScriptedUpstream(timed, reactor=reactor)
        factory = trackingFactory(Site(upstream.resource))
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(factory)
        self.addCleanup(port.stopListening)
        self.addCleanup(factory.closeAll, reactor)
        self.addCleanup(upstream.abortAll)
        return upstream, "http://127.0.0.1:{}/v1".format(port.getHost().port)

    def startRelay(self, upstreamURL: str, **options: object) -> subprocess.Popen:
        relay = start(port=0, upstream=upstreamURL, api_key=RELAY_KEY, **options)
        self.addCleanup(stopProcess, relay)  # runs before the upstream's cleanups
        return relay

    def environment(self, relay: subprocess.Popen, model: str = FALLBACK_MODEL,
                    catalog: bool = False, **options: Any) -> CodexEnvironment:
        environment = CodexEnvironment(
            self.binary, relay.base_url, model=model,  # type: ignore[attr-defined]
            catalog=relayCatalog(self.binary) if catalog else None, **options)
        self.addCleanup(environment.cleanup)
        return environment

    async def codex(self, environment: CodexEnvironment, prompt: str,
                    timeout: float = 45.0) -> CodexRun:
        run = await deferToThread(environment.run, prompt, timeout)
        if os.environ.get("CODEX_RELAY_TEST_VERBOSE"):
            print("\n{}: {}\n{}".format(self.id(), " ".join(run.args[1:]), run.describe()))
        self.assertEqual(getattr(self, "scriptErrors", []), [])
        self.assertFalse(run.timedOut, run.describe())
        self.assertEqual(run.parseFailures, [], run.describe())
        return run

    def assertAnswered(self, run: CodexRun, answer: str) -> None:
        """
        Codex finished the turn and its last message is C{answer}.
        """
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual((run.answer or "").strip(), answer, run.describe())
        self.assertEqual(run.stdout.strip(), answer, run.describe())

    def assertFailedWith(self, run: CodexRun, *fragments: str) -> None:
        self.assertEqual(run.returncode, 1, run.describe())
        for fragment in fragments:
            self.assertIn(fragment, run.stderr, run.describe())


class ToolRoundTripTests(_CodexTestCase):
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


class ProfileRoundTripTests(_CodexTestCase):
    """
    The shell round trip of flow 1 with the profiles that change the request
    most, forced with C{--profile} onto the scripted upstream, which rejects
    what that provider would (the strict fakes' rules of
    L{tests.test_profiles}, and the provider's own error) and needs the
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


class ErrorTests(_CodexTestCase):
    """
    Flows 4 and 5: upstream failures become errors Codex acts on.
    """

    def rateLimitedOnce(self, headers: dict[str, str]) -> Callable[[Any, ReceivedRequest], Reply]:
        def respond(body: Any, received: ReceivedRequest) -> Reply:
            if len(self.arrivals) == 1:
                return JSONReply({"error": {"message": "Rate limit reached for requests",
                                            "type": "rate_limit_error", "param": None,
                                            "code": "rate_limit_exceeded"}},
                                 status=429, headers=headers)
            return textReply("Recovered.")
        return respond

    async def test_rateLimitWithoutRetryAfter(self) -> None:
        """
        An upstream 429 without Retry-After: Codex alone would give up at
        once, but the relay adds C{Retry-After} (1 s here), so Codex waits,
        retries and finishes.
        """
        upstream, url = await self.serveUpstream(self.rateLimitedOnce({}))
        environment = self.environment(self.startRelay(url, retry_after=1))
        run = await self.codex(environment, "Hi.")

        self.assertAnswered(run, "Recovered.")
        self.assertEqual(len(self.chat), 2)
        self.assertEqual(self.chat[0].json, self.chat[1].json)
        self.assertGreaterEqual(self.arrivals[1] - self.arrivals[0], 0.9)

    async def test_rateLimitWithRetryAfter(self) -> None:
        """
        An upstream 429 with C{Retry-After: 1}: the relay passes the
        upstream's delay on (its own default is 3 s here), Codex waits about
        1 s, retries and finishes.
        """
        upstream, url = await self.serveUpstream(self.rateLimitedOnce({"Retry-After": "1"}))
        environment = self.environment(self.startRelay(url, retry_after=3))
        run = await self.codex(environment, "Hi.")

        self.assertAnswered(run, "Recovered.")
        self.assertEqual(len(self.chat), 2)
        waited = self.arrivals[1] - self.arrivals[0]
        self.assertGreaterEqual(waited, 0.9)
        self.assertLess(waited, 2.9)

    async def test_contextLengthExceeded(self) -> None:
        """
        An upstream 400 saying the context is too long: Codex reports it
        once as "ran out of room in the model's context window" and does not
        retry.
        """
        def respond(body: Any, received: ReceivedRequest) -> Reply:
            return JSONReply({"error": {"message": CONTEXT_OVERFLOW,
                                        "type": "invalid_request_error", "param": None,
                                        "code": None}}, status=400)

        upstream, url = await self.serveUpstream(respond)
        environment = self.environment(self.startRelay(url))
        run = await self.codex(environment, "Hi.")

        self.assertFailedWith(run, "ran out of room in the model's context window")
        # No retry: Codex exec prints a fatal error twice (as the error event
        # and as the turn's failure), but never "Reconnecting".
        self.assertNotIn("Reconnecting", run.stderr, run.describe())
        self.assertEqual((run.answer or "").strip(), "")
        self.assertEqual(len(self.chat), 1)

    async def test_upstreamDiesMidStream(self) -> None:
        """
        An upstream that always dies after one text chunk: the relay ends
        each response with C{response.failed}; Codex retries
        C{stream_max_retries} times (1 here), then reports the failure and
        exits non-zero, in bounded time.
        """
        def respond(body: Any, received: ReceivedRequest) -> Reply:
            return Drop([text("Partial answer")])

        upstream, url = await self.serveUpstream(respond)
        environment = self.environment(
            self.startRelay(url),
            provider={"stream_max_retries": 1, "request_max_retries": 1})
        run = await self.codex(environment, "Hi.", timeout=30)

        self.assertFailedWith(run, "ERROR: Reconnecting... 1/1",
                              "stream disconnected before completion")
        self.assertLess(run.elapsed, 20, run.describe())
        self.assertEqual(len(self.chat), 2)
        first, second = (r.json["messages"] for r in self.chat)
        # What the retry did to history: before failing, the relay closed the
        # partial message with output_item.done (status "incomplete"), and
        # Codex keeps every output_item.done item in its history even when
        # the response then fails (CODEX.md §5.3): it resends the partial
        # message at the end of the input, one more copy per failed attempt
        # (0, 1, then 2 copies with stream_max_retries = 2, checked against a
        # recording Responses fake).  The relay drops that incomplete tail,
        # so every retry asks the upstream exactly what the first try did.
        self.assertEqual(second, first)

    async def test_truncated(self) -> None:
        """
        C{finish_reason: length} with the default settings: the relay sends
        C{response.incomplete} (max_output_tokens); Codex stops the turn with
        "Incomplete response returned, reason: max_output_tokens", shows the
        partial text and does not retry.
        """
        upstream, url = await self.serveUpstream(_truncatedReply)
        environment = self.environment(self.startRelay(url))
        run = await self.codex(environment, "Hi.")

        self.assertFailedWith(run, "Incomplete response returned, reason: max_output_tokens",
                              "The partial answ")
        self.assertEqual(len(self.chat), 1)

    async def test_truncatedAsCompleted(self) -> None:
        """
        With C{length_as_completed}, the relay reports the truncated
        response as completed: Codex ends the turn normally with the partial
        text as its answer.
        """
        upstream, url = await self.serveUpstream(_truncatedReply)
        environment = self.environment(self.startRelay(url, length_as_completed=True))
        run = await self.codex(environment, "Hi.")

        self.assertAnswered(run, "The partial answ")
        self.assertEqual(len(self.chat), 1)


class TransportTests(_CodexTestCase):
    """
    Codex's transport settings and the response details it reacts to.
    """

    async def test_webSocketsOnFallsBackAtOnce(self) -> None:
        """
        With C{supports_websockets = true}, Codex first asks to upgrade
        C{GET /v1/responses}; the relay's 426 makes it fall back to HTTP at
        once (a 405 cost five reconnects, about 6 s), with no reconnect
        message.
        """
        upstream, url = await self.serveUpstream(lambda body, received: textReply("Hi there."))
        environment = self.environment(self.startRelay(url),
                                       provider={"supports_websockets": True})
        run = await self.codex(environment, "Hi.")

        self.assertAnswered(run, "Hi there.")
        self.assertNotIn("Reconnecting", run.stderr, run.describe())
        self.assertLess(run.elapsed, 5, run.describe())
        self.assertEqual(len(self.chat), 1)

    async def test_noRerouteWarningNorExtraTurn(self) -> None:
        """
        No C{openai-model} header (Codex would print a bogus "model
        rerouted" and safety warning) and no C{end_turn: false} (Codex would
        send another request).
        """
        upstream, url = await self.serveUpstream(lambda body, received: textReply("Done."))
        run = await self.codex(self.environment(self.startRelay(url)), "Hi.")

        self.assertAnswered(run, "Done.")
        self.assertNotIn("rerouted", run.stderr, run.describe())
        self.assertEqual(len(self.chat), 1)


class PrintConfigTests(_CodexTestCase):
    """
    The Codex setup a user gets from C{codex-relay print-config --catalog},
    pasted as-is into a fresh C{CODEX_HOME}.
    """

    async def test_pastedConfigWorks(self) -> None:
        """
        The snippet points Codex at the relay with the upstream's first
        model, and its catalog makes Codex send the freeform apply_patch
        tool; the only key exported is the relay's own variable.
        """
        offered = []

        def respond(body: Any, received: ReceivedRequest) -> Reply:
            offered.append(offers(body, "apply_patch"))
            if body.get("model") != FALLBACK_MODEL:
                return unexpected("model {!r}".format(body.get("model")))
            return textReply("Configured.")

        upstream, url = await self.serveUpstream(respond)
        upstream.models = {"object": "list", "data": [
            {"id": FALLBACK_MODEL, "object": "model", "created": 0, "owned_by": "x"}]}
        relay = self.startRelay(url)
        environment = self.environment(relay)
        catalog = os.path.join(environment.home, "relay-models.json")
        command = [sys.executable, "-m", "codex_relay", "--port", str(relay.port),
                   "print-config", "--catalog", catalog, "--codex", self.binary]
        printed = await deferToThread(
            subprocess.run, command, capture_output=True, text=True, timeout=60,
            env=dict(os.environ, CODEX_RELAY_UPSTREAM=url, CODEX_RELAY_API_KEY=RELAY_KEY))
        self.assertEqual(printed.returncode, 0, printed.stderr)
        with open(os.path.join(environment.home, "config.toml"), "w") as config:
            # The snippet as printed; only the offline settings CI needs follow it.
            config.write(printed.stdout + OFFLINE_SETTINGS)
        environment.extraEnv["CODEX_RELAY_API_KEY"] = RELAY_KEY
        run = await self.codex(environment, "Hi.")

        self.assertAnswered(run, "Configured.")
        self.assertNotIn("Model metadata", run.stderr, run.describe())
        self.assertEqual(len(offered), 1)
        self.assertIsNotNone(offered[0], "the catalog did not bring apply_patch")
        self.assertIn("input", offered[0]["parameters"]["properties"])


OFFLINE_SETTINGS = """
[analytics]
enabled = false

[features]
plugins = false
unbounded_connection_retries = false
"""


def _truncatedReply(body: Any, received: ReceivedRequest) -> Reply:
    return Stream([text("The partial "), text("answ"), finish("length"),
                   chunk(choices=False, usage=usage(2000, 4))])


class CapturedRequestTests(_CodexTestCase):
    """
    The fixtures of L{tests.test_codex_fixtures} still describe what this
    Codex sends: Codex pointed straight at a recording Responses fake.
    """

    async def test_requestsMatchFixtures(self) -> None:
        """
        A fresh capture (see C{tests/fixtures/capture_codex.py}) has the
        same shape as each committed fixture: the same top-level fields,
        item kinds, roles, tools and parameters.  Regenerate the fixtures
        with C{python -m tests.fixtures.capture_codex} when Codex changes.
        """
        for configuration in capture_codex.CONFIGURATIONS:
            result = await capture_codex.capture(
                reactor, self.binary, configuration,
                relayCatalog(self.binary) if configuration.catalog else None)
            self.assertTrue(result.ok, "{}: {}".format(configuration.name, result.run.describe()))
            self.assertEqual(result.run.parseFailures, [])
            self.assertEqual(
                capture_codex.shape(result.scrubbed),
                capture_codex.shape(capture_codex.loadFixture(configuration)),
                "{}: Codex now sends something else than {}; recapture".format(
                    configuration.name, configuration.path))

