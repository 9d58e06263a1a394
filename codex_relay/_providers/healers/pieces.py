"""
What the content healers share: the pieces they cut content into, the
filter protocol, marker matching, and running several filters in a chain.
No Twisted here.
"""

from typing import NamedTuple, Protocol


class Piece(NamedTuple):
    """
    One piece of filtered content.

    @ivar kind: C{"text"}, C{"reasoning"} or C{"call"}.
    @ivar text: the text of a text or reasoning piece.
    @ivar name: the tool name of a call.
    @ivar arguments: the arguments of a call, a JSON object string.
    """

    kind: str
    text: str = ""
    name: str = ""
    arguments: str = ""


# tuple.__new__ skips the Python-level NamedTuple constructor: cheaper per piece.
newTuple = tuple.__new__


def textPiece(text: str) -> Piece:
    return newTuple(Piece, ("text", text, "", ""))


def reasoningPiece(text: str) -> Piece:
    return newTuple(Piece, ("reasoning", text, "", ""))


class ContentFilter(Protocol):
    """
    What L{chainFilters} needs of a filter.
    """

    def feed(self, text: str) -> list[Piece]:
        """
        Consume a content delta; return the pieces it completes.
        """

    def flush(self) -> list[Piece]:
        """
        End of stream: return whatever is still held back.
        """


# A "spec" describes a marker as a sequence of (characters, minimum, maximum)
# runs; consecutive runs never share a character, so matching each run
# greedily is exact.  Used only to decide what to hold back at the end of a
# delta, never on the fast path.
Spec = tuple[tuple[str, int, int], ...]
WHITESPACE = " \t\r\n"
BAR = "\uff5c"  # FULLWIDTH VERTICAL LINE, DeepSeek's special-token bar


def literal(word: str) -> Spec:
    return tuple((c, 1, 1) for c in word)


def couldStart(s: str, spec: Spec) -> bool:
    """
    Is C{s} a prefix of some string matching C{spec}?
    """
    i = 0
    n = len(s)
    for chars, low, high in spec:
        count = 0
        while count < high and i < n and s[i] in chars:
            i += 1
            count += 1
        if i == n:
            return True
        if count < low:
            return False
    return False


# ---------------------------------------------------------------------------
# <think> ... </think>



def specHold(data: str, pos: int, spec: Spec) -> int:
    """
    How many trailing characters of C{data[pos:]} could begin a match of
    C{spec}, whose first character ("<") occurs nowhere else in a match.
    """
    start = data.rfind("<", pos)
    if start >= 0 and couldStart(data[start:], spec):
        return len(data) - start
    return 0


# ---------------------------------------------------------------------------


class _Chain:
    """
    Filters run in order on text pieces; other pieces pass through.
    """

    __slots__ = ("filters",)

    def __init__(self, filters: list[ContentFilter]) -> None:
        self.filters = list(filters)

    def feed(self, text: str) -> list[Piece]:
        """
        Consume a content delta through every filter.
        """
        filters = self.filters
        if not filters:
            return [textPiece(text)] if text else []
        pieces = filters[0].feed(text)
        for f in filters[1:]:
            pieces = _through(f, pieces)
        return pieces

    def flush(self) -> list[Piece]:
        """
        Flush every filter in order; what one gives back as text still runs
        through the filters after it.
        """
        pieces: list[Piece] = []
        for f in self.filters:
            pieces = _through(f, pieces)
            pieces.extend(f.flush())
        return pieces


def _through(f: ContentFilter, pieces: list[Piece]) -> list[Piece]:
    # Indexing, not the NamedTuple properties: this runs per delta.
    if len(pieces) == 1 and pieces[0][0] == "text":
        return f.feed(pieces[0][1])
    out: list[Piece] = []
    interrupt = getattr(f, "interrupt", None)
    for piece in pieces:
        if piece[0] == "text":
            out.extend(f.feed(piece[1]))
        else:
            # Held text must not slip behind this piece.
            if interrupt is not None:
                out.extend(interrupt())
            out.append(piece)
    return out


def chainFilters(filters: list[ContentFilter]) -> _Chain:
    """
    One filter running C{filters} in order: each one's text pieces feed the
    next; reasoning and call pieces pass the later ones untouched.

    A filter may also have C{interrupt()}, returning a held partial marker:
    it is called before a piece of another kind passes it, since a marker
    cannot straddle that piece, so no text slips behind a piece that
    followed it.  Put L{ThinkTagSplitter} first: markup inside reasoning
    then stays reasoning.
    """
    return _Chain(filters)
