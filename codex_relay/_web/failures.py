"""
What ended an exchange with an upstream, as the answer the client gets:
failures of the upstream's connection or answer are 502 and 504; anything
else is the relay's own fault, a 500.
"""

from twisted.internet.defer import CancelledError
from twisted.internet.error import ConnectError, ConnectingCancelledError, DNSLookupError
from twisted.internet.error import TimeoutError as ConnectTimeout
from twisted.web.client import (
    RequestTransmissionFailed,
    ResponseFailed,
    ResponseNeverReceived,
)

from codex_relay._core.errors import RelayError, UpstreamTooLarge
from codex_relay._web.body import UpstreamIdle


def unreachable(failure: BaseException, what: str) -> RelayError:
    """
    The error for an upstream that could not be reached.
    """
    if isinstance(failure, ConnectTimeout):
        return RelayError(504, "Timed out connecting to the upstream {}.".format(what),
                          "server_error", "upstream_timeout")
    if isinstance(failure, (ConnectError, DNSLookupError)):
        return RelayError(502, "Could not connect to the upstream {}: {}".format(
            what, failure.__class__.__name__), "server_error", "upstream_unreachable")
    reason = failure.__class__.__name__
    if isinstance(failure, (ResponseNeverReceived, RequestTransmissionFailed)) and (
            failure.reasons):
        # Say why no response came, e.g. a TLS verification failure.
        reason += " ({})".format(failure.reasons[0].getErrorMessage())
    return RelayError(502, "The upstream {} failed: {}".format(what, reason),
                      "server_error", "upstream_error")


def classify(error: BaseException, timedOut: str | None = None,
             what: str = "response") -> RelayError:
    """
    The answer for what ended an exchange with the upstream (over a
    C{what}): failures of the upstream's connection or answer are 502 and
    504; anything else is the relay's own fault, a 500.
    """
    if isinstance(error, RelayError):
        return error
    if isinstance(error, (CancelledError, ConnectingCancelledError)):
        return RelayError(504, timedOut or "The {} was cancelled.".format(what),
                          "server_error", "upstream_timeout")
    if isinstance(error, UpstreamIdle):
        return RelayError(504, str(error), "server_error", "upstream_timeout")
    if isinstance(error, UpstreamTooLarge):
        return RelayError(502, str(error), "server_error", "upstream_error")
    if isinstance(error, ResponseFailed):
        return RelayError(502, "The upstream closed the connection before the {} was "
                          "complete.".format(what), "server_error", "upstream_error")
    if isinstance(error, (ResponseNeverReceived, RequestTransmissionFailed, ConnectError,
                          DNSLookupError, ConnectTimeout)):
        return unreachable(error, "request" if what == "response" else what)
    return RelayError(500, "relay error ({})".format(type(error).__name__),
                      "server_error", "server_error")
