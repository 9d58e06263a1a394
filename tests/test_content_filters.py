"""
Tests for L{codex_relay._providers.healers}: the C{<think>} splitter, the DSML
healer and their chain, with exact pieces, and properties: any chunking
gives the same merged pieces, and only a possible marker start is held back.
"""

import json

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.healers import (
    DSMLHealer,
    Piece,
    ThinkTagSplitter,
    chainFilters,
)

EXAMPLES = settings(max_examples=200, deadline=None)
B = "\uff5c"  # the DSML bar


def text(s):
    return Piece("text", s)


def reasoning(s):
    return Piece("reasoning", s)


def call(name, arguments):
    return Piece("call", name=name, arguments=json.dumps(arguments, ensure_ascii=False))


def run(f, chunks):
    """
    Feed every chunk, then flush; return all the pieces.
    """
    pieces = []
    for chunk in chunks:
        pieces.extend(f.feed(chunk))
    pieces.extend(f.flush())
    return pieces


def merged(pieces):
    """
    Merge adjacent text (or reasoning) pieces.
    """
    out = []
    for piece in pieces:
        if out and piece.kind != "call" and out[-1].kind == piece.kind:
            out[-1] = out[-1]._replace(text=out[-1].text + piece.text)
        else:
            out.append(piece)
    return out


def splitAt(s, cuts):
    """
    C{s} cut at the given offsets.
    """
    bounds = [0, *sorted(set(cuts)), len(s)]
    return [s[a:b] for a, b in zip(bounds, bounds[1:])]


def dsml(body, bars=B, wrapper="tool_calls"):
    """
    C{body} (a format string with C{{o}} for a tag opening, C{{c}} for a
    closing one) inside a DSML wrapper.
    """
    o = "<" + bars + "DSML" + bars
    c = "</" + bars + "DSML" + bars
    return (o + wrapper + ">\n" + body.format(o=o, c=c) + "\n" + c + wrapper + ">")


SHELL_LS = (
    '{o}invoke name="shell">\n'
    '{o}parameter name="command" string="true">ls -la{c}parameter>\n'
    "{c}invoke>"
)


