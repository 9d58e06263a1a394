"""
Tests for L{codex_relay._core.sse.SSEDecoder}: line ends, fields and the end
of the stream.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.sse import SSEDecoder, SSEEvent

from tests.harness.sse import BOM, decodeAll


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
        self.assertEqual(decoder.feed(BOM + b"\ndata: b\n\n"), [SSEEvent("b")])
        self.assertEqual(decoder.close(), [])
