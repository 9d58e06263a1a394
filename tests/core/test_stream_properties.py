"""
Property tests for the stream translator and the custom tool input decoder.

  - An upstream stream, encoded as SSE bytes with random line ends and split
    anywhere, gives the same Responses events through L{SSEDecoder} and
    L{StreamTranslator} as the parsed chunks fed directly; the events always
    pass the oracle.
  - L{InputStringDecoder} turns any split of C{json.dumps({"input": s})}
    back into C{s}.
"""

import json

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.stream.custom_input import InputStringDecoder
from codex_relay._core.request.translate import translateRequest
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.sse import SSEDecoder
from codex_relay._core.stream.translator import StreamTranslator

from tests.harness import chunks as C
from tests.harness.oracle import checkEvents

SETTINGS = TranslationSettings(secret=b"property-secret")
REQUEST = {
    "model": "model-a",
    "input": "Go.",
    "stream": True,
    "include": ["reasoning.encrypted_content"],
    "tools": [
        {"type": "function", "name": "get_weather", "strict": None,
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
        {"type": "custom", "name": "apply_patch",
         "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
        {"type": "namespace", "name": "mcp", "description": "MCP.",
         "tools": [{"type": "function", "name": "search", "parameters": None,
                    "strict": None}]},
        {"type": "local_shell"},
    ],
}
CHAT = translateRequest(REQUEST, SETTINGS)
LINE_ENDS = ("\n", "\r\n", "\r")
EXAMPLES = settings(max_examples=150, deadline=None)


class CountingIds:
    """
    Deterministic ids, restarted for every translation.
    """

    def __init__(self) -> None:
        self.next = 0

    def __call__(self, prefix: str) -> str:
        self.next += 1
        return "{}{}".format(prefix, self.next)


def splits(data, cuts: list[int]) -> list:
    """
    C{data} cut at C{cuts} (positions, any order, clamped to its length).
    """
    points = sorted({min(cut, len(data)) for cut in cuts})
    pieces, start = [], 0
    for point in points + [len(data)]:
        pieces.append(data[start:point])
        start = point
    return pieces


# -- upstream streams ---------------------------------------------------------

texts = st.text(min_size=1, max_size=12)


@st.composite
def callChunks(draw, index: int) -> list[dict]:
    """
    One tool call at Chat index C{index}, its arguments in fragments.
    """
    name = draw(st.sampled_from(["get_weather", "apply_patch", "mcp__search", "local_shell"]))
    if name == "apply_patch":
        arguments = json.dumps({"input": draw(st.text(max_size=20))},
                               ensure_ascii=draw(st.booleans()))
    elif name == "local_shell":
        arguments = json.dumps({"command": draw(st.lists(texts, min_size=1, max_size=3))})
    else:
        arguments = json.dumps({"q": draw(st.text(max_size=10))})
    pieces = splits(arguments, draw(st.lists(st.integers(0, len(arguments)), max_size=5)))
    callId = "call_{}".format(index)
    return ([C.toolCall(index, callId, name, pieces[0])]
            + [C.toolCall(index, arguments=piece) for piece in pieces[1:]])


@st.composite
def upstreamStreams(draw) -> tuple[list, bool]:
    """
    A Chat stream: a random mix of reasoning, text, refusals, tool-call
    fragments, usage, keep-alive comments and error chunks, maybe a
    finish_reason (OpenRouter's C{error} among them), maybe usage after it;
    and whether it ends with C{[DONE]}.
    """
    items: list = []
    calls = 0
    for kind in draw(st.lists(st.sampled_from(
            ["reasoning", "text", "refusal", "call", "usage", "comment", "error"]),
            max_size=8)):
        if kind == "reasoning":
            field = draw(st.sampled_from(["reasoning_content", "reasoning"]))
            items.append(C.reasoning(draw(texts), field))
        elif kind == "text":
            items.append(C.chunk({"content": draw(texts), "reasoning_content": None}))
        elif kind == "refusal":
            items.append(C.chunk({"refusal": draw(texts)}))
        elif kind == "call":
            items.extend(draw(callChunks(calls)))
            calls += 1
        elif kind == "usage":
            items.append(C.chunk(choices=False, usage=C.usage(
                draw(st.integers(0, 500)), draw(st.integers(0, 500)),
                cached=draw(st.none() | st.integers(0, 600)))))
        elif kind == "error":
            items.append(draw(st.sampled_from([
                {"error": {"message": "Provider disconnected", "code": 502}},
                {"object": "error", "message": "Too many requests", "code": 429},
            ])))
        else:
            items.append(C.Comment(draw(st.sampled_from(["keep-alive", "OPENROUTER PROCESSING"]))))
    reason = draw(st.sampled_from(
        [None, "stop", "tool_calls", "length", "content_filter", "error"]))
    if reason is not None:
        items.append(C.finish(reason))
        if draw(st.booleans()):
            items.append(C.chunk(choices=False, usage=C.usage(10, 5)))
    return items, draw(st.booleans())


@st.composite
def sseBodies(draw, items: list, done: bool) -> bytes:
    """
    C{items} as an SSE body: UTF-8 JSON (not ASCII-escaped, so pieces may
    split characters), each block with its own line end.
    """
    blocks = []
    for item in items + (["[DONE]"] if done else []):
        end = draw(st.sampled_from(LINE_ENDS))
        if isinstance(item, C.Comment):
            line = ": " + item.text
        elif item == "[DONE]":
            line = "data: [DONE]"
        else:
            line = "data: " + json.dumps(item, ensure_ascii=False)
        blocks.append((line + end + end).encode("utf-8"))
    return b"".join(blocks)


class StreamPropertyTests(SynchronousTestCase):
    """
    The translator is indifferent to how the upstream bytes are cut.
    """

    def setUp(self) -> None:
        self.ids = CountingIds()

    def translator(self) -> StreamTranslator:
        self.ids.next = 0
        return StreamTranslator(REQUEST, CHAT, SETTINGS, responseId="resp_p",
                                createdAt=1700000000, ids=self.ids, clock=lambda: 1700000001)

    def fromChunks(self, items: list, done: bool) -> list[dict]:
        translator = self.translator()
        events = translator.start()
        for item in items:
            if not isinstance(item, C.Comment):
                events += translator.feedChunk(item)
        return events + translator.finish(doneMarker=done)

    def fromBytes(self, pieces: list[bytes]) -> list[dict]:
        translator = self.translator()
        decoder = SSEDecoder()
        events = translator.start()
        for piece in pieces:
            for event in decoder.feed(piece):
                events += translator.feedEvent(event)
        for event in decoder.close():
            events += translator.feedEvent(event)
        return events + translator.finish()

    @EXAMPLES
    @given(st.data())
    def test_anyChunking(self, data: st.DataObject) -> None:
        """
        Any cutting of the SSE bytes gives the events of the parsed chunks,
        and they pass the oracle.
        """
        items, done = data.draw(upstreamStreams())
        body = data.draw(sseBodies(items, done))
        cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=12))
        expected = self.fromChunks(items, done)
        checkEvents(expected)
        self.assertEqual(self.fromBytes(splits(body, cuts)), expected)

    @EXAMPLES
    @given(st.data())
    def test_byteByByte(self, data: st.DataObject) -> None:
        """
        The extreme cutting, one byte per feed, gives the same events as one
        feed of the whole body.
        """
        items, done = data.draw(upstreamStreams())
        body = data.draw(sseBodies(items, done))
        whole = self.fromBytes([body])
        self.assertEqual(self.fromBytes([body[i:i + 1] for i in range(len(body))]), whole)
        self.assertEqual(whole, self.fromChunks(items, done))