class ThinkTagSplitterTests(SynchronousTestCase):
    """
    Tests for L{ThinkTagSplitter}.
    """

    def test_plainPassthrough(self):
        """
        Text without a marker character comes out as it is fed, nothing held.
        """
        f = ThinkTagSplitter()
        self.assertEqual(f.feed("Hello, "), [text("Hello, ")])
        self.assertEqual(f.feed("world."), [text("world.")])
        self.assertEqual(f.feed(""), [])
        self.assertEqual(f.flush(), [])

    def test_thinkAtStart(self):
        """
        A leading block is reasoning; what follows its closer is text,
        verbatim.
        """
        self.assertEqual(
            run(ThinkTagSplitter(), ["<think>Plan it.</think>\n\nThe answer."]),
            [reasoning("Plan it."), text("\n\nThe answer.")])

    def test_thinkInMiddle(self):
        """
        A block anywhere is reasoning; text around it stays text.
        """
        self.assertEqual(
            run(ThinkTagSplitter(), ["Before <think>hmm</think> after"]),
            [text("Before "), reasoning("hmm"), text(" after")])

    def test_twoBlocks(self):
        """
        Every block is reasoning, a stray closer outside one is text.
        """
        self.assertEqual(
            run(ThinkTagSplitter(), ["<think>a</think>b<think>c</think>d</think>"]),
            [reasoning("a"), text("b"), reasoning("c"), text("d</think>")])

    def test_reasoningStreams(self):
        """
        Reasoning is given as it arrives, not held until the closer.
        """
        f = ThinkTagSplitter()
        self.assertEqual(f.feed("<think>one "), [reasoning("one ")])
        self.assertEqual(f.feed("two"), [reasoning("two")])
        self.assertEqual(f.feed(" three</th"), [reasoning(" three")])
        self.assertEqual(f.feed("ink>done"), [text("done")])
        self.assertEqual(f.flush(), [])

    def test_unterminatedAtEnd(self):
        """
        A block still open at the end is reasoning, a held partial closer
        included.
        """
        f = ThinkTagSplitter()
        self.assertEqual(f.feed("ok<think>still thinking</thi"),
                         [text("ok"), reasoning("still thinking")])
        self.assertEqual(f.flush(), [reasoning("</thi")])

    def test_partialOpenerAtEnd(self):
        """
        A partial opener that never completes is text, given at flush.
        """
        f = ThinkTagSplitter()
        self.assertEqual(f.feed("see <thi"), [text("see ")])
        self.assertEqual(f.flush(), [text("<thi")])

    def test_splitAtEveryOffset(self):
        """
        Cut anywhere, once or twice, the content gives the same pieces.
        """
        content = "ab<think>c<d</think>e<f"
        expected = [text("ab"), reasoning("c<d"), text("e<f")]
        for i in range(len(content) + 1):
            for j in range(i, len(content) + 1):
                chunks = [content[:i], content[i:j], content[j:]]
                self.assertEqual(merged(run(ThinkTagSplitter(), chunks)), expected,
                                 chunks)

    def test_triangleVariant(self):
        """
        C{\u25c1think\u25b7} blocks close only with C{\u25c1/think\u25b7}.
        """
        content = "x\u25c1think\u25b7r</think>s\u25c1/think\u25b7y"
        self.assertEqual(run(ThinkTagSplitter(), [content]),
                         [text("x"), reasoning("r</think>s"), text("y")])
        self.assertEqual(merged(run(ThinkTagSplitter(), list(content))),
                         [text("x"), reasoning("r</think>s"), text("y")])

    def test_loneAngleBracket(self):
        """
        A "<" that cannot start a marker is not held.
        """
        f = ThinkTagSplitter()
        self.assertEqual(f.feed("a < b"), [text("a < b")])
        self.assertEqual(f.feed("x<y"), [text("x<y")])
        self.assertEqual(f.feed("\u25c1z"), [text("\u25c1z")])
        self.assertEqual(f.flush(), [])

    def test_minimalHold(self):
        """
        Only the partial marker is held, and released as soon as it fails.
        """
        f = ThinkTagSplitter()
        self.assertEqual(f.feed("x<"), [text("x")])
        self.assertEqual(f.feed("y"), [text("<y")])
        self.assertEqual(f.feed("a<th"), [text("a")])
        self.assertEqual(f.feed("e"), [text("<the")])
        self.assertEqual(f.feed("\u25c1thi"), [])
        self.assertEqual(f.feed("s"), [text("\u25c1this")])
        self.assertEqual(f.flush(), [])

    def test_reusableAfterFlush(self):
        """
        Flush resets the splitter.
        """
        f = ThinkTagSplitter()
        f.feed("<think>a")
        f.flush()
        self.assertEqual(run(f, ["b"]), [text("b")])


