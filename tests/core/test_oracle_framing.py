"""
Tests for L{tests.harness.oracle.parseSSE} and
L{tests.harness.oracle.checkStream}: the SSE framing the SDK or Codex
mishandles is rejected.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.harness.oracle import checkStream, parseSSE
from tests.harness.protocol import TEXT, encode


class SSEFramingTests(SynchronousTestCase):
    """
    L{parseSSE} and L{checkStream} reject every framing the SDK or Codex
    mishandles.
    """

    def assertBadFraming(self, body: bytes, fragment: str) -> None:
        with self.assertRaises(AssertionError) as cm:
            parseSSE(body)
        self.assertIn(fragment, str(cm.exception))

    def test_parse(self) -> None:
        self.assertEqual(
            parseSSE(
                b'event: a\ndata: {"type":"a"}\n\n: ping\n\nevent:b\ndata:{"x":1}\n\n'
            ),
            [("a", {"type": "a"}), ("b", {"x": 1})],
        )

    def test_empty(self) -> None:
        self.assertEqual(parseSSE(b""), [])

    def test_idLine(self) -> None:
        self.assertBadFraming(b"id: 1\nevent: a\ndata: {}\n\n", "id:")

    def test_retryLine(self) -> None:
        self.assertBadFraming(b"retry: 1000\n\n", "retry:")

    def test_blockWithoutData(self) -> None:
        self.assertBadFraming(b"event: ping\n\n", "without data")

    def test_emptyData(self) -> None:
        self.assertBadFraming(b"event: a\ndata:\n\n", "empty data")

    def test_invalidJSON(self) -> None:
        self.assertBadFraming(b"event: a\ndata: {nope\n\n", "invalid JSON")

    def test_done(self) -> None:
        self.assertBadFraming(b"data: [DONE]\n\n", "[DONE]")

    def test_unterminated(self) -> None:
        self.assertBadFraming(b'event: a\ndata: {"type":"a"}\n', "not terminated")

    def test_multiLineData(self) -> None:
        self.assertBadFraming(b"event: a\ndata: {\ndata: }\n\n", "multi-line")

    def test_missingEventLine(self) -> None:
        self.assertBadFraming(b'data: {"type":"a"}\n\n', "event:")

    def test_crlf(self) -> None:
        self.assertBadFraming(b"event: a\r\ndata: {}\r\n\r\n", "CR")

    def test_eventNameMismatch(self) -> None:
        body = encode(TEXT).replace(
            b"event: response.output_text.delta", b"event: delta", 1
        )
        with self.assertRaises(AssertionError) as cm:
            checkStream(body)
        self.assertIn("differs from data.type", str(cm.exception))
