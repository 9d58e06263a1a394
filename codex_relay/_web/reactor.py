"""
The reactor the relay's shell is handed, as one type.
"""

from twisted.internet.interfaces import (
    IReactorCore,
    IReactorFDSet,
    IReactorFromThreads,
    IReactorPluggableNameResolver,
    IReactorProcess,
    IReactorSocket,
    IReactorTCP,
    IReactorTime,
)


class IRelayReactor(
    IReactorCore,
    IReactorTime,
    IReactorTCP,
    IReactorPluggableNameResolver,
    IReactorFDSet,
    IReactorProcess,
    IReactorSocket,
    IReactorFromThreads,
):
    """
    What the relay's shell needs of a reactor where one object must do
    several things: the relay is handed one reactor (the global one, in
    the CLI and twistd) that provides all of these, and passes it on to
    Twisted APIs (C{HostnameEndpoint}, C{HTTPConnectionPool},
    C{serverFromString}, C{StandardIO}, C{adbapi}) that need more than one.

      - L{IReactorTime}, L{IReactorTCP}, L{IReactorPluggableNameResolver}:
        the upstream client's endpoints and pool;
      - L{IReactorCore}, L{IReactorFromThreads}: running, stopping (on
        SIGTERM too), shutdown triggers, the SQLite store's thread;
      - L{IReactorProcess}: the workers' supervisor;
      - L{IReactorSocket}, L{IReactorFDSet}: a worker's adopted sockets and
        its pipe from the supervisor.

    A function that needs one of them takes that interface alone.  Endpoint
    strings (C{--listen}) may need more (C{unix:}, C{ssl:}), which
    C{serverFromString} asks of the reactor as it parses them.

    Only a type: no reactor declares it, so C{IRelayReactor.providedBy} is
    false; a reactor typed as less is cast to it.
    """
