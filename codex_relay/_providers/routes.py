"""
Several upstreams and the routes from model names to them, read from a TOML
file (C{--config} or C{CODEX_RELAY_CONFIG}).  No Twisted here: the shell
asks L{RoutingTable.route} where a request goes and L{mergeModelLists}
what C{/v1/models} lists.  Without a file, L{singleUpstream} gives the
same table for the single-upstream options.

The file::

    default_upstream = "deepseek"   # optional, see "Routing" below

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

Routing, in this order:

  1. a route whose C{model} is the requested name exactly; the upstream
     gets C{upstream_model}, or the same name;
  2. the route with the longest C{prefix} the name starts with (something
     must follow the prefix); the upstream gets the name without the
     prefix, or C{upstream_model} when one is given;
  3. C{default_upstream}, with the name unchanged;
  4. when there is exactly one upstream, that one, with the name unchanged;
  5. otherwise no route (L{RoutingTable.route} returns L{None}).

An C{api_key_env} naming a variable that is unset or empty is an error at
load, like every other fault: the relay never starts half-configured.
Errors name the file and the TOML line (syntax errors, in C{tomllib}'s own
words) or the key path: C{routes[2].upstream} counts the C{[[routes]]}
tables from 1, and adds "(in the table at line N)" where the table's
header line can be found.

C{/v1/models} lists, for each upstream that answers, the names a client
should use, each of which routes back to that upstream and model: an id
unchanged when unprefixed names reach that upstream (it is the default or
only one), the id behind each of the upstream's prefixes without
C{upstream_model}, and the exact and alias routes to it, which are listed
even when the upstream does not list their model (the route exists; some
providers list fewer models than they serve).  Prefix routes with an
C{upstream_model} list nothing.  An upstream whose list fails is left out,
aliases too, with a warning.
"""

import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Mapping, NoReturn, Sequence
from urllib.parse import urlsplit

from codex_relay._providers.profiles import GENERIC, PROFILES, Profile, detectProfile, profileNamed

CHAT = "chat"
RESPONSES = "responses"
APIS = (CHAT, RESPONSES)

_EMPTY: Mapping[str, object] = MappingProxyType({})

# On for every route whatever its profile: DeepSeek models are served by many
# hosts, and the markup (full-width bars) never occurs in honest text.
DEFAULT_HEALERS = frozenset({"dsml"})

# Every healer some profile has; a route may switch any of them off or on.
HEALERS = DEFAULT_HEALERS | frozenset(
    healer for profile in PROFILES.values() for healer in profile.heal)

_TOP_KEYS = ("default_upstream", "upstreams", "routes")
_UPSTREAM_KEYS = ("base_url", "api_key", "api_key_env", "profile", "api",
                  "connect_timeout", "headers_timeout", "idle_timeout", "total_timeout")
_ROUTE_KEYS = ("model", "prefix", "upstream", "upstream_model", "api",
               "extra_params", "drop_params", "withhold_tools", "heal")
_TIMEOUTS = (("connect_timeout", "connectTimeout"), ("headers_timeout", "headersTimeout"),
             ("idle_timeout", "idleTimeout"), ("total_timeout", "totalTimeout"))
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


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


@dataclass(frozen=True)
class Upstream:
    """
    One upstream provider.

    @ivar name: its name in the file (C{"default"} without a file).
    @ivar baseURL: the base URL, without a trailing slash.
    @ivar apiKey: sent as a Bearer token; L{None}: the client's
        C{Authorization} header is forwarded.
    @ivar profile: its provider profile (before per-model overrides).
    @ivar api: L{CHAT}, or L{RESPONSES} for passthrough to its C{/responses}.
    @ivar connectTimeout: seconds; L{None}: the relay-wide setting.  So are
        the other three timeouts.
    @ivar profileDetected: C{profile} was detected from the URL, not named;
        a generic one may then be replaced by what the upstream's model list
        shows (L{RoutingTable.learnProfile}).
    """

    name: str
    baseURL: str
    apiKey: str | None = None
    profile: Profile = GENERIC
    api: str = CHAT
    connectTimeout: float | None = None
    headersTimeout: float | None = None
    idleTimeout: float | None = None
    totalTimeout: float | None = None
    profileDetected: bool = False

    def __repr__(self) -> str:
        # Never let a key reach a log line through a repr.
        return "Upstream(name={!r}, baseURL={!r}, apiKey={}, profile={!r}, api={!r})".format(
            self.name, self.baseURL, "<set>" if self.apiKey else None,
            self.profile.name, self.api)


