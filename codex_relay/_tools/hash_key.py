"""
C{codex-relay hash-key}: a client's table for the client keys file.  The
token is made here (or read from standard input), shown once on standard
error, and only its SHA-256 goes to standard output, so that::

    codex-relay hash-key --name alice >> keys.toml

keeps the hash in the file and the token on the terminal.
"""

import secrets
import sys
from typing import IO

from twisted.python import usage

from codex_relay._providers.client_keys import hashToken
from codex_relay._providers.config_file import _key

# Marks a relay token among others a user holds; nothing depends on it.
PREFIX = "crk-"


class HashKeyOptions(usage.Options):
    synopsis = "[--name NAME] [--stdin]"
    longdesc = (
        "Print a [clients.NAME] table for codex-relay's --client-keys file. Without "
        "--stdin a new random token is made and printed on standard error, once: give it "
        "to the client, which sends it as its API key. Only the token's SHA-256 goes to "
        "standard output (the same as: printf %s TOKEN | sha256sum).")
    optFlags = [
        ["stdin", None, "hash the token read from standard input instead of making one"],
    ]
    optParameters = [
        ["name", "n", "client", "the client's name, as log lines and metrics show it"],
    ]

    def postOptions(self) -> None:
        if not self["name"]:
            raise usage.UsageError("--name must not be empty")


def hashKeyCommand(options: HashKeyOptions, stdin: IO[str] | None = None,
                   stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if options["stdin"]:
        # The relay strips the whitespace around a presented token too.
        token = stdin.read().strip()
        if not token:
            print("codex-relay hash-key: no token on standard input", file=stderr)
            return 1
    else:
        token = PREFIX + secrets.token_urlsafe(32)
        print("The token of {} (give it to the client; the relay keeps only its hash):\n"
              "{}".format(options["name"], token), file=stderr, flush=True)
    print("[clients.{}]\ntoken_sha256 = \"{}\"".format(_key(options["name"]),
                                                       hashToken(token)), file=stdout)
    return 0
