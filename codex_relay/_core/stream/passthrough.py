"""
Passthrough to an upstream that serves the Responses API itself (a route
with C{api = "responses"}: xAI, vLLM, Ollama, llama.cpp, Groq, OpenRouter,
DashScope, DeepSeek...).

The client's request goes to the upstream's C{/responses} with only
C{model} renamed to the route's upstream model; the upstream's answer comes
back unchanged.  No translation, no profile adaptation, no parameter retry:
the upstream judges the request.  The relay still owns what it owns for
every route (the shell's exchange does that part): the key, the
timeouts, the error envelope for an upstream error before the first byte,
cancelling the upstream when the client goes away, and a stream that
always ends with a terminal event.

For that last guarantee L{PassthroughStream} watches the events on their
way through.  It forwards whole events only: an incomplete one is held
back until its blank line arrives, so that a stream cut off mid-event can
still be ended cleanly with an appended C{response.failed} (one larger than
C{maxEventBytes} raises L{SSETooLarge} instead of being held).  The bytes
the client gets are the upstream's, unchanged and in order, up to and
including the read that completes the terminal event; what an upstream
sends after its terminal event is drained, not forwarded (and an upstream
that then keeps its body open loses the connection after the idle
timeout).

No Twisted here, no clock and no randomness (a substitute response's id
and time come from the C{ids} and C{clock} it is given):
L{codex_relay._web.body.RelayedBody} feeds it.
"""

import json
from typing import Any, NoReturn

from codex_relay._core.errors import classifyFailure, retryAfterSeconds, upstreamJSONObject
from codex_relay._core.stream.open_item import OpenItem
from codex_relay._core.stream.response import Clock, Ids, responseSkeleton
from codex_relay._core.sse import MAX_EVENT_BYTES, SSEDecoder, SSEEvent, SSETooLarge

TERMINAL = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}

# The lifecycle events whose response a substitute terminal event builds on.
_LIFECYCLE = ("response.created", "response.queued", "response.in_progress")

# The codes Codex acts on in a response.failed; everything else is a server_error.
_STREAM_CODES = ("context_length_exceeded", "insufficient_quota", "rate_limit_exceeded")

# A blank line ends an event.  Line ends are CRLF, CR or LF, so any of these
# marks one.
_BLANK_LINE_ENDS = (b"\n\n", b"\n\r", b"\r\r")


def forwardedBody(body: dict[str, Any], upstreamModel: str) -> bytes:
    """
    The client's request as the upstream gets it: C{model} renamed,
    everything else as it was (keys in their order).
    """
    return json.dumps(dict(body, model=upstreamModel)).encode("utf-8")


def _lastEventEnd(data: bytes) -> int:
    """
    The index just past the last blank line in C{data} (past the LF of a
    CRLF), or -1.  A blank line whose last CR ends C{data} does not count
    yet: its LF may be on the way, and belongs with it.
    """
    limit = len(data)
    while True:
        found = max(data.rfind(end, 0, limit) for end in _BLANK_LINE_ENDS)
        if found < 0:
            return -1
        end = found + 2
        if data[end - 1] != 13:
            return end
        if end < len(data):
            return end + 1 if data[end] == 10 else end
        limit = end - 1


def _streamCode(code: str) -> str:
    return code if code in _STREAM_CODES else "server_error"


