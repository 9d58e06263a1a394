"""
Server-Sent Events, sans-IO: a decoder for upstream Chat Completions
streams and an encoder for the relay's Responses stream.  No Twisted here.

Every upstream byte passes through L{SSEDecoder.feed}, so it works on
C{bytes} with C{find}/C{replace}/C{split} (C speed) and decodes UTF-8 once
per batch of complete lines, never per byte.
"""

import json
from typing import NamedTuple

_BOM = b"\xef\xbb\xbf"


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
    """

    __slots__ = ("_pending", "_skipLF", "_atStart", "_dataLines", "_eventType")

    def __init__(self) -> None:
        # Bytes of the current incomplete line; never holds a CR or LF.  A
        # list so a long line arriving in tiny feeds is joined once, not
        # re-copied on every feed.
        self._pending: list[bytes] = []
        # The previous feed ended in CR: an LF opening this one belongs to it.
        self._skipLF = False
        # Until 3 bytes are seen a BOM may still be arriving.
        self._atStart = True
        self._dataLines: list[str] | None = None
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
                return []
            self._atStart = False
            self._pending = []
            data = head[3:] if head.startswith(_BOM) else head
        hasCR = b"\r" in data
        if not hasCR and b"\n" not in data:
            if data:
                self._pending.append(data)
            return []
        pending = self._pending
        if pending:
            pending.append(data)
            buf = b"".join(pending)
            self._pending = []
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
        # A line end is ASCII, so it never splits a UTF-8 sequence: decoding
        # all complete lines at once equals decoding them one by one.
        return self._lines(buf[:end].decode("utf-8", "replace").split("\n"))

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
        events = self._lines(lines)
        self.__init__()
        return events

    def _lines(self, lines: list[str]) -> list[SSEEvent]:
        """
        Interpret complete lines (without their line ends).
        """
        events: list[SSEEvent] = []
        dataLines = self._dataLines
        eventType = self._eventType
        for line in lines:
            if not line:
                if dataLines is not None:
                    events.append(
                        _newTuple(
                            SSEEvent, ("\n".join(dataLines), eventType or "message")
                        )
                    )
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
        self._dataLines = dataLines
        self._eventType = eventType
        return events


# A prebuilt encoder: json.dumps with keyword arguments builds one per call.
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_dumpsASCII = json.JSONEncoder(separators=(",", ":")).encode


def encodeEvent(payload: dict) -> bytes:
    """
    Frame C{payload} as one SSE event named after C{payload["type"]}.

    JSON escapes CR and LF inside strings, so the data is always one line.

    @return: C{b"event: <type>\\ndata: <json>\\n\\n"}.
    """
    body = _dumps(payload)
    try:
        return f"event: {payload['type']}\ndata: {body}\n\n".encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8; \\u escapes keep the JSON valid.
        body = _dumpsASCII(payload)
        return f"event: {payload['type']}\ndata: {body}\n\n".encode(
            "utf-8", "backslashreplace"
        )


def encodeComment(text: str) -> bytes:
    """
    Frame C{text} as an SSE comment (a keep-alive; no event is dispatched).

    @return: C{b": <text>\\n\\n"}.
    """
    return f": {text}\n\n".encode("utf-8")
