"""
Tests for L{codex_relay._core.sse}.
"""

import json
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.sse import (
    MAX_EVENT_BYTES,
    SSEDecoder,
    SSEEvent,
    SSETooLarge,
    encodeComment,
    encodeEvent,
    holdSurrogate,
    joinSurrogates,
    wholeText,
)

_BOM = b"\xef\xbb\xbf"


def decodeAll(*chunks: bytes) -> list[SSEEvent]:
    """
    Feed C{chunks} in order, then close; return every event.
    """
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def splitAt(data: bytes, points) -> list[bytes]:
    """
    Cut C{data} at the sorted offsets C{points}.
    """
    chunks = []
    start = 0
    for point in points:
        chunks.append(data[start:point])
        start = point
    chunks.append(data[start:])
    return chunks


class SSEEventTests(SynchronousTestCase):
    def test_default(self) -> None:
        """
        The event type defaults to C{"message"}; an event is a plain tuple.
        """
        self.assertEqual(SSEEvent("x"), ("x", "message"))
        self.assertEqual(SSEEvent("x").event, "message")
        self.assertEqual(SSEEvent("x", "error").event, "error")


class LineEndTests(SynchronousTestCase):
    """
    LF, CR and CRLF all end a line, and one CRLF is one line end even when
    split between feeds.
    """

    def test_lf(self) -> None:
        decoder = SSEDecoder()
        self.assertEqual(
            decoder.feed(b"data: a\n\ndata: b\n\n"), [SSEEvent("a"), SSEEvent("b")]
        )
        self.assertEqual(decoder.close(), [])

    def test_crlf(self) -> None:
        decoder = SSEDecoder()
        self.assertEqual(
            decoder.feed(b"data: a\r\n\r\ndata: b\r\n\r\n"),
            [SSEEvent("a"), SSEEvent("b")],
        )
        self.assertEqual(decoder.close(), [])

    def test_cr(self) -> None:
        decoder = SSEDecoder()
        self.assertEqual(
            decoder.feed(b"data: a\r\rdata: b\r\r"), [SSEEvent("a"), SSEEvent("b")]
        )
        self.assertEqual(decoder.close(), [])

    def test_mixed(self) -> None:
        """
        Line-end styles may change from line to line.
        """
        self.assertEqual(
            decodeAll(b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\n\r"),
            [SSEEvent("a\nb\nc"), SSEEvent("d")],
        )

    def test_crThenLFIsOneLineEnd(self) -> None:
        """
        A CR that ends a feed and an LF that opens the next are one line end:
        no blank line, so no dispatch between them.
        """
        decoder = SSEDecoder()
        self.assertEqual(decoder.feed(b"data: a\r"), [])
        self.assertEqual(decoder.feed(b"\ndata: b\r"), [])
        self.assertEqual(decoder.feed(b"\n"), [])
        self.assertEqual(decoder.feed(b"\r"), [SSEEvent("a\nb")])
        self.assertEqual(decoder.feed(b"\n"), [])
        self.assertEqual(decoder.close(), [])

    def test_crlfSplitDispatch(self) -> None:
        """
        A blank line written as CRLF split across feeds dispatches once.
        """
        decoder = SSEDecoder()
        self.assertEqual(decoder.feed(b"data: a\r\n\r"), [SSEEvent("a")])
        self.assertEqual(decoder.feed(b"\ndata: b\r\n\r"), [SSEEvent("b")])
        self.assertEqual(decoder.feed(b"\n"), [])
        self.assertEqual(decoder.close(), [])

    def test_crThenCR(self) -> None:
        """
        A CR after a feed-ending CR is a second line end.
        """
        decoder = SSEDecoder()
        self.assertEqual(decoder.feed(b"data: a\r"), [])
        self.assertEqual(decoder.feed(b"\r"), [SSEEvent("a")])

    def test_crThenText(self) -> None:
        """
        Text after a feed-ending CR starts the next line; the LF-skip is
        dropped and a later LF is a line end of its own.
        """
        decoder = SSEDecoder()
        self.assertEqual(decoder.feed(b"data: a\r"), [])
        self.assertEqual(decoder.feed(b"data: b"), [])
        self.assertEqual(decoder.feed(b"\n"), [])
        self.assertEqual(decoder.feed(b"\n"), [SSEEvent("a\nb")])

    def test_emptyFeedKeepsPendingCR(self) -> None:
        """
        An empty feed between the CR and the LF changes nothing.
        """
        decoder = SSEDecoder()
        self.assertEqual(decoder.feed(b"data: a\r"), [])
        self.assertEqual(decoder.feed(b""), [])
        self.assertEqual(decoder.feed(b"\n"), [])
        self.assertEqual(decoder.feed(b"\n"), [SSEEvent("a")])

    def test_crAtStreamStart(self) -> None:
        """
        A stream opening with CRLF has one blank line, which dispatches nothing.
        """
        self.assertEqual(decodeAll(b"\r", b"\n", b"data: a\n\n"), [SSEEvent("a")])


class FieldTests(SynchronousTestCase):
    def test_comment(self) -> None:
        """
        Comment lines are ignored, even as a whole block.
        """
        decoder = SSEDecoder()
        self.assertEqual(decoder.feed(b": OPENROUTER PROCESSING\r\n\r\n"), [])
        self.assertEqual(decoder.feed(b":\n\n"), [])
        self.assertEqual(decoder.feed(b'data: {"a":1}\r\n\r\n'), [SSEEvent('{"a":1}')])
        self.assertEqual(decoder.close(), [])

    def test_commentInsideEvent(self) -> None:
        """
        A comment between data lines neither splits nor ends the event.
        """
        self.assertEqual(
            decodeAll(b"data: a\n: keepalive\ndata: b\n\n"), [SSEEvent("a\nb")]
        )

    def test_multiLineData(self) -> None:
        """
        Data lines are joined with LF, with no trailing LF.
        """
        self.assertEqual(
            decodeAll(b'data: {\ndata:   "a": 1\ndata: }\n\n'),
            [SSEEvent('{\n  "a": 1\n}')],
        )

    def test_dataWithoutSpace(self) -> None:
        self.assertEqual(decodeAll(b'data:{"a":1}\n\n'), [SSEEvent('{"a":1}')])

    def test_onlyOneSpaceStripped(self) -> None:
        self.assertEqual(
            decodeAll(b"data:  a \n\ndata:\tb\n\n"),
            [SSEEvent(" a "), SSEEvent("\tb")],
        )

    def test_colonInValue(self) -> None:
        self.assertEqual(decodeAll(b"data: a: b:c\n\n"), [SSEEvent("a: b:c")])

    def test_dataWithoutColon(self) -> None:
        """
        A bare C{data} line is the field with an empty value.
        """
        self.assertEqual(
            decodeAll(b"data\n\ndata: a\ndata\ndata: b\n\n"),
            [SSEEvent(""), SSEEvent("a\n\nb")],
        )

    def test_emptyData(self) -> None:
        """
        An empty data line still dispatches (the caller decides what to do
        with it).
        """
        self.assertEqual(
            decodeAll(b"data:\n\ndata: \n\n"), [SSEEvent(""), SSEEvent("")]
        )

    def test_eventError(self) -> None:
        data = b'{"error":{"message":"boom","code":"server_error"}}'
        self.assertEqual(
            decodeAll(b"event: error\ndata: " + data + b"\n\n"),
            [SSEEvent(data.decode(), "error")],
        )

    def test_eventAfterData(self) -> None:
        """
        The event field may come after the data lines.
        """
        self.assertEqual(decodeAll(b"data: x\nevent:ping\n\n"), [SSEEvent("x", "ping")])

    def test_eventTypeResetAfterDispatch(self) -> None:
        self.assertEqual(
            decodeAll(b"event: error\ndata: a\n\ndata: b\n\n"),
            [SSEEvent("a", "error"), SSEEvent("b")],
        )

    def test_eventTypeResetByBlankLine(self) -> None:
        """
        A blank line with no data dispatches nothing and forgets the type.
        """
        self.assertEqual(decodeAll(b"event: error\n\ndata: b\n\n"), [SSEEvent("b")])

    def test_emptyEventType(self) -> None:
        self.assertEqual(
            decodeAll(b"event:\ndata: a\n\nevent\ndata: b\n\n"),
            [SSEEvent("a"), SSEEvent("b")],
        )

    def test_lastEventTypeWins(self) -> None:
        self.assertEqual(
            decodeAll(b"event: a\nevent: b\ndata: x\n\n"), [SSEEvent("x", "b")]
        )

    def test_done(self) -> None:
        """
        C{[DONE]} is plain data; the stream goes on being decoded after it.
        """
        self.assertEqual(
            decodeAll(b"data: {}\n\ndata: [DONE]\n\ndata: after\n\n"),
            [SSEEvent("{}"), SSEEvent("[DONE]"), SSEEvent("after")],
        )

    def test_idAndRetryIgnored(self) -> None:
        self.assertEqual(
            decodeAll(b"id: 1\nretry: 10\ndata: x\nid\n\nid: 2\n\nretry: 5\n\n"),
            [SSEEvent("x")],
        )

    def test_unknownFieldsIgnored(self) -> None:
        """
        Unknown fields, and field names in another case, are ignored.
        """
        self.assertEqual(
            decodeAll(b"foo: bar\nData: x\nEVENT: y\nbaz\ndata: z\n\n"),
            [SSEEvent("z")],
        )

    def test_blankLinesWithoutData(self) -> None:
        self.assertEqual(decodeAll(b"\n\n\n\r\n\r\r\n"), [])
        self.assertEqual(decodeAll(b"\n\n\ndata: a\n\n\n\n"), [SSEEvent("a")])

    def test_spaceOnlyLineIsNotBlank(self) -> None:
        """
        A line of one space is an (unknown) field, not a blank line.
        """
        self.assertEqual(decodeAll(b"data: a\n \ndata: b\n\n"), [SSEEvent("a\nb")])

    def test_manyEventsOneFeed(self) -> None:
        payload = b"".join(b"data: %d\n\n" % i for i in range(100))
        self.assertEqual(decodeAll(payload), [SSEEvent(str(i)) for i in range(100)])


class EndOfStreamTests(SynchronousTestCase):
    def test_noTrailingBlankLine(self) -> None:
        """
        An event without its blank line is held back until L{SSEDecoder.close}.
        """
        decoder = SSEDecoder()
        self.assertEqual(decoder.feed(b"data: a\n\ndata: b\n"), [SSEEvent("a")])
        self.assertEqual(decoder.close(), [SSEEvent("b")])

    def test_noLineEndAtAll(self) -> None:
        decoder = SSEDecoder()
        self.assertEqual(decoder.feed(b"event: error\ndata: b"), [])
        self.assertEqual(decoder.close(), [SSEEvent("b", "error")])

    def test_trailingCR(self) -> None:
        decoder = SSEDecoder()
        self.assertEqual(decoder.feed(b"data: b\r"), [])
        self.assertEqual(decoder.close(), [SSEEvent("b")])

    def test_closeWithoutData(self) -> None:
        self.assertEqual(SSEDecoder().close(), [])
        self.assertEqual(decodeAll(b"event: error\n"), [])
        self.assertEqual(decodeAll(b": comment"), [])
        self.assertEqual(decodeAll(b"id: 3"), [])

    def test_closeResets(self) -> None:
        """
        After L{SSEDecoder.close} the decoder starts afresh, BOM included.
        """
        decoder = SSEDecoder()
        decoder.feed(b"event: error\ndata: a\r")
        self.assertEqual(decoder.close(), [SSEEvent("a", "error")])
        self.assertEqual(decoder.feed(_BOM + b"\ndata: b\n\n"), [SSEEvent("b")])
        self.assertEqual(decoder.close(), [])


class BOMTests(SynchronousTestCase):
    def test_dropped(self) -> None:
        self.assertEqual(decodeAll(_BOM + b"data: a\n\n"), [SSEEvent("a")])

    def test_splitBOM(self) -> None:
        """
        The BOM is dropped wherever the feeds cut it.
        """
        stream = _BOM + b"data: a\n\n"
        for i in range(1, 5):
            for j in range(i, 6):
                chunks = splitAt(stream, [i, j])
                self.assertEqual(decodeAll(*chunks), [SSEEvent("a")], chunks)

    def test_onlyOnce(self) -> None:
        """
        A second BOM is part of the first line, which is then no known field.
        """
        self.assertEqual(
            decodeAll(_BOM + _BOM + b"data: a\n\ndata: b\n\n"), [SSEEvent("b")]
        )

    def test_notAtStart(self) -> None:
        """
        A BOM later in the stream is data like any other character.
        """
        self.assertEqual(
            decodeAll(b"data: a\n\n" + _BOM + b"data: b\n\ndata: " + _BOM + b"c\n\n"),
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
    _BOM
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


class SizeLimitTests(SynchronousTestCase):
    """
    A line, or an event's data, longer than the limit raises L{SSETooLarge}
    instead of growing the decoder without bound.
    """

    def test_endlessLine(self) -> None:
        """
        A 50 MiB C{data:} line with no line end, fed in 64 KiB reads, raises
        once it passes the default limit, and the decoder never holds much
        more than the limit meanwhile.
        """
        decoder = SSEDecoder()
        read = 64 * 1024
        fed = 0
        tracemalloc.start()
        try:
            with self.assertRaises(SSETooLarge) as raised:
                decoder.feed(b"data: ")
                for _ in range(50 * 1024 * 1024 // read):
                    fed += read
                    decoder.feed(b"x" * read)  # a new object each read, like a socket's
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        self.assertIn("larger than {} bytes".format(MAX_EVENT_BYTES), str(raised.exception))
        self.assertIsInstance(raised.exception, ValueError)
        self.assertGreater(fed, MAX_EVENT_BYTES - read)
        self.assertLessEqual(fed, MAX_EVENT_BYTES + read)
        self.assertLess(peak, 3 * MAX_EVENT_BYTES)

    def test_lineAtTheLimit(self) -> None:
        """
        A line of exactly the limit passes, fed whole or in pieces; one byte
        more raises.
        """
        line = b"data: " + b"x" * 94
        self.assertEqual(len(line), 100)
        self.assertEqual(SSEDecoder(100).feed(line + b"\n\n"), [SSEEvent("x" * 94)])
        decoder = SSEDecoder(100)
        for i in range(0, 100, 7):
            self.assertEqual(decoder.feed(line[i:i + 7]), [])
        self.assertEqual(decoder.feed(b"\n\n"), [SSEEvent("x" * 94)])
        self.assertRaises(SSETooLarge, SSEDecoder(100).feed, line + b"x")
        decoder = SSEDecoder(100)
        decoder.feed(line)
        self.assertRaises(SSETooLarge, decoder.feed, b"x")

    def test_partialLineAfterLineEnd(self) -> None:
        """
        The incomplete line left after the last line end of a read counts.
        """
        self.assertRaises(SSETooLarge, SSEDecoder(100).feed, b"data: a\n\n" + b"x" * 101)

    def test_eventOfManyLines(self) -> None:
        """
        C{data:} lines that never meet a blank line add up, whether they
        come in one read or many.
        """
        self.assertRaises(SSETooLarge, SSEDecoder(100).feed, b"data: xxxxxxxxx\n" * 11)
        decoder = SSEDecoder(100)
        with self.assertRaises(SSETooLarge):
            for _ in range(11):
                decoder.feed(b"data: xxxxxxxxx\n")

    def test_eventInOneRead(self) -> None:
        """
        A whole event larger than the limit raises even when one read
        holds it and its blank line.
        """
        self.assertRaises(SSETooLarge, SSEDecoder(100).feed,
                          b"data: " + b"x" * 60 + b"\ndata: " + b"x" * 60 + b"\n\n")

    def test_close(self) -> None:
        """
        L{SSEDecoder.close} enforces the limit on the event it completes,
        and the reset decoder keeps its limit.
        """
        decoder = SSEDecoder(100)
        decoder.feed(b"data: " + b"x" * 60 + b"\n")
        decoder.feed(b"data: " + b"x" * 60)
        self.assertRaises(SSETooLarge, decoder.close)
        decoder = SSEDecoder(100)
        self.assertEqual(decoder.close(), [])
        self.assertRaises(SSETooLarge, decoder.feed, b"x" * 101)

    def test_manySmallEvents(self) -> None:
        """
        Only one line or event counts: a long stream of small events, or of
        comments, is fine.
        """
        decoder = SSEDecoder(100)
        events = []
        for _ in range(1000):
            events.extend(decoder.feed(b": keep-alive\ndata: xxxxxxxxx\n\n"))
        self.assertEqual(events, [SSEEvent("xxxxxxxxx")] * 1000)

    def test_dataCountsOnly(self) -> None:
        """
        The limit on an event is on its data: its C{event:} and comment
        lines are bounded by the line limit alone.
        """
        decoder = SSEDecoder(100)
        self.assertEqual(
            decoder.feed(b"event: " + b"e" * 90 + b"\n: " + b"c" * 95 + b"\ndata: x\n\n"),
            [SSEEvent("x", "e" * 90)])


class SurrogateTests(SynchronousTestCase):
    """
    Surrogates: UTF-8 cannot carry them and serde_json refuses lone ones,
    so pairs are joined and lone halves become U+FFFD.
    """

    def test_joinSurrogates(self) -> None:
        self.assertEqual(
            [ascii(joinSurrogates(s)) for s in
             ["a\ud83dA", "\ud83d\ude00", "\ude00x", "\ud800\ud83d\ude00", "\U0001F600é"]],
            [ascii(s) for s in
             ["a\ufffdA", "\U0001F600", "\ufffdx", "\ufffd\U0001F600", "\U0001F600é"]])

    def test_wholeText(self) -> None:
        text = "plain é"
        self.assertIs(wholeText(text), text)
        self.assertEqual(ascii(wholeText("\ud83d\ude00\ud83d")), ascii("\U0001F600\ufffd"))

    def test_holdSurrogate(self) -> None:
        """
        A trailing high surrogate is held back; everything else goes.
        """
        self.assertEqual(holdSurrogate("abc"), ("abc", ""))
        self.assertEqual([ascii(part) for part in holdSurrogate("a\ud83d")],
                         [ascii("a"), ascii("\ud83d")])
        self.assertEqual([ascii(part) for part in holdSurrogate("\ud83d")],
                         [ascii(""), ascii("\ud83d")])
        self.assertEqual([ascii(part) for part in holdSurrogate("\ude00b\ud800c")],
                         [ascii("\ufffdb\ufffdc"), ascii("")])
        # The held half and the next fragment, joined:
        self.assertEqual([ascii(part) for part in holdSurrogate("\ud83d" + "\ude00!")],
                         [ascii("\U0001F600!"), ascii("")])


class EncodeTests(SynchronousTestCase):
    def test_encodeEvent(self) -> None:
        self.assertEqual(
            encodeEvent({"type": "response.created", "sequence_number": 0, "a": None}),
            b"event: response.created\n"
            b'data: {"type":"response.created","sequence_number":0,"a":null}\n\n',
        )

    def test_nonASCII(self) -> None:
        """
        Non-ASCII text is sent as raw UTF-8, not escaped.
        """
        self.assertEqual(
            encodeEvent({"type": "t", "delta": "é😀"}),
            b'event: t\ndata: {"type":"t","delta":"\xc3\xa9\xf0\x9f\x98\x80"}\n\n',
        )

    def test_lineEndsEscaped(self) -> None:
        """
        CR and LF in strings are JSON-escaped: the data stays on one line.
        """
        encoded = encodeEvent({"type": "t", "delta": "a\nb\rc\r\nd\u2028"})
        self.assertEqual(
            encoded,
            b'event: t\ndata: {"type":"t","delta":"a\\nb\\rc\\r\\nd\xe2\x80\xa8"}\n\n',
        )
        self.assertEqual(encoded.count(b"\n"), 3)
        self.assertNotIn(b"\r", encoded)

    def test_loneSurrogate(self) -> None:
        """
        A lone surrogate, which UTF-8 cannot carry and serde_json (Codex)
        refuses even as a JSON escape, is sent as U+FFFD.
        """
        encoded = encodeEvent({"type": "t", "delta": "a\ud800é", "low": "\udc00b"})
        self.assertEqual(
            encoded,
            b'event: t\ndata: {"type":"t","delta":"a\xef\xbf\xbd\xc3\xa9",'
            b'"low":"\xef\xbf\xbdb"}\n\n',
        )
        [event] = decodeAll(encoded)
        self.assertEqual(json.loads(event.data),
                         {"type": "t", "delta": "a\ufffdé", "low": "\ufffdb"})

    def test_surrogatePairHalves(self) -> None:
        """
        The two halves of a pair, side by side in a string (as joining two
        fragments makes them), are sent as their one character.
        """
        self.assertEqual(
            encodeEvent({"type": "t", "text": "\ud83d" + "\ude00"}),
            b'event: t\ndata: {"type":"t","text":"\xf0\x9f\x98\x80"}\n\n',
        )

    def test_roundTrip(self) -> None:
        payloads = [
            {"type": "response.output_text.delta", "delta": "hé\n😀", "n": [1, 2.5]},
            {"type": "error", "error": {"message": "x\r\ny", "code": None}},
            {"type": "response.completed", "response": {"id": "resp_1", "output": []}},
        ]
        stream = encodeComment("keepalive") + b"".join(map(encodeEvent, payloads))
        events = decodeAll(stream)
        self.assertEqual([e.event for e in events], [p["type"] for p in payloads])
        self.assertEqual([json.loads(e.data) for e in events], payloads)

    def test_encodeComment(self) -> None:
        self.assertEqual(encodeComment("keepalive"), b": keepalive\n\n")
        self.assertEqual(encodeComment("é"), b": \xc3\xa9\n\n")
        self.assertEqual(decodeAll(encodeComment("keepalive")), [])


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
        stream = _BOM + stream
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
