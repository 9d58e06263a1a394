"""
Passthrough in memory: L{PassthroughStream} lets whole events through,
holds back the rest within C{maxEventBytes}, and closes what the upstream
left open; L{RelayedBody} forwards them and drains the upstream after the
terminal event.
"""

import json
from typing import Any

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import ResponseDone

from codex_relay._web.body import UpstreamIdle
from codex_relay._core.stream import passthrough as _passthrough
from codex_relay._core.stream.passthrough import PassthroughStream, forwardedBody
from codex_relay._web.body import RelayedBody
from codex_relay._web.ids import newId, now
from codex_relay._core.sse import MAX_EVENT_BYTES, SSEEvent, SSETooLarge, encodeEvent
from tests.harness import oracle
from tests.harness.chunks import CountingText
from tests.harness.passthroughrelay import CLIENT_REQUEST
from tests.harness.responses import ITEM_ID, RESPONSE_ID, USAGE, frame, frames, upstreamEvents


class PassthroughStreamTests(SynchronousTestCase):
    """
    L{PassthroughStream}: whole events through, the rest held back.
    """

    def feedAll(self, stream: PassthroughStream, pieces: list[bytes]) -> bytes:
        return b"".join(stream.feed(piece) for piece in pieces)

    def test_forwardedBody(self) -> None:
        body = {"b": 1, "model": "alias", "a": "é"}
        self.assertEqual(json.loads(forwardedBody(body, "real")),
                         {"b": 1, "model": "real", "a": "é"})
        self.assertEqual(list(json.loads(forwardedBody(body, "real"))), ["b", "model", "a"])
        self.assertEqual(body["model"], "alias")

    def test_wholeEventsOnly(self) -> None:
        """
        Fed a byte at a time, the output is always the input up to its last
        blank line, whatever the line ends.
        """
        events = upstreamEvents()
        for end in (b"\n", b"\r\n", b"\r"):
            raw = b"".join(b"event: " + e["type"].encode() + end + b"data: "
                           + json.dumps(e).encode() + end + end for e in events)
            stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now)
            out = b""
            for i in range(len(raw)):
                self.assertFalse(stream.finished)
                out += stream.feed(raw[i:i + 1])
                self.assertTrue(raw[:i + 1].startswith(out))
            self.assertEqual((stream.finished, out == raw), (end != b"\r",) * 2)
            out += stream.close()
            self.assertEqual(out, raw)
            self.assertTrue(stream.finished, end)
            self.assertEqual(stream.response["status"], "completed")
            self.assertEqual(stream.usage, USAGE)

    def test_lastEventUnterminated(self) -> None:
        """
        A last event without its blank line is completed at a clean end; a
        fragment is dropped.
        """
        stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now)
        last = frame(upstreamEvents()[-1])
        self.assertEqual(stream.feed(last[:-2]), b"")
        self.assertEqual(stream.close(), last)
        self.assertTrue(stream.finished)

        stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now)
        first = frame(upstreamEvents()[0])
        self.assertEqual(self.feedAll(stream, [first, b'data: {"type": "resp']), first)
        self.assertEqual(stream.close(), b"")
        self.assertFalse(stream.finished)

    def test_failAfterSequence(self) -> None:
        stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now)
        events = upstreamEvents()
        self.feedAll(stream, frames(events[:2]) + [b"event: response.out"])
        [failed] = stream.fail("server_error", "gone")
        self.assertEqual(failed["sequence_number"], 2)
        self.assertEqual(failed["response"]["id"], RESPONSE_ID)
        self.assertEqual(failed["response"]["error"], {"code": "server_error",
                                                       "message": "gone"})
        self.assertEqual(failed["response"]["output"], [])
        self.assertEqual(stream.close(), b"")
        self.assertEqual(stream.fail("server_error", "again"), [])

    def test_closeOpenItems(self) -> None:
        """
        Each kind of open item is closed as the oracle wants it, whatever
        was open inside it.
        """
        reasoning = {"id": "rs_1", "type": "reasoning", "summary": [], "status": "in_progress"}
        call = {"id": "fc_1", "type": "function_call", "call_id": "call_1",
                "name": "get_weather", "arguments": "", "status": "in_progress"}
        custom = {"id": "ct_1", "type": "custom_tool_call", "call_id": "call_2",
                  "name": "apply_patch", "input": ""}
        summaryPart = {"type": "summary_text", "text": ""}
        cases = {
            "summary part": [
                {"type": "response.output_item.added", "output_index": 0, "item": reasoning},
                {"type": "response.reasoning_summary_part.added", "item_id": "rs_1",
                 "output_index": 0, "summary_index": 0, "part": summaryPart},
                {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1",
                 "output_index": 0, "summary_index": 0, "delta": "Thinking"},
            ],
            "function call": [
                {"type": "response.output_item.added", "output_index": 0, "item": call},
                {"type": "response.function_call_arguments.delta", "item_id": "fc_1",
                 "output_index": 0, "delta": '{"city":'},
            ],
            "custom call": [
                {"type": "response.output_item.added", "output_index": 0, "item": custom},
                {"type": "response.custom_tool_call_input.delta", "item_id": "ct_1",
                 "output_index": 0, "delta": "*** Begin"},
            ],
            "message, between parts": upstreamEvents()[2:8],
        }
        for name, middle in cases.items():
            stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now)
            events = upstreamEvents()[:2] + middle
            events = [dict(e, sequence_number=i) for i, e in enumerate(events)]
            self.feedAll(stream, frames(events))
            closing = stream.fail("server_error", "cut")
            try:
                final = oracle.checkEvents(events + closing)
            except AssertionError as e:
                self.fail("{}: {}".format(name, e))
            self.assertEqual(final["output"][-1]["type"], middle[0]["item"]["type"], name)

    def test_failWithoutSequenceNumbers(self) -> None:
        """
        An upstream without sequence numbers: the next is the count of
        events.
        """
        stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now)
        events = [{k: v for k, v in e.items() if k != "sequence_number"}
                  for e in upstreamEvents()[:4]]
        self.feedAll(stream, frames(events) + [b"data: [DONE]\n\n"])
        *closing, failed = stream.fail("context_length_exceeded", "too long")
        self.assertEqual([e["sequence_number"] for e in closing], [4, 5, 6])
        self.assertEqual(failed["sequence_number"], 7)
        self.assertEqual(failed["response"]["error"]["code"], "context_length_exceeded")

    def test_failCodes(self) -> None:
        [failed] = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now).fail(
            "upstream_timeout", "slow")
        self.assertEqual(failed["response"]["error"]["code"], "server_error")


