"""
The Codex end-to-end harness: the real Codex CLI (0.169.0, see
L{tests.harness.codex}) driven through codex-relay, run as a separate
process by L{codex_relay.start}, onto a scripted Chat Completions upstream
(L{tests.harness.upstream.ScriptedUpstream}) served on a loopback port by the
test's reactor.

    codex exec  --Responses-->  relay process  --Chat-->  ScriptedUpstream

The upstream decides from the Chat request it receives (for instance: if
the last message is the tool message answering call X, reply with text,
else call the tool), and answers anything unexpected with a 400 that Codex
treats as fatal (L{unexpected}), so a broken translation fails fast and
visibly.

Codex exits 0 with an empty answer when it drops output it cannot parse,
so L{CodexFlowTestCase.codex} checks that Codex's debug log
(C{RUST_LOG=codex_api=debug}) has no "failed to parse" line, and every
test checks the answer itself (the C{-o} file).

Set C{CODEX_RELAY_CODEX_BIN} to run these tests; without it they are
skipped (loudly), except under C{CI=true}, where that is a failure.  Set
C{CODEX_RELAY_TEST_VERBOSE=1} to print each Codex run (command, exit
status, answer, stderr).
"""

import json
import os
import subprocess
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
from tests.harness.upstream import JSONReply, ReceivedRequest, Reply, ScriptedUpstream, Stream

RELAY_KEY = "sk-test"
FALLBACK_MODEL = "deepseek-chat"
CATALOG_MODEL = "relay-model"
REASONING = "The user wants a greeting. Running echo is the simplest way."

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


class CodexFlowTestCase(TestCase):
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