@dataclass(frozen=True)
class Route:
    """
    Where one request goes and what to change on the way.

    @ivar upstream: the upstream.
    @ivar upstreamModel: the model name the upstream gets.
    @ivar profile: the upstream's profile for that model
        (C{upstream.profile.forModel(upstreamModel)}).
    @ivar api: L{CHAT} or L{RESPONSES}.
    @ivar extraParams: merged into the request body (nested tables merge).
    @ivar dropParams: removed from the request body.
    @ivar withholdTools: tool names the upstream never sees.
    @ivar heal: the healers on: L{DEFAULT_HEALERS} and the profile's,
        minus those the route switches off, plus those it switches on.
    """

    upstream: Upstream
    upstreamModel: str
    profile: Profile
    api: str
    extraParams: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    dropParams: tuple[str, ...] = ()
    withholdTools: tuple[str, ...] = ()
    heal: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return "Route(upstream={!r}, upstreamModel={!r}, profile={!r}, api={!r})".format(
            self.upstream.name, self.upstreamModel, self.profile.name, self.api)


@dataclass(frozen=True)
class _Rule:
    """
    One C{[[routes]]} table: an exact C{model} or a C{prefix}.
    """

    name: str
    isPrefix: bool
    upstream: Upstream
    upstreamModel: str | None = None
    api: str | None = None
    extraParams: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    dropParams: tuple[str, ...] = ()
    withholdTools: tuple[str, ...] = ()
    healOff: frozenset[str] = frozenset()
    healOn: frozenset[str] = frozenset()

    def target(self, model: str) -> str:
        if self.upstreamModel is not None:
            return self.upstreamModel
        return model[len(self.name):] if self.isPrefix else model

    def routeFor(self, model: str, profile: Profile | None = None) -> Route:
        return routeTo(self.upstream, self.target(model), self.api, self.extraParams,
                      self.dropParams, self.withholdTools, self.healOff, self.healOn,
                      profile)


def routeTo(upstream: Upstream, upstreamModel: str, api: str | None = None,
           extraParams: Mapping[str, object] = _EMPTY, dropParams: tuple[str, ...] = (),
           withholdTools: tuple[str, ...] = (),
           healOff: frozenset[str] = frozenset(),
           healOn: frozenset[str] = frozenset(),
           profile: Profile | None = None) -> Route:
    """
    @param profile: the upstream's profile, when not C{upstream.profile}
        (one learned since).
    """
    profile = (profile or upstream.profile).forModel(upstreamModel)
    return Route(upstream=upstream, upstreamModel=upstreamModel, profile=profile,
                 api=api or upstream.api, extraParams=extraParams, dropParams=dropParams,
                 withholdTools=withholdTools,
                 heal=((DEFAULT_HEALERS | frozenset(profile.heal)) - healOff) | healOn)


class RoutingTable:
    """
    The upstreams and the routes to them.  Build one with
    L{parseRoutingTable}, L{loadRoutingTable} or L{singleUpstream}.

    @ivar upstreams: the upstreams by name, in file order.
    @ivar default: where unmatched names go: C{default_upstream}, or the
        only upstream; L{None} when unmatched names have no route.
    """

    def __init__(self, upstreams: Mapping[str, Upstream], rules: Sequence[_Rule] = (),
                 default: Upstream | None = None) -> None:
        self.upstreams: Mapping[str, Upstream] = MappingProxyType(dict(upstreams))
        if default is None and len(self.upstreams) == 1:
            [default] = self.upstreams.values()
        self.default = default
        self._rules = tuple(rules)
        self._exact = {rule.name: rule for rule in self._rules if not rule.isPrefix}
        # Longest first; a stable sort keeps file order among equals (there are none).
        self._prefixes = sorted((rule for rule in self._rules if rule.isPrefix),
                                key=lambda rule: -len(rule.name))
        # Profiles learned from the upstreams' model lists, by upstream name.
        self._learned: dict[str, Profile] = {}

    def __repr__(self) -> str:
        return "<RoutingTable upstreams={} routes={} default={}>".format(
            list(self.upstreams), len(self._rules),
            self.default.name if self.default else None)

    def route(self, model: str) -> Route | None:
        """
        Where a request for C{model} goes; L{None} when nowhere (and for an
        empty name).
        """
        if not model:
            return None
        rule = self._exact.get(model)
        if rule is not None:
            return rule.routeFor(model, self.profileOf(rule.upstream))
        for rule in self._prefixes:
            if model.startswith(rule.name) and len(model) > len(rule.name):
                return rule.routeFor(model, self.profileOf(rule.upstream))
        if self.default is not None:
            return routeTo(self.default, model, profile=self.profileOf(self.default))
        return None

    def profileOf(self, upstream: Upstream) -> Profile:
        """
        The profile requests to C{upstream} use: its own, or one learned.
        """
        return self._learned.get(upstream.name, upstream.profile)

    def mayLearnProfile(self, upstream: Upstream) -> bool:
        """
        Whether a profile may still be learned for C{upstream}: one of this
        table's, whose profile was detected (not named) and came out generic.
        """
        return (self.upstreams.get(upstream.name) is upstream and upstream.profileDetected
                and upstream.profile is GENERIC and upstream.name not in self._learned)

    def learnProfile(self, upstream: Upstream, profile: Profile) -> bool:
        """
        Use C{profile} for C{upstream} from now on, if L{mayLearnProfile}.

        @return: whether it was learned now (not before, nor refused).
        """
        if not self.mayLearnProfile(upstream) or profile is GENERIC:
            return False
        self._learned[upstream.name] = profile
        return True

    def listedModels(self, upstreamName: str, ids: list[str]) -> list[str]:
        """
        The names a client should use for the models one upstream lists:
        each routes back to that upstream and model.  Without duplicates,
        in the upstream's order, then the aliases it did not list.

        @raise KeyError: for an upstream not in the table.
        """
        return [name for name, _ in self._listed(upstreamName, ids)]

    def _listed(self, upstreamName: str, ids: list[str]) -> list[tuple[str, str]]:
        # (client name, upstream model id) pairs.
        upstream = self.upstreams[upstreamName]
        mine = [rule for rule in self._rules if rule.upstream is upstream]
        listed: list[tuple[str, str]] = []
        seen: set[str] = set()

        def add(name: str, model: str) -> None:
            if name not in seen:
                seen.add(name)
                listed.append((name, model))

        for model in ids:
            candidates = [model]
            candidates += [rule.name for rule in mine
                           if not rule.isPrefix and rule.target(rule.name) == model]
            candidates += [rule.name + model for rule in mine
                           if rule.isPrefix and rule.upstreamModel is None]
            for name in candidates:
                route = self.route(name)
                if (route is not None and route.upstream is upstream
                        and route.upstreamModel == model):
                    add(name, model)
        for rule in mine:
            if not rule.isPrefix:
                add(rule.name, rule.target(rule.name))
        return listed


