"""
The one interface every response store provides.
"""

from collections.abc import Sequence
from typing import Any, Protocol

from twisted.internet.defer import Deferred

from codex_relay._core.stored import StoredResponse

DEFAULT_RETENTION = 30 * 24 * 3600.0


class ResponseStore(Protocol):
    """
    Stored responses, by owner and id.  A record past its C{expiresAt} is
    never returned; backends remove expired records off the request path
    (a periodic sweep on an index, or the backend's own TTL), never by a
    full scan while a request waits.

    @ivar shared: whether other relay processes may use the same data
        (then they must share the relay's C{--secret}).
    @ivar name: how the store is described in logs and by doctor, with no
        password in it.
    """

    shared: bool
    name: str

    def open(self) -> Deferred[None]:
        """
        Connect, and create or migrate the schema.
        """

    def close(self) -> Deferred[None]:
        """
        Release connections and threads.
        """

    def put(self, record: StoredResponse) -> Deferred[None]:
        """
        Keep C{record} until its C{expiresAt}, replacing one with its id.
        """

    def get(self, owner: str, responseId: str) -> Deferred[StoredResponse | None]:
        """
        The record C{responseId} of C{owner}, or L{None} when it is unknown,
        expired or another owner's.
        """

    def delete(self, owner: str, responseId: str) -> Deferred[bool]:
        """
        Forget C{responseId} of C{owner}; whether there was one.
        """

    def items(self, owner: str, itemIds: Sequence[str]) -> Deferred[dict[str, dict[str, Any]]]:
        """
        The stored items of C{owner} with these ids (input items that
        carried an id, and output items), by id; unknown ids are left out.
        """
