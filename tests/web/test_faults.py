"""
Faults injected from outside, on real sockets: bodies nested too deep, an
upstream 429 with a Retry-After that is not ASCII, oversized request
headers, a 400 naming a structural field, and an upstream that closes idle
keep-alive connections as the next request arrives.  Each answer is an
OpenAI error envelope or a complete stream, never a hang.
"""

import json
import select
import socket
from typing import Any

import treq
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.threads import deferToThread

from tests.harness.chunks import finish, text
from tests.harness.oracle import checkStream
from tests.harness.loopback import LoopbackTestCase
from tests.harness.memory import responsesRequest, streamRequest
from tests.harness.upstream import JSONReply, Stream

COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "model-a",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "hi"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def nested(depth: int) -> bytes:
    """
    JSON objects nested C{depth} deep, built without recursion.
    """
    return b'{"a":' * depth + b"1" + b"}" * depth


def withMetadata(request: dict, metadata: bytes) -> bytes:
    """
    C{request} as JSON with C{metadata} (raw JSON) added.
    """
    return json.dumps(request)[:-1].encode() + b', "metadata": ' + metadata + b"}"


class DeepBodyTests(LoopbackTestCase):
    """
    A body nested deeper than any real request is a 400 before anything
    recurses over it: at 955 levels it used to give a stream without a
    terminal event, at 960 no answer at all, deeper a 502.
    """

    async def postRaw(self, body: bytes) -> Any:
        return await self.client.post(self.url + "/v1/responses", data=body, headers={
            "Content-Type": "application/json"}, unbuffered=True)

    async def test_deepMetadata(self) -> None:
        await self.setUpRelay()
        for depth in (100, 955, 960, 5000, 200000):
            response = await self.postRaw(withMetadata(streamRequest(), nested(depth)))
            error = await self.assertError(response, 400, "nesting_too_deep")
            self.assertIn("64", error["message"])
        self.assertEqual(self.upstream.requests, [])

    async def test_deepInput(self) -> None:
        await self.setUpRelay()
        body = b'{"model": "model-a", "stream": true, "input": ' + (
            b"[" * 3000 + b"]" * 3000) + b"}"
        await self.assertError(await self.postRaw(body), 400, "nesting_too_deep")

    async def test_shallowMetadataStreams(self) -> None:
        """
        Nesting near the limit is served as before.
        """
        await self.setUpRelay()
        self.upstream.queue(Stream([text("hi"), finish("stop")]))
        tool = {"type": "function", "name": "deep", "parameters": {
            "type": "object", "properties": {"a": json.loads(nested(55))}}}
        response = await self.post(streamRequest(tools=[tool]))
        self.assertEqual(response.code, 200)
        events = checkStream(await treq.content(response))
        self.assertEqual(events[-1]["type"], "response.completed")


class RetryAfterTests(LoopbackTestCase):
    """
    An upstream's Retry-After is passed on only as ASCII decimal seconds,
    clamped; a superscript two used to hang the client for ever.
    """

    async def rateLimited(self, retryAfter: str) -> Any:
        await self.setUpRelay()
        self.upstream.queue(JSONReply(
            {"error": {"message": "slow down", "type": "rate_limit_error"}}, status=429,
            headers={"retry-after": retryAfter}))
        response = await self.post(streamRequest())
        await self.assertError(response, 429, "rate_limit_exceeded")
        [value] = response.headers.getRawHeaders("retry-after")
        return value

    async def test_nonASCIIDigit(self) -> None:
        self.assertEqual(await self.rateLimited("\N{SUPERSCRIPT TWO}"), "2")

    async def test_clamped(self) -> None:
        self.assertEqual(await self.rateLimited("86400"), "600")

    async def test_ascii(self) -> None:
        self.assertEqual(await self.rateLimited("7"), "7")