def mergeModelLists(table: RoutingTable,
                    results: Mapping[str, list[dict] | BaseException]
                    ) -> tuple[list[dict], list[str]]:
    """
    One C{/v1/models} list from every upstream's.

    @param results: by upstream name, the C{data} list of its C{/models}
        answer, or the exception it failed with.  Upstreams missing here
        list nothing; names not in C{table} are ignored.
    @return: the OpenAI model entries (C{id} is the name a client should
        use, C{owned_by} the upstream's name, C{created} the upstream's or
        0), without duplicates, and one warning per upstream left out.
    """
    merged: list[dict] = []
    warnings: list[str] = []
    for name in table.upstreams:
        if name not in results:
            continue
        result = results[name]
        if isinstance(result, BaseException):
            warnings.append("upstream {!r} left out of the model list: {}".format(
                name, _describe(result)))
            continue
        if not isinstance(result, list):
            warnings.append("upstream {!r} left out of the model list: its model list "
                            "is {}, not an array".format(name, _typeName(result)))
            continue
        entries: dict[str, Mapping] = {}
        for entry in result:
            if (isinstance(entry, Mapping) and isinstance(entry.get("id"), str)
                    and entry["id"] and entry["id"] not in entries):
                entries[entry["id"]] = entry
        # Each name routes to one upstream, so names never repeat across upstreams.
        for clientName, model in table._listed(name, list(entries)):
            created = entries.get(model, {}).get("created")
            if not isinstance(created, int) or isinstance(created, bool):
                created = 0
            merged.append({"id": clientName, "object": "model", "created": created,
                           "owned_by": name})
    return merged, warnings


def _describe(error: BaseException) -> str:
    text = str(error)
    return "{}: {}".format(type(error).__name__, text) if text else type(error).__name__


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
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError("{}: cannot read the configuration file: {}".format(
            path, e.strerror or e), path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError("{}: not UTF-8 text (byte {})".format(path, e.start), path) from None
    return parseRoutingTable(text, environ, path)


def parseRoutingTable(text: str, environ: Mapping[str, str],
                      source: str = "<config>") -> RoutingTable:
    """
    The table a TOML document describes.

    @param source: names the document in error messages.
    @raise ConfigError: naming C{source} and the line or key at fault.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("{}: {}".format(source, e), source) from None
    return _Parser(source, text, environ).table(document)


def _fail(source: str, path: str, message: str, line: int | None = None) -> NoReturn:
    where = " (in the table at line {})".format(line) if line is not None else ""
    raise ConfigError("{}: {}: {}{}".format(source, path, message, where), source, path)


def _key(name: str) -> str:
    # A key as it would be written in a TOML key path.
    return name if _BARE_KEY.fullmatch(name) else '"{}"'.format(
        name.replace("\\", "\\\\").replace('"', '\\"'))


def _typeName(value: object) -> str:
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a float"),
                       (str, "a string"), (list, "an array"), (dict, "a table"),
                       (datetime, "a date-time"), (date, "a date"), (time, "a time")):
        if isinstance(value, kind):
            return name
    return "a " + type(value).__name__


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

    def table(self, document: dict) -> RoutingTable:
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
        rules: list[_Rule] = []
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
        return RoutingTable(upstreams, rules, default)

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

    def route(self, index: int, raw: dict, upstreams: Mapping[str, Upstream],
              line: int | None) -> _Rule:
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
        return _Rule(name=name, isPrefix=isPrefix, upstream=upstream,
                     upstreamModel=upstreamModel, api=api, extraParams=extraParams,
                     dropParams=dropParams, withholdTools=withholdTools, healOff=healOff,
                     healOn=healOn)
