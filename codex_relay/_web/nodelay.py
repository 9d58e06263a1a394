"""
TCP_NODELAY on both of the relay's connections, the client's and the
upstream's: its writes are small (one event, one request) and each is
wanted at once, not held back by Nagle's algorithm until the peer's ACK.
"""

from typing import Any


def noDelay(transport: Any) -> None:
    """
    Turn Nagle's algorithm off on C{transport}, if it is TCP.  A TLS
    transport passes the call to the TCP one beneath; a UNIX socket has
    no such option.
    """
    setter = getattr(transport, "setTcpNoDelay", None)
    if setter is None:
        return
    try:
        setter(True)
    except OSError:
        # The connection is already gone: nothing to speed up.
        pass
