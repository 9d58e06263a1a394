"""
Tests for the size limit of L{codex_relay._core.sse.SSEDecoder}: a line or
an event's data longer than the limit raises L{SSETooLarge}.
"""

import tracemalloc

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.sse import MAX_EVENT_BYTES, SSEDecoder, SSEEvent, SSETooLarge



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
