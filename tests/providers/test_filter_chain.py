"""
Content filters in a chain (L{codex_relay._providers.healers.chainFilters}):
text runs through each filter in turn, held text keeps its place, and
C{interrupt} and C{flush} give back what is held.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.healers import DSMLHealer, ThinkTagSplitter, chainFilters
from tests.harness.filters import B, SHELL_LS, call, dsml, merged, reasoning, run, text


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
