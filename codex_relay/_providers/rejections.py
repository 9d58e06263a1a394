"""
Strip and retry: reading which single parameter an upstream's 400 or 422
rejected, and removing it from the request.  No Twisted here.
"""

from typing import Any
import json
import re
from collections import OrderedDict
from collections.abc import Callable

_PATTERNS = [
    re.compile(r"unrecognized request argument supplied:\s*['\"`]?([A-Za-z_][\w.]*)", re.I),
    re.compile(r"unsupported parameter:?\s*['\"`]([A-Za-z_][\w.]*)['\"`]", re.I),
    re.compile(r"unknown (?:parameter|field|argument)s?:?\s*['\"`]([A-Za-z_][\w.]*)['\"`]", re.I),
    re.compile(r"property\s+['\"`]([A-Za-z_][\w.]*)['\"`]\s+is\s+(?:unsupported|not supported"
               r"|not allowed)", re.I),
    re.compile(r"['\"`]([A-Za-z_][\w.]*)['\"`]\s+is\s+(?:not supported|unsupported|not allowed"
               r"|not permitted)", re.I),
    re.compile(r"does not support (?:the )?parameter\s+['\"`]?([A-Za-z_][\w.]*)", re.I),
    re.compile(r"extra inputs are not permitted.*?['\"`]([A-Za-z_][\w.]*)['\"`]", re.I),
]
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _snake(name: str) -> str:
    # xAI names parameters in camelCase in its messages: reasoningEffort.
    return _CAMEL.sub(lambda m: "_" + m.group(1).lower(), name)


def rejectedParameter(status: int, body: bytes) -> str | None:
    """
    The one parameter or message field an upstream's 400/422 says it does
    not accept, or L{None} when the answer names none (or several).
    """
    if status not in (400, 422):
        return None
    text = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        # FastAPI/pydantic (Mistral): {"detail": [{"type": "extra_forbidden", "loc": [...]}]}
        detail = parsed.get("detail")
        if isinstance(detail, list):
            names = {str(d["loc"][-1]) for d in detail if isinstance(d, dict)
                     and d.get("type") == "extra_forbidden" and d.get("loc")}
            return names.pop() if len(names) == 1 else None
        error = parsed.get("error")
        if isinstance(error, dict):
            if error.get("code") in ("unsupported_parameter", "unknown_parameter") and \
                    isinstance(error.get("param"), str):
                return str(error["param"]).split(".")[-1]
            text = str(error.get("message") or text)
        elif isinstance(parsed.get("message"), str):
            text = parsed["message"]
    for pattern in _PATTERNS:
        match = pattern.search(text)
        if match:
            name = _snake(match.group(1).rstrip(".").split(".")[-1])
            if name:
                return name
    return None


# What makes a Chat request a request: a 400 that names one of these is about
# its value, and stripping it would change what is asked, for every later
# request too.
STRUCTURAL = frozenset({
    "role", "content", "tool_calls", "tool_call_id", "name", "function", "type",
    "tools", "tool_choice", "messages", "model", "stream",
})


def withoutParameter(body: dict[str, Any], name: str) -> bool:
    """
    Remove C{name} from C{body}: a top-level parameter, or a field of every
    message or tool.  Whether anything was removed; never for a
    L{STRUCTURAL} name.
    """
    if name in STRUCTURAL:
        return False
    removed = body.pop(name, None) is not None
    for message in body.get("messages", ()):
        if isinstance(message, dict) and message.pop(name, None) is not None:
            removed = True
    for tool in body.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and function.pop(name, None) is not None:
            removed = True
    return removed


class RejectionMemory:
    """
    The parameters each upstream and model rejected, left out of later
    requests until they expire.  Bounded: past C{size} upstream and model
    pairs, the least recently used is forgotten, so a client sending
    endless model names cannot grow it.

    @param seconds: how long a rejection is remembered: an upstream may
        learn the parameter in a later release.
    @param clock: returns the time in seconds (the reactor's C{seconds}).
    """

    def __init__(self, clock: Callable[[], float], seconds: float = 3600.0,
                 size: int = 256) -> None:
        self._clock = clock
        self._seconds = seconds
        self._size = size
        self._learned: OrderedDict[tuple[str, str], dict[str, float]] = OrderedDict()

    def rejected(self, upstream: str, model: str) -> tuple[str, ...]:
        """
        The parameters to leave out for C{model} on C{upstream}.
        """
        key = (upstream, model)
        names = self._learned.get(key)
        if names is None:
            return ()
        now = self._clock()
        for name in [n for n, until in names.items() if until <= now]:
            del names[name]
        if not names:
            del self._learned[key]
            return ()
        self._learned.move_to_end(key)
        return tuple(names)

    def learn(self, upstream: str, model: str, name: str) -> None:
        key = (upstream, model)
        self._learned.setdefault(key, {})[name] = self._clock() + self._seconds
        self._learned.move_to_end(key)
        while len(self._learned) > self._size:
            self._learned.popitem(last=False)

    def __len__(self) -> int:
        return len(self._learned)
