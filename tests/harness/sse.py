"""
Helpers for the tests of L{codex_relay._core.sse}: decoding a stream fed in
pieces, and cutting bytes into pieces.
"""

from codex_relay._core.sse import SSEDecoder, SSEEvent


BOM = b"\xef\xbb\xbf"


def decodeAll(*chunks: bytes) -> list[SSEEvent]:
    """
    Feed C{chunks} in order, then close; return every event.
    """
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def splitAt(data: bytes, points) -> list[bytes]:
    """
    Cut C{data} at the sorted offsets C{points}.
    """
    chunks = []
    start = 0
    for point in points:
        chunks.append(data[start:point])
        start = point
    chunks.append(data[start:])
    return chunks
