"""
The relay's resource tree in memory: a L{ScriptedUpstream} served through
L{StubTreq} to the relay's L{UpstreamClient}, the relay served through
another L{StubTreq} to the test, and one L{MemoryReactorClock} for every
timeout.

Every 200 answer is checked by the oracle; every error by its exact
status, envelope and code.
"""

import json
from io import BytesIO
from typing import Any

from treq.testing import StringStubbingResource, StubTreq
from twisted.internet.address import IPv4Address
from twisted.internet.defer import CancelledError, Deferred, fail
from twisted.internet.error import ConnectionDone, ConnectionRefusedError, DNSLookupError
from twisted.internet.error import TimeoutError as ConnectTimeout
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import ResponseNeverReceived
from twisted.web.server import Request, Site
from twisted.web.test.requesthelper import DummyChannel

from codex_relay import RelayConfig, RelayService, TranslationSettings
from codex_relay._web.body import TranslatingBody, UpstreamIdle
from codex_relay._core.request.translate import translateRequest
from codex_relay._providers.config_file import parseRoutingTable
from codex_relay._core.stream.translator import StreamTranslator
from tests.harness.chunks import chunk, completion, finish, text, toolCall, usage
from tests.harness.oracle import checkResponse, checkStream
from tests.harness.upstream import DEFAULT_MODELS, Drop, Hang, JSONReply, ScriptedUpstream, Stream
from tests.harness.memory import HELLO, LogCapture, RelayTestCase, UPSTREAM, responsesRequest, streamRequest

KEY = "sk-relay-secret-4242"
CLIENT_KEY = "Bearer sk-client-secret-1717"

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


class FailingHTTP:
    """
    An HTTP client (in place of treq's) whose every request fails with
    C{error}, as an unreachable upstream does.
    """

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls: list[str] = []

    def post(self, url: str, **kwargs: Any) -> Deferred[Any]:
        self.calls.append(url)
        return fail(self.error)

    get = post


