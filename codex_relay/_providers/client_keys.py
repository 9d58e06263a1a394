"""
The client keys file (C{--client-keys}, C{CODEX_RELAY_CLIENT_KEYS}, or
C{client_keys} in the configuration file): the named tokens a client must
present as C{Authorization: Bearer TOKEN}, each stored as its SHA-256,
read from TOML into L{ClientKeys}.  No Twisted here.

The file::

    [clients.alice]
    token_sha256 = "9f86d081884c7d65..."  # required: the SHA-256 of the token,
                                          # in hex (codex-relay hash-key)
    models = ["deepseek-chat", "qwen/*"]  # optional: exact names, or prefixes
                                          # ending in *; absent: every model
    routes = ["deepseek"]                 # optional: the upstreams it may reach
    upstream_api_key_env = "ALICE_KEY"    # optional, or upstream_api_key = "sk-...":
                                          # sent upstream instead of the relay's key;
                                          # a table { deepseek = "..." } gives one
                                          # per upstream
    requests_per_minute = 60              # optional limits
    tokens_per_day = 2000000

Errors name the file, the key path and the table's line, as
L{codex_relay._providers.config_file} does; none repeats a value that may
be a secret (a token pasted where its hash belongs, an upstream key).
"""

import hashlib
import hmac
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NoReturn

from codex_relay._providers.config_file import _fail, _key
from codex_relay._providers.tomlfile import loadTOML, readText
from codex_relay._providers.routes import Route, RoutingTable, _typeName

_TOP_KEYS = ("clients",)
_CLIENT_KEYS = ("token_sha256", "models", "routes", "upstream_api_key",
                "upstream_api_key_env", "requests_per_minute", "tokens_per_day")
_HEX = re.compile(r"[0-9A-Fa-f]{64}")
_EMPTY: Mapping[str, str] = MappingProxyType({})


def hashToken(token: str | bytes) -> str:
    """
    What C{token_sha256} holds for C{token}: its SHA-256, in lowercase hex.
    """
    return hashlib.sha256(token.encode("utf-8") if isinstance(token, str) else token
                          ).hexdigest()


@dataclass(frozen=True, repr=False, eq=False)
class ClientKey:
    """
    One client's token (as its digest) and what it may do.

    @ivar name: the client's name, for log lines and metrics.
    @ivar models: the model names it may ask for, exact or as prefixes
        ending in C{*}; L{None} for every model.
    @ivar routes: the upstreams its models may go to; L{None} for all.
    @ivar requestsPerMinute: the most requests in any 60 seconds.
    @ivar tokensPerDay: the most tokens (input and output) in one UTC day.
    """

    name: str
    digest: bytes
    models: tuple[str, ...] | None = None
    routes: tuple[str, ...] | None = None
    requestsPerMinute: int | None = None
    tokensPerDay: int | None = None
    # Sent upstream instead of the relay's key: for every upstream, or by name.
    upstreamKey: str | None = None
    upstreamKeys: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    line: int | None = field(default=None, compare=False)
    keyField: str = field(default="upstream_api_key", compare=False)

    def __repr__(self) -> str:
        # Never the digest, never an upstream key.
        return "<ClientKey {!r} models={} routes={} upstream_key={}>".format(
            self.name, self.models, self.routes,
            "<set>" if self.upstreamKey or self.upstreamKeys else None)

    def upstreamKeyFor(self, upstream: str) -> str | None:
        """
        The key to send to C{upstream} on this client's behalf, if it has
        one of its own.
        """
        return self.upstreamKeys.get(upstream) or self.upstreamKey

    @property
    def restricted(self) -> bool:
        """
        Whether some models are not for this client.
        """
        return self.models is not None or self.routes is not None

    def mayUse(self, model: str, route: Route | None) -> bool:
        """
        Whether this client may ask for C{model}, which goes by C{route}.
        """
        if self.models is not None and not any(
                model.startswith(allowed[:-1]) if allowed.endswith("*") else model == allowed
                for allowed in self.models):
            return False
        return self.routes is None or (route is not None and route.upstream.name in self.routes)


