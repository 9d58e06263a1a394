"""
Bad client input is a 400 (or 413) envelope and nothing goes upstream: in
memory, and through the body limit of L{RelayService}'s site on a real
C{HTTPChannel}.
"""

import json
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from codex_relay import RelayConfig, RelayService
from tests.harness.upstream import Stream
from tests.harness.memory import HELLO, RelayTestCase, UPSTREAM, responsesRequest


class ClientInputTests(RelayTestCase):
    """
    Bad client input is a 400 (or 413) envelope, and nothing goes upstream.
    """

    def assertRejected(self, body: Any, code: str | None, param: str | None = None,
                       status: int = 400) -> dict:
        error = self.assertError(self.post(body), status, code, "invalid_request_error",
                                 param)
        self.assertEqual(self.upstream.requests, [])
        self.assertQuiet()
        return error

    def test_invalidJSON(self) -> None:
        self.assertRejected(b'{"model": "m", ', "invalid_json")

    def test_emptyBody(self) -> None:
        self.assertRejected(b"", "invalid_json")

    def test_array(self) -> None:
        error = self.assertRejected(b"[1, 2]", None)
        self.assertIn("JSON object", error["message"])

    def test_missingModel(self) -> None:
        self.assertRejected({"input": "hi"}, "missing_required_parameter", "model")

    def test_missingInput(self) -> None:
        self.assertRejected({"model": "m"}, "missing_required_parameter", "input")

    def test_wrongTypes(self) -> None:
        self.assertRejected(responsesRequest(model=5), "invalid_type", "model")
        self.assertRejected(responsesRequest(input=5), "invalid_type", "input")
        self.assertRejected(responsesRequest(stream="yes"), "invalid_type", "stream")
        self.assertRejected(responsesRequest(temperature="hot"), "invalid_type",
                            "temperature")

    def test_previousResponse(self) -> None:
        self.assertRejected(responsesRequest(previous_response_id="resp_1"),
                            "previous_response_not_found", "previous_response_id")

    def test_tooLarge(self) -> None:
        """
        Served without L{LimitedRequest}, a body over the limit is still a
        413, checked on the spooled content.
        """
        self.makeRelay(maxBodyBytes=100)
        self.assertRejected(responsesRequest(input="x" * 200), "request_too_large",
                            status=413)
        self.upstream.queue(Stream(HELLO))
        self.assertEqual(self.stream()[-1]["type"], "response.completed")


class LimitedRequestTests(SynchronousTestCase):
    """
    The body limit of L{RelayService}'s site, driven through a real
    C{HTTPChannel} with raw bytes.
    """

    def setUp(self) -> None:
        self.service = RelayService(RelayConfig(upstream=UPSTREAM, maxBodyBytes=100),
                                    MemoryReactorClock())
        self.addCleanup(lambda: self.successResultOf(self.service.stopService()))

    def exchange(self, head: bytes, body: bytes) -> tuple[int, dict]:
        """
        Send one HTTP/1.1 request; the status and the decoded JSON body.
        """
        channel = self.service.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1234))
        transport = StringTransport()
        channel.makeConnection(transport)
        channel.dataReceived(head + b"\r\n" + body)
        raw = transport.value()
        headers, _, payload = raw.partition(b"\r\n\r\n")
        status = int(headers.split(b" ", 2)[1])
        self.assertIn(b"\r\ntransfer-encoding: chunked", headers.lower())
        channel.connectionLost(Failure(ConnectionRefusedError()))
        return status, json.loads(dechunk(payload))

    def test_contentLengthOverLimit(self) -> None:
        body = json.dumps(responsesRequest(input="x" * 200)).encode()
        status, envelope = self.exchange(
            b"POST /v1/responses HTTP/1.1\r\nHost: relay.test\r\n"
            b"Content-Length: %d\r\n" % len(body), body)
        self.assertEqual((status, envelope["error"]["code"]), (413, "request_too_large"))

    def test_chunkedOverLimit(self) -> None:
        """
        A chunked body, whose size is not announced, is cut off as it grows.
        """
        body = b"".join(b"20\r\n" + b"x" * 32 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
        status, envelope = self.exchange(
            b"POST /v1/responses HTTP/1.1\r\nHost: relay.test\r\n"
            b"Transfer-Encoding: chunked\r\n", body)
        self.assertEqual((status, envelope["error"]["code"]), (413, "request_too_large"))

    def test_underLimit(self) -> None:
        """
        A body under the limit reaches the resource whole.
        """
        body = b'{"model": "m", '
        status, envelope = self.exchange(
            b"POST /v1/responses HTTP/1.1\r\nHost: relay.test\r\n"
            b"Content-Length: %d\r\n" % len(body), body)
        self.assertEqual((status, envelope["error"]["code"]), (400, "invalid_json"))


def dechunk(payload: bytes) -> bytes:
    """
    The content of an HTTP/1.1 chunked body.
    """
    content = b""
    while True:
        size, _, payload = payload.partition(b"\r\n")
        length = int(size, 16)
        if length == 0:
            return content
        content += payload[:length]
        payload = payload[length + 2:]
