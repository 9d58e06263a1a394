"""
Errors in the OpenAI envelope, and the Responses error code an upstream's
failure message deserves (the stream translator needs it mid-stream; the
HTTP status mapping is in L{codex_relay._providers.errors}).  No Twisted
here.
"""

from typing import Any
import json
import re
from dataclasses import dataclass, field

DEFAULT_RETRY_AFTER = 2
# The longest delay the relay passes on: an upstream asking for more is
# more likely wrong than right, and Codex would sit idle for it.
MAX_RETRY_AFTER = 600
_ASCII_SECONDS = re.compile(r"[0-9]{1,9}")

_TRY_AGAIN = re.compile(
    r"(?:try again|retry)\s+(?:in|after)\s+(\d{1,9}(?:\.\d{1,9})?)\s*"
    r"(ms|milliseconds?|s|sec|seconds?)?",
    re.IGNORECASE | re.ASCII,
)
_CONTEXT_OVERFLOW = re.compile(
    r"context[ _]length|context[ _]window|maximum context|too many tokens|"
    r"prompt is too long|input is too long|reduce the length|exceeds? the (?:model'?s? )?"
    r"(?:maximum|max|context)|exceeds the available context|exceed_context_size",
    re.IGNORECASE,
)
_QUOTA = re.compile(
    r"insufficient[ _](?:quota|balance)|quota|billing|balance|credits?\b",
    re.IGNORECASE,
)


@dataclass
class RelayError(Exception):
    """
    An error the relay answers with: an HTTP status and an OpenAI envelope.
    """

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def envelope(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def body(self) -> bytes:
        return json.dumps(self.envelope()).encode("utf-8")


class UpstreamTooLarge(Exception):
    """
    An upstream body, or one line or event of it, is larger than the relay
    accepts: an upstream fault, never the relay's.
    """


def invalidRequest(
    message: str, param: str | None = None, code: str | None = None
) -> RelayError:
    return RelayError(400, message, "invalid_request_error", code, param)


def retryAfterSeconds(message: str, default: int = DEFAULT_RETRY_AFTER) -> int:
    """
    Read "try again in 1.5s" / "retry after 200ms" from C{message}, rounded up
    to whole seconds as C{Retry-After} wants; C{default} when there is none.
    """
    match = _TRY_AGAIN.search(message)
    if match is None:
        return default
    amount = float(match.group(1))
    if (match.group(2) or "s").lower().startswith("m"):
        amount /= 1000
    return min(MAX_RETRY_AFTER, max(1, int(-(-amount // 1))))


def retryAfterHeader(value: str | None, message: str,
                     default: int = DEFAULT_RETRY_AFTER) -> str:
    """
    The C{Retry-After} to answer with: the upstream's own when it is ASCII
    decimal seconds (clamped to L{MAX_RETRY_AFTER}), else what C{message}
    says, else C{default}.
    """
    delay = (value or "").strip()
    if _ASCII_SECONDS.fullmatch(delay):
        return str(min(MAX_RETRY_AFTER, int(delay)))
    return str(retryAfterSeconds(message, default))


def classifyFailure(message: str, code: str | None) -> str:
    """
    The Responses error code for an upstream failure with C{message} and
    upstream C{code}: one Codex treats as the situation deserves.
    """
    haystack = "{} {}".format(code or "", message)
    if _CONTEXT_OVERFLOW.search(haystack):
        return "context_length_exceeded"
    if code in ("insufficient_quota", "insufficient_balance") or (
        code not in ("rate_limit_exceeded",) and _QUOTA.search(haystack)
        and "rate" not in haystack.lower()
    ):
        return "insufficient_quota"
    if code == "rate_limit_exceeded" or re.search(
        r"rate.?limit|too many requests", haystack, re.IGNORECASE
    ):
        return "rate_limit_exceeded"
    return "server_error"


def upstreamJSONObject(body: bytes) -> dict[str, Any]:
    """
    A whole upstream answer, which must be a JSON object.

    @raise RelayError: a 502 when it is not.
    """
    try:
        parsed = json.loads(body)
    except ValueError:
        raise RelayError(502, "The upstream answered with a body that is not JSON.",
                         "server_error", "bad_upstream_response") from None
    if not isinstance(parsed, dict):
        raise RelayError(502, "The upstream answered with an unexpected body.",
                         "server_error", "bad_upstream_response")
    return parsed