class StreamingTests(RelayTestCase):
    def test_text(self) -> None:
        """
        A streamed answer is translated chunk by chunk, with the upstream's
        usage, and the upstream is asked for a stream with usage.
        """
        self.upstream.queue(Stream(HELLO))
        events = self.stream()
        self.assertEqual(events[-1]["type"], "response.completed")
        response = events[-1]["response"]
        self.assertEqual(response["output"][0]["content"][0]["text"], "Hello")
        self.assertEqual(response["usage"]["input_tokens"], 3)
        self.assertEqual(response["usage"]["output_tokens"], 2)
        self.assertEqual([e["delta"] for e in events
                          if e["type"] == "response.output_text.delta"], ["Hel", "lo"])
        [sent] = self.upstream.requests
        self.assertEqual((sent.method, sent.path), ("POST", "/v1/chat/completions"))
        self.assertEqual(sent.json["stream"], True)
        self.assertEqual(sent.json["stream_options"], {"include_usage": True})
        self.assertEqual(sent.json["messages"], [{"role": "user", "content": "hi"}])
        self.assertEqual(sent.headers["accept"], "text/event-stream")
        self.assertEqual(self.upstream.disconnects, 0)
        self.assertQuiet()

    def test_headersBeforeUpstreamBody(self) -> None:
        """
        C{response.created} and C{response.in_progress} reach the client as
        soon as the upstream's headers arrive, before any chunk.
        """
        self.upstream.queue(Hang())
        collector = self.collect(self.post(streamRequest()))
        self.assertEqual(collector.types(), ["response.created", "response.in_progress"])
        self.upstream.abortAll()
        self.relay.pump()

    def test_toolCalls(self) -> None:
        """
        Streamed tool-call fragments become one C{function_call} item with
        the upstream's call id and the joined arguments.
        """
        self.upstream.queue(Stream([
            text("Checking."),
            toolCall(0, id="call_1", name="get_weather", arguments='{"city":'),
            toolCall(0, arguments='"Paris"}'),
            finish("tool_calls"),
            chunk(choices=False, usage=usage(10, 5)),
        ]))
        events = self.stream(streamRequest(tools=[WEATHER_TOOL]))
        response = events[-1]["response"]
        self.assertEqual(events[-1]["type"], "response.completed")
        message, call = response["output"]
        self.assertEqual(message["content"][0]["text"], "Checking.")
        self.assertEqual(
            (call["type"], call["call_id"], call["name"], call["arguments"]),
            ("function_call", "call_1", "get_weather", '{"city":"Paris"}'))
        self.assertEqual([e["delta"] for e in events
                          if e["type"] == "response.function_call_arguments.delta"],
                         ['{"city":', '"Paris"}'])
        self.assertEqual(self.upstream.requests[0].json["tools"][0]["function"]["name"],
                         "get_weather")

    def test_jsonAlthoughStreamAsked(self) -> None:
        """
        An upstream that answers a stream request with a whole completion
        still gives the client a stream.
        """
        self.upstream.queue(JSONReply(completion("Hello", usage=usage(3, 1))))
        events = self.stream()
        self.assertEqual(events[-1]["type"], "response.completed")
        self.assertEqual(events[-1]["response"]["output"][0]["content"][0]["text"], "Hello")

    def test_endWithoutDone(self) -> None:
        """
        An upstream body that ends cleanly after C{finish_reason} but
        without C{[DONE]} completes the response.
        """
        self.upstream.queue(Stream(HELLO, done=False))
        events = self.stream()
        self.assertEqual(events[-1]["type"], "response.completed")

    def test_truncatedBeforeFinish(self) -> None:
        """
        A body that ends cleanly before any C{finish_reason} or C{[DONE]}
        ends with C{response.failed}, the open item closed.
        """
        self.upstream.queue(Stream([text("Hel")], done=False))
        response = self.assertFailedStream(self.stream(), "server_error")
        self.assertEqual(response["output"][0]["status"], "incomplete")

    def test_dropMidStream(self) -> None:
        """
        An upstream connection cut mid-stream ends the client's stream with
        C{response.failed}.
        """
        self.upstream.queue(Drop([text("Hel")]))
        response = self.assertFailedStream(self.stream(), "server_error")
        self.assertEqual(response["output"][0]["status"], "incomplete")
        self.assertEqual(response["output"][0]["content"][0]["text"], "Hel")

    def test_upstreamErrorEvent(self) -> None:
        """
        An error the upstream reports inside its stream ends the response
        with C{response.failed} and the mapped code.
        """
        self.upstream.queue(Stream([
            text("Hel"), {"error": {"message": "Rate limit reached. Please try again in 3s."}},
        ]))
        response = self.assertFailedStream(self.stream(), "rate_limit_exceeded")
        self.assertIn("try again in 3s", response["error"]["message"])

    def test_notJSONAlthoughStreamAsked(self) -> None:
        """
        A non-SSE upstream body that is not JSON is read before the stream
        starts, so the client gets a 502 envelope, not a failed stream.
        """
        self.upstream.queue(JSONReply(b"<html>oops</html>"))
        error = self.assertError(self.post(responsesRequest(stream=True)), 502,
                                 "bad_upstream_response")
        self.assertIn("not JSON", error["message"])


class JSONTests(RelayTestCase):
    def test_text(self) -> None:
        """
        Without C{stream}, the answer is one Response object.
        """
        self.upstream.queue(JSONReply(completion("Hello", usage=usage(3, 1))))
        response = self.post(responsesRequest())
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["application/json"])
        body = json.loads(self.content(response))
        checkResponse(body)
        self.assertEqual(body["status"], "completed")
        self.assertEqual(body["output"][0]["content"][0]["text"], "Hello")
        self.assertEqual(body["usage"]["input_tokens"], 3)
        [sent] = self.upstream.requests
        self.assertEqual(sent.json["stream"], False)
        self.assertNotIn("stream_options", sent.json)
        self.assertEqual(sent.headers["accept"], "application/json")
        self.assertQuiet()

    def test_toolCall(self) -> None:
        self.upstream.queue(JSONReply(completion({
            "role": "assistant", "content": None,
            "tool_calls": [{"id": "call_9", "type": "function", "function": {
                "name": "get_weather", "arguments": '{"city":"Oslo"}'}}],
        }, finish="tool_calls", usage=usage(8, 4))))
        response = self.post(responsesRequest(tools=[WEATHER_TOOL]))
        self.assertEqual(response.code, 200)
        body = json.loads(self.content(response))
        checkResponse(body)
        [call] = body["output"]
        self.assertEqual((call["type"], call["call_id"], call["arguments"]),
                         ("function_call", "call_9", '{"city":"Oslo"}'))

    def test_notJSON(self) -> None:
        """
        A completion that is not JSON is a 502, not a 200 with garbage.
        """
        self.upstream.queue(JSONReply(b"<html>oops</html>"))
        self.assertError(self.post(responsesRequest()), 502, "bad_upstream_response",
                         "server_error")

    def test_notAnObject(self) -> None:
        self.upstream.queue(JSONReply([1, 2]))
        self.assertError(self.post(responsesRequest()), 502, "bad_upstream_response",
                         "server_error")


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