class RelayedBodyTests(SynchronousTestCase):
    """
    L{RelayedBody} on the shared L{codex_relay._web.body.PacedBody}: forwarding,
    and the drain after the terminal event.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.forwarded: list[bytes] = []
        self.body = RelayedBody(PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now),
                                self.forwarded.append, self.clock, 10)
        self.transport = StringTransport()
        self.body.makeConnection(self.transport)

    def test_drainAfterTerminal(self) -> None:
        """
        A terminal event arriving while the client holds the stream ends
        it; the upstream is resumed to drain, and cut off if its body
        never ends.
        """
        upstream = b"".join(frames(upstreamEvents()))
        self.body.dataReceived(upstream[:100])
        assert self.body.producer is not None
        self.body.producer.pauseProducing()
        self.body.dataReceived(upstream[100:] + b"data: [DONE]")
        self.assertIsNone(self.successResultOf(self.body.done))
        self.assertEqual(b"".join(self.forwarded), upstream)
        self.assertEqual(self.transport.producerState, "producing")
        self.body.dataReceived(b"\n\n")
        self.assertEqual(b"".join(self.forwarded), upstream)
        self.clock.advance(10)
        self.assertEqual(self.transport.producerState, "stopped")

    def test_cleanEnd(self) -> None:
        """
        A body that ends with its terminal event leaves no clock behind.
        """
        self.body.dataReceived(b"".join(frames(upstreamEvents())))
        self.body.connectionLost(Failure(ResponseDone()))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_idle(self) -> None:
        self.body.dataReceived(frame(upstreamEvents()[0]))
        self.clock.advance(10)
        self.failureResultOf(self.body.done, UpstreamIdle)
        self.assertEqual(self.transport.producerState, "stopped")


class PassthroughBoundsTests(SynchronousTestCase):
    """
    L{PassthroughStream} holds back at most C{maxEventBytes} of an event,
    and watches a long stream in linear time.
    """

    def opened(self, item: dict[str, Any]) -> list[bytes]:
        return frames([dict(e, sequence_number=i) for i, e in enumerate(
            upstreamEvents()[:2] + [{"type": "response.output_item.added",
                                     "output_index": 0, "item": item}])])

    def test_heldEventTooLarge(self) -> None:
        """
        An event that never ends raises L{SSETooLarge} once the bytes held
        for it pass the limit, in small reads or in one; what was held is
        let go.
        """
        stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now, maxEventBytes=1000)
        first = frame(upstreamEvents()[0])
        self.assertEqual(stream.feed(first + b"data: "), first)
        with self.assertRaises(SSETooLarge):
            for _ in range(100):
                stream.feed(b"x" * 100)
        self.assertEqual(stream.close(), b"")
        self.assertRaises(SSETooLarge,
                          PassthroughStream(CLIENT_REQUEST, 1000, ids=newId, clock=now).feed,
                          first + b"data: " + b"x" * 1000)

    def test_wholeEventTooLarge(self) -> None:
        """
        A complete event past the limit raises too, even when one read
        brings it whole.
        """
        stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now, maxEventBytes=100)
        self.assertRaises(SSETooLarge, stream.feed, b"data: " + b"x" * 200 + b"\n\n")

    def test_manyEvents(self) -> None:
        """
        Only one event counts: a stream much longer than the limit passes.
        """
        stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now, maxEventBytes=16384)
        raw = b"".join(frames(upstreamEvents(tuple("word " for _ in range(1000)))))
        self.assertGreater(len(raw), 10 * 16384)
        out = b"".join(stream.feed(raw[i:i + 1000]) for i in range(0, len(raw), 1000))
        self.assertEqual(out + stream.close(), raw)
        self.assertTrue(stream.finished)

    def test_limitDefault(self) -> None:
        stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now)
        self.assertEqual(stream.maxEventBytes, MAX_EVENT_BYTES)
        stream.maxEventBytes = 10
        self.assertRaises(SSETooLarge, stream.feed, b"data: " + b"x" * 10)

    def test_nextSequence(self) -> None:
        stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now)
        self.assertEqual(stream.nextSequence, 0)
        stream.feed(b"".join(frames(upstreamEvents()[:3])))
        self.assertEqual(stream.nextSequence, 3)
        [done, failed] = stream.fail("server_error", "cut")
        self.assertEqual((done["sequence_number"], failed["sequence_number"]), (3, 4))

    def test_deltasJoinedOnce(self) -> None:
        """
        The text of the open item's deltas is joined once, when a closing
        event needs it, not concatenated delta by delta (which copies the
        text so far every time: quadratic, seconds of reactor time for a
        long answer).
        """
        self.patch(CountingText, "concatenations", 0)
        parse = _passthrough._object

        def counting(event: SSEEvent) -> dict | None:
            data = parse(event)
            if data is not None and isinstance(data.get("delta"), str):
                data["delta"] = CountingText(data["delta"])
            return data

        self.patch(_passthrough, "_object", counting)
        call = {"id": "fc_1", "type": "function_call", "call_id": "call_1",
                "name": "get_weather", "arguments": "", "status": "in_progress"}
        for item, delta in [
                (call, "response.function_call_arguments.delta"),
                (upstreamEvents()[2]["item"], "response.output_text.delta")]:
            stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now)
            events = self.opened(item)
            if item is not call:
                events += [frame(upstreamEvents()[3])]
            stream.feed(b"".join(events))
            stream.feed(b"".join(frame({"type": delta, "item_id": item["id"], "output_index": 0,
                                        "content_index": 0, "delta": "ab", "logprobs": []})
                                 for _ in range(2000)))
            closing = stream.fail("server_error", "cut")
            self.assertEqual(CountingText.concatenations, 0)
            item = closing[-2]["item"]
            self.assertEqual(item.get("arguments") or item["content"][0]["text"], "ab" * 2000)

    def test_surrogateHalves(self) -> None:
        """
        Deltas forwarded unchanged, each half of a pair (the upstream's own
        doing): the relay's closing events carry the character whole.
        """
        stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now)
        stream.feed(b"".join(self.opened(upstreamEvents()[2]["item"])
                             + [frame(upstreamEvents()[3])]))
        at = {"item_id": ITEM_ID, "output_index": 0, "content_index": 0, "logprobs": []}
        halves = frames([{"type": "response.output_text.delta", **at, "delta": "\ud83d"},
                         {"type": "response.output_text.delta", **at, "delta": "\ude00"}])
        self.assertIn(b"\\ud83d", halves[0])
        self.assertEqual(stream.feed(b"".join(halves)), b"".join(halves))
        encoded = b"".join(encodeEvent(e) for e in stream.fail("server_error", "cut"))
        self.assertIn('"text":"\U0001F600"'.encode("utf-8"), encoded)
        self.assertNotIn(b"\\ud8", encoded)

    def test_tooDeep(self) -> None:
        """
        An event nested too deep to parse is passed on, and not watched,
        like any data that is not JSON.
        """
        stream = PassthroughStream(CLIENT_REQUEST, ids=newId, clock=now)
        deep = b"data: " + b"[" * 100000 + b"]" * 100000 + b"\n\n"
        self.assertEqual(stream.feed(deep), deep)
        self.assertEqual(stream.nextSequence, 0)
