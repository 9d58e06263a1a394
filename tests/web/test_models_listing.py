"""
C{GET /v1/models} on real sockets: every request ends, with each upstream
bounded by its own timeout; a list that no upstream gave is an error, never
an empty list; an upstream's C{Retry-After} and an oversize list are
handled.
"""

import json

from twisted.internet import reactor
from twisted.web.client import ResponseNeverReceived

from codex_relay._web.body import MAX_WHOLE_BODY
from tests.harness.modelsupstream import (
    LLAMACPP_MODELS,
    ModelsCase,
    ModelsUpstream,
    answering,
    deferLater,
    hanging,
    modelList,
)
from tests.harness.upstream import JSONReply


class ModelsTests(ModelsCase):
    """
    A relay in front of scripted upstreams, on loopback.
    """

    timeout = 30

    # Timeouts.

    async def test_allHang(self) -> None:
        """
        When every upstream hangs, the answer is a 504 once the headers
        timeout has passed, and the upstream requests are given up.
        """
        slow, slower = hanging(), hanging(headers=True)
        gone = [slow.whenDisconnected(), slower.whenDisconnected()]
        await self.relay({"slow": slow, "slower": slower}, headersTimeout=0.5)
        started = reactor.seconds()
        code, body, _ = await self.models()
        elapsed = reactor.seconds() - started
        self.assertEqual(code, 504, body)
        self.assertEqual((body["error"]["type"], body["error"]["code"]),
                         ("server_error", "upstream_timeout"))
        message = body["error"]["message"]
        self.assertIn("slow: The upstream sent no model list within 0.5 seconds", message)
        self.assertIn("slower: The upstream sent no model list", message)
        self.assertTrue(0.45 <= elapsed < 5, elapsed)
        for disconnected in gone:
            await disconnected

    async def test_oneUpstreamHangs(self) -> None:
        """
        With a single upstream, its hang is a 504 within the timeout.
        """
        await self.relay({"only": hanging()}, headersTimeout=0.5)
        started = reactor.seconds()
        code, body, _ = await self.models()
        self.assertEqual((code, body["error"]["code"]), (504, "upstream_timeout"))
        self.assertLess(reactor.seconds() - started, 5)

    async def test_partial(self) -> None:
        """
        One upstream hanging past its own C{headers_timeout} is left out,
        with a warning naming it; the others' models are listed.
        """
        await self.relay({"fast": answering(modelList("a-1", "a-2")), "slow": hanging()},
                         extra="headers_timeout = 0.5")
        started = reactor.seconds()
        code, body, _ = await self.models()
        self.assertEqual(code, 200, body)
        self.assertLess(reactor.seconds() - started, 5)  # not the relay's 30 s
        self.assertEqual([(m["id"], m["owned_by"]) for m in body["data"]],
                         [("a-1", "fast"), ("a-2", "fast")])
        [warning] = self.logged("warn")
        self.assertIn("'slow' left out", warning)
        self.assertIn("no model list within 0.5 seconds", warning)

    async def test_mixedFailures(self) -> None:
        """
        No upstream answering, for different reasons, is a 502 that says
        what became of each, not an empty list.
        """
        await self.relay({"locked": ModelsUpstream(JSONReply(
            {"error": {"message": "bad key", "type": "invalid_request_error"}}, status=401)),
            "slow": hanging()}, extra="headers_timeout = 0.5")
        code, body, _ = await self.models()
        self.assertEqual(code, 502, body)
        self.assertEqual(body["error"]["code"], "upstream_error")
        self.assertIn("locked: bad key", body["error"]["message"])
        self.assertIn("slow: The upstream sent no model list", body["error"]["message"])

    async def test_clientGone(self) -> None:
        """
        A client that leaves while the upstreams hang is not answered, and
        the upstream requests are given up at once (trial fails the test on
        any logged traceback).
        """
        upstream = hanging()
        await self.relay({"a": upstream, "b": hanging()})
        asking = self.web.get(self.base + "/models")
        while not upstream.requests:
            await deferLater(0.01)
        disconnected = upstream.whenDisconnected()
        asking.cancel()
        asking.addErrback(lambda failure: failure.trap(ResponseNeverReceived))
        await disconnected
        await deferLater(0.05)
        self.assertEqual(self.logged("critical") + self.logged("error"), [])

    # Upstream errors and bodies.

    async def test_retryAfterKept(self) -> None:
        """
        An upstream's 429 keeps its C{Retry-After}.
        """
        await self.relay({"only": ModelsUpstream(JSONReply(
            {"error": {"message": "slow down", "type": "rate_limit_error"}}, status=429,
            headers={"Retry-After": "17"}))})
        code, body, headers = await self.models()
        self.assertEqual((code, body["error"]["code"]), (429, "rate_limit_exceeded"))
        self.assertEqual(headers.getRawHeaders(b"retry-after"), [b"17"])

    async def test_allRateLimited(self) -> None:
        """
        Every upstream limiting the rate is a 429 with the longest delay.
        """
        def limited(delay: str) -> ModelsUpstream:
            return ModelsUpstream(JSONReply({"error": {"message": "slow down"}}, status=429,
                                            headers={"Retry-After": delay}))

        await self.relay({"a": limited("3"), "b": limited("40")})
        code, body, headers = await self.models()
        self.assertEqual((code, body["error"]["code"]), (429, "rate_limit_exceeded"))
        self.assertEqual(headers.getRawHeaders(b"retry-after"), [b"40"])

    async def test_oversize(self) -> None:
        """
        A model list larger than the relay reads is a 502 saying so.
        """
        huge = json.dumps(modelList("x" * (MAX_WHOLE_BODY + 1))).encode()
        upstream = ModelsUpstream(JSONReply(huge))
        await self.relay({"only": upstream})
        code, body, _ = await self.models()
        self.assertEqual(code, 502, body)
        self.assertEqual(body["error"]["message"],
                         "The upstream answer is larger than {} bytes.".format(
                             MAX_WHOLE_BODY))

    async def test_notJSON(self) -> None:
        """
        A list that is not JSON is a 502.
        """
        await self.relay({"only": ModelsUpstream(JSONReply(b"<html>busy</html>"))})
        code, body, _ = await self.models()
        self.assertEqual((code, body["error"]["code"]), (502, "bad_upstream_response"))

    async def test_noDataArray(self) -> None:
        """
        A list without a C{data} array is left out of a merged list.
        """
        await self.relay({"a": answering(modelList("a-1")),
                          "b": ModelsUpstream(JSONReply({"models": []}))})
        code, body, _ = await self.models()
        self.assertEqual((code, [m["id"] for m in body["data"]]), (200, ["a-1"]))
        [warning] = self.logged("warn")
        self.assertIn("'b' left out", warning)

    async def test_proxiedAsItIs(self) -> None:
        """
        A single upstream's list passes unchanged, extra fields and all.
        """
        await self.relay({"only": answering(LLAMACPP_MODELS)})
        code, body, _ = await self.models()
        self.assertEqual((code, body), (200, LLAMACPP_MODELS))
