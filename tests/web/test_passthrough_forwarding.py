"""
Passthrough to upstreams that serve the Responses API themselves, on
loopback: what the upstream is sent (the client's body, the model renamed,
the right key), the errors it answers before any stream, and whole JSON
bodies passed back unchanged.
"""

import json

import treq

from tests.harness import oracle
from tests.harness.chunks import finish, text
from tests.harness.passthroughrelay import CLIENT_KEY, CLIENT_REQUEST, NATIVE_KEY, PassthroughCase
from tests.harness.responses import RESPONSE_ID, frames, upstreamEvents
from tests.harness.upstream import JSONReply, Stream


class PassthroughRequestTests(PassthroughCase):
    """
    The request a passthrough route sends upstream.
    """

    async def test_requestRenamedOnly(self) -> None:
        """
        The upstream gets the client's body with C{model} renamed and
        nothing else changed, at C{/responses}, with the upstream's key.
        """
        await self.exchange(CLIENT_REQUEST, Stream(frames(upstreamEvents()), done=False))
        sent = self.sent()
        self.assertEqual(sent.method, "POST")
        self.assertEqual(sent.json, dict(CLIENT_REQUEST, model="grok-4-fast"))
        self.assertEqual(list(sent.json), list(CLIENT_REQUEST))
        self.assertEqual(sent.headers["authorization"], "Bearer " + NATIVE_KEY)
        self.assertEqual(sent.headers["accept"], "text/event-stream")
        self.assertEqual(sent.headers["content-type"], "application/json")
        self.assertEqual(self.chat.requests, [])

    async def test_clientKeyForwarded(self) -> None:
        """
        An upstream without a key gets the client's C{Authorization}; a
        prefix route renames the model as for Chat upstreams.
        """
        await self.exchange(dict(CLIENT_REQUEST, model="open/qwen3-coder"),
                            Stream(frames(upstreamEvents()), done=False))
        sent = self.sent()
        self.assertEqual(sent.headers["authorization"], "Bearer " + CLIENT_KEY)
        self.assertEqual(sent.json["model"], "qwen3-coder")

    async def test_routeLevelAPI(self) -> None:
        """
        C{api = "responses"} on a route passes through even when its
        upstream speaks Chat.
        """
        await self.exchange(dict(CLIENT_REQUEST, model="routed"),
                            Stream(frames(upstreamEvents()), done=False))
        sent = self.sent()
        self.assertEqual(sent.json["model"], "routed-upstream")
        self.assertEqual(sent.headers["authorization"], "Bearer sk-chatty")

    async def test_chatRouteTranslates(self) -> None:
        """
        In the same relay a Chat route still translates.
        """
        self.chat.queue(Stream([text("Hi"), finish("stop")]))
        response = await self.post(dict(CLIENT_REQUEST, model="deepseek-chat"))
        body = await treq.content(response)
        self.assertEqual(response.code, 200)
        events = oracle.checkStream(body)
        self.assertEqual(events[-1]["type"], "response.completed")
        [sent] = self.chat.requests
        self.assertEqual(sent.path, "/v1/chat/completions")
        self.assertEqual(sent.json["model"], "deepseek-chat")
        self.assertIn("messages", sent.json)
        self.assertEqual(self.responses.requests, [])

    async def test_invalidBody(self) -> None:
        """
        Before routing, the body must still be JSON with a model.
        """
        response = await self.post(b"{not json")
        self.assertEnvelope(response, await treq.content(response), 400, "invalid_json")
        response = await self.post({"input": "hi"})
        self.assertEnvelope(response, await treq.content(response), 400,
                            "missing_required_parameter")
        self.assertEqual(self.responses.requests, [])


class PassthroughErrorTests(PassthroughCase):
    """
    Upstream errors before the stream, passed on as envelopes.
    """

    async def test_upstream400(self) -> None:
        response, body = await self.exchange(CLIENT_REQUEST, JSONReply(
            {"error": {"message": "Unknown parameter: 'x_vendor_extension'.",
                       "type": "invalid_request_error", "param": "x_vendor_extension",
                       "code": "unknown_parameter"}}, status=400))
        error = self.assertEnvelope(response, body, 400, "unknown_parameter")
        self.assertEqual(error["message"], "Unknown parameter: 'x_vendor_extension'.")
        # No strip-and-retry on passthrough: the client's body is the client's.
        self.assertEqual(len(self.responses.requests), 1)

    async def test_upstream429(self) -> None:
        response, body = await self.exchange(CLIENT_REQUEST, JSONReply(
            {"error": {"message": "Slow down.", "code": "rate_limit_exceeded"}},
            status=429, headers={"Retry-After": "7"}))
        self.assertEnvelope(response, body, 429, "rate_limit_exceeded")
        self.assertEqual(response.headers.getRawHeaders("retry-after"), ["7"])

    async def test_upstream500(self) -> None:
        response, body = await self.exchange(CLIENT_REQUEST, JSONReply(
            {"error": {"message": "Overloaded."}}, status=500))
        error = self.assertEnvelope(response, body, 502, "server_error")
        self.assertEqual(error["message"], "Overloaded.")
        [line] = self.logged
        self.assertIn("model=grok http=502 status=-", line)


class PassthroughWholeBodyTests(PassthroughCase):
    """
    Requests without C{stream}: the upstream's whole body.
    """

    async def test_wholeJSON(self) -> None:
        """
        Without C{stream}, the upstream's JSON comes back unchanged, with
        its status.
        """
        completed = upstreamEvents()[-1]["response"]
        raw = json.dumps(completed, indent=1).encode()
        request = dict(CLIENT_REQUEST, stream=False)
        response, body = await self.exchange(request, JSONReply(raw))
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["application/json"])
        self.assertEqual(body, raw)
        oracle.checkResponse(json.loads(body))
        sent = self.sent()
        self.assertEqual(sent.json, dict(request, model="grok-4-fast"))
        self.assertEqual(sent.headers["accept"], "application/json")
        [line] = self.logged
        self.assertIn("model=grok http=200 status=completed tokens=21/7", line)

    async def test_wholeJSONStatus(self) -> None:
        response, body = await self.exchange(
            dict(CLIENT_REQUEST, stream=False),
            JSONReply({"id": RESPONSE_ID, "status": "queued"}, status=202))
        self.assertEqual(response.code, 202)
        self.assertEqual(json.loads(body), {"id": RESPONSE_ID, "status": "queued"})

    async def test_wholeNotJSON(self) -> None:
        response, body = await self.exchange(dict(CLIENT_REQUEST, stream=False),
                                             JSONReply(b"<html>oops</html>"))
        self.assertEnvelope(response, body, 502, "bad_upstream_response")
