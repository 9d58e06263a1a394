"""
Properties of the content filters (L{codex_relay._providers.healers}):
generated text, think and DSML blocks give the expected pieces, any
chunking gives the same merged pieces, and only a possible marker start is
held back.
"""

import json

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.healers import DSMLHealer, ThinkTagSplitter, chainFilters
from tests.harness.filters import B, call, dsml, merged, reasoning, run, text

EXAMPLES = settings(max_examples=200, deadline=None)


def splitAt(s, cuts):
    """
    C{s} cut at the given offsets.
    """
    bounds = [0, *sorted(set(cuts)), len(s)]
    return [s[a:b] for a, b in zip(bounds, bounds[1:])]


# Text that cannot form a marker with its neighbours: no ">", "\u25b7" or "D".
plainText = st.text(alphabet="ab <\u25c1th/\n\"\uff5c\u00e9", min_size=1, max_size=12)
# Reasoning: anything that cannot close a block.
thinkText = st.text(alphabet="ab <\u25c1thinkDSML/\n\uff5c", max_size=12)
# A raw parameter value: no "p" (no closer), no "k" (no think opener).
rawValue = st.text(alphabet="ab <>/\"\n\uff5cDSML{}\u00e9", max_size=12)
attributeValue = st.text(alphabet="ab <>/\n\uff5c", max_size=8)
jsonValue = st.one_of(
    st.integers(-1000, 1000), st.booleans(), st.none(),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.sampled_from("xyz"), st.integers(0, 9), max_size=2))
toolName = st.sampled_from(["shell", "get_weather", "apply"])
HINT = {"shell": "command"}.get


@st.composite
def invokes(draw, bars):
    """
    One invoke: its markup and its expected call.
    """
    o, c = "<" + bars + "DSML" + bars, "</" + bars + "DSML" + bars
    name = draw(toolName)
    sep = draw(st.sampled_from(["", "\n", " \n  "]))
    if draw(st.booleans()) and bars == B + B:
        value = draw(attributeValue)
        markup = '{}invoke name="{}" string="{}" />'.format(o, name, value)
        return markup, call(name, {HINT(name) or "input": value})
    parameters = draw(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 3),
                                      max_size=3))
    markup = ['{}invoke name="{}">'.format(o, name)]
    arguments = {}
    for key, kind in parameters.items():
        if kind == 0:
            value = draw(rawValue)
            markup.append('{}parameter name="{}" string="true">{}{}parameter>'.format(
                o, key, value, c))
        elif kind == 1:
            value = draw(jsonValue)
            markup.append('{}parameter name="{}" string="false">{}{}parameter>'.format(
                o, key, json.dumps(value), c))
        elif kind == 2:
            value = draw(jsonValue)
            markup.append('{}parameter name="{}">{}{}parameter>'.format(
                o, key, json.dumps(value), c))
        else:
            value = draw(attributeValue)
            markup.append('{}parameter name="{}" string="{}"/>'.format(o, key, value))
        arguments[key] = value
    markup.append(c + "invoke>")
    return sep.join(markup), call(name, arguments)


@st.composite
def blocks(draw):
    """
    A DSML block: its markup and its expected calls.
    """
    bars = draw(st.sampled_from([B, B + B]))
    wrapper = draw(st.sampled_from(["tool_calls", "function_calls", None]))
    items = draw(st.lists(invokes(bars), min_size=1, max_size=3))
    if wrapper is None:
        items = items[:1]
        return items[0][0], [items[0][1]]
    markup = "\n".join(m for m, _ in items)
    return dsml(markup.replace("{", "{{").replace("}", "}}"), bars, wrapper), [
        p for _, p in items]


@st.composite
def contents(draw):
    """
    A content stream of text, think blocks and DSML blocks: the content and
    the pieces L{chainFilters} should give for it.
    """
    content = []
    expected = []
    for kind in draw(st.lists(st.sampled_from(["text", "think", "dsml"]), max_size=6)):
        if kind == "text":
            s = draw(plainText)
            content.append(s)
            expected.append(text(s))
        elif kind == "think":
            s = draw(thinkText)
            if draw(st.booleans()):
                content.append("<think>" + s + "</think>")
            else:
                content.append("\u25c1think\u25b7" + s + "\u25c1/think\u25b7")
            if s:
                expected.append(reasoning(s))
        else:
            markup, calls = draw(blocks())
            content.append(markup)
            expected.extend(calls)
    return "".join(content), merged(expected)