class PassthroughStream:
    """
    A Responses answer relayed from the upstream, watched on its way.
    Sans-IO.

    It answers to what the exchange asks of a L{StreamTranslator}:
    C{finished}, C{response}, C{usage}, C{nextSequence} and L{fail}.

    @ivar finished: a terminal event went through (or L{fail} made one).
    @ivar response: the terminal event's response, once L{finished}; for
        a whole body, the body.
    """

    def __init__(self, request: dict[str, Any], maxEventBytes: int = MAX_EVENT_BYTES, *,
                 ids: Ids, clock: Clock) -> None:
        # The client's request, ids and clock: the skeleton of a substitute
        # response when the upstream never sent one.
        self._request = request
        self._ids, self._clock = ids, clock
        self.maxEventBytes = maxEventBytes
        self._held: list[bytes] = []
        self._heldSize = 0
        self._tail = b""
        self._events = 0
        self._lastSequence: int | None = None
        self._base: dict[str, Any] | None = None
        self._done: list[dict[str, Any]] = []
        self._error: dict[str, Any] | None = None
        self._open: OpenItem | None = None
        self.finished = False
        self.response: dict[str, Any] = {}

    @property
    def maxEventBytes(self) -> int:
        """
        The most one event (held back until complete) may be.
        """
        return self._limit

    @maxEventBytes.setter
    def maxEventBytes(self, limit: int) -> None:
        self._limit = limit
        # Events reach it whole, so it has no partial line to keep.
        self._decoder = SSEDecoder(limit)

    @property
    def nextSequence(self) -> int:
        """
        The sequence number an event appended after the upstream's gets.
        """
        return self._events if self._lastSequence is None else self._lastSequence + 1

    # The stream.

    def feed(self, data: bytes) -> bytes:
        """
        Take the next bytes of the upstream's stream.

        @return: the bytes to forward now: all of them up to the end of the
            last complete event, unchanged.
        @raise SSETooLarge: an event is larger than L{maxEventBytes}.
        """
        # A blank line, with the LF after it, spans at most three bytes:
        # two held ones are enough to find one that began before C{data}.
        probe = self._tail + data
        end = _lastEventEnd(probe)
        if end < 0:
            if data:
                self._held.append(data)
                self._heldSize += len(data)
                self._tail = probe[-2:]
                if self._heldSize > self._limit:
                    self._tooLarge()
            return b""
        end -= len(self._tail)
        ready = b"".join(self._held) + data[:end] if self._held else data[:end]
        rest = data[end:]
        self._held = [rest] if rest else []
        self._heldSize = len(rest)
        self._tail = rest[-2:]
        if self._heldSize > self._limit:
            self._tooLarge()
        self._watch(self._decoder.feed(ready))
        return ready

    def _tooLarge(self) -> NoReturn:
        self._held, self._heldSize, self._tail = [], 0, b""
        raise SSETooLarge("An upstream SSE event is larger than {} bytes.".format(
            self._limit))

    def close(self) -> bytes:
        """
        The upstream's stream ended cleanly.

        @return: the last bytes to forward: a last event the upstream left
            without its blank line, completed with one, if it is a JSON
            object; otherwise nothing (a fragment is dropped).  Line ends
            alone pass as they are.
        """
        held = b"".join(self._held)
        self._held, self._heldSize, self._tail = [], 0, b""
        if not held.strip(b"\r\n"):
            return held  # line ends only: no event in them
        decoder = self._decoder
        events = decoder.feed(held) + decoder.close()
        if not events or not all(_object(event) is not None for event in events):
            return b""
        self._watch(events)
        if held.endswith((b"\n\r", b"\r\r")):
            return held  # whole, but for the LF that never came
        return held + (held[-1:] if held[-1:] in (b"\n", b"\r") else b"\n\n")

    def _watch(self, events: list[SSEEvent]) -> None:
        for event in events:
            data = _object(event)
            if data is None:
                continue  # a comment's neighbour, a [DONE]: not a Responses event
            self._events += 1
            sequence = data.get("sequence_number")
            if isinstance(sequence, int) and not isinstance(sequence, bool):
                self._lastSequence = sequence
            kind = data.get("type")
            response = data.get("response")
            if kind in TERMINAL:
                self.finished = True
                self.response = response if isinstance(response, dict) else {}
            elif kind in _LIFECYCLE and isinstance(response, dict):
                self._base = response
            elif kind == "response.output_item.added" and isinstance(data.get("item"), dict):
                self._open = OpenItem(data.get("output_index"), data["item"])
            elif kind == "response.output_item.done" and isinstance(data.get("item"), dict):
                self._done.append(data["item"])
                self._open = None
            elif kind == "error":
                self._error = data
            elif self._open is not None and isinstance(kind, str):
                self._open.watch(kind, data)

    def fail(self, code: str, message: str) -> list[dict[str, Any]]:
        """
        End the stream with C{response.failed}, numbered on from the last
        event: the upstream's response (its id and fields) with the items
        done so far.  An item still open is closed first, as incomplete
        (its open part and text too), unless the upstream sent an error
        event, which only C{response.failed} may follow; that error's
        message and code also win over the relay's.  Bytes held back are
        dropped.

        @return: the events, none when the stream already ended.
        """
        if self.finished:
            return []
        self._held, self._heldSize, self._tail = [], 0, b""
        events: list[dict[str, Any]] = []
        if self._open is not None and self._error is None:
            events, item = self._open.close()
            self._done.append(item)
        self._open = None
        if self._error is not None and isinstance(self._error.get("message"), str):
            upstreamCode = self._error.get("code")
            message = self._error["message"]
            code = classifyFailure(
                message, str(upstreamCode) if upstreamCode is not None else None)
            if code == "rate_limit_exceeded" and "try again in" not in message.lower():
                # Codex reads its retry delay from exactly this phrase.
                message = "{} Please try again in {}s.".format(
                    message, retryAfterSeconds(message))
        base = self._base
        if base is None:
            base = responseSkeleton(self._request, self._ids("resp_"), self._clock())
        response = dict(base, status="failed", output=list(self._done),
                        error={"code": _streamCode(code), "message": message},
                        incomplete_details=None)
        if "completed_at" in response:
            response["completed_at"] = None
        events.append({"type": "response.failed", "response": response})
        for number, event in enumerate(events, self.nextSequence):
            event["sequence_number"] = number
        self.finished = True
        self.response = response
        return events

    # A whole body.

    def whole(self, body: bytes) -> None:
        """
        Take a whole (not streamed) answer: it must be a JSON object.

        @raise RelayError: a 502 when it is not.
        """
        parsed = upstreamJSONObject(body)
        self.response = parsed
        self.finished = parsed.get("status") in TERMINAL.values()

    @property
    def usage(self) -> dict[str, Any] | None:
        """
        The response's usage, when it has the two counts the log line shows.
        """
        usage = self.response.get("usage")
        if isinstance(usage, dict) and all(
                isinstance(usage.get(key), int) for key in ("input_tokens", "output_tokens")):
            return usage
        return None


def _object(event: SSEEvent) -> dict[str, Any] | None:
    try:
        data = json.loads(event.data)
    except (ValueError, RecursionError):  # too deep to parse is not JSON either
        return None
    return data if isinstance(data, dict) else None
