"""
Inline reasoning: C{<think>...</think>} (and C{\u25c1think\u25b7...
\u25c1/think\u25b7}) in content becomes reasoning.  No Twisted here.
"""

import re

from codex_relay._providers.healers.pieces import Piece, newTuple, reasoningPiece, textPiece

_THINK_OPEN = re.compile("<think>|\u25c1think\u25b7")
# An opener's first character selects its own closer: the dialects are not mixed.
_THINK_CLOSE = {"<": "</think>", "\u25c1": "\u25c1/think\u25b7"}
_THINK_OPENERS = ("<think>", "\u25c1think\u25b7")
_THINK_WINDOW = max(len(m) for m in _THINK_OPENERS) - 1


class ThinkTagSplitter:
    """
    Routes C{<think>...</think>} and C{\u25c1think\u25b7...\u25c1/think\u25b7}
    blocks found anywhere in the content to reasoning; the rest is text.

    Reasoning streams as it arrives (only a possible partial closer is held
    back); a stray closer outside a block, or an opener inside one, is kept
    verbatim.  Text after a closer is kept verbatim, leading newlines
    included.
    """

    __slots__ = ("_closer", "_pending")

    def __init__(self) -> None:
        # The closer awaited inside a block, or None outside one.
        self._closer: str | None = None
        # The held-back suffix: a partial opener (outside) or closer (inside).
        self._pending = ""

    def feed(self, text: str) -> list[Piece]:
        """
        Consume a content delta.

        @return: the text and reasoning pieces it completes, in order.
        """
        closer = self._closer
        pending = self._pending
        if not pending:
            # The common path: nothing held and no marker character.  A C
            # search per character class, and no Python call.
            if closer is None:
                if "<" not in text and "\u25c1" not in text:
                    return [newTuple(Piece, ("text", text, "", ""))] if text else []
            elif closer[0] not in text:
                return [newTuple(Piece, ("reasoning", text, "", ""))] if text else []
        data = pending + text
        out: list[Piece] = []
        pos = 0
        n = len(data)
        while True:
            if closer is None:
                match = _THINK_OPEN.search(data, pos)
                if match is None:
                    end = n - _thinkHold(data, pos)
                    if end > pos:
                        out.append(textPiece(data[pos:end]))
                    self._pending = data[end:]
                    break
                start = match.start()
                if start > pos:
                    out.append(textPiece(data[pos:start]))
                closer = _THINK_CLOSE[data[start]]
                pos = match.end()
            else:
                start = data.find(closer, pos)
                if start < 0:
                    end = n - _suffixHold(data, pos, closer)
                    if end > pos:
                        out.append(reasoningPiece(data[pos:end]))
                    self._pending = data[end:]
                    break
                if start > pos:
                    out.append(reasoningPiece(data[pos:start]))
                pos = start + len(closer)
                closer = None
        self._closer = closer
        return out

    def interrupt(self) -> list[Piece]:
        """
        A piece of another kind interrupts the content: give back a held
        partial marker, as reasoning inside a block, else as text.  The
        block, if any, stays open.
        """
        pending = self._pending
        if not pending:
            return []
        self._pending = ""
        return [textPiece(pending) if self._closer is None else reasoningPiece(pending)]

    def flush(self) -> list[Piece]:
        """
        End of stream: an unterminated block's held text is reasoning; a
        partial opener that never completed is text.  Resets the splitter.
        """
        pending, closer = self._pending, self._closer
        self._pending, self._closer = "", None
        if not pending:
            return []
        return [textPiece(pending) if closer is None else reasoningPiece(pending)]


def _thinkHold(data: str, pos: int) -> int:
    """
    How many trailing characters of C{data[pos:]} could begin a think opener.
    """
    low = max(pos, len(data) - _THINK_WINDOW)
    # Each marker character only opens a marker, so the last one decides.
    start = max(data.rfind("<", low), data.rfind("\u25c1", low))
    if start < 0:
        return 0
    tail = data[start:]
    for opener in _THINK_OPENERS:
        if opener.startswith(tail):
            return len(tail)
    return 0


def _suffixHold(data: str, pos: int, marker: str) -> int:
    """
    How many trailing characters of C{data[pos:]} could begin C{marker},
    whose first character occurs nowhere else in it.
    """
    start = data.rfind(marker[0], max(pos, len(data) - len(marker) + 1))
    if start >= 0 and marker.startswith(data[start:]):
        return len(data) - start
    return 0


# ---------------------------------------------------------------------------
# DSML

# Any DSML tag starts like this; "<" only ever begins one.
