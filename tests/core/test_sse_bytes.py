"""
Tests for L{codex_relay._core.sse.SSEDecoder} on bytes however they are cut:
the byte order mark, UTF-8 split between feeds, a whole realistic stream in
any chunking, and property tests over any stream and any chunking.
"""

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.sse import SSEDecoder, SSEEvent, encodeEvent

from tests.harness.sse import BOM, decodeAll, splitAt


class BOMTests(SynchronousTestCase):
    def test_dropped(self) -> None:
        self.assertEqual(decodeAll(BOM + b"data: a\n\n"), [SSEEvent("a")])

    def test_splitBOM(self) -> None:
        """
        The BOM is dropped wherever the feeds cut it.
        """
        stream = BOM + b"data: a\n\n"
        for i in range(1, 5):
            for j in range(i, 6):
                chunks = splitAt(stream, [i, j])
                self.assertEqual(decodeAll(*chunks), [SSEEvent("a")], chunks)

    def test_onlyOnce(self) -> None:
        """
        A second BOM is part of the first line, which is then no known field.
        """
        self.assertEqual(
            decodeAll(BOM + BOM + b"data: a\n\ndata: b\n\n"), [SSEEvent("b")]
        )

    def test_notAtStart(self) -> None:
        """
        A BOM later in the stream is data like any other character.
        """
        self.assertEqual(
            decodeAll(b"data: a\n\n" + BOM + b"data: b\n\ndata: " + BOM + b"c\n\n"),
            [SSEEvent("a"), SSEEvent("\ufeffc")],
        )

    def test_partialBOM(self) -> None:
        """
        Bytes that only begin a BOM are kept (as replacement characters).
        """
        self.assertEqual(decodeAll(b"\xef\xbb", b"\ndata: a\n\n"), [SSEEvent("a")])
        self.assertEqual(decodeAll(b"\xef", b"data: a\n\n"), [])
        self.assertEqual(decodeAll(b"\xef\xbb"), [])

    def test_shortStream(self) -> None:
        """
        Streams shorter than a BOM still decode.
        """
        self.assertEqual(decodeAll(b"da", b"ta", b":x"), [SSEEvent("x")])
        self.assertEqual(decodeAll(b"\n"), [])


class UTF8Tests(SynchronousTestCase):
    def test_splitEverywhere(self) -> None:
        """
        Multi-byte characters survive a cut at any byte offset, and any pair
        of cuts.
        """
        text = "é😀€a"
        stream = ("data: " + text + "\r\n\r\n").encode("utf-8")
        for i in range(len(stream) + 1):
            self.assertEqual(decodeAll(*splitAt(stream, [i])), [SSEEvent(text)], i)
            for j in range(i, len(stream) + 1):
                self.assertEqual(
                    decodeAll(*splitAt(stream, [i, j])), [SSEEvent(text)], (i, j)
                )

    def test_oneByteAtATime(self) -> None:
        stream = "data: é\ndata: 😀\r\n\r\n".encode("utf-8")
        chunks = [stream[i : i + 1] for i in range(len(stream))]
        self.assertEqual(decodeAll(*chunks), [SSEEvent("é\n😀")])

    def test_invalid(self) -> None:
        """
        Invalid UTF-8 becomes U+FFFD; a truncated sequence ends at the line end.
        """
        self.assertEqual(
            decodeAll(b"data: a\xffb\n\ndata: c\xe2\x82\ndata: d\n\n"),
            [SSEEvent("a\ufffdb"), SSEEvent("c\ufffd\nd")],
        )

    def test_invalidSplit(self) -> None:
        stream = b"data: a\xf0\x9f\nevent: \xc3\n\n"
        for i in range(len(stream) + 1):
            self.assertEqual(
                decodeAll(*splitAt(stream, [i])), [SSEEvent("a\ufffd", "\ufffd")], i
            )


# A realistic upstream stream touching every feature.
_STREAM = (
    BOM
    + b": OPENROUTER PROCESSING\r\n\r\n"
    + b'data: {"choices":[{"delta":{"content":"h\xc3\xa9"}}]}\n\n'
    + b"id: 7\nretry: 100\n"
    + b'data:{"choices":[{"delta":{"content":"\xf0\x9f\x98\x80"}}]}\r\n\r\n'
    + b"data: {\rdata:  \"a\": 1\rdata: }\r\r"
    + b"\n\n\r\n"
    + b'event: error\r\ndata: {"error":{"message":"x"}}\r\n\r\n'
    + b"data: [DONE]\n\n"
    + b"data: tail\n"
)
_EXPECTED = [
    SSEEvent('{"choices":[{"delta":{"content":"hé"}}]}'),
    SSEEvent('{"choices":[{"delta":{"content":"😀"}}]}'),
    SSEEvent('{\n "a": 1\n}'),
    SSEEvent('{"error":{"message":"x"}}', "error"),
    SSEEvent("[DONE]"),
    SSEEvent("tail"),
]


