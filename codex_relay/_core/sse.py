"""
Server-Sent Events, sans-IO: a decoder for upstream Chat Completions
streams and an encoder for the relay's Responses stream.  No Twisted here.

Every upstream byte passes through L{SSEDecoder.feed}, so it works on
C{bytes} with C{find}/C{replace}/C{split} (C speed) and decodes UTF-8 once
per batch of complete lines, never per byte.
"""

import json
import re
from typing import Any, NamedTuple, NoReturn

_BOM = b"\xef\xbb\xbf"

# The most one line, or one event's data, may hold: an upstream that never
# ends its line must not grow the relay without bound.
MAX_EVENT_BYTES = 1024 * 1024


class SSETooLarge(ValueError):
    """
    A line or an event is larger than the decoder accepts.
    """


class SSEEvent(NamedTuple):
    """
    One dispatched event.

    @ivar data: the data lines, joined with C{"\\n"}.
    @ivar event: the C{event:} field, or C{"message"} when there was none.
    """

    data: str
    event: str = "message"


# tuple.__new__ skips the Python-level NamedTuple constructor: cheaper per event.
_newTuple = tuple.__new__


class SSEDecoder:
    """
    Incremental SSE decoder.  Feed it bytes split anywhere; it returns the
    events each feed completes.

    Deliberately lax where upstreams are sloppy: a blank line dispatches if
    any C{data} line was seen (even an empty one), and L{close} delivers a
    last event that lacked its trailing blank line.

    Bounded: a line longer than C{maxEventBytes} bytes, or an event whose
    data is longer than that many characters, raises L{SSETooLarge} (and
    the decoder lets go of what it held).
    """

    __slots__ = ("_pending", "_pendingSize", "_skipLF", "_atStart", "_dataLines",
                 "_eventSize", "_eventType", "_limit")

    def __init__(self, maxEventBytes: int = MAX_EVENT_BYTES) -> None:
        self._limit = maxEventBytes
        # Bytes of the current incomplete line; never holds a CR or LF.  A
        # list so a long line arriving in tiny feeds is joined once, not
        # re-copied on every feed.
        self._pending: list[bytes] = []
        self._pendingSize = 0
        # The previous feed ended in CR: an LF opening this one belongs to it.
        self._skipLF = False
        # Until 3 bytes are seen a BOM may still be arriving.
        self._atStart = True
        self._dataLines: list[str] | None = None
        # The length of the open event's data so far, once joined.
        self._eventSize = 0
        self._eventType = ""

    def feed(self, data: bytes) -> list[SSEEvent]:
        """
        Consume C{data}.

        @return: the events completed by these bytes, in order.
        """
        if self._skipLF:
            if not data:
                return []
            self._skipLF = False
            if data[0] == 10:
                data = data[1:]
        if self._atStart:
            head = b"".join(self._pending) + data
            if len(head) < 3 and _BOM.startswith(head):
                self._pending = [head]
                self._pendingSize = len(head)
                return []
            self._atStart = False
            self._pending = []
            self._pendingSize = 0
            data = head[3:] if head.startswith(_BOM) else head
        hasCR = b"\r" in data
        if not hasCR and b"\n" not in data:
            if data:
                self._pending.append(data)
                self._pendingSize += len(data)
                if self._pendingSize > self._limit:
                    self._tooLarge("line")
            return []
        pending = self._pending
        if pending:
            pending.append(data)
            buf = b"".join(pending)
            self._pending = []
            self._pendingSize = 0
        else:
            buf = data
        if hasCR:
            # Only data can hold a CR (pending never does), so the costly
            # normalisation runs only on feeds that need it.
            if buf[-1] == 13:
                self._skipLF = True
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = buf.rfind(b"\n")
        if end + 1 < len(buf):
            self._pending.append(buf[end + 1 :])
            self._pendingSize = len(buf) - end - 1
            if self._pendingSize > self._limit:
                self._tooLarge("line")
        # A line end is ASCII, so it never splits a UTF-8 sequence: decoding
        # all complete lines at once equals decoding them one by one.
        return self._lines(buf[:end].decode("utf-8", "replace").split("\n"), end)

    def close(self) -> list[SSEEvent]:
        """
        End of stream: take an unterminated last line as complete, and
        dispatch an event that had no trailing blank line.  The decoder is
        then reset and may be reused.

        @return: the events this completes (zero or one).
        """
        lines = []
        if self._pending:
            # At the start this may be a BOM's first bytes: not a BOM then.
            lines.append(b"".join(self._pending).decode("utf-8", "replace"))
        lines.append("")
        events = self._lines(lines, self._pendingSize)
        self.__init__(self._limit)  # type: ignore[misc]  # one reset, by the same class
        return events

    def _tooLarge(self, what: str) -> NoReturn:
        self._pending, self._pendingSize = [], 0
        self._dataLines, self._eventSize = None, 0
        raise SSETooLarge("An upstream SSE {} is larger than {} bytes.".format(
            what, self._limit))

    def _lines(self, lines: list[str], size: int) -> list[SSEEvent]:
        """
        Interpret complete lines (without their line ends), at most C{size}
        characters in all.
        """
        events: list[SSEEvent] = []
        dataLines = opened = self._dataLines
        known = len(dataLines) if dataLines is not None else 0
        eventType = self._eventType
        limit = self._limit
        # Only a batch that could complete an event past the limit measures
        # each event: reads are far smaller than the limit.
        check = (self._eventSize if opened is not None else 0) + size > limit
        for line in lines:
            if not line:
                if dataLines is not None:
                    data = "\n".join(dataLines)
                    if check and len(data) > limit:
                        self._tooLarge("event")
                    events.append(_newTuple(SSEEvent, (data, eventType or "message")))
                    dataLines = None
                eventType = ""
            elif line.startswith("data:"):
                # The common line, tested first.
                value = line[6:] if line[5:6] == " " else line[5:]
                if dataLines is None:
                    dataLines = [value]
                else:
                    dataLines.append(value)
            elif line[0] == ":":
                continue
            else:
                # A line without a colon is a field name with an empty value.
                name, _, value = line.partition(":")
                if value[:1] == " ":
                    value = value[1:]
                if name == "event":
                    eventType = value
                elif name == "data":
                    if dataLines is None:
                        dataLines = [value]
                    else:
                        dataLines.append(value)
                # id, retry and unknown fields: ignored.
        if dataLines is not None:
            # Data lines without a blank line must not pile up either.  Each
            # line is measured once: those carried over were already.
            if dataLines is opened:
                added = dataLines[known:]
                size = self._eventSize + len(added) + sum(map(len, added))
            else:
                size = len(dataLines) - 1 + sum(map(len, dataLines))
            if size > limit:
                self._tooLarge("event")
            self._eventSize = size
        self._dataLines = dataLines
        self._eventType = eventType
        return events


