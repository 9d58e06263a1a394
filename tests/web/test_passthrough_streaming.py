"""
Passthrough to upstreams that serve the Responses API themselves (routes
with C{api = "responses"}), end to end on loopback: a relay configured from
TOML, a fake Responses upstream and a Chat one, and plain treq as the
client; a stalled raw client for backpressure.  Also L{PassthroughStream}
and L{RelayedBody} on their own, in memory.
"""

import json
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import ResponseDone
from twisted.web.server import Request

import treq

from codex_relay import RelayConfig, RelayService, TranslationSettings
from codex_relay._web.body import UpstreamIdle
from codex_relay._core.stream import passthrough as _passthrough
from codex_relay._core.stream.passthrough import PassthroughStream, forwardedBody
from codex_relay._web.body import RelayedBody
from codex_relay._providers.config_file import parseRoutingTable
from codex_relay._core.sse import MAX_EVENT_BYTES, SSEEvent, SSETooLarge, encodeEvent
from tests.harness import oracle
from tests.harness.chunks import CountingText, finish, text
from tests.harness.loopback import LoopbackTestCase, stallThroughRelay
from tests.harness.sockets import serveUpstream, trackConnections, webClient
from tests.harness.upstream import (
    Drop,
    Hang,
    JSONReply,
    ReceivedRequest,
    Reply,
    ScriptedUpstream,
    Stream,
)
from tests.harness.responses import ITEM_ID, RESPONSE_ID, USAGE, frame, frames, responseObject, upstreamEvents

NATIVE_KEY = "sk-native-upstream"
CLIENT_KEY = "sk-client"
SECRET = b"passthrough-secret"

ROUTES = """\
default_upstream = "chat"

[upstreams.native]              # keyed: the relay's key goes upstream
base_url = "{responses}"
api = "responses"
api_key_env = "NATIVE_KEY"

[upstreams.open]                # no key: the client's Authorization goes upstream
base_url = "{responses}"
api = "responses"

[upstreams.slow]
base_url = "{responses}"
api = "responses"
api_key = "sk-slow"
idle_timeout = 0.5

[upstreams.chat]
base_url = "{chat}"

[upstreams.chatty]              # a Chat upstream, but one route passes through
base_url = "{responses}"
api_key = "sk-chatty"

[[routes]]
model = "grok"
upstream = "native"
upstream_model = "grok-4-fast"

[[routes]]
prefix = "open/"
upstream = "open"

[[routes]]
model = "slow"
upstream = "slow"

[[routes]]
model = "routed"
upstream = "chatty"
upstream_model = "routed-upstream"
api = "responses"
"""


# -- A Responses upstream -------------------------------------------------------


class ResponsesUpstream(ScriptedUpstream):
    """
    A L{ScriptedUpstream} that also serves C{POST /v1/responses}, from the
    same queue of replies (raw SSE bytes in L{Stream}, L{Drop}, L{Hang}).
    """

    def _render(self, request: Request) -> bytes | int:
        if request.path == (self.prefix + "/responses").encode() and request.method == b"POST":
            received = self._record(request)
            return self._next(received).render(request, self)
        return super()._render(request)


