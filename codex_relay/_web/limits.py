"""
Limits on what a client may send before the relay looks at it: the body
size (413), the header size (431) and the body's nesting depth (400), each
answered with an OpenAI error envelope rather than a bare status, a dropped
connection or a recursion error.
"""

from typing import Any, cast

from twisted.internet.interfaces import ITCPTransport
from twisted.web import http
from twisted.web.server import Request, Site

import json
from io import BytesIO

from codex_relay._core.errors import RelayError, invalidRequest
from codex_relay._web.nodelay import noDelay
from codex_relay._core.request.translate import MAX_NESTING, checkNesting

# Codex's requests grow with its conversation (40 KB to a few MB): kept in
# memory up to this size, in a temporary file past it (Twisted's own cut is
# 100 000 bytes, which a Codex session passes within a few turns).
IN_MEMORY_BODY = 4 * 1024 * 1024
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
        if self.bodyTooLarge or (length is not None and length <= IN_MEMORY_BODY):
            # Nothing is stored past the limit; below it, no file to write.
            self.content = BytesIO()
        else:
            super().gotLength(None)

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

    def connectionMade(self) -> None:
        super().connectionMade()
        noDelay(self.transport)

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
    A L{Site} whose channels are L{LimitedChannel}s, and which writes no
    access log line.  It leaves POST bodies unparsed as forms: every body
    here is JSON, and Twisted's form check builds an email message per
    request to read the content type.
    """

    def __init__(self, resource: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parsePOSTFormSubmission", False)
        super().__init__(resource, *args, **kwargs)

    def log(self, request: Any) -> None:
        # Each Responses request has its own line (activity.logOutcome), with
        # more in it; Twisted's access line would only repeat it.
        pass

    def protocol(self) -> Any:  # what Factory.buildProtocol calls
        # Twisted wraps its channel for protocol negotiation (HTTP/2), and
        # its factory for that wrapper hard-codes HTTPChannel inside.
        return http._GenericHTTPChannelProtocol(LimitedChannel())


def readJSONBody(request: Request, limit: int) -> Any:
    """
    The client's JSON body, or a L{RelayError} (413 past C{limit}, 400 when
    it is not JSON).
    """
    content = request.content
    if getattr(request, "bodyTooLarge", False):
        raise RelayError(413, "Request body is larger than {} bytes.".format(limit),
                         "invalid_request_error", "request_too_large")
    if content is None:
        raise RelayError(400, "The request has no body.", code="invalid_json")
    content.seek(0, 2)
    if content.tell() > limit:
        raise RelayError(413, "Request body is larger than {} bytes.".format(limit),
                         "invalid_request_error", "request_too_large")
    content.seek(0)
    return parseJSONBody(content.read())


def parseJSONBody(data: bytes) -> Any:
    """
    C{data} parsed, or a 400 L{RelayError}: not JSON, or nested too deep.
    """
    try:
        body = json.loads(data)
    except ValueError as e:
        raise RelayError(400, "The request body is not valid JSON: {}".format(e),
                         code="invalid_json")
    except RecursionError:
        raise invalidRequest("The request nests arrays and objects more than {} deep."
                             .format(MAX_NESTING), None, "nesting_too_deep")
    # Before anything else looks at it: deep bodies break what recurses.
    checkNesting(body)
    return body