class RoutingTests(RelayTestCase):
    def test_health(self) -> None:
        response = self.respond("GET", "/health")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["application/json"])
        self.assertEqual(json.loads(self.content(response)), {"status": "ok"})
        self.assertEqual(self.upstream.requests, [])

    def test_unknownPaths(self) -> None:
        for path in ("/", "/nope", "/v1", "/v1/", "/v1/chat/completions",
                     "/v1/responses/resp_1", "/health/deep"):
            for method in ("GET", "POST"):
                response = self.respond(method, path)
                error = self.assertError(response, 404, "not_found",
                                         "invalid_request_error")
                self.assertIn(path, error["message"])
        self.assertEqual(self.upstream.requests, [])

    def test_wrongMethods(self) -> None:
        for method, path, allowed in (("GET", "/v1/responses", "POST"),
                                      ("POST", "/v1/models", "GET"),
                                      ("DELETE", "/health", "GET")):
            response = self.respond(method, path)
            self.assertError(response, 405, "method_not_allowed", "invalid_request_error")
            self.assertEqual(response.headers.getRawHeaders("allow"), [allowed])
        response = self.respond("PUT", "/v1/responses")
        self.assertError(response, 405, "method_not_allowed")
        self.assertIn("POST", response.headers.getRawHeaders("allow")[0])
        self.assertEqual(self.upstream.requests, [])

    def test_webSocketUpgrade(self) -> None:
        """
        Codex's WebSocket attempt gets a 426, so it falls back to HTTP.
        """
        response = self.respond("GET", "/v1/responses",
                                headers={"Upgrade": "websocket", "Connection": "Upgrade"})
        self.assertError(response, 426, "websocket_unsupported")
        self.assertEqual(self.upstream.requests, [])


class AuthorizationTests(RelayTestCase):
    def setUp(self) -> None:
        self.log = LogCapture(self)
        super().setUp()

    def test_modelsWithKey(self) -> None:
        """
        C{/v1/models} is proxied with the relay's key, not the client's.
        """
        self.makeRelay(apiKey=KEY)
        response = self.respond("GET", "/v1/models", headers={"Authorization": CLIENT_KEY})
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["application/json"])
        self.assertEqual(json.loads(self.content(response)), DEFAULT_MODELS)
        [sent] = self.upstream.requests
        self.assertEqual((sent.method, sent.path), ("GET", "/v1/models"))
        self.assertEqual(sent.headers["authorization"], "Bearer " + KEY)
        self.assertNotIn("cookie", sent.headers)
        self.assertNoKeyLogged()

    def test_modelsForwardsClientKey(self) -> None:
        response = self.respond("GET", "/v1/models", headers={"Authorization": CLIENT_KEY})
        self.assertEqual(json.loads(self.content(response)), DEFAULT_MODELS)
        self.assertEqual(self.upstream.requests[0].headers["authorization"], CLIENT_KEY)
        self.assertNoKeyLogged()

    def test_modelsWithoutAnyKey(self) -> None:
        self.content(self.respond("GET", "/v1/models"))
        self.assertNotIn("authorization", self.upstream.requests[0].headers)

    def test_responsesWithKey(self) -> None:
        self.makeRelay(apiKey=KEY)
        self.upstream.queue(Stream(HELLO), JSONReply({"error": {"message": "no"}}, status=401))
        self.stream(streamRequest())
        self.assertError(self.post(streamRequest(), headers={"Authorization": CLIENT_KEY}),
                         401, None)
        self.assertEqual([r.headers["authorization"] for r in self.upstream.requests],
                         ["Bearer " + KEY] * 2)
        self.assertEqual(len([line for line in self.log.texts()
                              if line.startswith("POST /v1/responses")]), 2)
        self.assertNoKeyLogged()

    def test_responsesForwardsClientKey(self) -> None:
        self.upstream.queue(Stream(HELLO))
        self.assertStream(self.post(streamRequest(), headers={"Authorization": CLIENT_KEY}))
        self.assertEqual(self.upstream.requests[0].headers["authorization"], CLIENT_KEY)
        self.assertNoKeyLogged()

    def assertNoKeyLogged(self) -> None:
        for line in self.log.texts():
            self.assertNotIn(KEY, line)
            self.assertNotIn(CLIENT_KEY.split()[1], line)


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


