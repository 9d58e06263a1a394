"""
Content filters, sans-IO: split what some upstreams put inline in
C{delta.content} back into text, reasoning and tool calls.  No Twisted here.

  - L{ThinkTagSplitter}: C{<think>...</think>} (and C{\u25c1think\u25b7...
    \u25c1/think\u25b7}) becomes reasoning.
  - L{DSMLHealer}: DeepSeek tool-call markup ("DSML") leaked into text becomes
    tool calls.
  - L{chainFilters}: runs the text pieces through several filters in order.

Every filter holds back only the shortest suffix that could still begin one
of its markers, so visible text is never delayed by a character that cannot
start one, and gives the same pieces (once adjacent pieces of one kind are
merged) however the content is split into deltas.
"""

import json
import re
from collections.abc import Callable
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
_newTuple = tuple.__new__


def _text(text: str) -> Piece:
    return _newTuple(Piece, ("text", text, "", ""))


def _reasoning(text: str) -> Piece:
    return _newTuple(Piece, ("reasoning", text, "", ""))


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
_Spec = tuple[tuple[str, int, int], ...]
_WS = " \t\r\n"
_BAR = "\uff5c"  # FULLWIDTH VERTICAL LINE, DeepSeek's special-token bar


def _literal(word: str) -> _Spec:
    return tuple((c, 1, 1) for c in word)


def _couldStart(s: str, spec: _Spec) -> bool:
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
                    return [_newTuple(Piece, ("text", text, "", ""))] if text else []
            elif closer[0] not in text:
                return [_newTuple(Piece, ("reasoning", text, "", ""))] if text else []
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
                        out.append(_text(data[pos:end]))
                    self._pending = data[end:]
                    break
                start = match.start()
                if start > pos:
                    out.append(_text(data[pos:start]))
                closer = _THINK_CLOSE[data[start]]
                pos = match.end()
            else:
                start = data.find(closer, pos)
                if start < 0:
                    end = n - _suffixHold(data, pos, closer)
                    if end > pos:
                        out.append(_reasoning(data[pos:end]))
                    self._pending = data[end:]
                    break
                if start > pos:
                    out.append(_reasoning(data[pos:start]))
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
        return [_text(pending) if self._closer is None else _reasoning(pending)]

    def flush(self) -> list[Piece]:
        """
        End of stream: an unterminated block's held text is reasoning; a
        partial opener that never completed is text.  Resets the splitter.
        """
        pending, closer = self._pending, self._closer
        self._pending, self._closer = "", None
        if not pending:
            return []
        return [_text(pending) if closer is None else _reasoning(pending)]


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
_DSML_MARKER = re.compile("</?\uff5c\uff5c?DSML\uff5c")
_DSML_MARKER_SPEC: _Spec = (
    ("<", 1, 1), ("/", 0, 1), (_BAR, 1, 2), *_literal("DSML"), (_BAR, 1, 1))
# A parameter value ends at its closer; the attribute-less opening form is
# accepted too (some outputs close with "<｜DSML｜parameter>").  Whitespace is
# spelled out, not \s, so it agrees exactly with the spec used to hold back.
_PARAM_CLOSE = re.compile(
    "</?\uff5c\uff5c?DSML\uff5c\uff5c?[ \t\r\n]*parameter[ \t\r\n]*>")
_PARAM_CLOSE_SPEC: _Spec = (
    ("<", 1, 1), ("/", 0, 1), (_BAR, 1, 2), *_literal("DSML"), (_BAR, 1, 2),
    (_WS, 0, 1 << 30), *_literal("parameter"), (_WS, 0, 1 << 30), (">", 1, 1))
_TAG = re.compile(
    r"<(/?)\uff5c{1,2}DSML\uff5c{1,2}\s*([A-Za-z_][\w.:-]*)(.*?)\s*(/?)\s*>\Z",
    re.DOTALL)
_ATTRIBUTE = re.compile(r'([\w.:-]+)\s*=\s*"([^"]*)"')

# What the healer is reading.
_TEXT, _TAG_OPEN, _VALUE, _BETWEEN = range(4)


class _Invoke:
    """
    An invoke whose closing tag has not been read yet.
    """

    __slots__ = ("name", "string", "parameters", "body")

    def __init__(self, name: str, string: str | None) -> None:
        self.name = name
        self.string = string
        self.parameters: dict[str, object] = {}
        # Non-markup text inside the invoke (the "direct JSON" form).
        self.body: list[str] = []


