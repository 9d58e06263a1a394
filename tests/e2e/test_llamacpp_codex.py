"""
The real Codex CLI through a relay process onto the real llama.cpp server
(see L{tests.harness.llamarelay}), a recording proxy on each side of the
relay: a turn completes and every stream is valid.
"""

import json
import os

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from codex_relay import start
from tests.harness import oracle
from tests.harness.codex import CodexEnvironment, requireCodex, stopProcess
from tests.harness.llamacpp import MODEL_ALIAS, TOOLS_TEMPLATE, serverFor
from tests.harness.llamarelay import PROFILE
from tests.harness.recordingproxy import serveProxy
from tests.harness.sockets import webClient


class CodexTests(TestCase):
    """
    The real Codex CLI through a relay process onto llama.cpp, with a
    L{RecordingProxy} on each side of the relay:

        codex exec --> proxy --> relay process --> proxy --> llama.cpp
    """

    timeout = 150

    async def test_codexTurn(self) -> None:
        """
        C{codex exec} completes a turn: exit 0, a non-empty answer, and no
        output Codex could not parse; every stream the relay sent Codex is
        valid by the oracle.

        Codex's own prompt is about 8,700 tokens, over half a minute of
        prompt processing on two cores, so these settings shrink it to
        about 1,300: short instructions (C{model_instructions_file}), no
        multi-agent or goal tools, no web search; the shell tools are off
        too, so nothing the base model writes is run.  The server caps an
        answer at 64 tokens (Codex asks for no limit); the relay reports
        that length stop as completed.
        """
        binary = requireCodex(self)
        server = await serverFor(self, TOOLS_TEMPLATE)
        web = webClient(self)
        behind, upstreamURL = await serveProxy(self, server.address, web)
        relay = await deferToThread(start, port=0, upstream=upstreamURL, api_key="sk-unused",
                                    profile=PROFILE, length_as_completed=True)

        self.addCleanup(deferToThread, stopProcess, relay)
        relayURL = relay.base_url  # type: ignore[attr-defined]
        front, frontURL = await serveProxy(self, relayURL[:-len("/v1")], web)

        environment = CodexEnvironment(binary, frontURL, model=MODEL_ALIAS)
        self.addCleanup(environment.cleanup)
        instructions = os.path.join(environment.root, "instructions.md")
        with open(instructions, "w") as f:
            f.write("You are a coding agent. Answer briefly.\n")
        overrides = ["model_instructions_file={}".format(json.dumps(instructions)),
                     "features.multi_agent=false", "features.goals=false",
                     "features.shell_tool=false", "features.unified_exec=false",
                     'web_search="disabled"']
        run = await deferToThread(environment.run, "Say hello.", 120.0,
                                  tuple(a for o in overrides for a in ("-c", o)))
        if os.environ.get("CODEX_RELAY_TEST_VERBOSE"):
            print("\n{}: {}\n{}".format(self.id(), " ".join(run.args[1:]), run.describe()))
        self.assertFalse(run.timedOut, run.describe())
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(run.parseFailures, [], run.describe())
        answer = (run.answer or "").strip()
        self.assertNotEqual(answer, "", run.describe())

        turns = [e for e in front.exchanges if e.path == "/v1/responses"]
        self.assertGreaterEqual(len(turns), 1)
        for turn in turns:
            self.assertEqual(turn.status, 200, turn.body[:2000])
            self.assertTrue(turn.streamed, turn.contentType)
            events = oracle.checkStream(turn.body, allowCodexCodes=True)
            self.assertEqual(events[-1]["type"], "response.completed")
        chat = behind.chat()
        self.assertEqual(len(chat), len(turns))
        for exchange in chat:
            self.assertEqual(exchange.status, 200, exchange.body[:2000])
        self.assertIn(chat[-1].finishReason(), ("length", "stop"))
        self.assertIn(answer[:40], chat[-1].deltas("content"))