def rawExchange(port: int, head: bytes, timeout: float = 10.0) -> bytes:
    """
    Send C{head} on a plain socket, reading while sending so that an early
    answer is not lost; everything the relay sent until it closed.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.setblocking(False)
        received = bytearray()
        view = memoryview(head)

        closed = False
        while not closed:
            writers = [sock] if view else []
            readable, writable, _ = select.select([sock], writers, [], timeout)
            if not readable and not writable:
                raise AssertionError("the relay neither answered nor closed")
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    closed = True
                received += data
            if writable and view:
                try:
                    sent = sock.send(view[:65536])
                except (BrokenPipeError, ConnectionResetError):
                    view = view[:0]
                else:
                    view = view[sent:]
        return bytes(received)


class HeaderLimitTests(LoopbackTestCase):
    """
    Oversized request headers get a 431 with an envelope; a 1 MiB header
    used to get no status at all.
    """

    async def assert431(self, head: bytes) -> None:
        await self.setUpRelay()
        port = self.service.ports[0].getHost().port
        raw = await deferToThread(rawExchange, port, head)
        headers, _, body = raw.partition(b"\r\n\r\n")
        self.assertTrue(headers.startswith(b"HTTP/1.1 431 "), raw[:200])
        self.assertIn(b"content-type: application/json", headers.lower())
        error = json.loads(body)["error"]
        self.assertEqual(error["code"], "request_header_fields_too_large")
        self.assertEqual(self.upstream.requests, [])

    async def test_oneHugeHeader(self) -> None:
        await self.assert431(b"POST /v1/responses HTTP/1.1\r\nHost: relay\r\nX-Big: "
                             + b"a" * (1024 * 1024) + b"\r\n\r\n")

    async def test_manyHeaders(self) -> None:
        lines = b"".join(b"X-Header-%d: %s\r\n" % (i, b"b" * 100) for i in range(200))
        await self.assert431(b"POST /v1/responses HTTP/1.1\r\nHost: relay\r\n" + lines
                             + b"\r\n")

    async def test_normalHeadersServed(self) -> None:
        await self.setUpRelay()
        self.upstream.queue(Stream([text("hi"), finish("stop")]))
        response = await self.client.post(
            self.url + "/v1/responses", json=streamRequest(),
            headers={"X-Fine": "c" * 4000}, unbuffered=True)
        self.assertEqual(response.code, 200)
        checkStream(await treq.content(response))


class StructuralRejectionTests(LoopbackTestCase):
    """
    An upstream 400 that names C{content} is passed on: stripping it would
    empty every message of every later request to that model.
    """

    async def test_contentNotStripped(self) -> None:
        await self.setUpRelay()
        self.upstream.queue(
            JSONReply({"error": {"message": "Unrecognized request argument supplied: "
                                 "content", "type": "invalid_request_error"}}, status=400),
            Stream([text("hi"), finish("stop")]))
        await self.assertError(await self.post(streamRequest()), 400, None)
        self.assertEqual(len(self.upstream.requests), 1)
        events = checkStream(await treq.content(await self.post(streamRequest())))
        self.assertEqual(events[-1]["type"], "response.completed")
        messages = self.upstream.requests[-1].json["messages"]
        self.assertEqual(messages[-1]["content"], "hi")

    async def test_optionalParameterStripped(self) -> None:
        """
        A parameter that is not structural is still stripped and retried.
        """
        await self.setUpRelay()
        self.upstream.queue(
            JSONReply({"error": {"message": "Unrecognized request argument supplied: "
                                 "top_p", "type": "invalid_request_error"}}, status=400),
            Stream([text("hi"), finish("stop")]))
        events = checkStream(await treq.content(await self.post(streamRequest(top_p=0.5))))
        self.assertEqual(events[-1]["type"], "response.completed")
        self.assertEqual([("top_p" in r.json) for r in self.upstream.requests],
                         [True, False])


class ClosingKeepAlive(Protocol):
    """
    An upstream that answers the first request on each connection with a
    kept-alive completion, and closes the connection without an answer when
    the next request arrives: its idle timeout fired just then, as
    llama.cpp's does.
    """

    def __init__(self, log: list[str], serveFirst: bool = True) -> None:
        self._log = log
        self._buffer = b""
        self._served = not serveFirst

    def connectionMade(self) -> None:
        self._log.append("connect")

    def dataReceived(self, data: bytes) -> None:
        if self._served:
            self._log.append("closed on reuse")
            self.transport.loseConnection()
            return
        self._buffer += data
        head, found, body = self._buffer.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        if not found or len(body) < length:
            return
        self._served = True
        self._log.append("answered")
        answer = json.dumps(COMPLETION).encode()
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Connection: keep-alive\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))


class StaleConnectionTests(LoopbackTestCase):
    """
    A request that failed on a reused pooled connection before any response
    byte is sent once more on a fresh connection; 35 of 100 used to fail.
    """

    async def startClosingUpstream(self, serveFirst: bool = True) -> list[str]:
        events: list[str] = []
        factory = Factory.forProtocol(lambda: ClosingKeepAlive(events, serveFirst))
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(factory)
        self.addCleanup(port.stopListening)
        self.url, self.service = await self.startRelay(
            "http://127.0.0.1:{}/v1".format(port.getHost().port))
        self.client = self.makeClient()
        return events

    async def test_retriedOnFreshConnection(self) -> None:
        events = await self.startClosingUpstream()
        for _ in range(5):
            response = await self.post(responsesRequest())
            body = json.loads(await treq.content(response))
            self.assertEqual((response.code, body["status"]), (200, "completed"))
        self.assertEqual(events[:3], ["connect", "answered", "closed on reuse"])
        self.assertEqual(events.count("answered"), 5)
        await self.closeRelayPool()

    async def test_freshConnectionNotRetried(self) -> None:
        """
        A fresh connection that fails is an upstream fault: one attempt only.
        """
        events = await self.startClosingUpstream(serveFirst=False)
        # The first byte the upstream gets closes the connection.
        response = await self.post(responsesRequest())
        await self.assertError(response, 502, "upstream_error")
        self.assertEqual(events, ["connect", "closed on reuse"])

    async def closeRelayPool(self) -> None:
        closing = self.service.client.close()
        if isinstance(closing, Deferred):
            await closing


class UpstreamStreamFaultTests(LoopbackTestCase):
    """
    Stream faults from a real upstream socket, seen by a real client.
    """

    async def test_onlyNonJSONLines(self) -> None:
        """
        Only unparsable events, then C{[DONE]}: a failed response, not an
        empty completed one.
        """
        await self.setUpRelay()
        self.upstream.queue(Stream([b"data: <html>\n\n", b"data: {oops\n\n"]))
        events = await self.stream()
        self.assertEqual(events[-1]["type"], "response.failed")
        self.assertEqual(events[-1]["response"]["error"]["code"], "server_error")
        self.assertIn("not JSON", events[-1]["response"]["error"]["message"])

    async def test_splitSurrogatePair(self) -> None:
        """
        An emoji escaped as a surrogate pair and split across two events
        reaches the client whole: no delta holds a lone surrogate, which
        Codex's serde_json and pydantic reject.
        """
        await self.setUpRelay()
        self.upstream.queue(Stream([
            b'data: {"choices":[{"index":0,"delta":{"content":"smile \\ud83d"}}]}\n\n',
            b'data: {"choices":[{"index":0,"delta":{"content":"\\ude00!"}}]}\n\n',
            finish("stop")]))
        response = await self.post(streamRequest())
        raw = await treq.content(response)
        self.assertNotIn(b"\\ud83d", raw)
        events = checkStream(raw)
        deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
        self.assertEqual("".join(deltas), "smile \U0001F600!")
        for delta in deltas:
            delta.encode("utf-8")  # a lone surrogate cannot be UTF-8
