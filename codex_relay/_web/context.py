"""
What every request of one relay shares: its configuration, the upstream
client, the reactor, the routing table, the conversations it keeps, and
what its upstreams taught it.
"""

from dataclasses import dataclass, field
from typing import Any

from codex_relay._providers.rejections import RejectionMemory
from codex_relay._providers.routes import RoutingTable
from codex_relay._web.activity import Activity, logOutcome
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
    """

    config: RelayConfig
    client: UpstreamClient
    reactor: Any
    table: RoutingTable
    conversations: Conversations
    learned: RejectionMemory = field(init=False)
    activity: Activity = field(default_factory=Activity)

    def __post_init__(self) -> None:
        self.learned = RejectionMemory(lambda: self.reactor.seconds())
        self.activity.observe(logOutcome)
        self._notices: set[str] = set()

    def firstNotice(self, notice: str) -> bool:
        """
        Whether C{notice} is new, and so worth its one log line.
        """
        if notice in self._notices or len(self._notices) >= 64:
            return False
        self._notices.add(notice)
        return True
