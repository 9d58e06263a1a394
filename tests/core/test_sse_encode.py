"""
Tests for the encoding side of L{codex_relay._core.sse}: events and comments
written as SSE, and surrogates joined or replaced on the way out.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.sse import (
    encodeComment,
    encodeEvent,
    holdSurrogate,
    joinSurrogates,
    wholeText,
)

from tests.harness.sse import decodeAll


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
