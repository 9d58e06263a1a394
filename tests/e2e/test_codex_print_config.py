"""
Codex set up from C{codex-relay print-config --catalog}, the snippet
pasted as-is into a fresh C{CODEX_HOME}, working through the relay.
"""

import os
import subprocess
import sys
from typing import Any

from twisted.internet.threads import deferToThread

from tests.harness.codexflow import (
    FALLBACK_MODEL,
    RELAY_KEY,
    CodexFlowTestCase,
    offers,
    textReply,
    unexpected,
)
from tests.harness.upstream import ReceivedRequest, Reply


class PrintConfigTests(CodexFlowTestCase):
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
