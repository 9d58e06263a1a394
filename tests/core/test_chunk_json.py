"""
The translator's JSON reading of an upstream chunk takes what C{json.loads}
takes, and refuses what it refuses.
"""

import json

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.stream.translator import _loads

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)


def outcome(parse, data: str) -> object:
    try:
        return ("value", parse(data))
    except ValueError:
        return ("error",)


class ChunkJSONTests(SynchronousTestCase):
    @given(values, st.sampled_from(["", " ", "\n", "\t "]), st.sampled_from(["", " ", "\r\n"]),
           st.sampled_from(["", "x", "}", ",1", " 2"]))
    def test_asLoads(self, value: object, before: str, after: str, junk: str) -> None:
        data = before + json.dumps(value) + after + junk
        self.assertEqual(outcome(_loads, data), outcome(json.loads, data))

    def test_notJSON(self) -> None:
        for data in ("", "nul", "{", '{"a":1}{"b":2}', "[DONE]"):
            self.assertEqual(outcome(_loads, data), ("error",), data)

    def test_tooDeep(self) -> None:
        with self.assertRaises(RecursionError):
            _loads("[" * 100000 + "]" * 100000)
