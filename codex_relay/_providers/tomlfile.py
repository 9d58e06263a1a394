"""
Reading a TOML file of the relay's (the routing configuration, the client
keys), with errors that name the file, and the error they raise.
"""

import tomllib
from typing import Any


class ConfigError(Exception):
    """
    A configuration that cannot be used.  The message names the file and
    the TOML line or the key path.

    @ivar source: the file (or C{"<config>"}).
    @ivar path: the key path, or L{None} for a syntax or file error.
    """

    def __init__(self, message: str, source: str | None = None,
                 path: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.path = path


def readText(path: str, what: str) -> str:
    """
    The UTF-8 text of the file at C{path} (the C{what}).

    @raise ConfigError: when it cannot be read, or is not UTF-8.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError("{}: cannot read the {}: {}".format(
            path, what, e.strerror or e), path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError("{}: not UTF-8 text (byte {})".format(path, e.start), path) from None


def loadTOML(text: str, source: str) -> dict[str, Any]:
    """
    C{text} parsed as TOML.

    @raise ConfigError: naming C{source} and where the syntax is wrong.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("{}: {}".format(source, e), source) from None
