"""
The drain of a stopping relay (L{codex_relay._run.drain}), on a clock:
L{RelayService.stopService} waits for the exchanges in flight up to its
drain timeout, then ends those left with a retryable failure; idle
connections close at once, busy ones once answered, WebSockets once idle.
"""

from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock, StringTransportWithDisconnection
from twisted.trial.unittest import SynchronousTestCase

from codex_relay import RelayConfig, RelayService
from codex_relay._run.drain import CLOSE_GRACE, SHUTDOWN_MESSAGE
from codex_relay._web.activity import Activity, Outcome

HEALTH = b"GET /health HTTP/1.1\r\nHost: relay\r\n\r\n"


def outcome() -> Outcome:
    return Outcome(transport="http", route="-", model="m", client="-", http=200,
                   status="completed", code=None, usage=None, firstDelta=None,
                   seconds=0.0, gone=False)


class FakeExchange:
    """
    An exchange in flight: it ends when told, or when shut down.
    """

    def __init__(self, activity: Activity) -> None:
        self.activity = activity
        self.shutDowns: list[str] = []
        activity.began(self)

    def finish(self) -> None:
        self.activity.ended(self, outcome())

    def shutDown(self, message: str) -> None:
        self.shutDowns.append(message)
        self.finish()


class FakeSocket:
    def __init__(self) -> None:
        self.goneAway = 0

    def goAway(self) -> None:
        self.goneAway += 1


class DrainTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = MemoryReactorClock()
        self.service = RelayService(RelayConfig(store="none"), self.clock,
                                    listen=["tcp:0:interface=127.0.0.1"], drainTimeout=30)
        self.service.startService()
        self.activity = self.service.resource.activity

    def stop(self) -> Deferred[Any]:
        stopped = self.service.stopService()
        self.results: list[Any] = []
        stopped.addBoth(self.results.append)
        return stopped

    def connect(self) -> tuple[Any, StringTransportWithDisconnection]:
        protocol = self.service.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
        transport = StringTransportWithDisconnection()
        transport.protocol = protocol
        protocol.makeConnection(transport)
        return protocol, transport

    def test_nothingInFlight(self) -> None:
        """
        With nothing in flight, the service stops at once.
        """
        self.stop()
        self.assertEqual(self.results, [None])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_finishesWithinTimeout(self) -> None:
        """
        An exchange that ends within the drain timeout is left to end; the
        service stops then, not before, and its timer is gone.
        """
        exchange = FakeExchange(self.activity)
        self.stop()
        self.clock.advance(29)
        self.assertEqual(self.results, [])
        exchange.finish()
        self.assertEqual(self.results, [None])
        self.assertEqual(exchange.shutDowns, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_timeoutShutsDown(self) -> None:
        """
        The exchanges still in flight when the drain timeout passes are
        ended with the shutdown message; then the service has stopped.
        """
        exchanges = [FakeExchange(self.activity) for _ in range(3)]
        exchanges[0].finish()
        self.stop()
        self.clock.advance(29.9)
        self.assertEqual([e.shutDowns for e in exchanges], [[], [], []])
        self.clock.advance(0.1)
        self.assertEqual([e.shutDowns for e in exchanges],
                         [[], [SHUTDOWN_MESSAGE], [SHUTDOWN_MESSAGE]])
        self.assertEqual(self.results, [None])
        self.assertEqual(self.activity.inFlight, set())

    def test_zeroTimeout(self) -> None:
        """
        C{drainTimeout=0} ends what is in flight at once.
        """
        service = RelayService(RelayConfig(store="none"), self.clock, drainTimeout=0)
        service.startService()
        exchange = FakeExchange(service.resource.activity)
        results: list[Any] = []
        service.stopService().addBoth(results.append)
        self.clock.advance(0)
        self.assertEqual((exchange.shutDowns, results), ([SHUTDOWN_MESSAGE], [None]))

    def test_webSocketsGoAway(self) -> None:
        """
        Every open WebSocket connection is asked to go away when the drain
        begins.
        """
        sockets = [FakeSocket(), FakeSocket()]
        self.activity.sockets.update(sockets)
        self.stop()
        self.assertEqual([s.goneAway for s in sockets], [1, 1])

    def test_idleConnectionClosed(self) -> None:
        """
        An idle keep-alive connection is closed when the drain begins; the
        service waits for it to be gone.
        """
        protocol, transport = self.connect()
        protocol.dataReceived(HEALTH)
        self.assertIn(b'"status":"ok"', transport.value())
        self.assertTrue(transport.connected)
        self.assertEqual(len(self.service.site.connections), 1)
        self.stop()
        self.assertFalse(transport.connected)
        self.assertEqual(self.results, [None])
        self.assertEqual(self.service.site.connections, set())

    def test_busyConnectionClosedOnceAnswered(self) -> None:
        """
        A connection whose request is in progress stays open until it is
        answered, then closes; the answer says C{Connection: close}.
        """
        protocol, transport = self.connect()
        # Headers only: the body of this request has not arrived yet.
        protocol.dataReceived(b"POST /health HTTP/1.1\r\nHost: relay\r\n"
                              b"Content-Length: 2\r\n\r\n")
        self.stop()
        self.assertTrue(transport.connected)
        protocol.dataReceived(b"{}")
        self.assertFalse(transport.connected)
        self.assertIn(b"\r\nConnection: close\r\n", transport.value())
        self.assertEqual(self.results, [None])

    def test_requestDuringDrainClosed(self) -> None:
        """
        A request still arriving when the drain begins is answered with
        C{Connection: close}, and the connection closes; the service still
        waits for the exchange in flight.
        """
        exchange = FakeExchange(self.activity)
        protocol, transport = self.connect()
        protocol.dataReceived(b"GET /health HTTP/1.1\r\n")
        self.stop()
        protocol.dataReceived(b"Host: relay\r\n\r\n")
        self.assertFalse(transport.connected)
        self.assertIn(b"\r\nConnection: close\r\n", transport.value())
        self.assertEqual(self.results, [])
        exchange.finish()
        self.assertEqual(self.results, [None])

    def test_stuckConnectionAborted(self) -> None:
        """
        A connection still open once the drain timeout and then the grace
        have passed is aborted.
        """
        protocol, transport = self.connect()
        protocol.dataReceived(b"POST /health HTTP/1.1\r\nHost: relay\r\n"
                              b"Content-Length: 2\r\n\r\n")
        aborted: list[bool] = []
        transport.abortConnection = lambda: (  # type: ignore[method-assign]
            aborted.append(True), transport.loseConnection())
        self.stop()
        self.clock.advance(30)
        self.assertEqual((aborted, self.results), ([], []))
        self.clock.advance(CLOSE_GRACE)
        self.assertEqual((aborted, self.results), ([True], [None]))