# Any text that UTF-8 can carry (no lone surrogates), with the characters
# JSON escapes, astral ones (surrogate pairs when ASCII-escaped) and
# multi-byte ones made common.
inputTexts = st.text(st.characters(codec="utf-8") | st.sampled_from(
    '"\\/\n\r\t\b\f\x00\x1f\x7f\u00e9\u2028\uffff\U0001F600\U0010FFFF'))


class InputDecoderPropertyTests(SynchronousTestCase):
    """
    L{InputStringDecoder} decodes the C{input} string however the JSON
    arguments are fragmented.
    """

    @settings(max_examples=200, deadline=None)
    @given(inputTexts, st.booleans(), st.booleans(), st.data())
    def test_anySplit(self, s: str, asciiOnly: bool, compact: bool,
                      data: st.DataObject) -> None:
        """
        For any string without lone surrogates and any split of
        C{json.dumps({"input": s})}, the decoded fragments concatenate to
        C{s}.
        """
        arguments = json.dumps({"input": s}, ensure_ascii=asciiOnly,
                               separators=(",", ":") if compact else None)
        cuts = data.draw(st.lists(st.integers(0, len(arguments)), max_size=len(arguments)))
        decoder = InputStringDecoder()
        decoded = "".join(decoder.feed(piece) for piece in splits(arguments, cuts))
        # ascii(): a wrong decoding may hold lone surrogates, which trial's
        # reporter cannot print.
        self.assertEqual(ascii(decoded), ascii(s))

    @settings(max_examples=100, deadline=None)
    @given(inputTexts)
    def test_characterByCharacter(self, s: str) -> None:
        """
        One character per fragment, the worst split of every escape.
        """
        arguments = json.dumps({"input": s})
        decoder = InputStringDecoder()
        decoded = "".join(decoder.feed(character) for character in arguments)
        self.assertEqual(ascii(decoded), ascii(s))

    @settings(max_examples=100, deadline=None)
    @given(st.text(st.characters(categories=["Cs"]) | st.sampled_from('ab"\\\U0001F600'),
                   min_size=1), st.data())
    def test_loneSurrogates(self, s: str, data: st.DataObject) -> None:
        """
        The property holds for any string, lone surrogates included, the
        expected text being what C{json.loads} reads: the decoder keeps an
        unpaired C{\\ud800} as it is, like C{json.loads} (which
        L{customInput} uses at close), instead of turning it into U+FFFD
        only when six more characters happen to follow it, or
        holding it back for good at the end of the string.
        """
        arguments = json.dumps({"input": s})
        # Adjacent lone halves that form a pair come back joined.
        expected = json.loads(arguments)["input"]
        cuts = data.draw(st.lists(st.integers(0, len(arguments)), max_size=8))
        decoder = InputStringDecoder()
        decoded = "".join(decoder.feed(piece) for piece in splits(arguments, cuts))
        self.assertEqual(ascii(decoded), ascii(expected))
