"""
The relay on real sockets: a L{ScriptedUpstream} on a loopback port (plain
or TLS with a CA made at test time), a real L{RelayService} in front of it,
and a treq client with its own pool.  Everything listens on 127.0.0.1 port
0 and is closed, connection by connection, before each test ends.
"""

import json
import re
from pathlib import Path
from typing import Any

import treq
from twisted.internet import reactor
from twisted.internet.defer import CancelledError
from twisted.internet.endpoints import (
    serverFromString,
)
from twisted.web.client import ResponseNeverReceived
from twisted.web.server import Site

from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.oracle import checkStream
from tests.harness.memory import HELLO, Collector, streamRequest
from tests.harness.upstream import Drop, Hang, JSONReply, ScriptedUpstream, Stream
from tests.harness.loopback import Certificates, ConnectionLog, LoopbackTestCase, eventually, stallThroughRelay

README = Path(__file__).parent.parent.parent / "README.md"


class StreamTests(LoopbackTestCase):
    async def test_stream(self) -> None:
        await self.setUpRelay()
        self.upstream.queue(Stream(HELLO, interval=0.01))
        events = await self.stream()
        self.assertEqual(events[-1]["type"], "response.completed")
        self.assertEqual(events[-1]["response"]["output"][0]["content"][0]["text"], "Hello")
        self.assertEqual(self.upstream.requests[0].json["stream"], True)

    async def test_poolReuse(self) -> None:
        """
        Three sequential streams use one upstream connection.
        """
        await self.setUpRelay()
        for _ in range(3):
            self.upstream.queue(Stream(HELLO))
            self.assertEqual((await self.stream())[-1]["type"], "response.completed")
        self.assertEqual(len(self.upstream.requests), 3)
        self.assertEqual(len(self.upstreamConnections.transports), 1)

    async def test_cookiesNotShared(self) -> None:
        """
        A cookie set by the upstream on one answer is never sent back.
        """
        await self.setUpRelay()
        self.upstream.queue(Stream(HELLO, headers={"Set-Cookie": "__cf_bm=tenantA; Path=/"}),
                            Stream(HELLO))
        await self.stream()
        await self.stream()
        self.assertEqual([r.headers.get("cookie") for r in self.upstream.requests],
                         [None, None])

    async def test_redirectNotFollowed(self) -> None:
        """
        An upstream redirect is an error envelope, and the redirect target
        is never asked.
        """
        await self.setUpRelay()
        self.upstream.queue(
            JSONReply(b"", status=307,
                      headers={"Location": self.upstreamURL + "/chat/completions"}),
            Stream(HELLO))
        await self.assertError(await self.post(streamRequest()), 502, "server_error")
        self.assertEqual(len(self.upstream.requests), 1)

    async def test_drop(self) -> None:
        """
        An upstream that closes mid-stream: the client's stream ends with
        C{response.failed}.
        """
        await self.setUpRelay()
        self.upstream.queue(Drop([text("Hel")]))
        events = await self.stream()
        self.assertEqual(events[-1]["type"], "response.failed")
        self.assertEqual(events[-1]["response"]["error"]["code"], "server_error")

    async def test_unreachable(self) -> None:
        """
        A closed upstream port is a 502.
        """
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            Site(ScriptedUpstream().resource))
        closed = "http://127.0.0.1:{}/v1".format(port.getHost().port)
        await port.stopListening()
        url, _ = await self.startRelay(closed)
        self.client = self.makeClient()
        await self.assertError(await self.post(streamRequest(), url), 502,
                               "upstream_unreachable")


class HangUpTests(LoopbackTestCase):
    """
    A client that hangs up cancels the upstream request within 1 s.
    """

    async def test_midStream(self) -> None:
        await self.setUpRelay()
        self.upstream.queue(Hang([text("Hel")]))
        response = await self.post(streamRequest())
        collector = Collector()
        response.deliverBody(collector)
        await eventually(lambda: "response.output_text.delta" in collector.types(),
                         "the first delta")
        gone = self.upstream.whenDisconnected()
        collector.leave()
        await gone.addTimeout(1, reactor)
        self.assertEqual(self.upstream.disconnects, 1)

    async def test_beforeHeaders(self) -> None:
        await self.setUpRelay()
        self.upstream.queue(Hang(headers=False))
        pending = self.client.post(self.url + "/v1/responses", json=streamRequest())
        await eventually(lambda: bool(self.upstream.requests), "the upstream request")
        gone = self.upstream.whenDisconnected()
        pending.cancel()
        await gone.addTimeout(1, reactor)
        with self.assertRaises((ResponseNeverReceived, CancelledError)):
            await pending
        self.assertEqual(self.upstream.disconnects, 1)


