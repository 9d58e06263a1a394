"""
Upstream failures before anything reached the client, in memory: HTTP error
answers mapped to an OpenAI envelope of the same class of status, with
C{Retry-After}; a failing C{/v1/models}; an upstream that cannot be
reached at all.
"""

from typing import Any

from treq.testing import StringStubbingResource, StubTreq
from twisted.internet.error import ConnectionRefusedError, DNSLookupError
from twisted.internet.error import TimeoutError as ConnectTimeout
from twisted.python.failure import Failure
from twisted.web.client import ResponseNeverReceived

from tests.harness.fakehttp import FailingHTTP, HangingHTTP
from tests.harness.upstream import JSONReply, ScriptedUpstream, Stream
from tests.harness.memory import HELLO, LogCapture, RelayTestCase, UPSTREAM, responsesRequest, streamRequest


class UpstreamErrorTests(RelayTestCase):
    """
    Upstream HTTP errors, before anything reached the client, become the
    same class of status with an OpenAI envelope, for stream requests too.
    """

    def assertMapped(self, reply: JSONReply, status: int, code: str | None,
                     type: str | None = None, stream: bool = True) -> Any:
        self.upstream.queue(reply)
        response = self.post(streamRequest() if stream else responsesRequest())
        self.assertError(response, status, code, type)
        return response

    def retryAfter(self, response: Any) -> list[str] | None:
        return response.headers.getRawHeaders("retry-after")

    def test_badRequest(self) -> None:
        """
        A 400 keeps the upstream's message, type and code.
        """
        self.upstream.queue(JSONReply({"error": {
            "message": "temperature is out of range", "type": "invalid_request_error",
            "param": "temperature", "code": "invalid_value"}}, status=400))
        error = self.assertError(self.post(streamRequest()), 400, "invalid_value",
                                 "invalid_request_error")
        self.assertEqual(error["message"], "temperature is out of range")

    def test_unauthorized(self) -> None:
        self.assertMapped(JSONReply({"error": {"message": "Invalid API key"}}, status=401),
                          401, None, "authentication_error")

    def test_forbidden(self) -> None:
        self.assertMapped(JSONReply({"error": {"message": "no access"}}, status=403),
                          403, None, "permission_error")

    def test_modelNotFound(self) -> None:
        self.assertMapped(JSONReply({"error": {"message": "model nope does not exist"}},
                                    status=404), 404, "model_not_found")

    def test_rateLimitWithRetryAfter(self) -> None:
        """
        A 429 keeps the upstream's own C{Retry-After}.
        """
        response = self.assertMapped(
            JSONReply({"error": {"message": "slow down"}}, status=429,
                      headers={"Retry-After": "7"}),
            429, "rate_limit_exceeded", "rate_limit_error")
        self.assertEqual(self.retryAfter(response), ["7"])

    def test_rateLimitTryAgain(self) -> None:
        """
        Without a header, the delay comes from "try again in Xs".
        """
        response = self.assertMapped(
            JSONReply({"error": {"message": "Rate limit reached. Please try again in 3s."}},
                      status=429),
            429, "rate_limit_exceeded")
        self.assertEqual(self.retryAfter(response), ["3"])

    def test_rateLimitDefault(self) -> None:
        """
        Without any delay named, the configured default is sent.
        """
        self.makeRelay(retryAfter=11)
        response = self.assertMapped(JSONReply(b"", status=429), 429, "rate_limit_exceeded")
        self.assertEqual(self.retryAfter(response), ["11"])

    def test_paymentRequired(self) -> None:
        response = self.assertMapped(
            JSONReply({"error": {"message": "Payment required"}}, status=402),
            429, "insufficient_quota", "insufficient_quota")
        self.assertEqual(self.retryAfter(response), ["2"])

    def test_quota(self) -> None:
        response = self.assertMapped(
            JSONReply({"error": {"message": "You exceeded your current quota.",
                                 "code": "insufficient_quota"}}, status=429),
            429, "insufficient_quota")
        self.assertIsNotNone(self.retryAfter(response))

    def test_contextOverflow(self) -> None:
        for status in (400, 413):
            self.assertMapped(
                JSONReply({"error": {"message": "This model's maximum context length "
                                                "is 8192 tokens."}}, status=status),
                400, "context_length_exceeded", "invalid_request_error")

    def test_serverError(self) -> None:
        self.assertMapped(JSONReply({"error": {"message": "boom"}}, status=500),
                          502, "server_error", "server_error")

    def test_unavailable(self) -> None:
        self.assertMapped(JSONReply({"error": {"message": "overloaded"}}, status=503),
                          503, "server_error", "server_error")

    def test_notAnEnvelope(self) -> None:
        """
        Error bodies of any shape give an envelope with their text.
        """
        self.upstream.queue(JSONReply({"detail": "bad things"}, status=422),
                            JSONReply(b"<html>Bad Gateway</html>", status=502),
                            JSONReply([1, 2], status=500))
        error = self.assertError(self.post(streamRequest()), 422, None)
        self.assertEqual(error["message"], "bad things")
        error = self.assertError(self.post(streamRequest()), 502, "server_error")
        self.assertEqual(error["message"], "<html>Bad Gateway</html>")
        self.assertError(self.post(streamRequest()), 502, "server_error")

    def test_redirectNotFollowed(self) -> None:
        """
        A redirect is neither followed nor streamed as a 200: it is a 502.
        """
        self.upstream.queue(
            JSONReply(b"", status=307, headers={"Location": UPSTREAM + "/chat/completions"}),
            Stream(HELLO))
        error = self.assertError(self.post(streamRequest()), 502, "server_error",
                                 "server_error")
        self.assertEqual(error["message"], "upstream answered HTTP 307")
        self.assertEqual(len(self.upstream.requests), 1)

    def test_emptyBody(self) -> None:
        self.upstream.queue(JSONReply(b"", status=500))
        error = self.assertError(self.post(responsesRequest()), 502, "server_error")
        self.assertEqual(error["message"], "upstream answered HTTP 500")

    def test_noUpstreamBodyLeftOpen(self) -> None:
        """
        After an error answer, nothing of the exchange is left running.
        """
        self.assertMapped(JSONReply(b"", status=503), 503, "server_error")
        self.assertQuiet()


