"""
Limits on what a client may send before the relay looks at it: the body
size (413) and the header size (431), both answered with an OpenAI error
envelope rather than a bare status or a dropped connection.
"""

from typing import Any, cast

from twisted.internet.interfaces import ITCPTransport
from twisted.web import http
from twisted.web.server import Request, Site

from codex_relay._core.errors import RelayError

# How long a client still sending an oversized header is read (and
# discarded) after its 431, so that it sees the answer instead of a reset.
_DRAIN_SECONDS = 5


class LimitedRequest(Request):
    """
    A request that stops storing its body past a size limit, so a huge
    upload cannot fill memory or disk; the resource then answers 413.
    """

    bodyTooLarge = False
    _received = 0

    def __init__(self, *args: Any, maxBodyBytes: int = 32 * 1024 * 1024,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.maxBodyBytes = maxBodyBytes

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > self.maxBodyBytes:
            self.bodyTooLarge = True
        super().gotLength(None if self.bodyTooLarge else length)

    def handleContentChunk(self, data: bytes) -> None:
        self._received += len(data)
        if self._received > self.maxBodyBytes:
            self.bodyTooLarge = True
        if not self.bodyTooLarge:
            super().handleContentChunk(data)


class LimitedChannel(http.HTTPChannel):
    """
    An HTTP channel that answers a header line longer than C{MAX_LENGTH},
    or headers larger than C{totalHeadersSize} in all, with a 431 envelope.
    Twisted would drop the connection without a status for the first and
    answer a bare 400 for the second.
    """

    _discarding = False

    def dataReceived(self, data: bytes) -> None:
        if not self._discarding:
            super().dataReceived(data)

    def rawDataReceived(self, data: bytes) -> None:
        if not self._discarding:
            super().rawDataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        # _receivedHeaderSize is the channel's own count, reset per request.
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._headersTooLarge()
            return
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        self._headersTooLarge()

    def _headersTooLarge(self) -> None:
        body = RelayError(431, "The request headers are larger than {} bytes.".format(
            self.totalHeadersSize), code="request_header_fields_too_large").body()
        transport = cast(ITCPTransport, self.transport)
        transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        # Close our side only: closing both with unread bytes queued would
        # reset the connection, and the client might never read the answer.
        self._discarding = True
        self.setRawMode()
        transport.loseWriteConnection()
        self.setTimeout(_DRAIN_SECONDS)


class LimitedSite(Site):
    """
    A L{Site} whose channels are L{LimitedChannel}s.
    """

    def protocol(self) -> Any:  # what Factory.buildProtocol calls
        # Twisted wraps its channel for protocol negotiation (HTTP/2), and
        # its factory for that wrapper hard-codes HTTPChannel inside.
        return http._GenericHTTPChannelProtocol(LimitedChannel())
