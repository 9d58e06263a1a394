"""
DeepSeek's tool-call markup ("DSML") leaked into content becomes tool
calls.  No Twisted here.
"""

import json
import re
from collections.abc import Callable

from codex_relay._providers.healers.pieces import (
    BAR,
    WHITESPACE,
    Piece,
    Spec,
    couldStart,
    literal,
    newTuple,
    specHold,
    textPiece,
)

_DSML_MARKER = re.compile("</?\uff5c\uff5c?DSML\uff5c")
_DSML_MARKER_SPEC: Spec = (
    ("<", 1, 1), ("/", 0, 1), (BAR, 1, 2), *literal("DSML"), (BAR, 1, 1))
# A parameter value ends at its closer; the attribute-less opening form is
# accepted too (some outputs close with "<｜DSML｜parameter>").  Whitespace is
# spelled out, not \s, so it agrees exactly with the spec used to hold back.
_PARAM_CLOSE = re.compile(
    "</?\uff5c\uff5c?DSML\uff5c\uff5c?[ \t\r\n]*parameter[ \t\r\n]*>")
_PARAM_CLOSE_SPEC: Spec = (
    ("<", 1, 1), ("/", 0, 1), (BAR, 1, 2), *literal("DSML"), (BAR, 1, 2),
    (WHITESPACE, 0, 1 << 30), *literal("parameter"), (WHITESPACE, 0, 1 << 30), (">", 1, 1))
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
                    return [newTuple(Piece, ("text", text, "", ""))] if text else []
                if BAR not in text:
                    # Code full of "<": every tag has a bar after its "<" or
                    # "</", so only those two may begin one, at the end.
                    if text.endswith("<"):
                        self._pending, text = "<", text[:-1]
                    elif text.endswith("</"):
                        self._pending, text = "</", text[:-2]
                    return [newTuple(Piece, ("text", text, "", ""))] if text else []
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
                            out.append(textPiece(data[pos:end]))
                        else:
                            self._junk.append(data[pos:end])
                    self._pending = data[end:]
                    break
                start = match.start()
                if state == _TEXT:
                    if start > pos:
                        out.append(textPiece(data[pos:start]))
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
                    end = n - specHold(data, pos, _PARAM_CLOSE_SPEC)
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
        return [textPiece(pending)]

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
        return [textPiece(held)] if held else []

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
            out.append(textPiece(junk))
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
                out.append(textPiece(body))
        arguments.update(invoke.parameters)
        out.append(newTuple(Piece, (
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
    if start >= 0 and couldStart(data[start:], _DSML_MARKER_SPEC):
        return len(data) - start
    return 0
