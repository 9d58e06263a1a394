"""
The translation settings each request gets (L{RelayContext.settingsFor}):
the relay's, with the route's upstream as its reasoning carriers' origin,
made once per upstream.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from codex_relay import RelayConfig
from codex_relay._web.context import RelayContext
from tests.harness.routes import parse

ROUTES = """
[upstreams.a]
base_url = "http://a.test/v1"

[upstreams.b]
base_url = "http://b.test/v1"

[[routes]]
prefix = "a/"
upstream = "a"

[[routes]]
model = "model-b"
upstream = "b"
"""


class SettingsForTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.config = RelayConfig(upstream="http://default.test/v1", routes=parse(ROUTES))
        self.table = self.config.routingTable()
        self.context = RelayContext(self.config, None, Clock(), self.table, None)  # type: ignore[arg-type]

    def settings(self, model: str):  # type: ignore[no-untyped-def]
        return self.context.settingsFor(self.table.route(model))

    def test_originOfTheRoute(self) -> None:
        self.assertEqual(self.settings("a/one").origin, "http://a.test/v1")
        self.assertEqual(self.settings("model-b").origin, "http://b.test/v1")
        self.assertEqual(self.settings("a/one").secret, self.config.translation.secret)

    def test_oncePerUpstream(self) -> None:
        self.assertIs(self.settings("a/one"), self.settings("a/two"))
        self.assertIsNot(self.settings("a/one"), self.settings("model-b"))

    def test_noRoute(self) -> None:
        self.assertIs(self.context.settingsFor(None), self.config.translation)
