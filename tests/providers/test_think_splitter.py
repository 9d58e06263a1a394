"""
The C{<think>} splitter (L{codex_relay._providers.healers.ThinkTagSplitter}):
blocks become reasoning wherever they are, reasoning streams as it comes,
and only a possible marker start is held back.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.healers import ThinkTagSplitter
from tests.harness.filters import merged, reasoning, run, text


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
