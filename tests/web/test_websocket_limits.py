"""
Bad input over WebSocket, on real loopback sockets: messages over the body
limit close the connection (1009) as their fragments arrive, whether text
or binary; a prewarm that is not a request, or meets a failing store, gets
an C{error} event, and the connection goes on.  Nothing logs a traceback
(L{LoopbackTestCase} fails a test on any error logged).
"""

import json
from typing import Any

from twisted.internet.defer import fail

from tests.harness.loopback import LoopbackTestCase
from tests.harness.memory import HELLO
from tests.harness.replies import Stream
from tests.harness.websocket import connectWebSocket

BASE = {"model": "model-a", "store": True, "stream": True}


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


class MessageSizeTests(LoopbackTestCase):
    async def setUp(self) -> None:  # type: ignore[override]
        super().setUp()
        await self.setUpRelay(store="memory", maxBodyBytes=1000)

    async def test_fragmentsOverLimit(self) -> None:
        """
        A text message whose fragments pass the limit closes the connection
        at once: the relay does not wait for (and hold) the rest.
        """
        client = await connectWebSocket(self, self.url)
        client.sendFragment('{"type": "response.create", "input": "' + "x" * 600)
        client.sendFragment("x" * 600)
        await client.lost
        self.assertEqual(client.closeCode, 1009)

    async def test_multibyteOverLimit(self) -> None:
        """
        The limit is in bytes: 400 characters of three bytes each is over.
        """
        client = await connectWebSocket(self, self.url)
        client.create(**dict(BASE, input=[user("€" * 400)]))
        await client.lost
        self.assertEqual(client.closeCode, 1009)

    async def test_binaryOverLimit(self) -> None:
        client = await connectWebSocket(self, self.url)
        client.sendFragment(b"\x00" * 600)
        client.sendFragment(b"\x00" * 600)
        await client.lost
        self.assertEqual(client.closeCode, 1009)

    async def test_fragmentsUnderLimit(self) -> None:
        """
        A message in several fragments, under the limit, is one request.
        """
        client = await connectWebSocket(self, self.url)
        message = json.dumps(dict(BASE, type="response.create", input=[user("hi")]))
        self.upstream.queue(Stream(HELLO))
        for start in range(0, len(message), 50):
            client.sendFragment(message[start:start + 50], last=start + 50 >= len(message))
        events = await client.nextAnswer()
        self.assertEqual(events[-1]["type"], "response.completed")
        self.assertEqual(self.upstream.requests[0].json["messages"][-1]["content"], "hi")


class PrewarmErrorTests(LoopbackTestCase):
    async def setUp(self) -> None:  # type: ignore[override]
        super().setUp()
        await self.setUpRelay(store="memory")

    async def assertRefused(self, client: Any, status: int, code: str,
                            **body: Any) -> None:
        client.create(**body)
        [error] = await client.nextAnswer()
        self.assertEqual((error["type"], error["status"], error["error"]["code"]),
                         ("error", status, code))

    async def assertStillServes(self, client: Any) -> None:
        self.upstream.queue(Stream(HELLO))
        client.create(**dict(BASE, input=[user("still here")]))
        events = await client.nextAnswer()
        self.assertEqual(events[-1]["type"], "response.completed")

    async def test_noModel(self) -> None:
        client = await connectWebSocket(self, self.url)
        await self.assertRefused(client, 400, "invalid_type", generate=False, input=[])
        await self.assertRefused(client, 400, "invalid_type", generate=False, model=7)
        await self.assertStillServes(client)

    async def test_storeFailsOnRead(self) -> None:
        """
        A prewarm continuing a stored chain, when the store fails: a
        retryable 503, naming only the failure's class.
        """
        self.patch(self.service.store, "get", lambda owner, responseId: fail(
            OSError("secret detail")))
        client = await connectWebSocket(self, self.url)
        await self.assertRefused(client, 503, "store_unavailable", **dict(
            BASE, generate=False, input=[], previous_response_id="resp_elsewhere"))
        self.assertNotIn("secret detail", json.dumps(client.messages))
        self.assertIn("OSError", client.messages[-1]["error"]["message"])

    async def test_storeFailsOnWrite(self) -> None:
        self.patch(self.service.store, "put", lambda record: fail(OSError("disk full")))
        client = await connectWebSocket(self, self.url)
        await self.assertRefused(client, 503, "store_unavailable",
                                 **dict(BASE, generate=False, input=[user("hi")]))
        self.upstream.queue(Stream(HELLO))
        client.create(**dict(BASE, store=False, input=[user("still here")]))
        events = await client.nextAnswer()
        self.assertEqual(events[-1]["type"], "response.completed")
