"""
Passthrough streams end to end on loopback: a relay configured from TOML,
a fake Responses upstream and plain treq as the client pass the upstream's
events byte for byte, end a stream the upstream broke with
C{response.failed}, cancel the upstream for a client that leaves, and
pause it for a stalled raw client.  The idle timeout is in
L{tests.web.test_passthrough_timeouts}, on a clock.
"""

import json

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from codex_relay._core.sse import encodeEvent
from codex_relay._providers.config_file import parseRoutingTable
from tests.harness import oracle
from tests.harness.loopback import LoopbackTestCase, stallThroughRelay
from tests.harness.passthroughrelay import CLIENT_REQUEST, PassthroughCase, ResponsesUpstream
from tests.harness.responses import ITEM_ID, RESPONSE_ID, USAGE, frame, frames, responseObject, upstreamEvents
from tests.harness.upstream import Drop, Hang, Stream


class _Collect(Protocol):
    """
    A response body, kept in pieces; C{first} fires with the first piece.
    """

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.first: Deferred[bytes] = Deferred()
        self.lost: Deferred[None] = Deferred()
        self.reason: Failure | None = None

    def dataReceived(self, data: bytes) -> None:
        self.pieces.append(data)
        if not self.first.called:
            self.first.callback(data)

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        self.reason = reason
        self.lost.callback(None)


class PassthroughStreamingTests(PassthroughCase):
    """
    Streams from a Responses upstream, on loopback.
    """

    async def test_streamByteForByte(self) -> None:
        """
        The client gets exactly the upstream's bytes, which the oracle
        accepts; the log line reports the upstream's outcome.
        """
        upstream = frames(upstreamEvents())
        response, body = await self.exchange(CLIENT_REQUEST, Stream(upstream, done=False))
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["text/event-stream; charset=utf-8"])
        self.assertEqual(response.headers.getRawHeaders("cache-control"), ["no-cache"])
        self.assertEqual(body, b"".join(upstream))
        events = oracle.checkStream(body)
        self.assertEqual(events[-1]["response"]["id"], RESPONSE_ID)
        [line] = self.logged
        self.assertIn("model=grok http=200 status=completed tokens=21/7", line)

    async def test_oddFramingByteForByte(self) -> None:
        """
        CRLF line ends, data lines without a space or an event line, a
        comment and tiny writes split anywhere all arrive unchanged.
        """
        raw = b"".join(
            b": keep-alive\r\n\r\n" + b"data:" + json.dumps(event).encode() + b"\r\n\r\n"
            for event in upstreamEvents())
        pieces = [raw[i:i + 97] for i in range(0, len(raw), 97)]
        response, body = await self.exchange(
            CLIENT_REQUEST, Stream(pieces, done=False, interval=0.001))
        self.assertEqual(response.code, 200)
        self.assertEqual(body, raw)

    async def test_endsWithoutTerminal(self) -> None:
        """
        A stream that ends without a terminal event gets C{response.failed}:
        the next sequence number, the upstream's response id and the items
        done so far.
        """
        upstream = frames(upstreamEvents()[:-1])
        response, body = await self.exchange(CLIENT_REQUEST, Stream(upstream, done=False))
        self.assertTrue(body.startswith(b"".join(upstream)))
        events = oracle.checkStream(body)
        failed = events[-1]
        self.assertEqual(failed["type"], "response.failed")
        self.assertEqual(failed["sequence_number"], events[-2]["sequence_number"] + 1)
        self.assertEqual(failed["response"]["id"], RESPONSE_ID)
        self.assertEqual(failed["response"]["status"], "failed")
        self.assertEqual(failed["response"]["error"]["code"], "server_error")
        self.assertEqual(failed["response"]["output"], [events[-2]["item"]])
        self.assertEqual(body[len(b"".join(upstream)):], encodeEvent(failed))
        [line] = self.logged
        self.assertIn("model=grok http=200 status=failed", line)

    async def test_cutMidEvent(self) -> None:
        """
        A connection cut inside an event, inside an item: the client gets
        the whole events only, then the open part and item closed as
        incomplete, then C{response.failed}.
        """
        upstream = frames(upstreamEvents())
        whole = upstream[:5]
        partial = upstream[5][:25]
        response, body = await self.exchange(CLIENT_REQUEST, Drop([*whole, partial]))
        self.assertEqual(response.code, 200)
        events = oracle.checkStream(body)
        # The upstream's whole events unchanged, then the relay's own.
        self.assertEqual(body, b"".join(whole) + b"".join(encodeEvent(e) for e in events[5:]))
        self.assertEqual([e["type"] for e in events[4:]], [
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.failed",
        ])
        self.assertEqual(events[-1]["sequence_number"], 8)
        [item] = events[-1]["response"]["output"]
        self.assertEqual(item["status"], "incomplete")
        self.assertEqual(item["content"][0]["text"], "Hel")

    async def test_upstreamErrorEvent(self) -> None:
        """
        An upstream that sends an error event and goes: its message and
        code end the stream, in the words Codex retries on.
        """
        events = upstreamEvents()[:2]
        error = {"type": "error", "sequence_number": 2, "code": "rate_limit_exceeded",
                 "message": "Rate limit reached.", "param": None}
        response, body = await self.exchange(
            CLIENT_REQUEST, Stream([*frames(events), frame(error)], done=False))
        parsed = oracle.checkStream(body)
        failed = parsed[-1]
        self.assertEqual(failed["sequence_number"], 3)
        self.assertEqual(failed["response"]["error"]["code"], "rate_limit_exceeded")
        self.assertIn("Rate limit reached. Please try again in",
                      failed["response"]["error"]["message"])

    async def test_emptyStream(self) -> None:
        """
        A stream that ends before any event is a 502.
        """
        response, body = await self.exchange(CLIENT_REQUEST, Stream([], done=False))
        self.assertEnvelope(response, body, 502, "upstream_error")

    async def test_noCreatedEvent(self) -> None:
        """
        Without a C{response.created} to build on, the failed response
        echoes the client's request.
        """
        response, body = await self.exchange(CLIENT_REQUEST,
                                             Stream([b": hello\n\n"], done=False))
        self.assertEqual(response.code, 200)
        self.assertTrue(body.startswith(b": hello\n\n"))
        [(name, failed)] = oracle.parseSSE(body)
        self.assertEqual((name, failed["sequence_number"]), ("response.failed", 0))
        self.assertTrue(failed["response"]["id"].startswith("resp_"))
        self.assertEqual(failed["response"]["model"], "grok")
        oracle.checkResponse(failed["response"])

    async def test_cancelOnDisconnect(self) -> None:
        """
        A client that goes away mid-stream cancels the upstream request
        within a second.
        """
        self.responses.queue(Hang(frames(upstreamEvents()[:2])))
        response = await self.post(CLIENT_REQUEST)
        self.assertEqual(response.code, 200)
        body = _Collect()
        response.deliverBody(body)
        await body.first
        disconnected = self.responses.whenDisconnected()
        disconnected.addTimeout(1, reactor)
        started = reactor.seconds()
        body.transport.stopProducing()  # type: ignore[attr-defined]
        await body.lost
        await disconnected
        self.assertLess(reactor.seconds() - started, 1)
        self.assertEqual(self.responses.disconnects, 1)
        for _ in range(100):
            if self.logged:
                break
            await deferLater(reactor, 0.01, lambda: None)
        [line] = self.logged
        self.assertIn("client-gone", line)


