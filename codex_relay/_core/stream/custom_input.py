"""
Incremental decoding of a custom tool's input while its JSON arguments
stream: C{{"input": "..."}} arrives in fragments, and Codex should see the raw
text as it comes, not JSON.  No Twisted here.
"""

import json
import re

_SPECIAL = re.compile(r'["\\]')
_ESCAPES = {
    '"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n",
    "r": "\r", "t": "\t",
}
_PREAMBLE = re.compile(r'\s*\{\s*"input"\s*:\s*"')

# Phases of the decoder.
_SEEKING, _IN_STRING, _FINISHED, _GAVE_UP = range(4)


class InputStringDecoder:
    """
    Decodes the C{input} string of C{{"input": "..."}} arguments as they
    stream.  Arguments of any other shape make it give up; the caller then
    reads the whole input once the arguments are complete.
    """

    def __init__(self) -> None:
        self._phase = _SEEKING
        self._pending = ""

    def feed(self, fragment: str) -> str:
        """
        Add an arguments fragment; return the input text it completes.
        """
        if self._phase in (_FINISHED, _GAVE_UP):
            return ""
        text = self._pending + fragment
        self._pending = ""
        if self._phase == _SEEKING:
            match = _PREAMBLE.match(text)
            if match is None:
                if _couldStillMatch(text):
                    self._pending = text
                else:
                    self._phase = _GAVE_UP
                return ""
            self._phase = _IN_STRING
            text = text[match.end():]
        return self._decode(text)

    def _decode(self, text: str) -> str:
        out = []
        position = 0
        while True:
            match = _SPECIAL.search(text, position)
            if match is None:
                out.append(text[position:])
                break
            start = match.start()
            out.append(text[position:start])
            if text[start] == '"':
                self._phase = _FINISHED
                break
            escape, length = _escape(text, start)
            if escape is None:
                if length == 0:
                    self._phase = _GAVE_UP
                else:
                    self._pending = text[start:]  # finish the escape next time
                break
            out.append(escape)
            position = start + length
        return "".join(out)


def _escape(text: str, start: int) -> tuple[str | None, int]:
    """
    Decode the escape at C{text[start]}: (text, length), (None, 1) when it is
    cut short, (None, 0) when it is invalid.
    """
    if start + 1 >= len(text):
        return None, 1
    letter = text[start + 1]
    if letter in _ESCAPES:
        return _ESCAPES[letter], 2
    if letter != "u":
        return None, 0
    if start + 6 > len(text):
        return None, 1
    code = _hex(text[start + 2:start + 6])
    if code is None:
        return None, 0
    if 0xD800 <= code < 0xDC00:
        # A high surrogate needs its low half, which may not be here yet.
        following = text[start + 6:start + 12]
        if len(following) < 6 and "\\u".startswith(following[:2]):
            return None, 1
        low = _hex(following[2:]) if following[:2] == "\\u" else None
        if low is None or not 0xDC00 <= low < 0xE000:
            return chr(code), 6  # a lone surrogate, kept as json.loads keeps it
        return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), 12
    return chr(code), 6


def _hex(digits: str) -> int | None:
    try:
        return int(digits, 16)
    except ValueError:
        return None


def _couldStillMatch(text: str) -> bool:
    """
    Whether C{text} is a prefix of a C{{"input": "} preamble.
    """
    compact = re.sub(r"\s+", "", text)
    return '{"input":"'.startswith(compact) and len(text) < 64


def customInput(arguments: str) -> str:
    """
    The raw input of a custom tool call from its complete Chat arguments:
    the C{input} member, or the arguments themselves when the model sent raw
    text instead of JSON.
    """
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return arguments
    if isinstance(parsed, dict):
        value = parsed.get("input")
        if isinstance(value, str):
            return value
        strings = [v for v in parsed.values() if isinstance(v, str)]
        if len(strings) == 1:
            return strings[0]
    return parsed if isinstance(parsed, str) else arguments
