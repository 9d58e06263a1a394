"""
Provider reasoning carried through the client in C{encrypted_content}:
versioned, compressed and signed, so the relay keeps no state and ignores
blobs that it did not make (OpenAI's own, or ones tampered with).
"""

from typing import Any
import base64
import hashlib
import hmac
import json
import zlib

PREFIX = "crelay1."


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ReasoningCarrier:
    """
    Seals and opens reasoning payloads (plain dicts) with one secret.
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _signature(self, body: str) -> str:
        digest = hmac.new(self._secret, (PREFIX + body).encode("ascii"), hashlib.sha256)
        return _b64encode(digest.digest()[:18])

    def seal(self, payload: dict[str, Any]) -> str:
        raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        body = _b64encode(zlib.compress(raw))
        return "{}{}.{}".format(PREFIX, body, self._signature(body))

    def unseal(self, blob: object) -> dict[str, Any] | None:
        """
        The payload of C{blob}, or L{None} if it is not a valid blob of ours.
        """
        if not isinstance(blob, str) or not blob.startswith(PREFIX):
            return None
        body, _, signature = blob[len(PREFIX):].partition(".")
        if not hmac.compare_digest(signature, self._signature(body)):
            return None
        try:
            payload = json.loads(zlib.decompress(_b64decode(body)))
        except (ValueError, zlib.error):
            return None
        return payload if isinstance(payload, dict) else None
