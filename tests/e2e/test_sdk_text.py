"""
End to end with the official C{openai} SDK: a synchronous, strictly
validating C{openai.OpenAI} client talks to a real relay on loopback, which
talks to a L{ScriptedUpstream} on loopback.

The relay and the upstream run on the global reactor; the blocking SDK runs
in a thread (L{deferToThread}) so the reactor keeps serving both.  Every
HTTP exchange the SDK makes is recorded below its transport, so each stream
it saw is also checked byte for byte by L{tests.harness.oracle}; some requests are
replayed with plain treq as well.
"""

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx2
import openai
from openai.types.responses import (
    Response,
    ResponseCustomToolCall,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
)
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

import treq

from codex_relay import RelayConfig, RelayService, TranslationSettings
from tests.harness import oracle
from tests.harness.chunks import (
    WEATHER_TOOL, chunk, completion, finish, reasoning, text, toolCall, usage)
from tests.harness.upstream import Drop, JSONReply, ReceivedRequest, ScriptedUpstream, Stream
from tests.harness.sockets import Exchange, RecordingTransport, checkExchanges, serveUpstream, streamOf, trackConnections, webClient

T = TypeVar("T")

MODEL = "model-a"
CLIENT_KEY = "sk-client-key"
SECRET = b"codex-relay-e2e-secret"

PATCH_GRAMMAR = (
    'start: begin_patch hunk+ end_patch\n'
    'begin_patch: "*** Begin Patch" LF\n'
    'end_patch: "*** End Patch" LF?\n'
    'hunk: "*** Add File: " filename LF add_line+\n'
    'add_line: "+" /(.*)/ LF\n'
    'filename: /(.+)/\n'
    '%import common.LF\n'
)

APPLY_PATCH_TOOL = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files with a patch.",
    "format": {"type": "grammar", "syntax": "lark", "definition": PATCH_GRAMMAR},
}

PATCH = (
    "*** Begin Patch\n"
    "*** Add File: hello.txt\n"
    '+print("hi {there}") \\ "quoted"\n'
    "*** End Patch\n"
)

THINKING_REQUIRED = "The reasoning_content in the thinking mode must be passed back to the API."


# -- Shared fixtures (also used by tests.test_launch) --------------------------


# -- Recording what the SDK sees ---------------------------------------------


# -- The test case -------------------------------------------------------------


def functionCallOutput(callId: str, output: str) -> dict[str, str]:
    return {"type": "function_call_output", "call_id": callId, "output": output}


def weatherCalls() -> Stream:
    """
    Two parallel calls of get_weather, streamed in fragments.
    """
    return Stream([
        toolCall(0, id="call_paris", name="get_weather", arguments=""),
        toolCall(0, arguments='{"city":'),
        toolCall(0, arguments='"Paris"}'),
        toolCall(1, id="call_rome", name="get_weather", arguments='{"city":"Rome"}'),
        finish("tool_calls"),
        chunk(choices=False, usage=usage(30, 20)),
    ])


def upstreamError(status: int, message: str, **fields: Any) -> JSONReply:
    return JSONReply({"error": {"message": message, **fields}}, status=status)


