"""
C{GET /v1/models} on real sockets: a client that leaves gives the upstream
requests up; an upstream's C{Retry-After} is kept, and an oversize list,
one that is not JSON or one without a C{data} array is handled.  The
timeouts are in L{tests.web.test_models_timeouts}, on a clock.
"""

import json

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

    # A client that leaves.

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
