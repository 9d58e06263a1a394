"""
The configuration file of several upstreams and their routes, read from
TOML (C{--config} or C{CODEX_RELAY_CONFIG}) into a
L{codex_relay._providers.routes.RoutingTable}.  Without a file,
L{singleUpstream} gives the same table for the single-upstream options.  No
Twisted here.

The file::

    default_upstream = "deepseek"   # optional, see "Routing" below
    client_keys = "keys.toml"       # optional: --client-keys, relative to this file

    [upstreams.deepseek]
    base_url = "https://api.deepseek.com/v1"    # required, http:// or https://
    api_key_env = "DEEPSEEK_API_KEY"  # or api_key = "sk-..."; with neither the
                                      # client's Authorization header is forwarded
    profile = "deepseek"    # optional: detected from the host when absent
    api = "chat"            # or "responses": passed through to its /responses
    connect_timeout = 10    # optional, seconds, each of the four; absent:
    headers_timeout = 300   # the relay-wide setting
    idle_timeout = 300
    total_timeout = 3600

    [[routes]]
    model = "kimi"          # an exact name, or prefix = "ollama/"
    upstream = "kimi"       # required: a name under [upstreams]
    upstream_model = "kimi-k2-thinking"  # optional: the name the upstream gets
    api = "responses"       # optional: overrides the upstream's api
    extra_params = { options = { num_ctx = 32768 } }  # merged into the body
    drop_params = ["parallel_tool_calls"]     # removed from the body
    withhold_tools = ["spawn_agent"]          # tools the upstream never sees
    heal = { dsml = false } # switch healers off (false) or on (true): dsml
                            # (on for every route when tools are offered),
                            # glm_thinking (the glm profile's)
An C{api_key_env} naming a variable that is unset or empty is an error at
load, like every other fault: the relay never starts half-configured.
Errors name the file and the TOML line (syntax errors, in C{tomllib}'s own
words) or the key path: C{routes[2].upstream} counts the C{[[routes]]}
tables from 1, and adds "(in the table at line N)" where the table's
header line can be found.

C{/v1/models} lists, for each upstream that answers, the names a client
"""

import math
import re
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any, Mapping, NoReturn
from urllib.parse import urlsplit

from codex_relay._providers.profiles import detectProfile, profileNamed

from codex_relay._providers.tomlfile import ConfigError, loadTOML, readText
from codex_relay._providers.routes import (
    APIS,
    CHAT,
    HEALERS,
    RESPONSES,
    RouteRule,
    RoutingTable,
    Upstream,
    _typeName,
)

_EMPTY: Mapping[str, object] = MappingProxyType({})

_TOP_KEYS = ("default_upstream", "upstreams", "routes", "store", "client_keys")
_UPSTREAM_KEYS = ("base_url", "api_key", "api_key_env", "profile", "api",
                  "connect_timeout", "headers_timeout", "idle_timeout", "total_timeout")
_ROUTE_KEYS = ("model", "prefix", "upstream", "upstream_model", "api",
               "extra_params", "drop_params", "withhold_tools", "heal")
_TIMEOUTS = (("connect_timeout", "connectTimeout"), ("headers_timeout", "headersTimeout"),
             ("idle_timeout", "idleTimeout"), ("total_timeout", "totalTimeout"))
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def singleUpstream(baseURL: str, apiKey: str | None,
                   profileName: str | None = None) -> RoutingTable:
    """
    The table without a file: every model goes to one upstream, named
    C{"default"}, under its own name.

    @param profileName: a profile's name; detected from C{baseURL} when
        L{None}.
    @raise ConfigError: for an unknown profile or a URL that is not http(s).
    """
    _checkURL(baseURL, lambda message: _fail("<options>", "upstream", message))
    if profileName is None:
        profile = detectProfile(baseURL)
    else:
        try:
            profile = profileNamed(profileName)
        except KeyError as e:
            _fail("<options>", "profile", e.args[0])
    upstream = Upstream(name="default", baseURL=baseURL.rstrip("/"),
                        apiKey=apiKey or None, profile=profile,
                        profileDetected=profileName is None)
    return RoutingTable({upstream.name: upstream})


