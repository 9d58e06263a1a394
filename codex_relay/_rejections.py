"""
Strip and retry: reading which single parameter an upstream's 400 or 422
rejected, and removing it from the request.  No Twisted here.
"""

import json
import re

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
                return error["param"].split(".")[-1]
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


def withoutParameter(body: dict, name: str) -> bool:
    """
    Remove C{name} from C{body}: a top-level parameter, or a field of every
    message or tool.  Whether anything was removed.
    """
    if name in ("model", "messages", "stream"):
        return False  # never strip what makes the request a request
    removed = body.pop(name, None) is not None
    for message in body.get("messages", ()):
        if isinstance(message, dict) and message.pop(name, None) is not None:
            removed = True
    for tool in body.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and function.pop(name, None) is not None:
            removed = True
    return removed