class WholeStreamTests(SynchronousTestCase):
    def test_whole(self) -> None:
        self.assertEqual(decodeAll(_STREAM), _EXPECTED)

    def test_oneByteAtATime(self) -> None:
        decoder = SSEDecoder()
        events = []
        for i in range(len(_STREAM)):
            events.extend(decoder.feed(_STREAM[i : i + 1]))
        self.assertEqual(events, _EXPECTED[:-1])
        self.assertEqual(decoder.close(), _EXPECTED[-1:])

    def test_everySingleCut(self) -> None:
        for i in range(len(_STREAM) + 1):
            self.assertEqual(decodeAll(*splitAt(_STREAM, [i])), _EXPECTED, i)

    def test_longLineInTinyFeeds(self) -> None:
        """
        A long line arriving a few bytes at a time is assembled intact.
        """
        value = "x" * 50000 + "é" * 1000
        stream = ("data: " + value + "\n\n").encode("utf-8")
        decoder = SSEDecoder()
        events = []
        for i in range(0, len(stream), 7):
            events.extend(decoder.feed(stream[i : i + 7]))
        self.assertEqual(events, [SSEEvent(value)])
        self.assertEqual(decoder.close(), [])


# Text that fits on one SSE line: no line ends, no surrogates (not UTF-8).
_lineText = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20
)
_events = st.lists(
    st.tuples(
        st.one_of(st.just(""), _lineText),  # event type; "" means none sent
        st.lists(_lineText, min_size=1, max_size=3),  # data lines
        st.booleans(),  # add an id/comment/retry noise line
    ),
    max_size=8,
)


def buildStream(events, lineEnd: str, bom: bool, trailingBlank: bool):
    """
    Encode C{events} with C{lineEnd}; return the bytes and the events a
    decoder must produce.
    """
    parts = []
    expected = []
    for eventType, dataLines, noise in events:
        if noise:
            parts.append(": c" + lineEnd + "id: 1" + lineEnd + "retry: 3" + lineEnd)
        if eventType:
            parts.append("event: " + eventType + lineEnd)
        for line in dataLines:
            parts.append("data: " + line + lineEnd)
        parts.append(lineEnd)
        expected.append(SSEEvent("\n".join(dataLines), eventType or "message"))
    if parts and not trailingBlank:
        # The last event's blank line is missing: close() must deliver it.
        parts.pop()
    stream = "".join(parts).encode("utf-8")
    if bom:
        stream = BOM + stream
    return stream, expected


class PropertyTests(SynchronousTestCase):
    @settings(max_examples=200, deadline=None)
    @given(
        events=_events,
        lineEnd=st.sampled_from(["\n", "\r", "\r\n"]),
        bom=st.booleans(),
        trailingBlank=st.booleans(),
        data=st.data(),
    )
    def test_anyChunking(self, events, lineEnd, bom, trailingBlank, data) -> None:
        """
        Any chunking of any stream yields exactly the events of feeding it
        whole, which are the events encoded.
        """
        stream, expected = buildStream(events, lineEnd, bom, trailingBlank)
        whole = decodeAll(stream)
        self.assertEqual(whole, expected)
        points = sorted(
            data.draw(st.lists(st.integers(0, len(stream)), max_size=len(stream)))
        )
        self.assertEqual(decodeAll(*splitAt(stream, points)), whole)

    @settings(max_examples=100, deadline=None)
    @given(
        payloads=st.lists(
            st.fixed_dictionaries(
                {"type": _lineText, "delta": st.text(), "n": st.integers()}
            ),
            max_size=5,
        ),
        data=st.data(),
    )
    def test_encodeRoundTrip(self, payloads, data) -> None:
        """
        Whatever encodeEvent writes, cut anywhere, decodes to the same
        payloads and event names.
        """
        stream = b"".join(map(encodeEvent, payloads))
        points = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
        events = decodeAll(*splitAt(stream, points))
        self.assertEqual([json.loads(e.data) for e in events], payloads)
        self.assertEqual(
            [e.event for e in events], [p["type"] or "message" for p in payloads]
        )