class TimeoutTests(RelayTestCase):
    def test_headers(self) -> None:
        """
        No upstream headers within C{headersTimeout}: a 504 envelope, and
        the upstream request is aborted.
        """
        self.makeRelay(headersTimeout=20, idleTimeout=5, totalTimeout=100)
        self.upstream.queue(Hang(headers=False))
        d = self.relay.request("POST", "/v1/responses", json=streamRequest())
        self.relay.advance(19.9)
        self.assertNoResult(d)
        self.assertEqual(self.upstream.disconnects, 0)
        self.relay.advance(0.1)
        error = self.assertError(self.successResultOf(d), 504, "upstream_timeout",
                                 "server_error")
        self.assertIn("20 seconds", error["message"])
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()

    def test_idle(self) -> None:
        """
        An upstream silent for C{idleTimeout} after streaming started: the
        stream ends with C{response.failed}, and the upstream is dropped.
        """
        self.makeRelay(idleTimeout=30)
        self.upstream.queue(Hang([text("Hel")]))
        collector = self.collect(self.post(streamRequest()))
        self.relay.advance(29)
        self.assertNoResult(collector.finished)
        self.assertEqual(self.upstream.disconnects, 0)
        self.relay.advance(1)
        self.successResultOf(collector.finished)
        response = self.assertFailedStream(checkStream(collector.body()), "server_error")
        self.assertIn("30 seconds", response["error"]["message"])
        self.assertEqual(response["output"][0]["status"], "incomplete")
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()

    def test_idleResetByData(self) -> None:
        """
        Each chunk restarts the idle clock.
        """
        self.makeRelay(idleTimeout=5)
        self.upstream.queue(Stream(HELLO, interval=4))
        collector = self.collect(self.post(streamRequest()))
        for _ in HELLO:
            self.relay.advance(4)
        self.successResultOf(collector.finished)
        self.assertEqual(checkStream(collector.body())[-1]["type"], "response.completed")
        self.assertQuiet()

    def test_totalBeforeHeaders(self) -> None:
        self.makeRelay(headersTimeout=300, totalTimeout=10)
        self.upstream.queue(Hang(headers=False))
        d = self.relay.request("POST", "/v1/responses", json=streamRequest())
        self.relay.advance(10)
        error = self.assertError(self.successResultOf(d), 504, "upstream_timeout")
        self.assertIn("10 seconds", error["message"])
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()

    def test_upstreamTotalTimeout(self) -> None:
        """
        An upstream's own C{total_timeout} replaces the relay-wide one for
        the requests routed to it.  (It used to be parsed and never read.)
        """
        table = parseRoutingTable(
            '[upstreams.quick]\nbase_url = "{}"\ntotal_timeout = 7\n'.format(UPSTREAM), {})
        self.makeRelay(headersTimeout=300, totalTimeout=100, routes=table)
        self.upstream.queue(Hang(headers=False))
        d = self.relay.request("POST", "/v1/responses", json=streamRequest())
        self.relay.advance(6)
        self.assertNoResult(d)
        self.relay.advance(1)
        error = self.assertError(self.successResultOf(d), 504, "upstream_timeout")
        self.assertIn("7 seconds", error["message"])
        self.assertQuiet()

    def test_totalWhileStreaming(self) -> None:
        """
        An upstream that keeps sending within the idle timeout is still cut
        at the total timeout.
        """
        self.makeRelay(idleTimeout=5, totalTimeout=10)
        self.upstream.queue(Stream([text(str(i)) for i in range(10)], interval=4))
        collector = self.collect(self.post(streamRequest()))
        for _ in range(3):
            self.relay.advance(4)
        self.successResultOf(collector.finished)
        events = checkStream(collector.body())
        response = self.assertFailedStream(events, "server_error")
        self.assertIn("10 seconds", response["error"]["message"])
        self.assertEqual(response["output"][0]["content"][0]["text"], "012")
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()