class DSMLHealerTests(SynchronousTestCase):
    """
    Tests for L{DSMLHealer}.
    """

    def test_plainPassthrough(self):
        """
        Text without markup comes out as it is fed; a "<" that cannot start
        a tag is not held.
        """
        f = DSMLHealer()
        self.assertEqual(f.feed("Hello"), [text("Hello")])
        self.assertEqual(f.feed("a < b, x<y, <think>"), [text("a < b, x<y, <think>")])
        self.assertEqual(f.feed("|DSML|"), [text("|DSML|")])
        self.assertEqual(f.flush(), [])
        self.assertEqual(f.fired, 0)

    def test_minimalHold(self):
        """
        Only a possible tag start is held, and released when it fails.
        """
        f = DSMLHealer()
        self.assertEqual(f.feed("a<"), [text("a")])
        self.assertEqual(f.feed(B), [])
        self.assertEqual(f.feed(B + "DS"), [])
        self.assertEqual(f.feed("X"), [text("<" + B + B + "DSX")])
        self.assertEqual(f.feed("end <" + B), [text("end ")])
        self.assertEqual(f.flush(), [text("<" + B)])
        # The longest possible partial tag start.
        self.assertEqual(f.feed("x</" + B + B + "DSML"), [text("x")])
        self.assertEqual(f.feed(B + "tool_calls>y"), [text("y")])

    def test_oneInvoke(self):
        """
        A single-bar block becomes one call; text before and after stays.
        """
        f = DSMLHealer()
        content = "Listing.\n" + dsml(SHELL_LS) + "\nDone."
        self.assertEqual(run(f, [content]), [
            text("Listing.\n"), call("shell", {"command": "ls -la"}), text("\nDone.")])
        self.assertEqual(f.fired, 1)

    def test_twoInvokes(self):
        """
        Two invokes in one block are two calls, in order.
        """
        body = (
            '{o}invoke name="read">\n'
            '{o}parameter name="path" string="true">a.txt{c}parameter>\n'
            "{c}invoke>\n"
            '{o}invoke name="read">\n'
            '{o}parameter name="path" string="true">b.txt{c}parameter>\n'
            "{c}invoke>"
        )
        f = DSMLHealer()
        self.assertEqual(run(f, [dsml(body, wrapper="function_calls")]), [
            call("read", {"path": "a.txt"}), call("read", {"path": "b.txt"})])
        self.assertEqual(f.fired, 2)

    def test_callGivenAtInvokeClose(self):
        """
        A call is given as soon as its invoke closes, before the block ends.
        """
        f = DSMLHealer()
        opened = "<" + B + "DSML" + B + "tool_calls>\n"
        self.assertEqual(f.feed(opened), [])
        self.assertEqual(
            f.feed('<{b}DSML{b}invoke name="x"></{b}DSML{b}invoke>'.format(b=B)),
            [call("x", {})])
        self.assertEqual(f.feed("\n</" + B + "DSML" + B + "tool_calls>ok"), [text("ok")])

    def test_jsonParameters(self):
        """
        C{string="false"} or no C{string} attribute: the value is JSON, or
        the raw string when it does not parse.
        """
        body = (
            '{o}invoke name="t">\n'
            '{o}parameter name="n" string="false">42{c}parameter>\n'
            '{o}parameter name="o" string="false">{{"k": [1, true, null]}}{c}parameter>\n'
            '{o}parameter name="f">2.5{c}parameter>\n'
            '{o}parameter name="bad" string="false">not json{c}parameter>\n'
            '{o}parameter name="s" string="true">42{c}parameter>\n'
            "{c}invoke>"
        )
        self.assertEqual(run(DSMLHealer(), [dsml(body)]), [call("t", {
            "n": 42, "o": {"k": [1, True, None]}, "f": 2.5, "bad": "not json",
            "s": "42"})])

    def test_multiLineValue(self):
        """
        A raw value keeps its newlines, quotes, "<" and ">" exactly.
        """
        value = 'cat > f.py <<EOF\nprint("a<b>c")\n  x = 1\nEOF\n'
        body = ('{o}invoke name="shell">\n'
                '{o}parameter name="command" string="true">' + value.replace("{", "{{")
                + "{c}parameter>\n{c}invoke>")
        content = dsml(body)
        self.assertEqual(run(DSMLHealer(), [content]),
                         [call("shell", {"command": value})])
        self.assertEqual(merged(run(DSMLHealer(), list(content))),
                         [call("shell", {"command": value})])

    def test_longValueInSmallChunks(self):
        """
        A long value fed in small chunks arrives whole.
        """
        value = "0123456789abcdef\n" * 600 + "a < b"
        content = dsml('{o}invoke name="write">{o}parameter name="text" string="true">'
                       + value + "{c}parameter>{c}invoke>")
        chunks = [content[i:i + 7] for i in range(0, len(content), 7)]
        f = DSMLHealer()
        self.assertEqual(run(f, chunks), [call("write", {"text": value})])

    def test_flashSelfClosingInvoke(self):
        """
        A V4 Flash self-closing invoke's C{string} attribute fills the tool's
        first parameter, named by the hint.
        """
        content = dsml('{o}invoke name="cmd" string="echo alpha" />', bars=B + B)
        hint = {"cmd": "command"}.get
        self.assertEqual(run(DSMLHealer(hint), [content]),
                         [call("cmd", {"command": "echo alpha"})])

    def test_flashSelfClosingInvokeNoHint(self):
        """
        Without a hint, or when the hint does not know the tool, the
        argument is C{input}.
        """
        content = dsml('{o}invoke name="cmd" string="echo alpha" />', bars=B + B)
        self.assertEqual(run(DSMLHealer(), [content]),
                         [call("cmd", {"input": "echo alpha"})])
        self.assertEqual(run(DSMLHealer(lambda name: None), [content]),
                         [call("cmd", {"input": "echo alpha"})])

    def test_selfClosingParameters(self):
        """
        A self-closing parameter's C{string} attribute is its string value,
        even one holding ">" and "/".
        """
        body = (
            '{o}invoke name="shell">\n'
            '{o}parameter name="command" string="echo a > /tmp/x" />\n'
            '{o}parameter name="n" string="5"/>\n'
            "{c}invoke>"
        )
        self.assertEqual(run(DSMLHealer(), [dsml(body, bars=B + B)]),
                         [call("shell", {"command": "echo a > /tmp/x", "n": "5"})])

    def test_lenientWhitespace(self):
        """
        Whitespace inside tags and between them is accepted.
        """
        content = (
            '<{b}DSML{b} tool_calls >\n\n  <{b}DSML{b} invoke  name = "x" >'
            '<{b}DSML{b}parameter\nname="p"\nstring="true" >v</{b}DSML{b} parameter >'
            '</{b}DSML{b}invoke >\t</{b}DSML{b}tool_calls>'.format(b=B))
        self.assertEqual(run(DSMLHealer(), [content]), [call("x", {"p": "v"})])

    def test_invokeWithoutWrapper(self):
        """
        An invoke outside any wrapper is a block of its own.
        """
        content = ('a<{b}DSML{b}invoke name="x"><{b}DSML{b}parameter name="p" '
                   'string="true">1</{b}DSML{b}parameter></{b}DSML{b}invoke>b'.format(b=B))
        self.assertEqual(run(DSMLHealer(), [content]),
                         [text("a"), call("x", {"p": "1"}), text("b")])

    def test_missingInvokeCloser(self):
        """
        An invoke opening while another is open closes that one.
        """
        body = ('{o}invoke name="a">{o}parameter name="p" string="true">1{c}parameter>\n'
                '{o}invoke name="b">{o}parameter name="q" string="true">2{c}parameter>\n'
                '{c}invoke>')
        self.assertEqual(run(DSMLHealer(), [dsml(body)]),
                         [call("a", {"p": "1"}), call("b", {"q": "2"})])

    def test_directJSON(self):
        """
        An invoke holding a JSON object instead of parameters takes it as
        its arguments.
        """
        body = '{o}invoke name="x">\n{{"a": 1, "b": "two"}}\n{c}invoke>'
        self.assertEqual(run(DSMLHealer(), [dsml(body)]),
                         [call("x", {"a": 1, "b": "two"})])

    def test_strayText(self):
        """
        Non-blank text inside a block is given back in place; a stray closer
        is stripped.
        """
        content = dsml("oops\n" + SHELL_LS) + " and </" + B + "DSML" + B + "invoke> end"
        self.assertEqual(run(DSMLHealer(), [content]), [
            text("\noops\n"), call("shell", {"command": "ls -la"}), text(" and "),
            text(" end")])

    def test_unterminatedAtEnd(self):
        """
        An unfinished invoke at the end comes back verbatim as text; complete
        ones before it are calls.
        """
        unfinished = ('\n<{b}DSML{b}invoke name="shell">\n<{b}DSML{b}parameter name='
                      '"command" string="true">rm -'.format(b=B))
        content = ("Go.<" + B + "DSML" + B + "tool_calls>\n"
                   + SHELL_LS.format(o="<" + B + "DSML" + B, c="</" + B + "DSML" + B)
                   + unfinished)
        f = DSMLHealer()
        self.assertEqual(f.feed(content),
                         [text("Go."), call("shell", {"command": "ls -la"})])
        self.assertEqual(f.flush(), [text(unfinished)])
        self.assertEqual(f.fired, 1)
        self.assertEqual(merged(run(DSMLHealer(), list(content))), [
            text("Go."), call("shell", {"command": "ls -la"}), text(unfinished)])

    def test_unterminatedTagAtEnd(self):
        """
        A tag cut off at the end, or a block holding only a wrapper opener,
        comes back as text.
        """
        cut = '<' + B + 'DSML' + B + 'invoke name="sh'
        self.assertEqual(run(DSMLHealer(), ["x", cut]), [text("x"), text(cut)])
        opener = "<" + B + "DSML" + B + "tool_calls>\n"
        self.assertEqual(run(DSMLHealer(), [opener]), [text(opener)])

    def test_blankRemainderDropped(self):
        """
        A block missing only its wrapper closer gives its calls and nothing
        else.
        """
        content = dsml(SHELL_LS).rsplit("</", 1)[0]
        self.assertEqual(run(DSMLHealer(), [content]),
                         [call("shell", {"command": "ls -la"})])

    def test_firedCounts(self):
        """
        C{fired} counts every call healed, across blocks and flushes.
        """
        f = DSMLHealer()
        run(f, [dsml(SHELL_LS), " then ", dsml(SHELL_LS + "\n" + SHELL_LS)])
        self.assertEqual(f.fired, 3)
        run(f, [dsml(SHELL_LS)])
        self.assertEqual(f.fired, 4)


