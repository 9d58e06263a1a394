"""
Tests for L{tests.harness.upstream}, the scripted Chat Completions upstream, so the
fake itself is known to work before relay tests rely on it.
"""

import json
from typing import Any

import treq
from treq.testing import StubTreq
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web._newclient import ResponseFailed

from tests.harness.chunks import Comment, chunk, completion, finish, sse, text, usage
from tests.harness.upstream import (
    DEFAULT_MODELS,
    Drop,
    Hang,
    JSONReply,
    ReceivedRequest,
    ScriptedUpstream,
    Stream,
)

URL = "http://upstream.test/v1/chat/completions"
REQUEST = {
    "model": "model-a",
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}


class Collector(Protocol):
    """
    Records body bytes as they arrive; C{leave()} hangs up like a client.
    """

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.reason: Failure | None = None
        self.finished: Deferred[None] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data.append(data)

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        self.reason = reason
        self.finished.callback(None)

    def leave(self) -> None:
        self.transport.stopProducing()  # type: ignore[union-attr]

    def body(self) -> bytes:
        return b"".join(self.data)

    def reasonValue(self) -> BaseException | None:
        return None if self.reason is None else self.reason.value


class InMemoryTests(SynchronousTestCase):
    """
    The upstream served through L{StubTreq}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.upstream = ScriptedUpstream(reactor=self.clock)
        self.client = StubTreq(self.upstream.resource)

    def post(self, body: Any = REQUEST, url: str = URL, **kw: Any) -> Any:
        """
        POST and return the response (headers received).
        """
        d = self.client.post(url, json=body, unbuffered=True, **kw)
        self.client.flush()
        return self.successResultOf(d)

    def collect(self, response: Any) -> Collector:
        collector = Collector()
        response.deliverBody(collector)
        self.client.flush()
        return collector

    def test_stream(self) -> None:
        """
        A L{Stream} sends its chunks as SSE, then C{[DONE]}, with SSE headers.
        """
        chunks = [
            text("Hel"),
            text("lo"),
            finish("stop"),
            chunk(choices=False, usage=usage(3, 2)),
        ]
        self.upstream.queue(Stream(chunks))
        response = self.post()
        self.assertEqual(response.code, 200)
        self.assertEqual(
            response.headers.getRawHeaders("content-type"), ["text/event-stream"]
        )
        collector = self.collect(response)
        self.assertEqual(collector.body(), sse(*chunks))
        self.assertTrue(collector.body().endswith(b"data: [DONE]\n\n"))
        self.successResultOf(collector.finished)
        self.assertEqual(self.upstream.disconnects, 0)

    def test_streamShapes(self) -> None:
        """
        Comments, raw bytes, CRLF, no C{[DONE]}, and custom status/headers.
        """
        reply = Stream(
            [Comment("ping"), b"data: {broken\n\n", text("x")],
            done=False,
            lineEnd="\r\n",
            status=201,
            headers={"Content-Type": "text/plain", "x-extra": "1"},
        )
        self.upstream.queue(reply)
        response = self.post()
        self.assertEqual(response.code, 201)
        self.assertEqual(response.headers.getRawHeaders("content-type"), ["text/plain"])
        self.assertEqual(response.headers.getRawHeaders("x-extra"), ["1"])
        body = self.collect(response).body()
        self.assertEqual(
            body,
            b": ping\r\n\r\ndata: {broken\n\n"
            + sse(text("x"), done=False, lineEnd="\r\n"),
        )

    def test_headersBeforeBody(self) -> None:
        """
        Headers reach the client before any chunk (P10).
        """
        self.upstream.queue(Hang())
        response = self.post()
        self.assertEqual(response.code, 200)
        collector = self.collect(response)
        self.assertEqual(collector.data, [])
        self.assertNoResult(collector.finished)

    def test_interval(self) -> None:
        """
        With C{interval}, chunks go out one per interval on the given reactor.
        """
        self.upstream.queue(Stream([text("a"), text("b")], interval=1.0))
        collector = self.collect(self.post())
        self.assertEqual(collector.body(), sse(text("a"), done=False))
        self.clock.advance(1.0)
        self.client.flush()
        self.assertEqual(collector.body(), sse(text("a"), text("b"), done=False))
        self.assertNoResult(collector.finished)
        self.clock.advance(1.0)
        self.client.flush()
        self.assertEqual(collector.body(), sse(text("a"), text("b")))
        self.successResultOf(collector.finished)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_intervalNeedsReactor(self) -> None:
        """
        An interval without a reactor is a test bug, reported when the reply
        is queued, or as a 500 and a logged error when C{respond} returns it.
        """
        reply = Stream([text("a")], interval=1.0)
        upstream = ScriptedUpstream()
        self.assertRaises(ValueError, upstream.queue, reply)
        upstream = ScriptedUpstream(lambda body, received: reply)
        client = StubTreq(upstream.resource)
        d = client.post(URL, json=REQUEST)
        client.flush()
        self.assertEqual(self.successResultOf(d).code, 500)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_clientLeavesStream(self) -> None:
        """
        A client that leaves mid-stream is counted, and the pending chunks
        are cancelled.
        """
        self.upstream.queue(Stream([text("a"), text("b")], interval=1.0))
        gone = self.upstream.whenDisconnected()
        collector = self.collect(self.post())
        collector.leave()
        self.client.flush()
        self.assertEqual(self.upstream.disconnects, 1)
        self.successResultOf(gone)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(collector.body(), sse(text("a"), done=False))

    def test_hang(self) -> None:
        """
        A L{Hang} sends its chunks and never finishes; the client leaving is
        recorded.
        """
        self.upstream.queue(Hang([text("a")]))
        collector = self.collect(self.post())
        self.assertEqual(collector.body(), sse(text("a"), done=False))
        self.assertNoResult(collector.finished)
        self.assertEqual(self.upstream.disconnects, 0)
        collector.leave()
        self.client.flush()
        self.assertEqual(self.upstream.disconnects, 1)

    def test_hangWithoutHeaders(self) -> None:
        self.upstream.queue(Hang(headers=False))
        d = self.client.post(URL, json=REQUEST)
        self.client.flush()
        self.assertNoResult(d)
        d.cancel()
        self.client.flush()
        self.failureResultOf(d)
        self.assertEqual(self.upstream.disconnects, 1)

    def test_drop(self) -> None:
        """
        A L{Drop} delivers its chunks, then truncates the body; that is not
        a client disconnect.
        """
        for abort in (False, True):
            self.upstream.queue(Drop([text("a"), text("b")], abort=abort))
            collector = self.collect(self.post())
            self.assertEqual(collector.body(), sse(text("a"), text("b"), done=False))
            self.successResultOf(collector.finished)
            self.assertIsInstance(collector.reasonValue(), ResponseFailed)
        self.assertEqual(self.upstream.disconnects, 0)

    def test_json(self) -> None:
        """
        A L{JSONReply} answers with its status, headers and JSON body.
        """
        error = {"error": {"message": "slow down", "type": "rate_limit", "code": None}}
        self.upstream.queue(JSONReply(error, status=429, headers={"Retry-After": "2"}))
        response = self.post()
        self.assertEqual(response.code, 429)
        self.assertEqual(response.headers.getRawHeaders("retry-after"), ["2"])
        self.assertEqual(
            response.headers.getRawHeaders("content-type"), ["application/json"]
        )
        self.assertEqual(self.successResultOf(treq.json_content(response)), error)

    def test_jsonCompletionAndBytes(self) -> None:
        body = completion("Hello", usage=usage(3, 1))
        self.upstream.queue(JSONReply(body), JSONReply(b"not json", status=502))
        self.assertEqual(self.successResultOf(treq.json_content(self.post())), body)
        response = self.post()
        self.assertEqual(response.code, 502)
        self.assertEqual(self.successResultOf(treq.content(response)), b"not json")

    def test_queueOrder(self) -> None:
        """
        Queued replies are used in order; an empty queue answers 500.
        """
        self.upstream.queue(JSONReply({"n": 1}))
        self.upstream.queue(JSONReply({"n": 2}), JSONReply({"n": 3}))
        self.assertEqual(self.upstream.pending, 3)
        for n in (1, 2, 3):
            self.assertEqual(
                self.successResultOf(treq.json_content(self.post())), {"n": n}
            )
        self.assertEqual(self.upstream.pending, 0)
        response = self.post()
        self.assertEqual(response.code, 500)
        body = self.successResultOf(treq.json_content(response))
        self.assertIn("no reply queued", body["error"]["message"])

    def test_respond(self) -> None:
        """
        A C{respond} callable sees the decoded body and the record.
        """
        seen: list[tuple[Any, ReceivedRequest]] = []

        def respond(body: Any, received: ReceivedRequest) -> JSONReply:
            seen.append((body, received))
            return JSONReply(completion(body["model"]))

        upstream = ScriptedUpstream(respond)
        client = StubTreq(upstream.resource)
        d = client.post(URL, json=dict(REQUEST, model="m-2"))
        client.flush()
        body = self.successResultOf(client.json_content(self.successResultOf(d)))
        self.assertEqual(body["choices"][0]["message"]["content"], "m-2")
        self.assertEqual(seen, [(dict(REQUEST, model="m-2"), upstream.requests[0])])

    def test_recording(self) -> None:
        """
        Requests are recorded with lower-case headers and the decoded body.
        """
        self.upstream.queue(JSONReply({}), JSONReply({}))
        self.post(headers={"Authorization": "Bearer k", "X-Multi": ["a", "b"]})
        self.client.flush()
        d = self.client.post(
            URL, data=b"{nope", headers={"content-type": "application/json"}
        )
        self.client.flush()
        self.successResultOf(d)
        first, second = self.upstream.requests
        self.assertEqual((first.method, first.path), ("POST", "/v1/chat/completions"))
        self.assertEqual(first.json, REQUEST)
        self.assertEqual(json.loads(first.body), REQUEST)
        self.assertEqual(first.headers["authorization"], "Bearer k")
        self.assertEqual(first.headers["x-multi"], "a, b")
        self.assertTrue(first.headers["content-type"].startswith("application/json"))
        self.assertEqual((second.json, second.body), (None, b"{nope"))

    def test_models(self) -> None:
        d = self.client.get("http://upstream.test/v1/models")
        self.client.flush()
        self.assertEqual(
            self.successResultOf(self.client.json_content(self.successResultOf(d))),
            DEFAULT_MODELS,
        )
        self.assertEqual(self.upstream.requests[0].method, "GET")

    def test_modelsOverrideAndPrefix(self) -> None:
        models = {"object": "list", "data": []}
        upstream = ScriptedUpstream(models=models, prefix="/api/v1/")
        upstream.queue(JSONReply({"ok": True}))
        client = StubTreq(upstream.resource)
        d = client.get("http://upstream.test/api/v1/models")
        client.flush()
        self.assertEqual(
            self.successResultOf(client.json_content(self.successResultOf(d))), models
        )
        d = client.post("http://upstream.test/api/v1/chat/completions", json=REQUEST)
        client.flush()
        self.assertEqual(self.successResultOf(d).code, 200)

    def test_notFound(self) -> None:
        self.upstream.queue(JSONReply({}))
        response = self.post(url="http://upstream.test/chat/completions")
        self.assertEqual(response.code, 404)
        self.assertIn("error", self.successResultOf(treq.json_content(response)))
        self.assertEqual(self.upstream.pending, 1)

    def test_wrongMethod(self) -> None:
        d = self.client.get(URL)
        self.client.flush()
        self.assertEqual(self.successResultOf(d).code, 405)


class LoopbackTests(TestCase):
    """
    The same resource on a real loopback port.
    """

    async def listen(self, upstream: ScriptedUpstream) -> tuple[Any, str]:
        from twisted.internet import reactor
        from twisted.internet.endpoints import serverFromString
        from twisted.web.client import Agent, HTTPConnectionPool
        from twisted.web.server import Site

        site = Site(upstream.resource)
        site.noisy = False
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(site)
        self.addCleanup(port.stopListening)
        self.addCleanup(upstream.abortAll)
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        client = treq.client.HTTPClient(Agent(reactor, pool=pool))
        return client, f"http://127.0.0.1:{port.getHost().port}/v1/chat/completions"

    async def test_streamAndDisconnect(self) -> None:
        from twisted.internet import reactor

        upstream = ScriptedUpstream(reactor=reactor)
        upstream.queue(Stream([text("a"), text("b")], interval=0.01), Hang([text("c")]))
        client, url = await self.listen(upstream)

        response = await client.post(url, json=REQUEST, unbuffered=True)
        self.assertEqual(await treq.content(response), sse(text("a"), text("b")))

        gone = upstream.whenDisconnected()
        response = await client.post(url, json=REQUEST, unbuffered=True)
        collector = Collector()
        response.deliverBody(collector)
        collector.leave()
        await gone
        self.assertEqual(upstream.disconnects, 1)
        self.assertEqual([r.json for r in upstream.requests], [REQUEST, REQUEST])

    async def test_drop(self) -> None:
        upstream = ScriptedUpstream()
        upstream.queue(Drop([text("a")]))
        client, url = await self.listen(upstream)
        response = await client.post(url, json=REQUEST, unbuffered=True)
        collector = Collector()
        response.deliverBody(collector)
        await collector.finished
        self.assertIsInstance(collector.reasonValue(), ResponseFailed)
        self.assertEqual(collector.body(), sse(text("a"), done=False))
        self.assertEqual(upstream.disconnects, 0)
