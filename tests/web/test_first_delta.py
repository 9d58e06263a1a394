"""
The first delta of a stream does not wait for the rest of its read
(issue 11): L{TranslatingBody} emits the events up to it, and translates
the rest once the reactor has had a turn to write them.  In memory, on a
L{Clock} whose C{advance(0)} is that turn.
"""

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss

from codex_relay._web.body import TranslatingBody
from tests.harness import chunks as C
from tests.harness.emitted import Emitted, translator

def read(*chunks: dict) -> bytes:
    return C.sse(*chunks, done=False)


UP_TO_DELTA = ["response.output_item.added", "response.content_part.added",
               "response.output_text.delta"]


class FirstDeltaTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.emit = Emitted()
        self.translator = translator()
        self.transport = StringTransport()
        self.body = TranslatingBody(self.translator, self.emit, self.clock, 10)
        self.body.makeConnection(self.transport)

    def turns(self) -> list:
        # Calls due now: the idle clock is the other one.
        return [c for c in self.clock.getDelayedCalls() if c.getTime() == self.clock.seconds()]

    def deltas(self) -> list[str]:
        return [e["delta"] for batch in self.emit.batches for e in batch
                if e["type"] == "response.output_text.delta"]

    def test_restOfTheReadAfterATurn(self) -> None:
        """
        A whole answer in one read: its first delta is emitted on its own;
        the rest, up to the terminal event, after the reactor's turn.
        """
        self.body.dataReceived(C.sse(C.text("a"), C.text("b"), C.text("c"),
                                     C.finish("stop")))
        self.assertEqual(self.emit.types, UP_TO_DELTA)
        self.assertNoResult(self.body.done)
        self.clock.advance(0)
        self.assertEqual(len(self.emit.batches), 2)
        self.assertEqual(self.deltas(), ["a", "b", "c"])
        self.assertEqual(self.emit.types[-1], "response.completed")
        self.successResultOf(self.body.done)

    def test_turnIsAfterThePoll(self) -> None:
        """
        The rest waits for a call scheduled by a call: a reactor runs the
        calls due before it polls, and those they schedule after, so the
        first delta's write goes out in between.
        """
        self.body.dataReceived(read(C.text("a"), C.text("b")))
        [first] = self.turns()
        self.clock.calls.remove(first)
        first.func(*first.args, **first.kw)
        self.assertEqual(self.deltas(), ["a"])
        [second] = self.turns()
        second.func(*second.args, **second.kw)
        self.assertEqual(self.deltas(), ["a", "b"])

    def test_laterDataInOrder(self) -> None:
        """
        What arrives before the turn (the rest of a read after a pause) is
        translated after the held events, in order.
        """
        self.body.dataReceived(read(C.text("a"), C.text("b")))
        self.body.dataReceived(read(C.text("c")))
        self.body.dataReceived(read(C.text("d")))
        self.assertEqual(self.deltas(), ["a"])
        self.clock.advance(0)
        self.assertEqual(self.deltas(), ["a", "b", "c", "d"])
        self.assertEqual(self.clock.getDelayedCalls()[0].getTime(), 10)  # only the idle clock

    def test_laterReadsWhole(self) -> None:
        """
        After the first delta, each read is translated whole and emitted in
        one batch, with no turn.
        """
        self.body.dataReceived(read(C.text("a")))
        self.body.dataReceived(C.sse(C.text("b"), C.text("c"), C.finish("stop")))
        self.assertEqual(self.deltas(), ["a", "b", "c"])
        self.assertEqual(len(self.emit.batches), 2)
        self.successResultOf(self.body.done)

    def test_endedMeanwhile(self) -> None:
        """
        A body that ends before the turn (its last bytes and its end in the
        same read) ends after the held events are translated.
        """
        self.body.dataReceived(read(C.text("a"), C.text("b"), C.finish("stop")))
        self.body.connectionLost(Failure(ResponseDone()))
        self.assertNoResult(self.body.done)
        self.clock.advance(0)
        self.assertEqual(self.deltas(), ["a", "b"])
        self.successResultOf(self.body.done)

    def test_brokenOffMeanwhile(self) -> None:
        """
        A body broken off before the turn fails C{done} with its reason,
        after what it had sent is emitted.
        """
        self.body.dataReceived(read(C.text("a"), C.text("b")))
        self.body.connectionLost(Failure(ConnectionError("reset")))
        self.clock.advance(0)
        self.assertEqual(self.deltas(), ["a", "b"])
        self.failureResultOf(self.body.done, ConnectionError)

    def test_potentialDataLossEndsCleanly(self) -> None:
        self.body.dataReceived(read(C.text("a"), C.text("b"), C.finish("stop")))
        self.body.connectionLost(Failure(PotentialDataLoss()))
        self.clock.advance(0)
        self.successResultOf(self.body.done)

    def test_cancelledMeanwhile(self) -> None:
        """
        Cancelled before the turn (the client went): nothing more is
        emitted, no call is left, and the upstream is stopped.
        """
        self.body.dataReceived(read(C.text("a"), C.text("b")))
        self.body.done.cancel()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.deltas(), ["a"])
        self.assertEqual(self.transport.producerState, "stopped")
        self.failureResultOf(self.body.done)

    def test_emitBugOnTheFirstDelta(self) -> None:
        """
        An exception of C{emit} on the first delta fails C{done} as it is,
        and the batch is not handed over again.
        """
        self.emit.error = TypeError("not serialisable")
        self.body.dataReceived(read(C.text("a"), C.text("b")))
        self.failureResultOf(self.body.done, TypeError)
        self.assertEqual(self.emit.batches, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.transport.producerState, "stopped")
