"""
Endpoint services that tell their parent how listening went
(codex_relay._run.ports).
"""

from typing import Any

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, fail
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._run.ports import allListened, listenOn


class _Failing:
    def listen(self, factory: Any) -> Deferred[Any]:
        return fail(CannotListenError("127.0.0.1", 1, OSError("in use")))


class _Pending:
    def __init__(self) -> None:
        self.listening: Deferred[Any] = Deferred()

    def listen(self, factory: Any) -> Deferred[Any]:
        return self.listening


class ListenOnTests(SynchronousTestCase):
    def test_portsInOrder(self) -> None:
        """
        The parent hears of every child's port, in the order given.
        """
        reactor = MemoryReactorClock()
        parent = MultiService()
        observed = [listenOn(parent, TCP4ServerEndpoint(reactor, port), Factory())
                    for port in (4001, 4002)]
        parent.privilegedStartService()
        ports = self.successResultOf(allListened(observed))
        self.assertEqual([p.getHost().port for p in ports], [4001, 4002])
        parent.startService()
        self.assertEqual(len(reactor.tcpServers), 2)
        self.successResultOf(parent.stopService())

    def test_failureToParentOnly(self) -> None:
        """
        A port that cannot be bound fails the parent's Deferred, and is not
        also logged as unhandled by the endpoint service; stopping works.
        """
        reactor = MemoryReactorClock()
        parent = MultiService()
        observed = [listenOn(parent, TCP4ServerEndpoint(reactor, 4001), Factory()),
                    listenOn(parent, _Failing(), Factory())]  # type: ignore[arg-type]
        parent.privilegedStartService()
        failure = self.failureResultOf(allListened(observed))
        self.assertIsInstance(failure.value.subFailure.value, CannotListenError)
        self.assertEqual(self.flushLoggedErrors(), [])
        self.successResultOf(parent.stopService())

    def test_stopBeforeBound(self) -> None:
        """
        Stopping while a port is still being bound cancels the binding.
        """
        pending = _Pending()
        parent = MultiService()
        observed = [listenOn(parent, pending, Factory())]  # type: ignore[arg-type]
        parent.privilegedStartService()
        listened = allListened(observed)
        self.assertNoResult(listened)
        self.successResultOf(parent.stopService())
        self.failureResultOf(listened)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_freshEachListen(self) -> None:
        """
        A parent started again hears of the new ports, not the old ones.
        """
        reactor = MemoryReactorClock()
        parent = MultiService()
        [observed] = [listenOn(parent, TCP4ServerEndpoint(reactor, 4001), Factory())]
        parent.startService()
        first = self.successResultOf(observed.listened)
        self.successResultOf(parent.stopService())
        parent.startService()
        second = self.successResultOf(observed.listened)
        self.assertIsNot(first, second)
        self.successResultOf(parent.stopService())
