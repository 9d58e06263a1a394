"""
Recorded-style Chat Completions streams of the eleven provider profiles, as
raw SSE bytes in each provider's own wire format, with what the relay must
make of them: the record types here, the streams in
L{tests.harness.vendorstreams} (the model makers' own APIs: DeepSeek, Kimi,
GLM, Qwen, Mistral, xAI) and L{tests.harness.hoststreams} (hosts and
servers: Groq, OpenRouter, vLLM, llama.cpp, Ollama), and the expectations
in L{tests.harness.providercases}.

Nothing here was captured from a live provider (no keys are used in this
project): each stream is written from the provider's documented format (its
API reference, streaming guide or server source), and the comment above it
says which, and which details are assumed.  Chunk JSON is compact, keys in
the order the provider's serialiser writes them, as a client sees it on the
wire.

Every provider has a success stream (C{providercases.FIXTURES}: reasoning
in its own field, text where the provider streams some, a tool call in its
shape, usage in its shape) and a mid-stream failure
(C{providercases.ERRORS}: its error shape after HTTP 200).  A few variants
sit in C{providercases.EXTRA}.

The client side of every fixture is the same question with one tool
(L{tests.harness.chunks.WEATHER_TOOL}); Ollama's asks for two cities and
calls twice.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    """
    The Responses usage a fixture's numbers must become.
    """

    input: int
    output: int
    cached: int = 0
    reasoning: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output


@dataclass(frozen=True)
class Call:
    """
    A function call the relay must output.  C{callId} L{None}: the relay
    makes one (the upstream gave none, e.g. a healed call).
    """

    name: str
    arguments: str
    callId: str | None


@dataclass(frozen=True)
class Fixture:
    """
    One provider's successful stream and what the relay must make of it.

    @ivar items: the output item types, in order.
    @ivar reasoning: the reasoning text, joined.
    @ivar text: the message text, joined ("" without a message).
    @ivar question: the user's question (Ollama asks about two cities).
    """

    name: str
    profile: str
    model: str
    body: bytes
    source: str
    items: tuple[str, ...]
    reasoning: str
    text: str
    calls: tuple[Call, ...]
    usage: Usage
    question: str = "What is the weather in Paris?"


@dataclass(frozen=True)
class ErrorFixture:
    """
    One provider's stream that fails after HTTP 200.

    @ivar code: the C{response.failed} error code the relay must give.
    @ivar message: a part of the error message the client must see, or
        L{None} when the provider's text cannot reach it.
    """

    name: str
    profile: str
    model: str
    body: bytes
    source: str
    code: str
    message: str | None


def wire(text: str) -> bytes:
    """
    The fixture text as bytes: the leading newline of the literal dropped,
    nothing else touched.
    """
    return text[1:].encode("utf-8") if text.startswith("\n") else text.encode("utf-8")
