"""
The relay's HTTP client (codex_relay._web.agent), in memory: what a POST
hands the agent, GETs through treq on the same agent, and TLS settings
made once per upstream host.
"""

from typing import Any

from zope.interface import implementer

from twisted.internet.defer import Deferred, succeed
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IBodyProducer, IPolicyForHTTPS
from twisted.web.resource import Resource
from twisted.web.server import Request
from treq.testing import RequestTraversalAgent

from codex_relay._web.agent import DirectHTTP, OncePerHost


class Consumer:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


@implementer(IAgent)
class RecordingAgent:
    """
    An agent that answers every request with C{response}, recording it.
    """

    def __init__(self, response: Any = "a response") -> None:
        self.response = response
        self.requests: list[tuple[bytes, bytes, Headers, IBodyProducer]] = []

    def request(self, method: bytes, uri: bytes, headers: Headers | None = None,
                bodyProducer: IBodyProducer | None = None) -> Deferred[Any]:
        assert headers is not None and bodyProducer is not None
        self.requests.append((method, uri, headers, bodyProducer))
        return succeed(self.response)


class DirectPostTests(SynchronousTestCase):
    def post(self, url: str, body: bytes = b"{}",
             headers: dict[str, list[str]] | None = None) -> tuple[bytes, bytes, Headers, Any]:
        agent = RecordingAgent()
        answered = self.successResultOf(DirectHTTP(agent).post(
            url, data=body, headers=headers or {"Accept": ["text/event-stream"]},
            unbuffered=True, allow_redirects=False))
        self.assertEqual(answered, "a response")  # the agent's own, not wrapped
        [request] = agent.requests
        return request

    def test_request(self) -> None:
        method, uri, headers, producer = self.post(
            "http://up.test:8080/v1/chat/completions", b'{"model":"m"}',
            {"Accept": ["text/event-stream"], "Authorization": ["Bearer k"]})
        self.assertEqual((method, uri), (b"POST", b"http://up.test:8080/v1/chat/completions"))
        self.assertEqual(headers.getRawHeaders(b"accept"), [b"text/event-stream"])
        self.assertEqual(headers.getRawHeaders(b"authorization"), [b"Bearer k"])
        self.assertEqual(producer.length, len(b'{"model":"m"}'))

    def test_bodySentAgain(self) -> None:
        # A request retried on a fresh connection writes its body once more.
        *_, producer = self.post("http://up.test/v1/chat/completions", b"body")
        for _ in range(2):
            consumer = Consumer()
            self.successResultOf(producer.startProducing(consumer))
            self.assertEqual(consumer.written, [b"body"])

    def test_internationalURL(self) -> None:
        _, uri, _, _ = self.post("https://bücher.test/v1/chat/completions?q=é")
        self.assertEqual(uri, b"https://xn--bcher-kva.test/v1/chat/completions?q=%C3%A9")

    def test_urlEncodedOnce(self) -> None:
        agent = RecordingAgent()
        http = DirectHTTP(agent)
        for _ in range(3):
            http.post("http://up.test/v1/chat/completions", data=b"{}", headers={})
        self.assertEqual({uri for _, uri, _, _ in agent.requests},
                         {b"http://up.test/v1/chat/completions"})
        self.assertEqual(len(http._uris), 1)


class Models(Resource):
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[bytes, bytes, list[bytes] | None]] = []

    def render_GET(self, request: Request) -> bytes:
        self.seen.append((request.method, request.uri,
                          request.requestHeaders.getRawHeaders(b"authorization")))
        request.setHeader(b"set-cookie", b"tenant=a")
        return b'{"data": []}'


class GetTests(SynchronousTestCase):
    def test_throughTreqWithoutCookies(self) -> None:
        models = Models()
        agent = RequestTraversalAgent(models)
        http = DirectHTTP(agent)
        for _ in range(2):
            response = self.successResultOf(http.get(
                "http://up.test/v1/models", headers={"Authorization": ["Bearer k"]},
                unbuffered=True, allow_redirects=False))
            self.assertEqual(response.code, 200)
        self.assertEqual(models.seen, [(b"GET", b"/v1/models", [b"Bearer k"])] * 2)
        self.assertEqual(list(http._treq._cookiejar), [])


@implementer(IPolicyForHTTPS)
class CountingPolicy:
    def __init__(self) -> None:
        self.asked: list[tuple[bytes, int]] = []

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        self.asked.append((hostname, port))
        return ("creator", hostname, port)


class OncePerHostTests(SynchronousTestCase):
    def test_oncePerHostAndPort(self) -> None:
        counting = CountingPolicy()
        policy = OncePerHost(counting)
        for _ in range(3):
            self.assertEqual(policy.creatorForNetloc(b"a.test", 443), ("creator", b"a.test", 443))
        policy.creatorForNetloc(b"a.test", 8443)
        policy.creatorForNetloc(b"b.test", 443)
        self.assertEqual(counting.asked, [(b"a.test", 443), (b"a.test", 8443), (b"b.test", 443)])
