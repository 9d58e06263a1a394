"""
L{EventEncoder}: a stream's events encode to the JSON of C{encodeEvent},
with the echoed Response members serialised once per stream and the delta
events filled into templates.
"""

import json
from typing import Any

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core import sse
from codex_relay._core.request.translate import translateRequest
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.sse import SSEDecoder, dumps, encodeEvent
from codex_relay._core.stream import encoding
from codex_relay._core.stream.encoding import EventEncoder
from codex_relay._core.stream.translator import StreamTranslator

from tests.harness import chunks as C

SETTINGS = TranslationSettings(secret=b"encoding")
TOOLS = [{"type": "function", "name": "shell", "strict": False,
          "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
         {"type": "custom", "name": "apply_patch",
          "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}]
REQUEST = {"model": "m", "input": "Go.", "stream": True, "instructions": "Be brief. " * 200,
           "tools": TOOLS, "include": ["reasoning.encrypted_content"]}


def translated(chunks: list[dict[str, Any]], request: dict[str, Any] = REQUEST) -> list[dict]:
    """
    Every event of the stream the translator makes of C{chunks}.
    """
    ids = iter(range(10**6))
    translator = StreamTranslator(request, translateRequest(request, SETTINGS), SETTINGS,
                                  ids=lambda prefix: "{}{}".format(prefix, next(ids)),
                                  clock=lambda: 1700000000)
    events = translator.start()
    for chunk in chunks:
        events += translator.feedChunk(chunk)
    return events + translator.finish()


def decoded(frame: bytes) -> tuple[str | None, Any]:
    [event] = SSEDecoder().feed(frame)
    return event.event, json.loads(event.data)


class EncodingTests(SynchronousTestCase):
    def assertSameEvents(self, events: list[dict]) -> None:
        encoder = EventEncoder()
        for event in events:
            self.assertEqual(json.loads(encoder.json(event)), json.loads(dumps(event)))
            self.assertEqual(decoded(encoder.sse(event)), decoded(encodeEvent(event)))
            self.assertEqual(json.loads(encoder.text(event)), json.loads(dumps(event)))

    def test_wholeStream(self) -> None:
        self.assertSameEvents(translated([
            C.reasoning("think"), C.text("Hel"), C.text("lo"),
            C.toolCall(0, "call_1", "shell", '{"cmd":'), C.toolCall(0, arguments=' "ls"}'),
            C.toolCall(1, "call_2", "apply_patch", '{"input": "*** Begin'),
            C.toolCall(1, arguments=' Patch"}'),
            C.finish("tool_calls"), C.chunk(choices=False, usage=C.usage(10, 5))]))

    def test_nothingEchoed(self) -> None:
        self.assertSameEvents(translated([C.text("a"), C.finish("stop")],
                                         {"model": "m", "input": "hi", "stream": True}))

    def test_echoSerialisedOnce(self) -> None:
        """
        C{tools} and C{instructions} go through JSON once for the three
        events that carry the Response.
        """
        seen: list[Any] = []

        def counting(value: Any) -> str:
            seen.append(value)
            return dumps(value)

        self.patch(encoding, "dumps", counting)
        encoder = EventEncoder()
        for event in translated([C.text("a"), C.finish("stop")]):
            encoder.sse(event)
        self.assertEqual(sum(value is TOOLS for value in seen), 1)
        self.assertEqual(sum(value == REQUEST["instructions"] for value in seen), 1)

    def test_echoChanged(self) -> None:
        """
        A Response echoing other objects is serialised with them.
        """
        encoder = EventEncoder()
        [created] = [e for e in translated([]) if e["type"] == "response.created"]
        encoder.json(created)
        other = dict(created, response=dict(created["response"], tools=[{"type": "web_search"}]))
        self.assertEqual(json.loads(encoder.json(other))["response"]["tools"],
                         [{"type": "web_search"}])

    def test_deltasAsDumpsWrites(self) -> None:
        """
        A templated delta is byte for byte what C{dumps} makes, key order
        included, for every delta of an item.
        """
        encoder = EventEncoder()
        deltas = [e for e in translated([C.text(t) for t in ("a", '"q"\n', "é😀", "")]
                                        + [C.reasoning("r1"), C.reasoning("r2")])
                  if e["type"].endswith(".delta")]
        self.assertGreater(len(deltas), 4)
        for event in deltas:
            self.assertEqual(encoder.json(event), dumps(event))
        # Once an item has its template, only its delta text is serialised.
        seen: list[Any] = []
        self.patch(encoding, "dumps", lambda value: seen.append(value) or dumps(value))
        for event in deltas:
            encoder.json(event)
        self.assertEqual(seen, [event["delta"] for event in deltas])

    def test_deltaOutsideTheTemplate(self) -> None:
        """
        A delta with log probabilities, or a key the template does not
        know, is encoded as it is.
        """
        encoder = EventEncoder()
        base = {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
                "content_index": 0, "delta": "a", "logprobs": [], "sequence_number": 4}
        encoder.json(base)
        for event in (dict(base, logprobs=[{"token": "a", "logprob": -0.1}]),
                      dict(base, obfuscation="x"), dict(base, delta=None),
                      dict(base, sequence_number=None)):
            self.assertEqual(encoder.json(event), dumps(event))

    def test_loneSurrogate(self) -> None:
        """
        As with C{encodeEvent}, what goes out is UTF-8 that Codex's parser
        takes: a lone surrogate becomes U+FFFD, a pair its character.
        """
        encoder = EventEncoder()
        event = {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
                 "content_index": 0, "delta": "a\ud800b\ud83d\ude00", "logprobs": [],
                 "sequence_number": 4}
        for frame in (encoder.sse(event), encodeEvent(event)):
            self.assertEqual(decoded(frame)[1]["delta"], "a\ufffdb\U0001f600")
        self.assertEqual(json.loads(encoder.text(event))["delta"], "a\ufffdb\U0001f600")
        self.assertIs(sse.frameEvent, encoding.frameEvent)

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(["text", "reasoning", "refusal", "call"]),
                              st.text(max_size=8)), max_size=12),
           st.sampled_from(["stop", "tool_calls", "length", None]))
    def test_anyStream(self, parts: list[tuple[str, str]], reason: str | None) -> None:
        chunks = []
        for index, (kind, text) in enumerate(parts):
            if kind == "text":
                chunks.append(C.text(text))
            elif kind == "reasoning":
                chunks.append(C.reasoning(text))
            elif kind == "refusal":
                chunks.append(C.chunk({"refusal": text}))
            else:
                chunks.append(C.toolCall(index, "call_{}".format(index), "shell",
                                         json.dumps({"cmd": text})))
        if reason is not None:
            chunks.append(C.finish(reason))
        self.assertSameEvents(translated(chunks))