class TLSTests(LoopbackTestCase):
    """
    The upstream's certificate is verified, against C{upstreamCA} when set.
    """

    async def setUpTLS(self, dnsNames: list[str], ips: list[str], trustCA: bool) -> None:
        """
        A TLS upstream whose certificate, from a CA made here, names
        C{dnsNames} and C{ips}; a relay at C{self.url} given that CA as
        C{upstreamCA} if C{trustCA}, else left with the platform's trust.
        """
        certificates = Certificates(Path(self.mktemp()))
        self.upstream = ScriptedUpstream()
        self.upstream.queue(Stream(HELLO))
        upstreamURL, _ = await self.startUpstream(
            tls=certificates.server("upstream", dnsNames, ips))
        self.assertTrue(upstreamURL.startswith("https://127.0.0.1:"))
        self.url, _ = await self.startRelay(
            upstreamURL, upstreamCA=certificates.caPath if trustCA else None)
        self.client = self.makeClient()

    async def assertRejected(self, why: str) -> None:
        error = await self.assertError(await self.post(streamRequest()), 502,
                                       "upstream_error")
        self.assertIn(why, error["message"])
        self.assertEqual(self.upstream.requests, [])

    async def test_trustedCA(self) -> None:
        await self.setUpTLS(["localhost"], ["127.0.0.1"], trustCA=True)
        events = await self.stream()
        self.assertEqual(events[-1]["type"], "response.completed")

    async def test_defaultTrust(self) -> None:
        """
        Without the CA, the platform trust store rejects the certificate.
        """
        await self.setUpTLS(["localhost"], ["127.0.0.1"], trustCA=False)
        await self.assertRejected("certificate verify failed")

    async def test_wrongHostname(self) -> None:
        """
        A certificate from the trusted CA, for another name, is rejected.
        """
        await self.setUpTLS(["upstream.example"], [], trustCA=True)
        await self.assertRejected("IPAddressMismatch")


class SlowClientTests(LoopbackTestCase):
    async def test_backpressure(self) -> None:
        """
        A client that stops reading pauses the upstream: while it stalls,
        the relay's buffer towards it stays bounded even though the upstream
        has 20 MB ready; then the client gets the whole, valid stream.

        The bound is measured where the relay would hoard: the user-space
        write buffer of its connection to the client.  With backpressure,
        that buffer passes C{bufferSize} (64 kB) by at most one upstream
        read's worth of translated events before the upstream is paused;
        without it, the whole stream (less what the kernel buffers take)
        piles up there.  The 4 MB limit sits far between the two on any
        machine, however slow.  The upstream's own buffer, holding what it
        could not send, shows the stall really happened.

        The idle timeout (1 s) is shorter than the stall (2 s): time the
        client holds the stream is not upstream silence.
        """
        await self.setUpRelay(idleTimeout=1)
        piece = "x" * 16384
        count = 1280
        self.upstream.queue(Stream([text(piece)] * count + [
            finish("stop"), chunk(choices=False, usage=usage(5, count))]))
        client = await stallThroughRelay(self, self.service, streamRequest(),
                                         self.upstreamConnections)
        head, content = client.response()
        self.assertTrue(head.startswith(b"HTTP/1.0 200 "), head)
        events = checkStream(content)
        self.assertEqual(events[-1]["type"], "response.completed")
        self.assertEqual(len(events[-1]["response"]["output"][0]["content"][0]["text"]),
                         len(piece) * count)


class READMETests(LoopbackTestCase):
    async def test_embedding(self) -> None:
        """
        The README's embedding example runs as written, but for the port
        and the upstream.
        """
        self.upstream = ScriptedUpstream()
        upstreamURL, _ = await self.startUpstream()
        section = README.read_text().split("## Embedding in a Twisted program", 1)[1]
        match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
        if match is None:
            self.fail("no python block under the Embedding heading")
        code = match.group(1)
        for old, new in (('reactor.listenTCP(8000,', 'port = reactor.listenTCP(0,'),
                         ('"http://127.0.0.1:8080/v1"', repr(upstreamURL)),
                         ('reactor.run()\n', '')):
            self.assertIn(old, code)
            code = code.replace(old, new)
        namespace: dict[str, Any] = {}
        exec(compile(code, str(README), "exec"), namespace)
        port, app = namespace["port"], namespace["app"]
        relayConnections = ConnectionLog(port.factory)
        self.addCleanup(relayConnections.allClosed)
        self.addCleanup(app.stopService)
        self.addCleanup(port.stopListening)
        self.client = self.makeClient()

        self.upstream.queue(Stream(HELLO))
        url = "http://127.0.0.1:{}/llm".format(port.getHost().port)
        response = await self.post(streamRequest(), url)
        self.assertEqual(response.code, 200)
        events = checkStream(await treq.content(response))
        self.assertEqual(events[-1]["type"], "response.completed")
        models = await self.client.get(url + "/v1/models")
        self.assertEqual(models.code, 200)
        self.assertEqual(json.loads(await treq.content(models))["object"], "list")