class DSMLHealer:
    """
    Turns DeepSeek tool-call markup leaked into content back into calls.

    Both dialects are read: single bars (C{<\uff5cDSML\uff5c...>}, wrapper
    C{tool_calls} or C{function_calls}) and the V4 Flash doubled bars with
    self-closing tags whose value sits in a C{string} attribute.  Tag names
    other than C{invoke} and C{parameter} are wrappers; a block ends when
    the outermost wrapper closes, or, without a wrapper, when its invoke
    does.

      - A parameter with C{string="true"} is a raw string; otherwise its
        value is JSON, or the raw string when it does not parse.  A
        self-closing parameter's C{string} attribute is its (string) value.
      - An invoke's own C{string} attribute is an argument named by
        C{firstParameter(toolName)}, else C{"input"}; explicit parameters
        win.  Text inside an invoke that parses as a JSON object supplies
        arguments too (the "direct JSON" form).
      - Complete markup is stripped.  Other non-blank text inside a block is
        given back as text, in place.  Parameters outside any invoke are
        dropped.
      - At L{flush}, the calls of complete invokes have already been given;
        the raw text held since the last of them (or the start of the
        block) is given back verbatim as text, unless it is blank, so an
        unterminated block is never silently lost.

    @ivar fired: how many calls were healed.
    """

    def __init__(self, firstParameter: Callable[[str], str | None] | None = None) -> None:
        """
        @param firstParameter: tool name to the name of its first required
            parameter, or C{None} when unknown; names the argument that an
            invoke's own C{string} attribute fills.
        """
        self.fired = 0
        self._firstParameter = firstParameter
        self._reset()

    def _reset(self) -> None:
        self._state = _TEXT
        # The held-back suffix; while a tag is being read, the whole tag.
        self._pending = ""
        # Inside a tag: where to resume looking for its end, and whether that
        # is inside a quoted attribute value.
        self._tagScan = 0
        self._inQuote = False
        # Raw text held since the block started or the last call, minus
        # _pending: what flush gives back.
        self._raw: list[str] = []
        self._rawFrom = 0
        # Blank or stray text between tags, decided at the next tag.
        self._junk: list[str] = []
        self._depth = 0
        self._invoke: _Invoke | None = None
        # The open parameter: name, string="..." attribute, value so far.
        self._parameter: tuple[str, str | None] = ("", None)
        self._value: list[str] = []

    def feed(self, text: str) -> list[Piece]:
        """
        Consume a content delta.

        @return: the text and call pieces it completes, in order.
        """
        if not self._pending:
            state = self._state
            if state == _TEXT:
                if "<" not in text:
                    # The common path: no "<", no markup.
                    return [_newTuple(Piece, ("text", text, "", ""))] if text else []
                if _BAR not in text:
                    # Code full of "<": every tag has a bar after its "<" or
                    # "</", so only those two may begin one, at the end.
                    if text.endswith("<"):
                        self._pending, text = "<", text[:-1]
                    elif text.endswith("</"):
                        self._pending, text = "</", text[:-2]
                    return [_newTuple(Piece, ("text", text, "", ""))] if text else []
            elif state == _VALUE and "<" not in text:
                # A long value: no closer can start here.
                self._value.append(text)
                self._raw.append(text)
                return []
        out: list[Piece] = []
        data = self._pending + text
        self._rawFrom = 0
        pos = 0
        n = len(data)
        while True:
            state = self._state
            if state == _TEXT or state == _BETWEEN:
                match = _DSML_MARKER.search(data, pos)
                if match is None:
                    end = n - _markerHold(data, pos)
                    if end > pos:
                        if state == _TEXT:
                            out.append(_text(data[pos:end]))
                        else:
                            self._junk.append(data[pos:end])
                    self._pending = data[end:]
                    break
                start = match.start()
                if state == _TEXT:
                    if start > pos:
                        out.append(_text(data[pos:start]))
                    self._checkpoint(start)
                else:
                    self._junk.append(data[pos:start])
                    self._settleJunk(start, out)
                self._state = _TAG_OPEN
                self._tagScan = match.end() - start
                self._inQuote = False
                pos = start
            elif state == _TAG_OPEN:
                end = self._tagEnd(data, pos)
                if end < 0:
                    self._pending = data[pos:]
                    break
                self._tag(data[pos:end], pos, end, out)
                pos = end
            else:
                match = _PARAM_CLOSE.search(data, pos)
                if match is None:
                    end = n - _specHold(data, pos, _PARAM_CLOSE_SPEC)
                    self._value.append(data[pos:end])
                    self._pending = data[end:]
                    break
                self._value.append(data[pos:match.start()])
                self._closeParameter()
                pos = match.end()
                self._state = _BETWEEN
                self._leaveIfDone(pos)
        if self._state != _TEXT:
            self._raw.append(data[self._rawFrom:n - len(self._pending)])
        return out

    def interrupt(self) -> list[Piece]:
        """
        A piece of another kind interrupts the content: outside markup, give
        back a held partial tag as text.  Inside a block, keep holding.
        """
        if self._state != _TEXT or not self._pending:
            return []
        pending = self._pending
        self._pending = ""
        return [_text(pending)]

    def flush(self) -> list[Piece]:
        """
        End of stream: give back what is held, as text (see the class
        docstring).  Resets the healer; L{fired} keeps counting.
        """
        if self._state == _TEXT:
            held = self._pending
        else:
            held = "".join(self._raw) + self._pending
            if not held.strip():
                held = ""
        self._reset()
        return [_text(held)] if held else []

    def _checkpoint(self, position: int) -> None:
        # Raw text before this position is accounted for.
        self._raw = []
        self._rawFrom = position

    def _settleJunk(self, position: int, out: list[Piece]) -> None:
        """
        A tag starts at C{position}: decide what the text before it was.
        """
        junk = "".join(self._junk)
        self._junk = []
        if not junk.strip():
            return
        if self._invoke is not None:
            self._invoke.body.append(junk)
        else:
            out.append(_text(junk))
            self._checkpoint(position)

    def _tagEnd(self, data: str, start: int) -> int:
        """
        The end of the tag starting at C{start}: just past its C{">"} outside
        quotes, or -1 when it has not arrived yet.
        """
        pos = start + self._tagScan
        inQuote = self._inQuote
        while True:
            if inQuote:
                quote = data.find('"', pos)
                if quote < 0:
                    break
                inQuote = False
                pos = quote + 1
            else:
                close = data.find(">", pos)
                quote = data.find('"', pos, close if close >= 0 else len(data))
                if quote >= 0:
                    inQuote = True
                    pos = quote + 1
                elif close >= 0:
                    return close + 1
                else:
                    break
        self._inQuote = inQuote
        self._tagScan = len(data) - start
        return -1

    def _tag(self, tag: str, start: int, end: int, out: list[Piece]) -> None:
        """
        Act on the complete tag C{tag}, found at C{data[start:end]}.
        """
        self._state = _BETWEEN
        match = _TAG.match(tag)
        if match is None:
            # Malformed markup: stripped.
            self._leaveIfDone(end)
            return
        closing, name, attributeText, selfClosing = match.groups()
        attributes = dict(_ATTRIBUTE.findall(attributeText))
        invoke = self._invoke
        if name == "invoke":
            if closing or ("name" not in attributes and invoke is not None):
                # "</invoke>", or the attribute-less "<invoke>" some outputs
                # close with.
                if invoke is not None:
                    self._finishInvoke(end, out)
            else:
                if invoke is not None:
                    # A new invoke implicitly closes the previous one.
                    self._finishInvoke(start, out)
                self._invoke = _Invoke(attributes.get("name", ""), attributes.get("string"))
                if selfClosing:
                    self._finishInvoke(end, out)
        elif name == "parameter":
            if closing:
                pass  # a stray closer: stripped
            elif selfClosing:
                if invoke is not None:
                    invoke.parameters[attributes.get("name", "")] = attributes.get("string", "")
            else:
                self._parameter = (attributes.get("name", ""), attributes.get("string"))
                self._value = []
                self._state = _VALUE
                return
        elif closing:
            if invoke is not None:
                self._finishInvoke(end, out)
            self._depth = max(0, self._depth - 1)
        elif not selfClosing:
            self._depth += 1
        self._leaveIfDone(end)

    def _leaveIfDone(self, position: int) -> None:
        # Outside any wrapper and invoke, the block is over.
        if self._depth == 0 and self._invoke is None:
            self._state = _TEXT
            self._checkpoint(position)

    def _closeParameter(self) -> None:
        name, string = self._parameter
        raw = "".join(self._value)
        self._value = []
        invoke = self._invoke
        if invoke is None:
            return  # outside any invoke: dropped
        value: object
        if string == "true":
            value = raw
        elif string is not None and string != "false":
            # V4 Flash puts the value itself in the attribute.
            value = string if not raw.strip() else raw
        else:
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        invoke.parameters[name] = value

    def _finishInvoke(self, position: int, out: list[Piece]) -> None:
        """
        Emit the open invoke as a call; raw text before C{position} is
        accounted for.
        """
        invoke = self._invoke
        assert invoke is not None
        self._invoke = None
        arguments: dict[str, object] = {}
        if invoke.string is not None:
            key = None
            if self._firstParameter is not None:
                key = self._firstParameter(invoke.name)
            arguments[key or "input"] = invoke.string
        body = "".join(invoke.body)
        if body.strip():
            try:
                direct = json.loads(body)
            except ValueError:
                direct = None
            if isinstance(direct, dict):
                arguments.update(direct)
            else:
                # Not arguments after all: give it back rather than lose it.
                out.append(_text(body))
        arguments.update(invoke.parameters)
        out.append(_newTuple(Piece, (
            "call", "", invoke.name, json.dumps(arguments, ensure_ascii=False))))
        self.fired += 1
        self._checkpoint(position)


def _markerHold(data: str, pos: int) -> int:
    """
    How many trailing characters of C{data[pos:]} could begin a DSML tag.
    """
    # "<" only starts the marker, so only the last one can; the longest
    # partial start, "</｜｜DSML", is 8 characters.
    start = data.rfind("<", max(pos, len(data) - 8))
    if start >= 0 and _couldStart(data[start:], _DSML_MARKER_SPEC):
        return len(data) - start
    return 0


def _specHold(data: str, pos: int, spec: _Spec) -> int:
    """
    How many trailing characters of C{data[pos:]} could begin a match of
    C{spec}, whose first character ("<") occurs nowhere else in a match.
    """
    start = data.rfind("<", pos)
    if start >= 0 and _couldStart(data[start:], spec):
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
            return [_text(text)] if text else []
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
