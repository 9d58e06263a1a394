"""
The idle timeout of a passthrough route (C{api = "responses"}), in memory
on one L{MemoryReactorClock}: silence mid-stream ends the stream with
C{response.failed}, silence before the first whole event is a 504, and an
upstream that keeps its body open after the terminal event is dropped once
the timeout passes.
"""

from codex_relay import TranslationSettings
from codex_relay._providers.config_file import parseRoutingTable
from tests.harness import oracle
from tests.harness.memory import UPSTREAM, RelayTestCase
from tests.harness.passthroughrelay import (
    CLIENT_KEY,
    CLIENT_REQUEST,
    NATIVE_KEY,
    ROUTES,
    SECRET,
    ResponsesUpstream,
)
from tests.harness.responses import frames, upstreamEvents
from tests.harness.upstream import Hang, Reply

# The "slow" route's upstream has idle_timeout = 0.5.
SLOW = dict(CLIENT_REQUEST, model="slow")


class PassthroughIdleTests(RelayTestCase):
    def setUp(self) -> None:
        self.makeRelay(
            scripted=ResponsesUpstream(),
            routes=parseRoutingTable(ROUTES.format(responses=UPSTREAM, chat=UPSTREAM),
                                     {"NATIVE_KEY": NATIVE_KEY}, "relay.toml"),
            translation=TranslationSettings(secret=SECRET))

    def send(self, reply: Reply) -> object:
        """
        POST the slow route's request, with C{reply} queued; the response,
        which may be pending.
        """
        self.upstream.queue(reply)
        return self.relay.request("POST", "/v1/responses", json=SLOW,
                                  headers={"Authorization": "Bearer " + CLIENT_KEY})

    def test_terminalEndsTheStream(self) -> None:
        """
        After its terminal event the stream is over, even if the upstream
        keeps its body open; the relay drops that connection after the idle
        timeout.
        """
        upstream = frames(upstreamEvents())
        body = self.content(self.successResultOf(self.send(Hang(upstream))))
        self.assertEqual(body, b"".join(upstream))
        oracle.checkStream(body)
        self.relay.advance(0.4)
        self.assertEqual(self.upstream.disconnects, 0)
        self.relay.advance(0.1)
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()

    def test_idleMidStream(self) -> None:
        """
        An upstream silent past its idle timeout: C{response.failed}, and
        the upstream connection is closed.
        """
        upstream = frames(upstreamEvents()[:2])
        collector = self.collect(self.successResultOf(self.send(Hang(upstream))))
        self.relay.advance(0.4)
        self.assertNoResult(collector.finished)
        self.relay.advance(0.1)
        self.successResultOf(collector.finished)
        body = collector.body()
        self.assertTrue(body.startswith(b"".join(upstream)))
        events = oracle.checkStream(body)
        self.assertEqual(events[-1]["type"], "response.failed")
        self.assertIn("sent nothing for 0.5 seconds",
                      events[-1]["response"]["error"]["message"])
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()

    def test_idleBeforeAnyEvent(self) -> None:
        """
        Silence before the first whole event is still an HTTP error.
        """
        d = self.send(Hang([b"event: response.created\n"]))
        self.relay.advance(0.4)
        self.assertNoResult(d)
        self.relay.advance(0.1)
        self.assertError(self.successResultOf(d), 504, "upstream_timeout")
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()