@st.composite
def chunkings(draw, s):
    """
    C{s} split at arbitrary points.
    """
    cuts = draw(st.lists(st.integers(0, len(s)), max_size=max(1, len(s) // 2)))
    return splitAt(s, cuts)


SOUP = [
    "<think>", "</think>", "\u25c1think\u25b7", "\u25c1/think\u25b7", "<", "<th", "\u25c1",
    "a", " b", "\n", '"', ">", "/>", "{\"k\": 1}", B, "DSML", "<" + B, "<" + B + B + "DS",
    "<" + B + "DSML" + B + "tool_calls>", "</" + B + "DSML" + B + "tool_calls>",
    '<' + B + 'DSML' + B + 'invoke name="x">', "</" + B + "DSML" + B + "invoke>",
    '<' + B + 'DSML' + B + 'parameter name="p" string="true">',
    '<' + B + 'DSML' + B + 'parameter name="q">', "</" + B + "DSML" + B + "parameter>",
    '<' + B + B + 'DSML' + B + B + 'invoke name="y" string="v" />',
    '<' + B + B + 'DSML' + B + B + 'parameter name="z" string="w"/>',
]
soup = st.lists(st.sampled_from(SOUP), max_size=25).map("".join)
FILTERS = {
    "think": ThinkTagSplitter,
    "dsml": lambda: DSMLHealer(HINT),
    "chain": lambda: chainFilters([ThinkTagSplitter(), DSMLHealer(HINT)]),
}


def longestHeld(s, markers):
    """
    The longest suffix of C{s} that is a proper prefix of one of
    C{markers}, by brute force.
    """
    for start in range(len(s)):
        tail = s[start:]
        if any(m.startswith(tail) and m != tail for m in markers):
            return tail
    return ""


class PropertyTests(SynchronousTestCase):
    """
    Properties of the filters.
    """

    @EXAMPLES
    @given(st.data())
    def test_modelContent(self, data):
        """
        Generated text, think and DSML blocks give the expected pieces,
        however the content is chunked.
        """
        content, expected = data.draw(contents())
        self.assertEqual(merged(run(FILTERS["chain"](), [content])), expected)
        chunks = data.draw(chunkings(content))
        self.assertEqual(merged(run(FILTERS["chain"](), chunks)), expected)

    @EXAMPLES
    @given(st.data(), soup, st.sampled_from(sorted(FILTERS)))
    def test_anyChunking(self, data, content, which):
        """
        Any content, markup fragments included, gives the same merged pieces
        and the same number of healed calls whole, character by character
        and cut anywhere.
        """
        whole = FILTERS[which]()
        expected = merged(run(whole, [content]))
        for chunks in (list(content), data.draw(chunkings(content))):
            f = FILTERS[which]()
            self.assertEqual(merged(run(f, chunks)), expected, chunks)
            if which == "dsml":
                self.assertEqual(f.fired, whole.fired)

    @EXAMPLES
    @given(st.lists(st.text(alphabet="ab <\u25c1thinkDSML\uff5c/", max_size=6), max_size=8),
           st.sampled_from(["think", "dsml"]))
    def test_holdsOnlyMarkerStarts(self, chunks, which):
        """
        Outside markup, the text given so far is everything fed but the
        longest suffix that could still begin a marker.
        """
        if which == "think":
            f, markers = ThinkTagSplitter(), ["<think>", "\u25c1think\u25b7"]
        else:
            f = DSMLHealer()
            markers = ["<" + B + "DSML" + B, "<" + B + B + "DSML" + B,
                       "</" + B + "DSML" + B, "</" + B + B + "DSML" + B]
        fed = given = ""
        for chunk in chunks:
            fed += chunk
            if any(m in fed for m in markers):
                return
            for piece in f.feed(chunk):
                self.assertEqual(piece.kind, "text")
                given += piece.text
            self.assertEqual(given + longestHeld(fed, markers), fed)