class DisconnectTests(RelayTestCase):
    """
    A client that leaves cancels the upstream request at once, before or
    after the upstream headers, and the relay writes nothing more.
    """

    def setUp(self) -> None:
        self.log = LogCapture(self)
        super().setUp()

    def assertCleanlyGone(self) -> None:
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertEqual(self.log.errors(), [])
        self.assertTrue(any("client-gone" in line for line in self.log.texts()))
        self.assertQuiet()

    def test_beforeHeaders(self) -> None:
        self.upstream.queue(Hang(headers=False))
        d = self.relay.request("POST", "/v1/responses", json=streamRequest())
        self.assertEqual(len(self.upstream.requests), 1)
        self.assertNoResult(d)
        d.cancel()
        self.relay.pump()
        self.failureResultOf(d, ResponseNeverReceived, CancelledError)
        self.assertCleanlyGone()

    def test_beforeHeadersNotStreaming(self) -> None:
        self.upstream.queue(Hang(headers=False))
        d = self.relay.request("POST", "/v1/responses", json=responsesRequest())
        d.cancel()
        self.relay.pump()
        self.failureResultOf(d, ResponseNeverReceived, CancelledError)
        self.assertCleanlyGone()

    def test_midStream(self) -> None:
        self.upstream.queue(Hang([text("Hel")]))
        collector = self.collect(self.post(streamRequest()))
        self.assertEqual(collector.types()[-1], "response.output_text.delta")
        received = collector.body()
        collector.leave()
        self.relay.pump()
        self.successResultOf(collector.finished)
        self.assertEqual(collector.body(), received)
        self.assertCleanlyGone()

    def test_midStreamWithChunksPending(self) -> None:
        """
        Chunks the upstream had scheduled are never sent once the client
        left.
        """
        self.upstream.queue(Stream(HELLO, interval=1))
        collector = self.collect(self.post(streamRequest()))
        collector.leave()
        self.relay.pump()
        self.relay.advance(10)
        self.assertCleanlyGone()

    def test_modelsBeforeHeaders(self) -> None:
        self.makeRelay(http=HangingHTTP())
        d = self.relay.request("GET", "/v1/models")
        self.assertEqual(len(self.relay.http.pending), 1)
        d.cancel()
        self.relay.pump()
        self.failureResultOf(d, ResponseNeverReceived, CancelledError)
        self.assertTrue(self.relay.http.pending[0].called)
        self.assertEqual(self.log.errors(), [])


class WatchedRequest(Request):
    """
    A request that records what the relay writes to it after its
    connection was lost (which L{Request} would silently drop).
    """

    lost = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lateWrites: list[bytes] = []

    def connectionLost(self, reason: Failure) -> None:
        self.lost = True
        super().connectionLost(reason)

    def write(self, data: bytes) -> None:
        if self.lost:
            self.lateWrites.append(data)
        super().write(data)


