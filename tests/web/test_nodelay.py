"""
TCP_NODELAY on both of the relay's connections, on real sockets: the one
a client opened to it and the one it opened to the upstream, over TCP and
over TLS; a UNIX socket, which has no such option, is served as before.
"""

import socket
from pathlib import Path
from typing import Any

from tests.harness.loopback import Certificates, LoopbackTestCase
import treq
from twisted.internet import reactor, tcp

from tests.harness.memory import HELLO, streamRequest
from tests.harness.upstream import ScriptedUpstream, Stream


def nagleOff(transport: Any) -> bool:
    handle = transport.getHandle()
    return handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


class NoDelayTests(LoopbackTestCase):
    def upstreamSockets(self) -> list[Any]:
        """
        The relay's side of its connections to the upstream: the sockets
        this reactor reads whose port the upstream sees as its peer's.
        """
        peers = {t.getPeer().port for t in self.upstreamConnections.transports if t.connected}
        return [r for r in reactor.getReaders()
                if isinstance(r, tcp.Client) and r.getHost().port in peers]

    async def assertBothWays(self) -> None:
        # Looked at mid-stream, while both connections are open.
        response = await self.post(streamRequest())
        [accepted] = self.relayConnections.transports
        self.assertTrue(nagleOff(accepted))
        upstream = [t for t in self.upstreamSockets()]
        self.assertTrue(upstream)
        self.assertTrue(all(nagleOff(t) for t in upstream))
        self.assertIn(b"response.completed", await treq.content(response))

    async def test_tcp(self) -> None:
        await self.setUpRelay()
        self.upstream.queue(Stream(HELLO, interval=0.2))
        await self.assertBothWays()

    async def test_tlsUpstream(self) -> None:
        certificates = Certificates(Path(self.mktemp()))
        self.upstream = ScriptedUpstream(reactor=reactor)
        self.upstream.queue(Stream(HELLO, interval=0.2))
        upstreamURL, self.upstreamConnections = await self.startUpstream(
            tls=certificates.server("upstream", ["localhost"], ["127.0.0.1"]))
        self.url, self.service = await self.startRelay(
            upstreamURL, upstreamCA=certificates.caPath)
        self.client = self.makeClient()
        await self.assertBothWays()