def loadRoutingTable(path: str, environ: Mapping[str, str]) -> RoutingTable:
    """
    Read the TOML file at C{path}.

    @param environ: where C{api_key_env} variables are looked up.
    @raise ConfigError: if the file cannot be read or used.
    """
    return parseRoutingTable(readText(path, "configuration file"), environ, path)


def parseRoutingTable(text: str, environ: Mapping[str, str],
                      source: str = "<config>") -> RoutingTable:
    """
    The table a TOML document describes.

    @param source: names the document in error messages.
    @raise ConfigError: naming C{source} and the line or key at fault.
    """
    return _Parser(source, text, environ).table(loadTOML(text, source))


def _fail(source: str, path: str, message: str, line: int | None = None) -> NoReturn:
    where = " (in the table at line {})".format(line) if line is not None else ""
    raise ConfigError("{}: {}: {}{}".format(source, path, message, where), source, path)


def _key(name: str) -> str:
    # A key as it would be written in a TOML key path.
    return name if _BARE_KEY.fullmatch(name) else '"{}"'.format(
        name.replace("\\", "\\\\").replace('"', '\\"'))


def _checkURL(url: str, fail) -> None:  # type: ignore[no-untyped-def]
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError as e:
        fail("not a valid URL: {!r} ({})".format(url, e))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        fail("must be an http:// or https:// URL, not {!r}".format(url))