CLIENT_REQUEST = {
    "model": "grok",
    "instructions": "Be brief.",
    "input": [{"type": "message", "role": "user",
               "content": [{"type": "input_text", "text": "Say hello ✓"}]}],
    "tools": [{"type": "function", "name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}, "strict": False}],
    "reasoning": {"effort": "high", "summary": "auto"},
    "include": ["reasoning.encrypted_content"],
    "store": False,
    "stream": True,
    "prompt_cache_key": "abc",
    "x_vendor_extension": {"keep": [1, 2.5, None, True]},
}


# -- Loopback ------------------------------------------------------------------


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


class PassthroughTests(TestCase):
    """
    A relay with Responses routes and a Chat route, on loopback.
    """

    timeout = 20

    async def setUp(self) -> None:
        self.responses = ResponsesUpstream(reactor=reactor)
        self.chat = ScriptedUpstream(reactor=reactor)
        responsesURL = await serveUpstream(self, self.responses)
        chatURL = await serveUpstream(self, self.chat)
        table = parseRoutingTable(ROUTES.format(responses=responsesURL, chat=chatURL),
                                  {"NATIVE_KEY": NATIVE_KEY}, "relay.toml")
        self.service = RelayService(
            RelayConfig(routes=table, translation=TranslationSettings(secret=SECRET)),
            reactor, listen=["tcp:0:interface=127.0.0.1"])
        trackConnections(self, self.service.site)
        self.service.startService()
        self.addCleanup(self.service.stopService)
        [port] = await self.service.listening
        self.url = "http://127.0.0.1:{}/v1/responses".format(port.getHost().port)
        self.web = webClient(self)
        self.logged: list[str] = []

        def observe(event: dict[str, Any]) -> None:
            text = formatEvent(event)
            if text and text.startswith("POST /v1/responses"):
                self.logged.append(text)

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)

    def post(self, body: dict[str, Any] | bytes, key: str | None = CLIENT_KEY) -> Deferred:
        headers = {"Content-Type": ["application/json"]}
        if key is not None:
            headers["Authorization"] = ["Bearer " + key]
        return self.web.post(self.url, data=body if isinstance(body, bytes)
                             else json.dumps(body).encode(), headers=headers,
                             unbuffered=True)

    async def exchange(self, body: dict[str, Any], reply: Reply,
                       key: str | None = CLIENT_KEY) -> tuple[Any, bytes]:
        self.responses.queue(reply)
        response = await self.post(body, key)
        return response, await treq.content(response)

    def sent(self) -> ReceivedRequest:
        [sent] = [r for r in self.responses.requests if r.path == "/v1/responses"]
        return sent

    def assertEnvelope(self, response: Any, body: bytes, status: int,
                       code: str | None) -> dict[str, Any]:
        self.assertEqual(response.code, status)
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["application/json"])
        error = json.loads(body)["error"]
        self.assertEqual(sorted(error), ["code", "message", "param", "type"])
        self.assertEqual(error["code"], code)
        return error

    # The request.

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

    # The stream.

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

    async def test_terminalEndsTheStream(self) -> None:
        """
        After its terminal event the stream is over, even if the upstream
        keeps its body open; the relay drops that connection after the idle
        timeout.
        """
        upstream = frames(upstreamEvents())
        disconnected = self.responses.whenDisconnected()
        response, body = await self.exchange(dict(CLIENT_REQUEST, model="slow"),
                                             Hang(upstream))
        self.assertEqual(body, b"".join(upstream))
        oracle.checkStream(body)
        self.assertFalse(disconnected.called)
        await disconnected.addTimeout(2, reactor)

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

    async def test_idleMidStream(self) -> None:
        """
        An upstream silent past its idle timeout: C{response.failed}, and
        the upstream connection is closed.
        """
        upstream = frames(upstreamEvents()[:2])
        disconnected = self.responses.whenDisconnected()
        response, body = await self.exchange(dict(CLIENT_REQUEST, model="slow"),
                                             Hang(upstream))
        self.assertTrue(body.startswith(b"".join(upstream)))
        events = oracle.checkStream(body)
        self.assertEqual(events[-1]["type"], "response.failed")
        self.assertIn("sent nothing for 0.5 seconds",
                      events[-1]["response"]["error"]["message"])
        await disconnected

    async def test_idleBeforeAnyEvent(self) -> None:
        """
        Silence before the first whole event is still an HTTP error.
        """
        response, body = await self.exchange(dict(CLIENT_REQUEST, model="slow"),
                                             Hang([b"event: response.created\n"]))
        self.assertEnvelope(response, body, 504, "upstream_timeout")

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

    # Errors before the stream.

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

    # Whole bodies.

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


