"""
Codex through the relay, its transport settings: the WebSocket upgrade it
tries first, and the response details that would make it warn or send
another request.
"""

from tests.harness.codexflow import CodexFlowTestCase, textReply


class TransportTests(CodexFlowTestCase):
    """
    Codex's transport settings and the response details it reacts to.
    """

    async def test_webSocketOffFallsBackAtOnce(self) -> None:
        """
        With C{supports_websockets = true} but the relay's C{--websocket
        off}, Codex's upgrade of C{GET /v1/responses} gets a 426, which
        makes it fall back to HTTP at once (a 405 cost five reconnects,
        about 6 s), with no reconnect message.
        """
        upstream, url = await self.serveUpstream(lambda body, received: textReply("Hi there."))
        environment = self.environment(self.startRelay(url, websocket="off"),
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