class _Parser:
    def __init__(self, source: str, text: str, environ: Mapping[str, str]) -> None:
        self.source = source
        self.environ = environ
        self._text = text

    # Best-effort line numbers of the tables, for the messages.

    def _routeLine(self, index: int, count: int) -> int | None:
        lines = [number for number, line in enumerate(self._text.splitlines(), 1)
                 if re.match(r"\s*\[\[\s*routes\s*\]\]\s*(#.*)?$", line)]
        return lines[index - 1] if len(lines) == count else None

    def _upstreamLine(self, name: str) -> int | None:
        pattern = re.compile(
            r"""\s*\[\s*upstreams\s*\.\s*(?:"([^"\\]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*\]""")
        for number, line in enumerate(self._text.splitlines(), 1):
            match = pattern.match(line)
            if match and name in match.groups():
                return number
        return None

    def fail(self, path: str, message: str, line: int | None = None) -> NoReturn:
        _fail(self.source, path, message, line)

    # Values.

    def expect(self, path: str, value: object, kind: type, name: str,
               line: int | None = None) -> None:
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.fail(path, "must be {}, not {}".format(name, _typeName(value)), line)

    def string(self, path: str, value: object, line: int | None = None) -> str:
        self.expect(path, value, str, "a string", line)
        assert isinstance(value, str)
        if not value:
            self.fail(path, "must not be empty", line)
        return value

    def strings(self, path: str, value: object, line: int | None) -> tuple[str, ...]:
        self.expect(path, value, list, "an array of strings", line)
        assert isinstance(value, list)
        for i, item in enumerate(value):
            self.string("{}[{}]".format(path, i), item, line)
        return tuple(dict.fromkeys(value))

    def api(self, path: str, value: object, line: int | None) -> str:
        self.string(path, value, line)
        if value not in APIS:
            self.fail(path, "must be one of: {}; not {!r}".format(", ".join(APIS), value),
                      line)
        assert isinstance(value, str)
        return value

    def known(self, path: str, table: Mapping[str, object], allowed: tuple[str, ...],
              line: int | None = None) -> None:
        for key in table:
            if key not in allowed:
                self.fail("{}.{}".format(path, _key(key)) if path else _key(key),
                          "unknown key; allowed: {}".format(", ".join(sorted(allowed))),
                          line)

    def json(self, path: str, value: object, line: int | None) -> None:
        # TOML has dates and times; JSON does not.
        if isinstance(value, (datetime, date, time)):
            self.fail(path, "{} is not a JSON value".format(_typeName(value)), line)
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(path, "{} is not a JSON value".format(value), line)
        if isinstance(value, dict):
            for key, item in value.items():
                self.json("{}.{}".format(path, _key(key)), item, line)
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.json("{}[{}]".format(path, i), item, line)

    # Tables.

    def table(self, document: dict[str, Any]) -> RoutingTable:
        self.known("", document, _TOP_KEYS)
        if "upstreams" not in document:
            self.fail("upstreams", "at least one upstream is required "
                      "([upstreams.NAME] with a base_url)")
        self.expect("upstreams", document["upstreams"], dict, "a table")
        if not document["upstreams"]:
            self.fail("upstreams", "at least one upstream is required "
                      "([upstreams.NAME] with a base_url)")
        upstreams = {name: self.upstream(name, raw)
                     for name, raw in document["upstreams"].items()}
        known = ", ".join(sorted(upstreams))
        default = None
        if "default_upstream" in document:
            name = self.string("default_upstream", document["default_upstream"])
            if name not in upstreams:
                self.fail("default_upstream", "unknown upstream {!r}; known: {}".format(
                    name, known))
            default = upstreams[name]
        routes = document.get("routes", [])
        if not isinstance(routes, list) or not all(isinstance(r, dict) for r in routes):
            self.fail("routes", "must be an array of tables ([[routes]]), not {}".format(
                _typeName(routes)))
        rules: list[RouteRule] = []
        taken: dict[tuple[bool, str], int] = {}
        for index, raw in enumerate(routes, 1):
            rule = self.route(index, raw, upstreams, self._routeLine(index, len(routes)))
            previous = taken.setdefault((rule.isPrefix, rule.name), index)
            if previous != index:
                key = "prefix" if rule.isPrefix else "model"
                self.fail("routes[{}].{}".format(index, key),
                          "{!r} is already routed by routes[{}]".format(rule.name, previous),
                          self._routeLine(index, len(routes)))
            rules.append(rule)
        store = self.string("store", document["store"]) if "store" in document else None
        clientKeys = (self.string("client_keys", document["client_keys"])
                      if "client_keys" in document else None)
        return RoutingTable(upstreams, rules, default, store=store, clientKeys=clientKeys)

    def upstream(self, name: str, raw: object) -> Upstream:
        path = "upstreams." + _key(name)
        line = self._upstreamLine(name)
        if not name:
            self.fail(path, "an upstream's name must not be empty", line)
        self.expect(path, raw, dict, "a table", line)
        assert isinstance(raw, dict)
        self.known(path, raw, _UPSTREAM_KEYS, line)
        if "base_url" not in raw:
            self.fail(path, "base_url is required", line)
        baseURL = self.string(path + ".base_url", raw["base_url"], line)
        _checkURL(baseURL, lambda message: self.fail(path + ".base_url", message, line))
        if "api_key" in raw and "api_key_env" in raw:
            self.fail(path, "give api_key or api_key_env, not both", line)
        apiKey = None
        if "api_key" in raw:
            apiKey = self.string(path + ".api_key", raw["api_key"], line)
        elif "api_key_env" in raw:
            variable = self.string(path + ".api_key_env", raw["api_key_env"], line)
            apiKey = self.environ.get(variable) or None
            if apiKey is None:
                self.fail(path + ".api_key_env", "the environment variable {} is unset or "
                          "empty".format(variable), line)
        if "profile" in raw:
            try:
                profile = profileNamed(self.string(path + ".profile", raw["profile"], line))
            except KeyError as e:
                self.fail(path + ".profile", e.args[0], line)
        else:
            profile = detectProfile(baseURL)
        timeouts: dict[str, float] = {}
        for key, attribute in _TIMEOUTS:
            if key in raw:
                value = raw[key]
                if (isinstance(value, bool) or not isinstance(value, (int, float))
                        or not math.isfinite(value) or value <= 0):
                    self.fail("{}.{}".format(path, key), "must be a positive number of "
                              "seconds, not {!r}".format(value), line)
                timeouts[attribute] = float(value)
        api = self.api(path + ".api", raw.get("api", CHAT), line)
        return Upstream(name=name, baseURL=baseURL.rstrip("/"), apiKey=apiKey,
                        profile=profile, api=api, profileDetected="profile" not in raw,
                        **timeouts)

    def route(self, index: int, raw: dict[str, Any], upstreams: Mapping[str, Upstream],
              line: int | None) -> RouteRule:
        path = "routes[{}]".format(index)
        self.known(path, raw, _ROUTE_KEYS, line)
        if "model" in raw and "prefix" in raw:
            self.fail(path, "give model (an exact name) or prefix, not both", line)
        if "model" not in raw and "prefix" not in raw:
            self.fail(path, "needs model (an exact name) or prefix", line)
        isPrefix = "prefix" in raw
        key = "prefix" if isPrefix else "model"
        name = self.string("{}.{}".format(path, key), raw[key], line)
        if "upstream" not in raw:
            self.fail(path, "upstream is required", line)
        upstreamName = self.string(path + ".upstream", raw["upstream"], line)
        if upstreamName not in upstreams:
            self.fail(path + ".upstream", "unknown upstream {!r}; known: {}".format(
                upstreamName, ", ".join(sorted(upstreams))), line)
        upstream = upstreams[upstreamName]
        upstreamModel = None
        if "upstream_model" in raw:
            upstreamModel = self.string(path + ".upstream_model", raw["upstream_model"], line)
        api = self.api(path + ".api", raw["api"], line) if "api" in raw else None
        extraParams: Mapping[str, object] = _EMPTY
        if "extra_params" in raw:
            self.expect(path + ".extra_params", raw["extra_params"], dict, "a table", line)
            self.json(path + ".extra_params", raw["extra_params"], line)
            extraParams = MappingProxyType(raw["extra_params"])
        dropParams: tuple[str, ...] = ()
        withholdTools: tuple[str, ...] = ()
        if "drop_params" in raw:
            dropParams = self.strings(path + ".drop_params", raw["drop_params"], line)
        if "withhold_tools" in raw:
            withholdTools = self.strings(path + ".withhold_tools", raw["withhold_tools"], line)
        healOff: frozenset[str] = frozenset()
        healOn: frozenset[str] = frozenset()
        if "heal" in raw:
            heal = raw["heal"]
            self.expect(path + ".heal", heal, dict, "a table", line)
            for healer, on in heal.items():
                healerPath = "{}.heal.{}".format(path, _key(healer))
                if healer not in HEALERS:
                    self.fail(healerPath, "unknown healer {!r}; known healers: {}".format(
                        healer, ", ".join(sorted(HEALERS))), line)
                self.expect(healerPath, on, bool, "a boolean", line)
            healOff = frozenset(healer for healer, on in heal.items() if not on)
            healOn = frozenset(healer for healer, on in heal.items() if on)
        if (api or upstream.api) == RESPONSES:
            # Passthrough sends the client's request as it is: these would do nothing.
            for ignored in ("extra_params", "drop_params", "withhold_tools", "heal"):
                if ignored in raw:
                    self.fail("{}.{}".format(path, ignored), "has no effect on a route with "
                              "api = \"responses\", which forwards requests unchanged", line)
        return RouteRule(name=name, isPrefix=isPrefix, upstream=upstream,
                     upstreamModel=upstreamModel, api=api, extraParams=extraParams,
                     dropParams=dropParams, withholdTools=withholdTools, healOff=healOff,
                     healOn=healOn)
