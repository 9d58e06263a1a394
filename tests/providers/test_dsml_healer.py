"""
The DSML healer (L{codex_relay._providers.healers.DSMLHealer}): tool calls
DeepSeek leaks as DSML markup into its text become calls, with exact
pieces, whatever the markup's variant, and what cannot be healed comes back
as text.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.healers import DSMLHealer
from tests.harness.filters import B, SHELL_LS, call, dsml, merged, run, text


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
