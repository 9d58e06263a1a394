"""
HTTP clients, in place of treq's, for an upstream that cannot be reached or
never answers.
"""

from typing import Any

from twisted.internet.defer import Deferred, fail


class FailingHTTP:
    """
    An HTTP client (in place of treq's) whose every request fails with
    C{error}, as an unreachable upstream does.
    """

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls: list[str] = []

    def post(self, url: str, **kwargs: Any) -> Deferred[Any]:
        self.calls.append(url)
        return fail(self.error)

    get = post


class HangingHTTP:
    """
    An HTTP client whose requests never get an answer, recording the
    pending Deferreds (which fail with L{CancelledError} when cancelled).
    """

    def __init__(self) -> None:
        self.pending: list[Deferred[Any]] = []

    def get(self, url: str, **kwargs: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self.pending.append(d)
        return d

    post = get
