"""
Tests for the merging of streamed C{reasoning_details} in
L{codex_relay._core.stream.translator}: like the reference merge, in linear
time.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.stream import output as _output
from codex_relay._core.request.translate import translateRequest
from codex_relay._core.stream.translator import StreamTranslator

from tests.harness import chunks as C
from tests.harness.chunks import CountingText
from tests.harness.stream import IDS, SETTINGS, reasoningPayload, stoppedClock, streamRequest


def referenceMerge(kept: list[dict], fragments: list) -> None:
    """
    The merging of C{reasoning_details} as it was (quadratic): the
    reference for what L{_output._ReasoningDetails} computes.
    """
    for fragment in fragments:
        if not isinstance(fragment, dict):
            continue
        index = fragment.get("index")
        target = next((d for d in kept if index is not None and d.get("index") == index
                       and d.get("type") == fragment.get("type")), None)
        if target is None:
            kept.append(dict(fragment))
            continue
        for key, value in fragment.items():
            if key in ("text", "summary", "data") and isinstance(value, str):
                target[key] = (target.get(key) or "") + value
            elif value is not None:
                target[key] = value


class CountingIndex(int):
    """
    An C{index} that counts how often it is compared.
    """

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountingIndex.comparisons += 1
        return int(self) == other

    __hash__ = int.__hash__


class ReasoningDetailsTests(SynchronousTestCase):
    """
    L{_output._ReasoningDetails} merges streamed
    C{reasoning_details} as the reference merge does, in linear time.
    """

    def merged(self, batches: list[list]) -> list[dict]:
        details = _output._ReasoningDetails()
        for batch in batches:
            details.merge(batch)
        return details.take()

    def test_likeTheReference(self) -> None:
        batches = [
            [{"type": "reasoning.text", "text": "a", "index": 0}],
            [{"type": "reasoning.text", "text": "b", "index": 0, "format": "f"},
             {"type": "reasoning.summary", "summary": "s", "index": 0}],
            [{"type": "reasoning.text", "signature": "sig", "index": 0, "text": None}],
            [{"type": "reasoning.encrypted", "data": "x", "index": 1}, "junk"],
            [{"type": "reasoning.encrypted", "data": "y", "index": 1}],
            [{"type": "reasoning.text", "text": "no index"}, {"text": "nor type", "index": 2}],
            [{"type": "reasoning.text", "text": "again"}, {"text": " and", "index": 2}],
            [{"type": "reasoning.summary", "summary": 5, "index": 0}],
        ]
        reference: list[dict] = []
        for batch in batches:
            referenceMerge(reference, batch)
        self.assertEqual(self.merged(batches), reference)

    def test_textAfterOther(self) -> None:
        """
        Text after a value that is not text replaces it (where the old
        merge raised C{TypeError}).
        """
        self.assertEqual(self.merged([[{"type": "t", "summary": "a", "index": 0}],
                                      [{"type": "t", "summary": 5, "index": 0}],
                                      [{"type": "t", "summary": "b", "index": 0}],
                                      [{"type": "t", "summary": "c", "index": 0}]]),
                         [{"type": "t", "summary": "bc", "index": 0}])

    def test_takeStartsAfresh(self) -> None:
        details = _output._ReasoningDetails()
        details.merge([{"type": "t", "text": "a", "index": 0}])
        details.merge([{"type": "t", "text": "b", "index": 0}])
        self.assertEqual(details.take(), [{"type": "t", "text": "ab", "index": 0}])
        details.merge([{"type": "t", "text": "c", "index": 0}])
        self.assertEqual(details.take(), [{"type": "t", "text": "c", "index": 0}])
        self.assertEqual(details.take(), [])

    def test_unhashableKey(self) -> None:
        """
        An index or type no dict can key on is kept, unmerged.
        """
        self.assertEqual(self.merged([[{"type": ["x"], "text": "a", "index": 0}],
                                      [{"type": ["x"], "text": "b", "index": 0}]]),
                         [{"type": ["x"], "text": "a", "index": 0},
                          {"type": ["x"], "text": "b", "index": 0}])

    def test_lookupByKey(self) -> None:
        """
        A fragment finds its detail by key: merging N fragments over N/2
        details compares indexes about N times, not N²/4.
        """
        self.patch(CountingIndex, "comparisons", 0)
        fragments = 2000
        self.merged([[{"type": "reasoning.encrypted", "data": "x",
                       "index": CountingIndex(i % (fragments // 2))}]
                     for i in range(fragments)])
        self.assertLess(CountingIndex.comparisons, 2 * fragments)

    def test_textJoinedOnce(self) -> None:
        """
        Text fragments are joined once, not concatenated one by one (which
        copies the text so far every time).
        """
        self.patch(CountingText, "concatenations", 0)
        merged = self.merged([[{"type": "reasoning.text", "text": CountingText("ab"),
                                "index": 0}] for _ in range(1000)])
        self.assertEqual(merged, [{"type": "reasoning.text", "text": "ab" * 1000, "index": 0}])
        self.assertEqual(CountingText.concatenations, 0)

    def test_throughTheTranslator(self) -> None:
        """
        Sealed in C{encrypted_content}, many fragments come back whole.
        """
        request = streamRequest()
        chat = translateRequest(request, SETTINGS)
        translator = StreamTranslator(request, chat, SETTINGS, ids=IDS, clock=stoppedClock)
        translator.start()
        for _ in range(5000):
            translator.feedChunk(C.chunk({"reasoning_details": [
                {"type": "reasoning.text", "text": "ab", "index": 0}]}))
        translator.finish(doneMarker=True)
        payload = reasoningPayload(translator.response["output"][0])
        self.assertEqual(payload["details"],
                         [{"type": "reasoning.text", "text": "ab" * 5000, "index": 0}])
