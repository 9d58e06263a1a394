"""
Stored responses over real relays: a scripted upstream that answers each
turn streamed or whole, as the relay asked (L{ScriptedAnswers}); relay
child processes (L{startRelay}, stopped when the test ends); and the openai
SDK talking to them (L{sdkClient}, L{createResponse}, L{sdk}).

    answers, upstream, url = await serveAnswers(self)
    relay = await startRelay(self, url, store="sqlite:" + path, secret="s")
    client = sdkClient(self, relay)
    answers.add(TOOL_TURN)
    first = await sdk(createResponse, client, True, input="Weather?")
    await stopRelay(relay)                    # 0: it exited cleanly

The upstream and the relays run apart: the relays in their own processes,
the upstream on this test's reactor, so every blocking call (starting a
relay, waiting for its exit, the SDK) runs in a thread.
"""

import os
import subprocess
from collections.abc import Callable
from typing import Any, TypeVar

import openai
from openai.types.responses import Response
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from codex_relay import start
from tests.harness.chunks import completion, finish, reasoning, text, toolCall
from tests.harness.replies import errorBody
from tests.harness.sockets import serveUpstream
from tests.harness.upstream import JSONReply, ReceivedRequest, Reply, ScriptedUpstream, Stream

T = TypeVar("T")

MODEL = "model-a"
RELAY_KEY = "sk-relay-upstream-key"
CLIENT_KEY = "sk-store-client"
EXIT = 10.0

# One upstream answer: (reasoning, text, tool call in Chat form).
Answer = tuple[str | None, str | None, dict[str, Any] | None]

THOUGHT = "The user wants Oslo; call get_weather."
CALL = {"id": "call_oslo", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
TOOL_TURN: Answer = (THOUGHT, None, CALL)
WEATHER_TURN: Answer = (None, "It is 3C in Oslo.", None)
THANKS_TURN: Answer = ("Thanked: be polite.", "You are welcome.", None)


def answer(streaming: bool, thought: str | None, words: str | None,
           call: dict[str, Any] | None) -> Reply:
    """
    One upstream answer, as a stream of chunks or as a whole completion.
    """
    why = "tool_calls" if call else "stop"
    if not streaming:
        message: dict[str, Any] = {"role": "assistant", "content": words}
        if thought:
            message["reasoning_content"] = thought
        if call:
            message["tool_calls"] = [call]
        return JSONReply(completion(message, finish=why))
    chunks = [reasoning(thought)] if thought else []
    if words:
        chunks.append(text(words))
    if call:
        function = call["function"]
        chunks.append(toolCall(0, id=call["id"], name=function["name"],
                               arguments=function["arguments"]))
    return Stream([*chunks, finish(why)])


class ScriptedAnswers:
    """
    A L{ScriptedUpstream} C{respond} callable: the next L{Answer}, streamed
    when the Chat request asks for a stream; a 500 when none is left.

    @ivar pending: the answers not given yet.
    """

    def __init__(self, *answers: Answer) -> None:
        self.pending = list(answers)

    def add(self, *answers: Answer) -> None:
        self.pending.extend(answers)

    def __call__(self, body: Any, received: ReceivedRequest) -> Reply:
        if not self.pending:
            return JSONReply(errorBody("ScriptedAnswers: no answer left", "server_error"),
                             status=500)
        return answer(bool(body.get("stream")), *self.pending.pop(0))


async def serveAnswers(case: TestCase) -> tuple[ScriptedAnswers, ScriptedUpstream, str]:
    """
    A L{ScriptedAnswers} upstream on a loopback port for the length of
    C{case}: the script, the upstream, its base URL.
    """
    answers = ScriptedAnswers()
    upstream = ScriptedUpstream(answers)
    return answers, upstream, await serveUpstream(case, upstream)


def chatMessages(upstream: ScriptedUpstream) -> list[list[dict[str, Any]]]:
    """
    The C{messages} of each Chat request the upstream received, in order.
    """
    return [r.json["messages"] for r in upstream.requests
            if r.path == "/v1/chat/completions"]


def relayEnvironment() -> dict[str, str]:
    """
    This process's environment without any C{CODEX_RELAY_*} variable: the
    options a test gives are the only ones.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith("CODEX_RELAY_")}


async def startRelay(case: TestCase, upstreamURL: str,
                     **options: object) -> "subprocess.Popen[bytes]":
    """
    A relay child process on a free loopback port, relaying to
    C{upstreamURL} with L{RELAY_KEY}; stopped when C{case} ends (before the
    upstream, whose cleanups were added earlier).
    """
    process = await deferToThread(start, port=0, upstream=upstreamURL, api_key=RELAY_KEY,
                                  env=relayEnvironment(), **options)
    case.addCleanup(stopRelay, process)
    return process


async def stopRelay(process: "subprocess.Popen[bytes]") -> int:
    """
    Stop a relay (SIGTERM, then SIGKILL after L{EXIT} seconds) and collect
    it; its exit status.  Stopping it again answers the same status.
    """
    if process.poll() is None:
        process.terminate()
    try:
        return await deferToThread(process.wait, EXIT)
    except subprocess.TimeoutExpired:
        process.kill()
        return await deferToThread(process.wait)


def sdkClient(case: TestCase, relay: Any, apiKey: str = CLIENT_KEY) -> openai.OpenAI:
    """
    A strictly validating openai client of C{relay}, closed when C{case}
    ends.
    """
    client = openai.OpenAI(api_key=apiKey, base_url=relay.base_url, max_retries=0,
                           timeout=10.0, _strict_response_validation=True)
    case.addCleanup(client.close)
    return client


def sdk(call: Callable[..., T], *args: Any, **kwargs: Any) -> "Deferred[T]":
    """
    A blocking SDK call, in a thread.
    """
    return deferToThread(call, *args, **kwargs)


def createResponse(client: openai.OpenAI, streaming: bool, **request: Any) -> Response:
    """
    C{responses.create(**request)} (blocking): the Response, or the one in
    the terminal event of the stream, which must be C{response.completed}.
    """
    if not streaming:
        return client.responses.create(model=MODEL, **request)
    events = list(client.responses.create(model=MODEL, stream=True, **request))
    if events[-1].type != "response.completed":
        raise AssertionError("the stream ended with {}".format(events[-1].type))
    return events[-1].response
