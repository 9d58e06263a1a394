"""
The routing table: upstreams, the routes from model names to them, and
the merged C{/v1/models} list.  No Twisted here: the shell asks
L{RoutingTable.route} where a request goes and L{mergeModelLists} what
C{/v1/models} lists.  L{codex_relay._providers.config_file} builds tables
from the TOML file or the single-upstream options.


Routing, in this order:

  1. a route whose C{model} is the requested name exactly; the upstream
     gets C{upstream_model}, or the same name;
  2. the route with the longest C{prefix} the name starts with (something
     must follow the prefix); the upstream gets the name without the
     prefix, or C{upstream_model} when one is given;
  3. C{default_upstream}, with the name unchanged;
  4. when there is exactly one upstream, that one, with the name unchanged;
  5. otherwise no route (L{RoutingTable.route} returns L{None}).


should use, each of which routes back to that upstream and model: an id
unchanged when unprefixed names reach that upstream (it is the default or
only one), the id behind each of the upstream's prefixes without
C{upstream_model}, and the exact and alias routes to it, which are listed
even when the upstream does not list their model (the route exists; some
providers list fewer models than they serve).  Prefix routes with an
C{upstream_model} list nothing.  An upstream whose list fails is left out,
aliases too, with a warning.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any, Collection, Mapping, Sequence

from codex_relay._providers.profiles import GENERIC, PROFILES, Profile

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
class RouteRule:
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
    @ivar store: the file's C{store} (where responses are kept), if any.
    @ivar clientKeys: the file's C{client_keys} (the path as written), if any.
    """

    def __init__(self, upstreams: Mapping[str, Upstream], rules: Sequence[RouteRule] = (),
                 default: Upstream | None = None, store: str | None = None,
                 clientKeys: str | None = None) -> None:
        self.store = store
        self.clientKeys = clientKeys
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

    def exactModels(self) -> Collection[str]:
        """
        The model names an exact C{model} route serves.
        """
        return self._exact.keys()

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
                    results: Mapping[str, list[dict[str, Any]] | BaseException]
                    ) -> tuple[list[dict[str, Any]], list[str]]:
    """
    One C{/v1/models} list from every upstream's.

    @param results: by upstream name, the C{data} list of its C{/models}
        answer, or the exception it failed with.  Upstreams missing here
        list nothing; names not in C{table} are ignored.
    @return: the OpenAI model entries (C{id} is the name a client should
        use, C{owned_by} the upstream's name, C{created} the upstream's or
        0), without duplicates, and one warning per upstream left out.
    """
    merged: list[dict[str, Any]] = []
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
        entries: dict[str, Mapping[str, Any]] = {}
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


def _typeName(value: object) -> str:
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a float"),
                       (str, "a string"), (list, "an array"), (dict, "a table"),
                       (datetime, "a date-time"), (date, "a date"), (time, "a time")):
        if isinstance(value, kind):
            return name
    return "a " + type(value).__name__