class SDKTests(TestCase):
    """
    The openai SDK against a real relay.
    """

    timeout = 20

    async def setUp(self) -> None:
        self.upstream = ScriptedUpstream(reactor=reactor)
        upstreamURL = await serveUpstream(self, self.upstream)
        self.service = RelayService(
            RelayConfig(upstream=upstreamURL,
                        translation=TranslationSettings(secret=SECRET)),
            reactor, listen=["tcp:0:interface=127.0.0.1"])
        trackConnections(self, self.service.site)
        self.service.startService()
        self.addCleanup(self.service.stopService)
        [port] = await self.service.listening
        self.relayURL = "http://127.0.0.1:{}/v1".format(port.getHost().port)
        self.transport = RecordingTransport()
        self.client = self.makeClient(maxRetries=0)
        self.web = webClient(self)
        self.addCleanup(self.checkExchanges)

    def makeClient(self, maxRetries: int) -> openai.OpenAI:
        client = openai.OpenAI(
            api_key=CLIENT_KEY, base_url=self.relayURL, max_retries=maxRetries,
            timeout=10.0, _strict_response_validation=True,
            http_client=httpx2.Client(transport=self.transport))
        self.addCleanup(client.close)
        return client

    def sdk(self, call: Callable[[openai.OpenAI], T],
            client: openai.OpenAI | None = None) -> "Deferred[T]":
        """
        Run a blocking SDK call in a thread; the Deferred fires with its
        result.
        """
        return deferToThread(call, client or self.client)

    @property
    def exchanges(self) -> list[Exchange]:
        return self.transport.exchanges

    def checkExchanges(self) -> None:
        """
        Hold everything the SDK received to the oracle: streams, Response
        bodies, and the OpenAI envelope of errors.
        """
        checkExchanges(self, self.exchanges)

    def sdkEvents(self, index: int = -1) -> list[dict[str, Any]]:
        """
        The stream of exchange C{index} as the SDK received it, checked by
        the oracle.
        """
        return streamOf(self, self.exchanges[index])

    async def replayRaw(self, index: int = -1) -> list[dict[str, Any]]:
        """
        Send the SDK's request C{index} again with plain treq, check the raw
        SSE with the oracle, and check its event types equal the SDK's.
        """
        exchange = self.exchanges[index]
        response = await self.web.post(
            exchange.url, data=exchange.requestBody,
            headers={"Content-Type": ["application/json"],
                     "Authorization": ["Bearer " + CLIENT_KEY]})
        body = await treq.content(response)
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type")[0].split(";")[0],
                         "text/event-stream")
        self.assertEqual(response.headers.getRawHeaders("cache-control"), ["no-cache"])
        events = oracle.checkStream(body)
        self.assertEqual([e["type"] for e in events],
                         [e["type"] for e in self.sdkEvents(index)])
        return events

    def chatRequests(self) -> list[ReceivedRequest]:
        return [r for r in self.upstream.requests if r.path == "/v1/chat/completions"]

    # Plain text.

    async def test_createText(self) -> None:
        """
        Non-streaming C{responses.create()} returns a validated Response; the
        upstream is asked without streaming.
        """
        self.upstream.queue(JSONReply(completion("Hello, world!", usage=usage(12, 5))))
        response = await self.sdk(lambda c: c.responses.create(model=MODEL, input="Say hello"))
        self.assertIsInstance(response, Response)
        self.assertEqual(response.status, "completed")
        self.assertEqual(response.output_text, "Hello, world!")
        self.assertEqual(len(response.output), 1)
        self.assertIsInstance(response.output[0], ResponseOutputMessage)
        self.assertEqual((response.usage.input_tokens, response.usage.output_tokens,
                          response.usage.total_tokens), (12, 5, 17))
        [sent] = self.chatRequests()
        self.assertEqual(sent.json["model"], MODEL)
        self.assertIs(sent.json["stream"], False)
        self.assertEqual(sent.json["messages"], [{"role": "user", "content": "Say hello"}])
        self.assertEqual(sent.headers["authorization"], "Bearer " + CLIENT_KEY)
        raw = json.loads(self.exchanges[-1].body)
        oracle.checkResponse(raw)
        self.assertEqual(raw["id"], response.id)

    async def test_createStreamIterated(self) -> None:
        """
        C{responses.create(stream=True)} yields the canonical event sequence
        of a text answer.
        """
        reply = Stream([text("Hel"), text("lo, "), text("world!"), finish("stop"),
                        chunk(choices=False, usage=usage(9, 3))])
        self.upstream.queue(reply, reply)
        events = await self.sdk(lambda c: list(c.responses.create(
            model=MODEL, input="Say hello", stream=True)))
        self.assertEqual([e.type for e in events], [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ])
        self.assertEqual([e.sequence_number for e in events], list(range(11)))
        self.assertEqual([e.delta for e in events if e.type == "response.output_text.delta"],
                         ["Hel", "lo, ", "world!"])
        final = events[-1].response
        self.assertEqual(final.status, "completed")
        self.assertEqual(final.output_text, "Hello, world!")
        self.assertEqual(final.usage.total_tokens, 12)
        self.assertIs(self.chatRequests()[0].json["stream"], True)
        self.assertEqual(self.chatRequests()[0].json["stream_options"],
                         {"include_usage": True})
        self.assertEqual(self.sdkEvents()[-1]["response"]["id"], final.id)
        await self.replayRaw()

    async def test_streamText(self) -> None:
        """
        C{responses.stream()} accumulates the text into the final response.
        """
        reply = Stream([text("Bonjour"), text(" !"), finish("stop")])
        self.upstream.queue(reply, reply)

        def run(client: openai.OpenAI) -> tuple[list[str], Response]:
            with client.responses.stream(model=MODEL, input="Say hello") as stream:
                deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
                return deltas, stream.get_final_response()

        deltas, final = await self.sdk(run)
        self.assertEqual(deltas, ["Bonjour", " !"])
        self.assertEqual(final.output_text, "Bonjour !")
        self.assertEqual(final.status, "completed")
        # No usage upstream: the relay estimates it rather than sending none.
        self.assertGreater(final.usage.input_tokens, 0)
        self.assertGreater(final.usage.output_tokens, 0)
        self.sdkEvents()
        await self.replayRaw()

    # Tools.

    def finalResponse(self, **request: Any) -> "Deferred[Response]":
        """
        C{responses.stream(**request).get_final_response()} in a thread.
        """
        def run(client: openai.OpenAI) -> Response:
            with client.responses.stream(model=MODEL, **request) as stream:
                return stream.get_final_response()

        return self.sdk(run)

    async def test_functionCall(self) -> None:
        """
        A streamed tool call comes back as a ResponseFunctionToolCall with the
        upstream's id, name and joined arguments.
        """
        reply = Stream([
            toolCall(0, id="call_abc", name="get_weather", arguments=""),
            toolCall(0, arguments='{"ci'),
            toolCall(0, arguments='ty": "Paris"}'),
            finish("tool_calls"),
        ])
        self.upstream.queue(reply, reply)
        final = await self.finalResponse(input="Weather in Paris?", tools=[WEATHER_TOOL])
        self.assertEqual(len(final.output), 1)
        call = final.output[0]
        self.assertIsInstance(call, ResponseFunctionToolCall)
        self.assertEqual((call.name, call.arguments, call.call_id, call.status),
                         ("get_weather", '{"city": "Paris"}', "call_abc", "completed"))
        self.assertTrue(call.id.startswith("fc_"))
        [sent] = self.chatRequests()
        self.assertEqual(sent.json["tools"], [{
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather in a city.",
                "parameters": WEATHER_TOOL["parameters"],
                "strict": True,
            },
        }])
        events = await self.replayRaw()
        done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
        self.assertEqual([(e["name"], e["arguments"]) for e in done],
                         [("get_weather", '{"city": "Paris"}')])

    async def test_parallelCallsAndOutputs(self) -> None:
        """
        Two calls in one response; sending back the output items with two
        function_call_output items gives the upstream one assistant message
        with both tool_calls, then the two tool messages.
        """
        self.upstream.queue(weatherCalls(),
                            Stream([text("Paris 18C, Rome 21C."), finish("stop")]))
        question = {"role": "user", "content": "Weather in Paris and Rome?"}
        first = await self.finalResponse(input=[question], tools=[WEATHER_TOOL])
        for item in first.output:
            self.assertIsInstance(item, ResponseFunctionToolCall)
        self.assertEqual(
            [(i.call_id, i.name, i.arguments) for i in first.output],
            [("call_paris", "get_weather", '{"city":"Paris"}'),
             ("call_rome", "get_weather", '{"city":"Rome"}')])
        self.sdkEvents()

        second = await self.finalResponse(
            input=[question, *first.output, functionCallOutput("call_paris", "18C"),
                   functionCallOutput("call_rome", "21C")],
            tools=[WEATHER_TOOL])
        self.assertEqual(second.output_text, "Paris 18C, Rome 21C.")
        self.sdkEvents()
        self.assertEqual(self.chatRequests()[1].json["messages"], [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_paris", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                {"id": "call_rome", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}},
            ]},
            {"role": "tool", "tool_call_id": "call_paris", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_rome", "content": "21C"},
        ])

    # Reasoning.

    def thinkingUpstream(self, thought: str) -> None:
        """
        Script a thinking-mode upstream (DeepSeek-style): the first turn
        reasons, then calls a tool; any later request is refused unless its
        assistant tool-call messages carry that reasoning back.
        """
        def respond(body: Any, received: ReceivedRequest) -> Stream | JSONReply:
            calls = [m for m in body["messages"]
                     if m["role"] == "assistant" and m.get("tool_calls")]
            if not calls:
                half = len(thought) // 2
                return Stream([
                    reasoning(thought[:half]), reasoning(thought[half:]),
                    toolCall(0, id="call_oslo", name="get_weather",
                             arguments='{"city":"Oslo"}'),
                    finish("tool_calls"),
                    chunk(choices=False, usage=usage(50, 30, reasoning=12)),
                ])
            if any(m.get("reasoning_content") != thought for m in calls):
                return upstreamError(400, THINKING_REQUIRED,
                                     type="invalid_request_error", code="invalid_request_error")
            return Stream([text("It is 3C in Oslo."), finish("stop")])

        self.upstream.respond = respond

    async def reasoningTurns(self, thought: str, resend: Callable[[Any], Any]) -> Response:
        """
        Run the two turns of L{thinkingUpstream}, sending the first turn's
        output items back through C{resend}.
        """
        self.thinkingUpstream(thought)
        question = {"role": "user", "content": "Weather in Oslo?"}
        include = ["reasoning.encrypted_content"]
        first = await self.finalResponse(input=[question], tools=[WEATHER_TOOL],
                                         include=include, store=False)
        thinking, call = first.output
        self.assertIsInstance(thinking, ResponseReasoningItem)
        self.assertIsInstance(call, ResponseFunctionToolCall)
        self.assertEqual([s.text for s in thinking.summary], [thought])
        self.assertIsInstance(thinking.encrypted_content, str)
        self.assertNotIn(thought, thinking.encrypted_content)
        self.assertEqual(first.usage.output_tokens_details.reasoning_tokens, 12)
        self.sdkEvents()

        second = await self.finalResponse(
            input=[question, *[resend(i) for i in first.output],
                   functionCallOutput("call_oslo", "3C")],
            tools=[WEATHER_TOOL], include=include, store=False)
        self.assertEqual(second.output_text, "It is 3C in Oslo.")
        self.sdkEvents()
        assistant = self.chatRequests()[1].json["messages"][1]
        self.assertEqual(assistant["reasoning_content"], thought)
        self.assertEqual(assistant["tool_calls"][0]["id"], "call_oslo")
        return second

    async def test_reasoningPassedBack(self) -> None:
        """
        Reasoning streamed before a tool call travels back to the upstream
        on the next turn, on the assistant message with the tool call, when
        the client returns the output items it got.
        """
        await self.reasoningTurns("The user wants Oslo; call get_weather.", lambda i: i)

    async def test_reasoningFromEncryptedContent(self) -> None:
        """
        The reasoning sent back comes from C{encrypted_content}, not from the
        visible summary, which clients may drop or alter.
        """
        def withoutSummary(item: Any) -> Any:
            if isinstance(item, ResponseReasoningItem):
                return {"type": "reasoning", "summary": [],
                        "encrypted_content": item.encrypted_content}
            return item

        await self.reasoningTurns("Think about Oslo first.", withoutSummary)

    async def test_reasoningRequiredByUpstream(self) -> None:
        """
        Without the reasoning item the scripted upstream refuses the turn,
        and the SDK sees its message: the check in L{thinkingUpstream} bites.
        """
        self.thinkingUpstream("Some thought.")
        request = dict(model=MODEL, tools=[WEATHER_TOOL], input=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"type": "function_call", "call_id": "call_oslo", "name": "get_weather",
             "arguments": '{"city":"Oslo"}'},
            functionCallOutput("call_oslo", "3C")])
        with self.assertRaises(openai.BadRequestError) as caught:
            await self.sdk(lambda c: c.responses.create(**request))
        self.assertEqual(caught.exception.body["message"], THINKING_REQUIRED)

    # Custom tools.

    async def test_customTool(self) -> None:
        """
        A custom (freeform) tool is offered upstream as a function with one
        string parameter, and its call comes back as a ResponseCustomToolCall
        with the raw input.
        """
        arguments = json.dumps({"input": PATCH})
        reply = Stream([
            toolCall(0, id="call_patch", name="apply_patch", arguments=arguments[:17]),
            toolCall(0, arguments=arguments[17:40]),
            toolCall(0, arguments=arguments[40:]),
            finish("tool_calls"),
        ])
        self.upstream.queue(reply, reply)
        final = await self.finalResponse(input="Add hello.txt", tools=[APPLY_PATCH_TOOL])
        [call] = final.output
        self.assertIsInstance(call, ResponseCustomToolCall)
        self.assertEqual((call.name, call.call_id, call.input),
                         ("apply_patch", "call_patch", PATCH))
        [tool] = self.chatRequests()[0].json["tools"]
        self.assertEqual(tool["type"], "function")
        function = tool["function"]
        self.assertEqual(function["name"], "apply_patch")
        self.assertTrue(function["description"].startswith("Edit files with a patch."))
        self.assertIn("lark", function["description"])
        self.assertIn(PATCH_GRAMMAR.strip(), function["description"])
        self.assertEqual(function["parameters"]["properties"]["input"]["type"], "string")
        self.assertEqual(function["parameters"]["required"], ["input"])
        events = await self.replayRaw()
        deltas = "".join(e["delta"] for e in events
                         if e["type"] == "response.custom_tool_call_input.delta")
        self.assertEqual(deltas, PATCH)

    # Messages and usage.

    async def test_instructionsAndDeveloperMessages(self) -> None:
        """
        Instructions come first, then developer and user messages in order.
        """
        self.upstream.queue(JSONReply(completion("Oui.")))
        response = await self.sdk(lambda c: c.responses.create(
            model=MODEL, instructions="You are terse.", input=[
                {"role": "developer", "content": "Answer in French."},
                {"role": "user", "content": "Is it raining?"},
                {"role": "developer", "content": "Never use emoji."},
                {"role": "user", "content": [{"type": "input_text", "text": "Well?"}]},
            ]))
        self.assertEqual(response.output_text, "Oui.")
        self.assertEqual(response.instructions, "You are terse.")
        self.assertEqual(self.chatRequests()[0].json["messages"], [
            {"role": "system", "content": "You are terse."},
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Is it raining?"},
            {"role": "system", "content": "Never use emoji."},
            {"role": "user", "content": "Well?"},
        ])

    async def test_usageDetails(self) -> None:
        """
        Cached and reasoning tokens reach the SDK's usage details.
        """
        reply = Stream([reasoning("Hmm."), text("42"), finish("stop"),
                        chunk(choices=False, usage=usage(100, 40, cached=60, reasoning=25))])
        self.upstream.queue(reply, reply)
        final = await self.finalResponse(input="The answer?")
        self.assertEqual(final.output_text, "42")
        u = final.usage
        self.assertEqual(
            (u.input_tokens, u.input_tokens_details.cached_tokens,
             u.input_tokens_details.cache_write_tokens, u.output_tokens,
             u.output_tokens_details.reasoning_tokens, u.total_tokens),
            (100, 60, 0, 40, 25, 140))
        await self.replayRaw()

    async def test_usageDeepSeekCacheHits(self) -> None:
        """
        DeepSeek's C{prompt_cache_hit_tokens} become cached tokens.
        """
        self.upstream.queue(JSONReply(completion("ok", usage=usage(80, 2, deepseekHits=64))))
        response = await self.sdk(lambda c: c.responses.create(model=MODEL, input="hi"))
        self.assertEqual((response.usage.input_tokens,
                          response.usage.input_tokens_details.cached_tokens),
                         (80, 64))

    # Errors before the stream.

    async def assertSDKError(self, reply: JSONReply, error: type[openai.APIStatusError],
                             status: int, message: str, code: str | None) -> list[Any]:
        """
        Both a plain and a streaming request meet C{reply} as C{error} with
        C{status}, the upstream's C{message} and C{code}.

        @return: the two exceptions.
        """
        self.upstream.queue(reply, reply)
        caught = []
        for stream in (False, True):
            with self.assertRaises(error) as context:
                await self.sdk(lambda c: c.responses.create(
                    model=MODEL, input="hi", stream=stream))
            exception = context.exception
            self.assertEqual(exception.status_code, status)
            self.assertEqual(exception.body["message"], message)
            self.assertEqual(exception.code, code)
            self.assertEqual(exception.response.headers["content-type"], "application/json")
            caught.append(exception)
        self.assertEqual(len(self.chatRequests()), 2)
        return caught

    async def test_badRequest(self) -> None:
        message = "Invalid 'temperature': must be at most 2."
        await self.assertSDKError(
            upstreamError(400, message, type="invalid_request_error", param="temperature",
                          code="invalid_value"),
            openai.BadRequestError, 400, message, "invalid_value")

    async def test_contextOverflow(self) -> None:
        message = ("This model's maximum context length is 65536 tokens. However, you "
                   "requested 70123 tokens. Please reduce the length of the messages.")
        errors = await self.assertSDKError(
            upstreamError(400, message, type="invalid_request_error"),
            openai.BadRequestError, 400, message, "context_length_exceeded")
        self.assertEqual(errors[0].body["code"], "context_length_exceeded")

    async def test_rateLimited(self) -> None:
        """
        A 429 without Retry-After reaches the SDK with one.
        """
        message = "Rate limit reached for requests."
        for error in await self.assertSDKError(
                upstreamError(429, message, type="requests"),
                openai.RateLimitError, 429, message, "rate_limit_exceeded"):
            self.assertEqual(error.response.headers["retry-after"], "2")

    async def test_unauthorized(self) -> None:
        message = "Incorrect API key provided."
        await self.assertSDKError(
            upstreamError(401, message, type="authentication_error", code="invalid_api_key"),
            openai.AuthenticationError, 401, message, "invalid_api_key")

    async def test_upstreamServerError(self) -> None:
        message = "The server had an error while processing your request."
        await self.assertSDKError(
            upstreamError(500, message, type="server_error"),
            openai.InternalServerError, 502, message, "server_error")

    async def test_retryAfterHonoured(self) -> None:
        """
        With retries on, the SDK waits the relay's Retry-After (the
        upstream's "try again in 200ms", rounded up) and then succeeds.
        """
        self.upstream.queue(
            upstreamError(429, "Rate limit reached. Please try again in 200ms.",
                          code="rate_limit_exceeded"),
            Stream([text("ok"), finish("stop")]))
        client = self.makeClient(maxRetries=1)
        started = time.monotonic()
        final = await self.sdk(lambda c: c.responses.create(model=MODEL, input="hi"), client)
        self.assertEqual(final.output_text, "ok")
        self.assertEqual([e.status for e in self.exchanges], [429, 200])
        self.assertEqual(self.exchanges[0].headers["retry-after"], "1")
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        self.assertEqual(len(self.chatRequests()), 2)

    # Endings other than completed.

    async def assertFailedMidStream(self, reply: Stream, message: str) -> None:
        """
        C{reply} breaks off after some text: the stream ends with
        response.failed, and get_final_response() raises as the SDK does
        without response.completed.
        """
        self.upstream.queue(reply, reply)

        def run(client: openai.OpenAI) -> tuple[list[Any], BaseException]:
            with client.responses.stream(model=MODEL, input="Tell me") as stream:
                events = list(stream)
                try:
                    stream.get_final_response()
                except RuntimeError as e:
                    return events, e
                raise AssertionError("get_final_response() did not raise")

        events, error = await self.sdk(run)
        self.assertEqual(str(error), "Didn't receive a `response.completed` event.")
        last = events[-1]
        self.assertEqual(last.type, "response.failed")
        self.assertEqual(last.response.status, "failed")
        self.assertEqual(last.response.error.code, "server_error")
        self.assertEqual(last.response.error.message, message)
        [partial] = last.response.output
        self.assertEqual(partial.status, "incomplete")
        self.assertEqual(partial.content[0].text, "Partial ")
        self.assertEqual(self.sdkEvents()[-1]["type"], "response.failed")
        await self.replayRaw()

    async def test_errorChunkMidStream(self) -> None:
        await self.assertFailedMidStream(
            Stream([text("Partial "),
                    {"error": {"message": "Upstream overloaded.", "type": "server_error"}}],
                   done=False),
            "Upstream overloaded.")

    async def test_endedMidStream(self) -> None:
        """
        A body that ends cleanly without a finish_reason or C{[DONE]}.
        """
        await self.assertFailedMidStream(
            Stream([text("Partial ")], done=False),
            "The upstream stream ended before the response was complete.")

    async def test_droppedMidStream(self) -> None:
        """
        A connection cut in the middle of the chunked body.
        """
        await self.assertFailedMidStream(
            Drop([text("Partial ")]), "The upstream closed the connection before the response was complete.")

    async def test_lengthIsIncomplete(self) -> None:
        """
        C{finish_reason: length} ends the stream with response.incomplete,
        reason max_output_tokens.
        """
        reply = Stream([text("Once upon"), finish("length"),
                        chunk(choices=False, usage=usage(7, 5))])
        self.upstream.queue(reply, reply)
        events = await self.sdk(lambda c: list(c.responses.create(
            model=MODEL, input="A long story", max_output_tokens=5, stream=True)))
        last = events[-1]
        self.assertEqual(last.type, "response.incomplete")
        self.assertEqual(last.response.status, "incomplete")
        self.assertEqual(last.response.incomplete_details.reason, "max_output_tokens")
        self.assertEqual(last.response.output_text, "Once upon")
        self.assertEqual(last.response.output[0].status, "incomplete")
        self.assertEqual(last.response.usage.output_tokens, 5)
        self.assertEqual(self.chatRequests()[0].json["max_tokens"], 5)
        self.assertEqual(sum(e.type.startswith("response.incomplete") for e in events), 1)
        await self.replayRaw()

    # Models.

    async def test_modelsList(self) -> None:
        """
        C{models.list()} goes through the relay to the upstream's list.
        """
        page = await self.sdk(lambda c: c.models.list())
        self.assertEqual([(m.id, m.owned_by) for m in page.data], [("model-a", "test")])
        [sent] = self.upstream.requests
        self.assertEqual((sent.method, sent.path), ("GET", "/v1/models"))
        self.assertEqual(sent.headers["authorization"], "Bearer " + CLIENT_KEY)
