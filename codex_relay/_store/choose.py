"""
The store a relay uses, from a short spec (C{--store}).
"""

import os
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from twisted.internet.interfaces import IReactorCore, IReactorTime

from codex_relay._store.interface import ResponseStore
from codex_relay._store.memory import MemoryStore
from codex_relay._store.redis import DEFAULT_PORT, RedisStore
from codex_relay._store.sqlite import SQLiteStore, defaultSQLitePath

FORMS = ("memory", "sqlite", "sqlite:PATH", "redis://[:PASSWORD@]HOST[:PORT][/DB]")


def shownSpec(spec: str) -> str:
    """
    C{spec} with any password blanked, for a log line or a report that may
    be pasted anywhere.
    """
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:@/]*:)[^@]*@", r"\1***@", spec)


def _refuse(spec: str, why: str) -> ValueError:
    return ValueError("Unknown response store {!r}: {}; use one of: {}.".format(
        shownSpec(spec), why, ", ".join(FORMS)))


def expandHome(path: str, environ: Mapping[str, str]) -> str:
    """
    C{path} with a leading C{~} (this user's) in C{environ}'s C{HOME}.
    """
    if path == "~" or path.startswith("~/"):
        home = environ.get("HOME") or os.path.expanduser("~")
        return home + path[1:]
    return os.path.expanduser(path)


def _redis(spec: str, clock: IReactorTime) -> RedisStore:
    parts = urlsplit(spec)
    if parts.query or parts.fragment:
        raise _refuse(spec, "a Redis URL takes no query or fragment")
    try:
        port = parts.port
    except ValueError:
        raise _refuse(spec, "its port is not a number from 0 to 65535") from None
    host = parts.hostname
    if not host:
        raise _refuse(spec, "a Redis URL needs a host")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise _refuse(spec, "the database ({!r}) is not a number".format(path))
    password = None if parts.password is None else unquote(parts.password)
    username = unquote(parts.username) if parts.username else None
    return RedisStore(host, DEFAULT_PORT if port is None else port, int(path or "0"),
                      password, clock=clock, username=username)


def sqlitePath(spec: str, environ: Mapping[str, str]) -> str | None:
    """
    The file of a C{sqlite} or C{sqlite:PATH} spec; L{None} for others.
    """
    if spec != "sqlite" and not spec.startswith("sqlite:"):
        return None
    return expandHome(spec[len("sqlite:"):] or defaultSQLitePath(environ), environ)


def storeFromSpec(spec: str, clock: IReactorTime, reactor: IReactorCore | None,
                  environ: Mapping[str, str]) -> ResponseStore:
    """
    The store C{spec} names, not yet open: C{memory}; C{sqlite} or
    C{sqlite:} (in L{defaultSQLitePath}) or C{sqlite:PATH}; or
    C{redis://[:PASSWORD@]HOST[:PORT][/DB]} (port 6379, database 0 unless
    given; a password is URL-quoted).

    @param clock: what records' times are measured on.
    @param reactor: runs the SQLite store's database thread.
    @raise ValueError: any other spec.
    """
    if spec == "memory":
        return MemoryStore(clock)
    path = sqlitePath(spec, environ)
    if path is not None:
        return SQLiteStore(path, clock, reactor)
    if spec.startswith("redis://"):
        return _redis(spec, clock)
    raise _refuse(spec, "not a store")