class ClientKeys:
    """
    Every client of the relay.  L{find} compares in constant time.

    @ivar source: the file they came from.
    @ivar clients: the clients in file order.
    """

    def __init__(self, clients: Collection[ClientKey], source: str = "<client keys>") -> None:
        self.clients = tuple(clients)
        self.source = source

    def __repr__(self) -> str:
        return "<ClientKeys {} from {}>".format([c.name for c in self.clients], self.source)

    def find(self, token: bytes) -> ClientKey | None:
        """
        The client whose token is C{token}, or L{None}.  Every digest is
        compared, with L{hmac.compare_digest}: how long it takes tells
        nothing of which (or whether one) matched.
        """
        digest = hashlib.sha256(token).digest()
        found = None
        for client in self.clients:
            if hmac.compare_digest(digest, client.digest):
                found = client
        return found

    def check(self, upstreams: Collection[str]) -> None:
        """
        Check the upstream names the clients give against C{upstreams}, those
        of the routing table.

        @raise ConfigError: naming the file, the key and the line.
        """
        known = ", ".join(sorted(upstreams))
        for client in self.clients:
            path = "clients." + _key(client.name)
            named = [("routes", name) for name in client.routes or ()]
            named += [(client.keyField, name) for name in client.upstreamKeys]
            for key, name in named:
                if name not in upstreams:
                    _fail(self.source, "{}.{}".format(path, key),
                          "unknown upstream {!r}; known: {}".format(name, known), client.line)
            if client.upstreamKey and len(upstreams) > 1 and client.routes is None:
                _fail(self.source, "{}.{}".format(path, client.keyField),
                      "with several upstreams, give routes, or a table of keys by upstream "
                      "name: one key would go to every upstream", client.line)


def permittedRoute(table: RoutingTable, client: ClientKey | None, model: str) -> Route | None:
    """
    Where a request of C{client} for C{model} goes: L{None} when nowhere, or
    when the client may not use it (answered as an unknown model is).
    """
    route = table.route(model)
    if client is not None and not client.mayUse(model, route):
        return None
    return route


def visibleModels(table: RoutingTable, client: ClientKey, entries: list[Any]) -> list[Any]:
    """
    The entries of a C{/v1/models} list, named as clients name them, that
    C{client} may use.
    """
    return [entry for entry in entries if isinstance(entry, dict)
            and isinstance(entry.get("id"), str)
            and client.mayUse(entry["id"], table.route(entry["id"]))]


def loadClientKeys(path: str, environ: Mapping[str, str]) -> ClientKeys:
    """
    Read the TOML file at C{path}.

    @param environ: where C{upstream_api_key_env} variables are looked up.
    @raise ConfigError: if the file cannot be read or used.
    """
    return parseClientKeys(readText(path, "client keys file"), environ, path)


def parseClientKeys(text: str, environ: Mapping[str, str],
                    source: str = "<client keys>") -> ClientKeys:
    """
    The clients a TOML document describes.

    @raise ConfigError: naming C{source} and the line or key at fault.
    """
    return _Parser(source, text, environ).keys(loadTOML(text, source))