class PassthroughBackpressureTests(LoopbackTestCase):
    async def test_backpressure(self) -> None:
        """
        A client that stops reading pauses a passthrough upstream too, as
        L{tests.test_loopback.SlowClientTests.test_backpressure} shows for
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


# -- Sans-IO -------------------------------------------------------------------


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
            stream = PassthroughStream(CLIENT_REQUEST)
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
        stream = PassthroughStream(CLIENT_REQUEST)
        last = frame(upstreamEvents()[-1])
        self.assertEqual(stream.feed(last[:-2]), b"")
        self.assertEqual(stream.close(), last)
        self.assertTrue(stream.finished)

        stream = PassthroughStream(CLIENT_REQUEST)
        first = frame(upstreamEvents()[0])
        self.assertEqual(self.feedAll(stream, [first, b'data: {"type": "resp']), first)
        self.assertEqual(stream.close(), b"")
        self.assertFalse(stream.finished)

    def test_failAfterSequence(self) -> None:
        stream = PassthroughStream(CLIENT_REQUEST)
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
            stream = PassthroughStream(CLIENT_REQUEST)
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
        stream = PassthroughStream(CLIENT_REQUEST)
        events = [{k: v for k, v in e.items() if k != "sequence_number"}
                  for e in upstreamEvents()[:4]]
        self.feedAll(stream, frames(events) + [b"data: [DONE]\n\n"])
        *closing, failed = stream.fail("context_length_exceeded", "too long")
        self.assertEqual([e["sequence_number"] for e in closing], [4, 5, 6])
        self.assertEqual(failed["sequence_number"], 7)
        self.assertEqual(failed["response"]["error"]["code"], "context_length_exceeded")

    def test_failCodes(self) -> None:
        [failed] = PassthroughStream(CLIENT_REQUEST).fail("upstream_timeout", "slow")
        self.assertEqual(failed["response"]["error"]["code"], "server_error")


class RelayedBodyTests(SynchronousTestCase):
    """
    L{RelayedBody} on the shared L{codex_relay._web.body.PacedBody}: forwarding,
    and the drain after the terminal event.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.forwarded: list[bytes] = []
        self.body = RelayedBody(PassthroughStream(CLIENT_REQUEST), self.forwarded.append,
                                self.clock, 10)
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
        stream = PassthroughStream(CLIENT_REQUEST, maxEventBytes=1000)
        first = frame(upstreamEvents()[0])
        self.assertEqual(stream.feed(first + b"data: "), first)
        with self.assertRaises(SSETooLarge):
            for _ in range(100):
                stream.feed(b"x" * 100)
        self.assertEqual(stream.close(), b"")
        self.assertRaises(SSETooLarge, PassthroughStream(CLIENT_REQUEST, 1000).feed,
                          first + b"data: " + b"x" * 1000)

    def test_wholeEventTooLarge(self) -> None:
        """
        A complete event past the limit raises too, even when one read
        brings it whole.
        """
        stream = PassthroughStream(CLIENT_REQUEST, maxEventBytes=100)
        self.assertRaises(SSETooLarge, stream.feed, b"data: " + b"x" * 200 + b"\n\n")

    def test_manyEvents(self) -> None:
        """
        Only one event counts: a stream much longer than the limit passes.
        """
        stream = PassthroughStream(CLIENT_REQUEST, maxEventBytes=16384)
        raw = b"".join(frames(upstreamEvents(tuple("word " for _ in range(1000)))))
        self.assertGreater(len(raw), 10 * 16384)
        out = b"".join(stream.feed(raw[i:i + 1000]) for i in range(0, len(raw), 1000))
        self.assertEqual(out + stream.close(), raw)
        self.assertTrue(stream.finished)

    def test_limitDefault(self) -> None:
        stream = PassthroughStream(CLIENT_REQUEST)
        self.assertEqual(stream.maxEventBytes, MAX_EVENT_BYTES)
        stream.maxEventBytes = 10
        self.assertRaises(SSETooLarge, stream.feed, b"data: " + b"x" * 10)

    def test_nextSequence(self) -> None:
        stream = PassthroughStream(CLIENT_REQUEST)
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
            stream = PassthroughStream(CLIENT_REQUEST)
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
        stream = PassthroughStream(CLIENT_REQUEST)
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
        stream = PassthroughStream(CLIENT_REQUEST)
        deep = b"data: " + b"[" * 100000 + b"]" * 100000 + b"\n\n"
        self.assertEqual(stream.feed(deep), deep)
        self.assertEqual(stream.nextSequence, 0)
