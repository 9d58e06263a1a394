"""
A passthrough route (C{api = "responses"}) served over WebSocket: the
upstream's own events, one frame each, unchanged.
"""

import json

from tests.harness import oracle
from tests.harness.passthroughrelay import CLIENT_REQUEST, PassthroughCase
from tests.harness.responses import RESPONSE_ID, frames, upstreamEvents
from tests.harness.upstream import Stream
from tests.harness.websocket import connectWebSocket


class WebSocketPassthroughTests(PassthroughCase):
    async def test_eventsAsFrames(self) -> None:
        events = upstreamEvents()
        self.responses.queue(Stream(frames(events), done=False))
        client = await connectWebSocket(self, self.url.rsplit("/v1", 1)[0],
                                        {"Authorization": "Bearer sk-client"})
        client.create(**CLIENT_REQUEST)
        answer = await client.nextAnswer()
        self.assertEqual(answer, [json.loads(json.dumps(e)) for e in events])
        oracle.checkEvents(answer)
        self.assertEqual(answer[-1]["response"]["id"], RESPONSE_ID)
        sent = self.sent().json
        self.assertEqual(sent["model"], "grok-4-fast")
        self.assertNotIn("type", sent)

    async def test_chainOfTheConnectionExpanded(self) -> None:
        """
        Codex chains by id with C{store: false}; the upstream never kept that
        response, so the relay sends it the whole history instead.
        """
        client = await connectWebSocket(self, self.url.rsplit("/v1", 1)[0],
                                        {"Authorization": "Bearer sk-client"})
        for _ in range(2):
            self.responses.queue(Stream(frames(upstreamEvents()), done=False))
        client.create(**CLIENT_REQUEST)
        first = await client.nextAnswer()
        follow = {"type": "function_call_output", "call_id": "c1", "output": "sunny"}
        client.create(**dict(CLIENT_REQUEST, previous_response_id=RESPONSE_ID,
                             input=[follow]))
        await client.nextAnswer()
        second = self.responses.requests[-1].json
        self.assertNotIn("previous_response_id", second)
        self.assertEqual(second["input"], [*CLIENT_REQUEST["input"],
                                           *first[-1]["response"]["output"], follow])
