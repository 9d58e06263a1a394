"""
Listening as Twisted's applications do: each endpoint is a
L{StreamServerEndpointService} child of the service that owns it, so that
its port is bound in C{privilegedStartService} (before twistd drops
privileges) and closed when the parent stops.  The parent hears of each
port, or of the failure to bind it, through L{ObservedEndpoint}.
"""

from typing import Any

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IListeningPort, IProtocolFactory, IStreamServerEndpoint
from twisted.python.failure import Failure
from zope.interface import implementer


@implementer(IStreamServerEndpoint)
class ObservedEndpoint:
    """
    An endpoint that tells L{listened} how its last C{listen} went.

    A failure goes to L{listened} only: the service listening on it sees
    no port (L{None}), which it knows how to stop, rather than logging the
    failure a second time as unhandled.

    @ivar listened: fires with the port, or fails as C{listen} did; a new
        one for each C{listen}.
    """

    def __init__(self, endpoint: IStreamServerEndpoint) -> None:
        self._endpoint = endpoint
        self.listened: Deferred[IListeningPort] = Deferred()

    def listen(self, factory: IProtocolFactory) -> Deferred[Any]:  # the port, or None
        listened = self.listened = Deferred()

        def bound(port: IListeningPort) -> IListeningPort:
            listened.callback(port)
            return port

        def failed(failure: Failure) -> None:
            listened.errback(failure)

        listening: Deferred[Any] = self._endpoint.listen(factory)
        return listening.addCallbacks(bound, failed)


def listenOn(parent: MultiService, endpoint: IStreamServerEndpoint,
             factory: IProtocolFactory) -> ObservedEndpoint:
    """
    Make a child of C{parent} that listens on C{endpoint} with C{factory}
    while C{parent} runs.
    """
    observed = ObservedEndpoint(endpoint)
    StreamServerEndpointService(observed, factory).setServiceParent(parent)
    return observed


def allListened(endpoints: list[ObservedEndpoint]) -> Deferred[list[IListeningPort]]:
    """
    The ports of the last C{listen} of each of C{endpoints}, in order, or
    the first failure.
    """
    return gatherResults([e.listened for e in endpoints], consumeErrors=True)