class ChainTests(SynchronousTestCase):
    """
    Tests for L{chainFilters}.
    """

    def test_thinkThenDSML(self):
        """
        Text pieces run through each filter in turn; DSML inside a think
        block stays reasoning.
        """
        chain = chainFilters([ThinkTagSplitter(), DSMLHealer()])
        inner = dsml(SHELL_LS)
        content = "<think>maybe " + inner + "</think>Running." + inner + "Done <th"
        self.assertEqual(merged(run(chain, [content])), [
            reasoning("maybe " + inner), text("Running."),
            call("shell", {"command": "ls -la"}), text("Done <th")])
        self.assertEqual(chain.filters[1].fired, 1)

    def test_plainPassthrough(self):
        """
        Plain text passes through both filters at once.
        """
        chain = chainFilters([ThinkTagSplitter(), DSMLHealer()])
        self.assertEqual(chain.feed("plain"), [text("plain")])
        self.assertEqual(chain.flush(), [])

    def test_heldTextKeepsItsPlace(self):
        """
        A partial marker held by a later filter comes out before a piece
        another filter emits after it.
        """
        chain = chainFilters([ThinkTagSplitter(), DSMLHealer()])
        self.assertEqual(chain.feed("x<"), [text("x")])
        self.assertEqual(chain.feed("<think>r</think>"), [text("<"), reasoning("r")])
        chain = chainFilters([DSMLHealer(), ThinkTagSplitter()])
        content = "a<th" + dsml(SHELL_LS) + "ink>"
        self.assertEqual(run(chain, [content]), [
            text("a"), text("<th"), call("shell", {"command": "ls -la"}), text("ink>")])

    def test_interrupt(self):
        """
        C{interrupt} gives back a partial marker held outside a block (as
        reasoning inside a think block); a DSML block keeps holding.
        """
        think = ThinkTagSplitter()
        self.assertEqual(think.feed("a<thi"), [text("a")])
        self.assertEqual(think.interrupt(), [text("<thi")])
        self.assertEqual(think.feed("nk>"), [text("nk>")])
        self.assertEqual(think.feed("<think>b</th"), [reasoning("b")])
        self.assertEqual(think.interrupt(), [reasoning("</th")])
        self.assertEqual(think.interrupt(), [])
        self.assertEqual(think.feed("c</think>d"), [reasoning("c"), text("d")])
        healer = DSMLHealer()
        self.assertEqual(healer.feed("a<" + B), [text("a")])
        self.assertEqual(healer.interrupt(), [text("<" + B)])
        self.assertEqual(healer.feed('<' + B + 'DSML' + B + 'invoke name="x"><'), [])
        self.assertEqual(healer.interrupt(), [])
        self.assertEqual(healer.feed("/" + B + "DSML" + B + "invoke>"), [call("x", {})])

    def test_flushRunsThroughLaterFilters(self):
        """
        What an earlier filter gives back at flush is fed to the later ones.
        """
        chain = chainFilters([ThinkTagSplitter(), DSMLHealer()])
        self.assertEqual(chain.feed("a<"), [text("a")])
        self.assertEqual(chain.flush(), [text("<")])


# --- properties ---------------------------------------------------------

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
