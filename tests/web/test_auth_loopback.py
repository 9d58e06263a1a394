"""
Inbound auth on real loopback sockets: HTTP requests admitted and refused,
a WebSocket upgrade refused with 401 (or 429) before it upgrades, and over
an admitted WebSocket each C{response.create} counted against the client's
limits, refused with an C{error} event carrying C{Retry-After}.
"""

import json
from typing import Any

import treq

from codex_relay._providers.client_keys import parseClientKeys
from tests.harness.loopback import LoopbackTestCase
from tests.harness.memory import HELLO, streamRequest
from tests.harness.oracle import checkEvents, checkStream
from tests.harness.replies import Stream
from tests.harness.websocket import connectWebSocket
from tests.harness.clientkeys import ALICE, CAROL, KEYS, SECRETS, bearer

BODY = {"model": "model-a", "store": False, "stream": True,
        "input": [{"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": "hi"}]}]}


class AuthLoopbackTests(LoopbackTestCase):
    async def setUp(self) -> None:  # type: ignore[override]
        super().setUp()
        self.addCleanup(self.assertNoSecretLogged)
        await self.setUpRelay(store="memory",
                              clientKeys=parseClientKeys(KEYS, {}, "keys.toml"))

    def assertNoSecretLogged(self) -> None:
        for text in self.log.texts():
            for secret in SECRETS:
                self.assertNotIn(secret, text)

    async def postWith(self, headers: dict[str, str]) -> Any:
        return await self.client.post(self.url + "/v1/responses", json=streamRequest(),
                                      headers=headers, unbuffered=True)

    async def test_http(self) -> None:
        self.upstream.queue(Stream(HELLO))
        response = await self.postWith(bearer(ALICE))
        self.assertEqual(response.code, 200)
        checkStream(await treq.content(response))
        self.assertNotIn("authorization", self.upstream.requests[0].headers)
        response = await self.postWith({})
        await self.assertError(response, 401, "invalid_api_key")
        self.assertEqual(response.headers.getRawHeaders("www-authenticate"),
                         ['Bearer realm="codex-relay"'])
        response = await self.postWith(bearer("crk-nobody"))
        await self.assertError(response, 401, "invalid_api_key")
        self.assertEqual(response.headers.getRawHeaders("www-authenticate"),
                         ['Bearer realm="codex-relay", error="invalid_token"'])
        self.assertEqual(len(self.upstream.requests), 1)

    async def test_webSocketUpgradeRefused(self) -> None:
        for headers in ({}, bearer("crk-nobody")):
            with self.assertRaises(Exception) as refused:
                await connectWebSocket(self, self.url, headers)
            self.assertEqual(str(refused.exception), "rejected 401")
        self.assertEqual(self.upstream.requests, [])

    async def test_webSocket(self) -> None:
        """
        An admitted connection answers as always; the token never goes
        upstream, and the log line names the client.
        """
        client = await connectWebSocket(self, self.url, bearer(ALICE))
        self.upstream.queue(Stream(HELLO))
        client.create(**BODY)
        events = await client.nextAnswer()
        checkEvents(events)
        self.assertEqual(events[-1]["type"], "response.completed")
        self.assertNotIn("authorization", self.upstream.requests[0].headers)
        [line] = [text for text in self.log.texts() if text.startswith("WS /v1/responses")]
        self.assertIn("client=alice", line)

    async def test_webSocketLimits(self) -> None:
        """
        Each response over the connection counts (not the upgrade): past the
        limit, an C{error} event with status 429 and C{Retry-After}; the
        connection stays open.  A new upgrade is then refused with 429.
        """
        client = await connectWebSocket(self, self.url, bearer(CAROL))
        self.upstream.queue(Stream(HELLO), Stream(HELLO))
        for _ in range(2):
            client.create(**BODY)
            self.assertEqual((await client.nextAnswer())[-1]["type"], "response.completed")
        client.create(**BODY)
        [error] = await client.nextAnswer()
        self.assertEqual((error["type"], error["status"]), ("error", 429))
        self.assertEqual(error["error"]["code"], "rate_limit_exceeded")
        self.assertIn(error["headers"]["Retry-After"], ("59", "60"))
        self.assertEqual(len(self.upstream.requests), 2)
        with self.assertRaises(Exception) as refused:
            await connectWebSocket(self, self.url, bearer(CAROL))
        self.assertEqual(str(refused.exception), "rejected 429")
        # A prewarm sends nothing upstream: it is not counted, nor refused.
        client.create(**dict(BODY, generate=False))
        self.assertEqual((await client.nextAnswer())[-1]["type"], "response.completed")
        self.assertIsNone(client.closeCode)
        logged = [json.dumps(e, default=repr) for e in self.log.events
                  if e.get("http") == 429 and e.get("transport") == "websocket"]
        self.assertEqual(len(logged), 2)
