"""
The in-memory store: the contract, its bound in bytes, and its sweep that
never scans.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from codex_relay._core.stored import StoredResponse
from codex_relay._store.interface import ResponseStore
from codex_relay._store.memory import MemoryStore
from tests.harness.store import OWNER, TTL, StoreContract, message, record


class MemoryContractTests(StoreContract, TestCase):
    async def makeStore(self) -> ResponseStore:
        return MemoryStore(self.clock)

    def test_notShared(self) -> None:
        self.assertFalse(self.store.shared)
        self.assertEqual(self.store.name, "memory")


def put(store: MemoryStore, *records: StoredResponse) -> None:
    # Memory's Deferreds have fired already.
    for kept in records:
        store.put(kept)


class BoundTests(SynchronousTestCase):
    """
    The records' JSON adds up to at most C{maxBytes}: the oldest go first.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.size = len(record("resp_1").toJSON())
        self.store = MemoryStore(self.clock, maxBytes=3 * self.size)

    def get(self, responseId: str) -> object:
        return self.successResultOf(self.store.get(OWNER, responseId))

    def test_oldestEvicted(self) -> None:
        put(self.store, *(record("resp_{}".format(n), createdAt=n) for n in range(1, 5)))
        self.assertIsNone(self.get("resp_1"))
        for n in (2, 3, 4):
            self.assertIsNotNone(self.get("resp_{}".format(n)))
        self.assertEqual(len(self.store), 3)
        self.assertLessEqual(self.store.size, 3 * self.size)
        self.assertEqual(self.successResultOf(self.store.items(OWNER, ["msg_resp_1"])), {})

    def test_replacedIsNewest(self) -> None:
        """
        A record put again counts as put last, and once.
        """
        put(self.store, record("resp_1"), record("resp_2"), record("resp_3"),
            record("resp_1"), record("resp_4"))
        self.assertIsNone(self.get("resp_2"))
        self.assertIsNotNone(self.get("resp_1"))
        self.assertEqual(self.store.size, 3 * self.size)

    def test_tooLarge(self) -> None:
        """
        A record larger than the whole bound is not kept, and evicts nothing.
        """
        put(self.store, record("resp_1"))
        huge = record("resp_2", output=[message("msg_2", "x" * 4 * self.size)])
        put(self.store, huge)
        self.assertIsNone(self.get("resp_2"))
        self.assertIsNotNone(self.get("resp_1"))

    def test_deleteFrees(self) -> None:
        put(self.store, record("resp_1"))
        self.assertTrue(self.successResultOf(self.store.delete(OWNER, "resp_1")))
        self.assertEqual(self.store.size, 0)
        self.assertEqual(len(self.store), 0)

    def test_copies(self) -> None:
        """
        What C{get} returns is the store's copy, not the record put: changing
        one changes neither the other nor the next C{get}.
        """
        kept = record("resp_1")
        put(self.store, kept)
        got = self.successResultOf(self.store.get(OWNER, "resp_1"))
        assert got is not None
        got.response["output"].clear()
        self.assertEqual(self.successResultOf(self.store.get(OWNER, "resp_1")), kept)


class SweepTests(SynchronousTestCase):
    """
    Expired records are dropped from the front of the insertion order, and a
    sweep stops at the first live one.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.store = MemoryStore(self.clock)

    def test_noFullScan(self) -> None:
        put(self.store, *(record("resp_{}".format(n), createdAt=n / 100) for n in range(1000)))
        before = self.store.inspected
        for n in range(100):
            self.successResultOf(self.store.get(OWNER, "resp_{}".format(n)))
            self.successResultOf(self.store.items(OWNER, ["msg_resp_{}".format(n)]))
        # A handful per call, not a thousand.
        self.assertLessEqual(self.store.inspected - before, 400)

    def test_amortized(self) -> None:
        """
        Each expired record is looked at once, when it goes; the calls look
        at one live record each besides.
        """
        put(self.store, *(record("resp_{}".format(n), createdAt=n) for n in range(100)))
        self.clock.advance(TTL + 49.5)
        before = self.store.inspected
        put(self.store, record("resp_new", createdAt=self.clock.seconds()))
        self.assertEqual(len(self.store), 51)
        self.assertEqual(self.store.inspected - before, 51)

    def test_expiredNotAtFront(self) -> None:
        """
        A record that expires before an older one is not returned, though
        the sweep has not reached it.
        """
        put(self.store, record("resp_long", ttl=1000), record("resp_short", ttl=10))
        self.clock.advance(20)
        self.assertIsNone(self.successResultOf(self.store.get(OWNER, "resp_short")))
        self.assertEqual(
            self.successResultOf(self.store.items(OWNER, ["msg_resp_short"])), {})
        self.assertEqual(len(self.store), 1)

    def test_deleteExpired(self) -> None:
        put(self.store, record("resp_long", ttl=1000), record("resp_short", ttl=10))
        self.clock.advance(20)
        self.assertFalse(self.successResultOf(self.store.delete(OWNER, "resp_short")))