class ModelsErrorTests(RelayTestCase):
    def test_upstreamError(self) -> None:
        self.makeRelay(scripted=ScriptedUpstream(prefix="/elsewhere"))
        self.assertError(self.respond("GET", "/v1/models"), 404, "not_found")

    def test_notJSON(self) -> None:
        self.makeRelay(scripted=ScriptedUpstream(models=b"<html>"))  # type: ignore[arg-type]
        self.assertError(self.respond("GET", "/v1/models"), 502, "bad_upstream_response",
                         "server_error")

    def test_redirectNotFollowed(self) -> None:
        """
        A redirect to a JSON body is not passed off as the model list.
        """
        def redirect(method: bytes, url: str, params: Any, headers: Any,
                     data: bytes) -> tuple[int, dict, bytes]:
            return 302, {b"location": b"http://elsewhere.test/v1/models"}, b'{"data": []}'

        self.makeRelay(http=StubTreq(StringStubbingResource(redirect)))
        self.assertError(self.respond("GET", "/v1/models"), 502, "server_error")

    def test_timeout(self) -> None:
        """
        An upstream that does not answer within C{headersTimeout} is a 504,
        and its request is cancelled.
        """
        relay = self.makeRelay(http=HangingHTTP(), headersTimeout=20)
        d = relay.request("GET", "/v1/models")
        relay.advance(19)
        self.assertNoResult(d)
        relay.advance(1)
        self.assertError(self.successResultOf(d), 504, "upstream_timeout", "server_error")
        self.assertTrue(relay.http.pending[0].called)
        self.assertQuiet()

    def test_unreachable(self) -> None:
        self.makeRelay(http=FailingHTTP(ConnectionRefusedError()))
        self.assertError(self.respond("GET", "/v1/models"), 502, "upstream_unreachable",
                         "server_error")


class UnreachableTests(RelayTestCase):
    """
    An upstream that cannot be reached is a 502, or a 504 on a connect
    timeout; nothing is logged as a relay failure.
    """

    def assertUnreachable(self, error: BaseException, status: int, code: str) -> None:
        log = LogCapture(self)
        self.makeRelay(http=FailingHTTP(error))
        self.assertError(self.post(streamRequest()), status, code, "server_error")
        self.assertEqual(self.relay.http.calls, [UPSTREAM + "/chat/completions"])
        self.assertEqual(log.errors(), [])
        self.assertQuiet()

    def test_refused(self) -> None:
        self.assertUnreachable(ConnectionRefusedError(), 502, "upstream_unreachable")

    def test_dns(self) -> None:
        self.assertUnreachable(DNSLookupError("upstream.test"), 502, "upstream_unreachable")

    def test_connectTimeout(self) -> None:
        self.assertUnreachable(ConnectTimeout(), 504, "upstream_timeout")

    def connectThroughAgent(self, reason: BaseException) -> Any:
        """
        Send a request through the relay's real Agent and pool, and fail
        its connection attempt with C{reason}; the relay's response.
        """
        relay = self.makeRelay(pooled=True, upstream="http://127.0.0.1:9/v1",
                               connectTimeout=3)
        d = relay.request("POST", "/v1/responses", json=streamRequest())
        [(host, port, factory, timeout, _)] = relay.clock.tcpClients
        self.assertEqual((host, port, timeout), ("127.0.0.1", 9, 3))
        factory.clientConnectionFailed(relay.clock.connectors[0], Failure(reason))
        # HostnameEndpoint gives up once its attempt loop (0.3 s) has run.
        relay.advance(0.3)
        return self.successResultOf(d)

    def test_connectTimeoutThroughAgent(self) -> None:
        """
        C{connectTimeout} reaches the TCP connect; its expiry is a 504.
        """
        self.assertError(self.connectThroughAgent(ConnectTimeout()), 504, "upstream_timeout")
        self.assertQuiet()

    def test_refusedThroughAgent(self) -> None:
        self.assertError(self.connectThroughAgent(ConnectionRefusedError()), 502,
                         "upstream_unreachable")
        self.assertQuiet()

    def test_neverReceived(self) -> None:
        """
        A request that broke off says why.
        """
        self.assertUnreachable(ResponseNeverReceived([Failure(ConnectionRefusedError())]),
                               502, "upstream_error")
        error = self.assertError(self.post(streamRequest()), 502, "upstream_error")
        self.assertIn("ResponseNeverReceived (Connection was refused", error["message"])