# A prebuilt encoder: json.dumps with keyword arguments builds one per call.
dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encodeEvent(payload: dict[str, Any]) -> bytes:
    """
    Frame C{payload} as one SSE event named after C{payload["type"]}.

    JSON escapes CR and LF inside strings, so the data is always one line.

    @return: C{b"event: <type>\\ndata: <json>\\n\\n"}.
    """
    return frameEvent(payload["type"], dumps(payload))


def frameEvent(eventType: str, data: str) -> bytes:
    """
    One SSE event of C{eventType} whose data is the one line C{data}.
    """
    text = f"event: {eventType}\ndata: {data}\n\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A surrogate cannot be UTF-8, and serde_json (so Codex) refuses a
        # lone one even as a \\u escape: join pairs, replace the rest.
        return joinSurrogates(text).encode("utf-8")


def encodeComment(text: str) -> bytes:
    """
    Frame C{text} as an SSE comment (a keep-alive; no event is dispatched).

    @return: C{b": <text>\\n\\n"}.
    """
    return f": {text}\n\n".encode("utf-8")


# Any surrogate: a str holds one only from a \u escape that JSON decoded.
SURROGATE = re.compile("[\ud800-\udfff]")


def joinSurrogates(text: str) -> str:
    """
    C{text} with the halves of each surrogate pair joined into their
    character and every lone surrogate replaced by U+FFFD: text that UTF-8,
    and every JSON parser, can carry.
    """
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def wholeText(text: str) -> str:
    """
    L{joinSurrogates}, at the cost of one scan when there is nothing to do.
    """
    if text.isascii() or SURROGATE.search(text) is None:
        return text
    return joinSurrogates(text)


def holdSurrogate(text: str) -> tuple[str, str]:
    """
    Split a fragment of streamed text into what can go out now and what
    must wait: a trailing high surrogate, whose low half may open the next
    fragment.  What goes out has pairs joined and lone surrogates replaced
    (L{joinSurrogates}).

    @return: (text to send, the held surrogate or C{""}).
    """
    if text.isascii() or SURROGATE.search(text) is None:
        return text, ""
    last = text[-1]
    if "\ud800" <= last <= "\udbff":
        return joinSurrogates(text[:-1]), last
    return joinSurrogates(text), ""