class PassthroughBackpressureTests(LoopbackTestCase):
    async def test_backpressure(self) -> None:
        """
        A client that stops reading pauses a passthrough upstream too, as
        L{tests.web.test_loopback.SlowClientTests.test_backpressure} shows for
        Chat: the relay's buffer towards the stalled client stays bounded,
        the upstream holds the rest, the idle timeout (shorter than the
        stall) does not fire, and then every byte arrives.
        """
        self.upstream = ResponsesUpstream(reactor=reactor)
        upstreamURL, upstreamConnections = await self.startUpstream()
        table = parseRoutingTable(
            '[upstreams.native]\nbase_url = "{}"\napi = "responses"\nidle_timeout = 1\n'
            .format(upstreamURL), {})
        _, service = await self.startRelay(upstreamURL, routes=table)
        at = {"item_id": ITEM_ID, "output_index": 0, "content_index": 0}
        delta = {"type": "response.output_text.delta", **at, "delta": "x" * 16384,
                 "logprobs": []}
        count = 1280
        events = [*upstreamEvents()[:4], *[delta] * count,
                  {"type": "response.completed", "response": responseObject(
                      "completed", usage=USAGE)}]
        upstream = frames([dict(e, sequence_number=i) for i, e in enumerate(events)])
        self.upstream.queue(Stream(upstream, done=False))
        client = await stallThroughRelay(self, service, dict(CLIENT_REQUEST, model="anything"),
                                         upstreamConnections)
        head, content = client.response()
        self.assertTrue(head.startswith(b"HTTP/1.0 200 "), head)
        self.assertEqual(content, b"".join(upstream))
