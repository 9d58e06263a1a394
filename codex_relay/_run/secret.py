"""
The relay's secret: it signs the reasoning carried in C{encrypted_content}
and keys the hash that names each credential's stored responses.  Given
with C{--secret}, or kept beside a SQLite store so that its conversations
survive a restart, or else random for the life of the process.
"""

import os
from collections.abc import Mapping

from codex_relay._store.choose import sqlitePath


def relaySecret(given: str | None, store: str, environ: Mapping[str, str]) -> tuple[bytes, bool]:
    """
    The secret, and whether it is random (lost at exit).
    """
    if given:
        return given.encode("utf-8"), False
    path = sqlitePath(store, environ)
    if path is None or path == ":memory:":
        return os.urandom(32), True
    return _kept(path + ".secret"), False


def _kept(path: str) -> bytes:
    try:
        with open(path, "rb") as existing:
            return bytes.fromhex(existing.read().decode("ascii").strip())
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    secret = os.urandom(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another relay made it first: use that one.
        return _kept(path)
    with os.fdopen(descriptor, "wb") as created:
        created.write(secret.hex().encode("ascii") + b"\n")
    return secret
