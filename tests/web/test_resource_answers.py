"""
Translated answers from the relay's resource tree in memory (a
L{ScriptedUpstream} served through L{StubTreq}, one L{MemoryReactorClock}):
streamed chunk by chunk or whole, each checked by the oracle, and a stream
the upstream breaks ending with C{response.failed}.
"""

import json

from tests.harness.chunks import chunk, completion, finish, text, toolCall, usage
from tests.harness.oracle import checkResponse
from tests.harness.upstream import Drop, Hang, JSONReply, Stream
from tests.harness.memory import HELLO, RelayTestCase, responsesRequest, streamRequest


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
