"""
C{GET /v1/models} timeouts, in memory on one L{MemoryReactorClock}: each
upstream is bounded by its own headers timeout, an upstream that hangs is
left out of a merged list with a warning, and a list that no upstream gave
is an error (504 when they all timed out), with every upstream request
given up.
"""

from tests.harness.modelsupstream import (
    ModelsMemoryCase,
    ModelsUpstream,
    answering,
    hanging,
    modelList,
)
from tests.harness.upstream import JSONReply


class ModelsTimeoutTests(ModelsMemoryCase):
    def test_allHang(self) -> None:
        """
        When every upstream hangs, the answer is a 504 once the headers
        timeout has passed, and the upstream requests are given up.
        """
        slow, slower = hanging(), hanging(headers=True)
        relay = self.relay({"slow": slow, "slower": slower}, headersTimeout=0.5)
        d = self.models()
        relay.advance(0.4)
        self.assertNoResult(d)
        self.assertEqual((slow.disconnects, slower.disconnects), (0, 0))
        relay.advance(0.1)
        code, body = self.answer(self.successResultOf(d))
        self.assertEqual(code, 504, body)
        self.assertEqual((body["error"]["type"], body["error"]["code"]),
                         ("server_error", "upstream_timeout"))
        message = body["error"]["message"]
        self.assertIn("slow: The upstream sent no model list within 0.5 seconds", message)
        self.assertIn("slower: The upstream sent no model list", message)
        self.assertEqual((slow.disconnects, slower.disconnects), (1, 1))

    def test_oneUpstreamHangs(self) -> None:
        """
        With a single upstream, its hang is a 504 at the timeout.
        """
        only = hanging()
        relay = self.relay({"only": only}, headersTimeout=0.5)
        d = self.models()
        relay.advance(0.4)
        self.assertNoResult(d)
        relay.advance(0.1)
        code, body = self.answer(self.successResultOf(d))
        self.assertEqual((code, body["error"]["code"]), (504, "upstream_timeout"))
        self.assertEqual(only.disconnects, 1)

    def test_partial(self) -> None:
        """
        One upstream hanging past its own C{headers_timeout} is left out,
        with a warning naming it; the others' models are listed, at that
        timeout, not the relay's 30 s.
        """
        relay = self.relay({"fast": answering(modelList("a-1", "a-2")), "slow": hanging()},
                           extra="headers_timeout = 0.5")
        d = self.models()
        relay.advance(0.4)
        self.assertNoResult(d)
        relay.advance(0.1)
        code, body = self.answer(self.successResultOf(d))
        self.assertEqual(code, 200, body)
        self.assertEqual([(m["id"], m["owned_by"]) for m in body["data"]],
                         [("a-1", "fast"), ("a-2", "fast")])
        [warning] = self.logged("warn")
        self.assertIn("'slow' left out", warning)
        self.assertIn("no model list within 0.5 seconds", warning)

    def test_mixedFailures(self) -> None:
        """
        No upstream answering, for different reasons, is a 502 that says
        what became of each, not an empty list.
        """
        relay = self.relay({"locked": ModelsUpstream(JSONReply(
            {"error": {"message": "bad key", "type": "invalid_request_error"}}, status=401)),
            "slow": hanging()}, extra="headers_timeout = 0.5")
        d = self.models()
        relay.advance(0.5)
        code, body = self.answer(self.successResultOf(d))
        self.assertEqual(code, 502, body)
        self.assertEqual(body["error"]["code"], "upstream_error")
        self.assertIn("locked: bad key", body["error"]["message"])
        self.assertIn("slow: The upstream sent no model list", body["error"]["message"])
