"""
The relay's HTTP client (codex_relay._web.agent), in memory: what a POST
hands the agent, GETs through treq on the same agent, and endpoints (with
their TLS settings) made once per upstream origin.
"""

from typing import Any

from zope.interface import implementer

from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import URI
from twisted.web.error import SchemeNotSupported
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IBodyProducer, IPolicyForHTTPS
from twisted.web.resource import Resource
from twisted.web.server import Request
from treq.testing import RequestTraversalAgent

from codex_relay._web.agent import DirectHTTP, OncePerOrigin


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


class OncePerOriginTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.tls = CountingPolicy()
        self.factory = OncePerOrigin(MemoryReactorClock(), self.tls, 7)

    def endpoint(self, url: bytes) -> Any:
        return self.factory.endpointForURI(URI.fromBytes(url))

    def test_oncePerOrigin(self) -> None:
        first = self.endpoint(b"https://a.test/v1/chat/completions")
        self.assertIs(self.endpoint(b"https://a.test/v1/models"), first)
        self.assertIsNot(self.endpoint(b"https://a.test:8443/v1/models"), first)
        self.assertIsNot(self.endpoint(b"http://a.test:443/v1/models"), first)
        self.assertEqual(self.tls.asked, [(b"a.test", 443), (b"a.test", 8443)])

    def test_plainAndTLS(self) -> None:
        plain = self.endpoint(b"http://a.test:8080/v1")
        self.assertIsInstance(plain, HostnameEndpoint)
        self.assertNotIsInstance(self.endpoint(b"https://a.test/v1"), HostnameEndpoint)

    def test_connectTimeout(self) -> None:
        reactor = MemoryReactorClock()
        factory = OncePerOrigin(reactor, self.tls, 7)
        factory.endpointForURI(URI.fromBytes(b"http://127.0.0.1:8080/v1")).connect(Factory())
        [(_, _, _, timeout, _)] = reactor.tcpClients
        self.assertEqual(timeout, 7)

    def test_otherScheme(self) -> None:
        with self.assertRaises(SchemeNotSupported):
            self.endpoint(b"ftp://a.test/v1")
