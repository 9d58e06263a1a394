"""
The drain of a stopping relay on real loopback sockets, with no error
logged: a WebSocket response in progress finishes, or ends with a
well-formed retryable C{response.failed} at the drain timeout, and then
the connection closes with 1001 (going away); over HTTP the same.
"""

import time
from typing import Any

import treq
from twisted.internet import reactor
from twisted.internet.defer import Deferred

from codex_relay import RelayConfig, RelayService
from tests.harness.chunks import finish, text
from tests.harness.loopback import LoopbackTestCase, eventually
from tests.harness.oracle import checkEvents, checkStream
from tests.harness.replies import Hang, Stream
from tests.harness.sockets import webClient
from tests.harness.upstream import ScriptedUpstream
from tests.harness.websocket import connectWebSocket

DRAIN = 1.0
REQUEST = {"model": "model-a", "input": "hi", "store": False, "stream": True}


class DrainLoopbackTests(LoopbackTestCase):
    async def setUp(self) -> None:  # type: ignore[override]
        super().setUp()
        self.upstream = ScriptedUpstream(reactor=reactor)
        self.upstreamURL, self.upstreamConnections = await self.startUpstream()
        self.service = RelayService(RelayConfig(upstream=self.upstreamURL, store="none"),
                                    reactor, listen=["tcp:0:interface=127.0.0.1"],
                                    drainTimeout=DRAIN)
        self.service.startService()
        self.addCleanup(lambda: self.service.running and self.service.stopService())
        [port] = await self.service.listening
        self.url = "http://127.0.0.1:{}".format(port.getHost().port)

    def stop(self) -> Deferred[Any]:
        """
        Stop the service; C{self.seconds} then says how long that took.
        """
        began = time.monotonic()
        stopped = self.service.stopService()
        stopped.addCallback(lambda _: setattr(self, "seconds", time.monotonic() - began))
        return stopped

    async def streaming(self) -> None:
        await eventually(lambda: bool(self.upstream.requests), "the upstream was asked")

    async def test_webSocketFinishes(self) -> None:
        """
        A WebSocket response that ends within the drain timeout is whole;
        then the connection closes with 1001.
        """
        self.upstream.queue(Stream([text("a"), text("b"), finish("stop")], interval=0.2))
        client = await connectWebSocket(self, self.url)
        client.create(**REQUEST)
        await self.streaming()
        stopped = self.stop()
        events = await client.nextAnswer()
        checkEvents(events)
        self.assertEqual(events[-1]["type"], "response.completed")
        await client.lost
        self.assertEqual(client.closeCode, 1001)
        await stopped
        self.assertLess(self.seconds, DRAIN)

    async def test_webSocketCutAtTimeout(self) -> None:
        """
        A WebSocket response still running at the drain timeout ends with a
        valid C{response.failed} (C{server_error}), its open message closed
        first; then the connection closes with 1001.
        """
        self.upstream.queue(Hang([text("partial")]))
        client = await connectWebSocket(self, self.url)
        client.create(**REQUEST)
        await self.streaming()
        stopped = self.stop()
        events = await client.nextAnswer()
        checkEvents(events)
        self.assertEqual(events[-1]["type"], "response.failed")
        self.assertEqual(events[-1]["response"]["error"]["code"], "server_error")
        await client.lost
        self.assertEqual(client.closeCode, 1001)
        await stopped
        self.assertGreater(self.seconds, DRAIN - 0.1)
        self.assertLess(self.seconds, DRAIN + 0.5)

    async def test_httpCutAtTimeout(self) -> None:
        """
        Over HTTP, a stream still running at the drain timeout ends with a
        valid C{response.failed}, and the service stops.
        """
        self.upstream.queue(Hang([text("partial")]))
        web = webClient(self)
        response = await web.post(self.url + "/v1/responses", json=REQUEST)
        await self.streaming()
        stopped = self.stop()
        events = checkStream(await treq.content(response))
        self.assertEqual(events[-1]["type"], "response.failed")
        self.assertEqual(events[-1]["response"]["error"]["code"], "server_error")
        await stopped
        self.assertLess(self.seconds, DRAIN + 0.5)

    async def test_httpFinishes(self) -> None:
        """
        Over HTTP, a stream that ends within the drain timeout is whole,
        and the service stops once it has.
        """
        self.upstream.queue(Stream([text("a"), finish("stop")], interval=0.2))
        web = webClient(self)
        running = web.post(self.url + "/v1/responses", json=REQUEST)
        await self.streaming()
        stopped = self.stop()
        response = await running
        self.assertEqual(checkStream(await treq.content(response))[-1]["type"],
                         "response.completed")
        await stopped