class _Parser:
    def __init__(self, source: str, text: str, environ: Mapping[str, str]) -> None:
        self.source = source
        self.environ = environ
        self._text = text

    def _line(self, name: str) -> int | None:
        pattern = re.compile(
            r"""\s*\[\s*clients\s*\.\s*(?:"([^"\\]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*\]""")
        for number, line in enumerate(self._text.splitlines(), 1):
            match = pattern.match(line)
            if match and name in match.groups():
                return number
        return None

    def fail(self, path: str, message: str, line: int | None = None) -> NoReturn:
        _fail(self.source, path, message, line)

    def keys(self, document: dict[str, Any]) -> ClientKeys:
        for key in document:
            if key not in _TOP_KEYS:
                self.fail(_key(key), "unknown key; allowed: clients "
                          "(a table [clients.NAME] for each client)")
        clients = document.get("clients")
        if not isinstance(clients, dict) or not clients:
            self.fail("clients", "at least one client is required ([clients.NAME] with a "
                      "token_sha256)" if clients is None or clients == {}
                      else "must be a table, not {}".format(_typeName(clients)))
        parsed: list[ClientKey] = []
        seen: dict[bytes, str] = {}
        for name, raw in clients.items():
            client = self.client(name, raw)
            if client.digest in seen:
                self.fail("clients.{}.token_sha256".format(_key(name)),
                          "the same token as clients.{}".format(_key(seen[client.digest])),
                          client.line)
            seen[client.digest] = name
            parsed.append(client)
        return ClientKeys(parsed, self.source)

    def client(self, name: str, raw: object) -> ClientKey:
        path = "clients." + _key(name)
        line = self._line(name)
        if not name:
            self.fail(path, "a client's name must not be empty", line)
        if not isinstance(raw, dict):
            self.fail(path, "must be a table, not {}".format(_typeName(raw)), line)
        for key in raw:
            if key == "token":
                self.fail(path + ".token", "keep only the token's SHA-256, as token_sha256 "
                          "(codex-relay hash-key prints it), never the token itself", line)
            if key not in _CLIENT_KEYS:
                self.fail("{}.{}".format(path, _key(key)), "unknown key; allowed: {}".format(
                    ", ".join(sorted(_CLIENT_KEYS))), line)
        if "token_sha256" not in raw:
            self.fail(path, "token_sha256 is required (codex-relay hash-key prints it)", line)
        digest = raw["token_sha256"]
        if not isinstance(digest, str) or not _HEX.fullmatch(digest):
            # The value is not repeated: it may be the token itself.
            self.fail(path + ".token_sha256", "must be the SHA-256 of the token as 64 "
                      "hexadecimal digits (codex-relay hash-key prints it)", line)
        if "upstream_api_key" in raw and "upstream_api_key_env" in raw:
            self.fail(path, "give upstream_api_key or upstream_api_key_env, not both", line)
        upstreamKey, upstreamKeys = None, _EMPTY
        keyField = "upstream_api_key_env" if "upstream_api_key_env" in raw else "upstream_api_key"
        if keyField in raw:
            upstreamKey, upstreamKeys = self.secrets(
                "{}.{}".format(path, keyField), raw[keyField], line, keyField.endswith("_env"))
        return ClientKey(
            name=name, digest=bytes.fromhex(digest),
            models=self.names(path + ".models", raw["models"], line)
            if "models" in raw else None,
            routes=self.names(path + ".routes", raw["routes"], line)
            if "routes" in raw else None,
            requestsPerMinute=self.count(path, raw, "requests_per_minute", line),
            tokensPerDay=self.count(path, raw, "tokens_per_day", line),
            upstreamKey=upstreamKey, upstreamKeys=upstreamKeys, line=line, keyField=keyField)

    def names(self, path: str, value: object, line: int | None) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail(path, "must be an array of strings, not {}".format(_typeName(value)),
                      line)
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                self.fail("{}[{}]".format(path, i), "must be a non-empty string, not {}".format(
                    _typeName(item) if not isinstance(item, str) else "an empty one"), line)
        return tuple(dict.fromkeys(value))

    def count(self, path: str, raw: dict[str, Any], key: str, line: int | None) -> int | None:
        if key not in raw:
            return None
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.fail("{}.{}".format(path, key), "must be a positive integer, not {!r}".format(
                value), line)
        return value

    def secret(self, path: str, value: object, line: int | None, variable: bool) -> str:
        if not isinstance(value, str) or not value:
            self.fail(path, "must be a non-empty string{}".format(
                ", not {}".format(_typeName(value)) if not isinstance(value, str) else ""),
                line)
        if not variable:
            return value
        found = self.environ.get(value) or None
        if found is None:
            self.fail(path, "the environment variable {} is unset or empty".format(value),
                      line)
        return found

    def secrets(self, path: str, value: object, line: int | None,
                variable: bool) -> tuple[str | None, Mapping[str, str]]:
        # One key for every upstream, or a table of them by upstream name.
        if not isinstance(value, dict):
            return self.secret(path, value, line, variable), _EMPTY
        if not value:
            self.fail(path, "must name at least one upstream", line)
        return None, MappingProxyType({
            upstream: self.secret("{}.{}".format(path, _key(upstream)), item, line, variable)
            for upstream, item in value.items()})
