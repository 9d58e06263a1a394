"""
What every request of one relay shares: its configuration, the upstream
client, the reactor, the routing table, the conversations it keeps, and
what its upstreams taught it.
"""

from dataclasses import dataclass, field, replace
from typing import Any

from twisted.internet.interfaces import IReactorTime

from codex_relay._core.settings import TranslationSettings
from codex_relay._providers.rejections import RejectionMemory
from codex_relay._providers.routes import Route, RoutingTable, Upstream
from codex_relay._web.activity import Activity, logOutcome
from codex_relay._web.auth import Gate
from codex_relay._web.config import RelayConfig
from codex_relay._web.conversations import Conversations
from codex_relay._web.upstream import UpstreamClient


@dataclass
class RelayContext:
    """
    What every exchange of one relay shares.

    @ivar table: where each model goes.
    @ivar learned: parameters each upstream and model rejected, left out
        for a while.
    @ivar activity: the exchanges in flight, and who hears each outcome
        (the log line, by default).
    @ivar gate: who may use the relay, with client keys; L{None} without.
    @ivar listedModels: the names the upstreams' model lists gave
        (L{rememberListed}), so metrics label only models that exist.
    """

    config: RelayConfig
    client: UpstreamClient
    reactor: IReactorTime
    table: RoutingTable
    conversations: Conversations
    learned: RejectionMemory = field(init=False)
    gate: Gate | None = field(init=False)
    activity: Activity = field(default_factory=Activity)
    listedModels: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.learned = RejectionMemory(lambda: self.reactor.seconds())
        self.activity.observe(logOutcome)
        keys = self.config.clientKeys
        self.gate = Gate(keys, self.reactor, self.activity) if keys is not None else None
        self._notices: set[str] = set()
        self._settings: dict[str, TranslationSettings] = {}

    def settingsFor(self, route: Route | None) -> TranslationSettings:
        """
        The translation settings of a request to C{route}: the relay's,
        with the route's upstream as the origin of its reasoning carriers.
        Made once per upstream, not per request.
        """
        settings = self.config.translation
        if route is None:
            return settings
        origin = route.upstream.baseURL
        made = self._settings.get(origin)
        if made is None:
            made = self._settings[origin] = replace(settings, origin=origin)
        return made

    def rememberListed(self, upstream: Upstream, parsed: Any) -> None:
        """
        Keep the names a client should use for the models in C{upstream}'s
        model list (an OpenAI C{/models} body, parsed), up to 1000 in all.
        """
        data = parsed.get("data") if isinstance(parsed, dict) else None
        ids = [entry["id"] for entry in data if isinstance(entry, dict)
               and isinstance(entry.get("id"), str)] if isinstance(data, list) else []
        if not ids or upstream.name not in self.table.upstreams:
            return
        for name in self.table.listedModels(upstream.name, ids):
            if len(self.listedModels) >= 1000:
                return
            self.listedModels.add(name)

    def firstNotice(self, notice: str) -> bool:
        """
        Whether C{notice} is new, and so worth its one log line.
        """
        if notice in self._notices or len(self._notices) >= 64:
            return False
        self._notices.add(notice)
        return True