class DeadRequestTests(RelayTestCase):
    """
    Once the client's connection is lost, the relay writes nothing more,
    whatever the upstream still does.
    """

    def render(self, body: dict[str, Any]) -> tuple[WatchedRequest, BytesIO]:
        """
        Process a POST on a real L{Request} over a L{DummyChannel}; the
        request and what reached its transport.
        """
        channel = DummyChannel()
        channel.site = Site(self.relay.resource)
        request = WatchedRequest(channel)
        data = json.dumps(body).encode()
        request.gotLength(len(data))
        request.handleContentChunk(data)
        request.requestReceived(b"POST", b"/v1/responses", b"HTTP/1.1")
        self.relay.pump()
        return request, channel.transport.written

    def leave(self, request: WatchedRequest) -> None:
        request.connectionLost(Failure(ConnectionDone()))
        self.relay.pump()

    def assertSilent(self, request: WatchedRequest) -> None:
        self.relay.advance(1000)
        self.assertEqual(request.lateWrites, [])
        self.assertEqual(self.upstream.disconnects, 1)
        self.assertQuiet()

    def test_streaming(self) -> None:
        self.upstream.queue(Stream(HELLO, interval=1))
        request, written = self.render(streamRequest())
        self.assertIn(b"event: response.output_text.delta", written.getvalue())
        self.leave(request)
        self.assertSilent(request)

    def test_beforeHeaders(self) -> None:
        self.upstream.queue(Hang(headers=False))
        request, written = self.render(streamRequest())
        self.assertEqual(written.getvalue(), b"")
        self.leave(request)
        self.assertSilent(request)
        self.assertEqual(written.getvalue(), b"")

    def test_notStreaming(self) -> None:
        self.upstream.queue(Hang(headers=False))
        request, written = self.render(responsesRequest())
        self.leave(request)
        self.assertSilent(request)
        self.assertEqual(written.getvalue(), b"")


class PausedIdleClockTests(SynchronousTestCase):
    """
    The body protocol's idle clock stops while the client holds the stream
    (in memory the transports cannot pause, so L{TranslatingBody} is driven
    by hand here; the loopback tests cover it on real sockets).
    """

    def setUp(self) -> None:
        self.clock = Clock()
        request = streamRequest()
        settings = TranslationSettings(secret=b"s")
        translator = StreamTranslator(request, translateRequest(request, settings), settings)
        self.emitted: list[dict] = []
        self.body = TranslatingBody(translator, self.emitted.extend, self.clock, 10)
        self.transport = StringTransport()
        self.body.makeConnection(self.transport)

    def test_dataAfterPause(self) -> None:
        """
        Data still arriving after the pause does not restart the clock, and
        the silence of a paused upstream is not idleness.
        """
        assert self.body.producer is not None
        self.body.producer.pauseProducing()
        self.assertEqual(self.transport.producerState, "paused")
        self.body.dataReceived(b"data: " + json.dumps(text("Hel")).encode() + b"\n\n")
        self.clock.advance(60)
        self.assertNoResult(self.body.done)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.body.producer.resumeProducing()
        self.clock.advance(9)
        self.assertNoResult(self.body.done)
        self.clock.advance(1)
        self.failureResultOf(self.body.done, UpstreamIdle)
        self.assertEqual(self.transport.producerState, "stopped")


class RequestOptionsTests(RelayTestCase):
    def test_unbufferedWithoutRedirects(self) -> None:
        """
        Both upstream calls stream their bodies unbuffered and never follow
        redirects.
        """
        recorder = self.makeRelay(record=True).http
        self.upstream.queue(Stream(HELLO))
        self.stream()
        self.content(self.respond("GET", "/v1/models"))
        self.assertEqual([(method, url) for method, url, _ in recorder.calls],
                         [("POST", UPSTREAM + "/chat/completions"),
                          ("GET", UPSTREAM + "/models")])
        for _, _, kwargs in recorder.calls:
            self.assertEqual((kwargs["unbuffered"], kwargs["allow_redirects"]),
                             (True, False))


class HangingHTTP:
    """
    An HTTP client whose requests never get an answer, recording the
    pending Deferreds (which fail with L{CancelledError} when cancelled).
    """

    def __init__(self) -> None:
        self.pending: list[Deferred[Any]] = []

    def get(self, url: str, **kwargs: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self.pending.append(d)
        return d

    post = get
