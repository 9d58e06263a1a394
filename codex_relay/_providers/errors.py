"""
Upstream HTTP errors, seen before anything reached the client, mapped onto
the statuses and codes that Codex and the openai SDK act on.  No Twisted
here.
"""

import json

from codex_relay._core.errors import (
    DEFAULT_RETRY_AFTER,
    RelayError,
    classifyFailure,
    retryAfterHeader,
)


def upstreamMessage(body: bytes) -> tuple[str, str | None, str | None]:
    """
    The message, code and type of an upstream error body, whatever its shape.
    """
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text[:2000], None, None
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
    if isinstance(error, str):
        return error, None, None
    if not isinstance(error, dict):
        return text[:2000], None, None
    message = error.get("message") or error.get("detail") or error.get("msg") or text
    if not isinstance(message, str):
        message = json.dumps(message)
    code = error.get("code")
    kind = error.get("type")
    return (
        message[:2000],
        str(code) if code is not None else None,
        kind if isinstance(kind, str) else None,
    )


def mapUpstreamError(
    status: int,
    body: bytes,
    retryAfter: str | None = None,
    defaultRetryAfter: int = DEFAULT_RETRY_AFTER,
) -> RelayError:
    """
    Map an upstream HTTP error, seen before anything reached the client, to
    the error the relay answers with.
    """
    message, upstreamCode, upstreamType = upstreamMessage(body)
    if not message:
        message = "upstream answered HTTP {}".format(status)
    kind = classifyFailure(message, upstreamCode)
    if kind == "context_length_exceeded" and status in (400, 413, 422):
        return RelayError(400, message, "invalid_request_error", kind)
    if kind == "insufficient_quota" or status == 402:
        return RelayError(
            429, message, "insufficient_quota", "insufficient_quota",
            headers={"Retry-After": str(defaultRetryAfter)},
        )
    if status == 429:
        return RelayError(
            429, message, "rate_limit_error", "rate_limit_exceeded",
            headers={"Retry-After": retryAfterHeader(retryAfter, message, defaultRetryAfter)},
        )
    if status == 404:
        return RelayError(404, message, "invalid_request_error",
                          upstreamCode or "model_not_found")
    if status in (401, 403):
        return RelayError(status, message, "authentication_error"
                          if status == 401 else "permission_error", upstreamCode)
    if 400 <= status < 500:
        return RelayError(status, message, upstreamType or "invalid_request_error",
                          upstreamCode)
    mapped = status if status in (502, 503, 504) else 502
    return RelayError(mapped, message, "server_error", upstreamCode or "server_error")
