"""
L{RelayMetrics} on its own: what each L{Outcome} counts, and label values
kept to bounded sets (known models, configured clients, known codes).
"""

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._web.activity import Outcome
from codex_relay._web.metrics import RelayMetrics, finalStatus, upstreamErrorClass
from tests.harness.memory import InMemoryRelay
from tests.harness.routes import parse


def outcome(**fields: Any) -> Outcome:
    values: dict[str, Any] = dict(
        transport="http", route="default", model="m", client="-", http=200,
        status="completed", code=None, usage=None, firstDelta=None, seconds=0.5,
        gone=False)
    values.update(fields)
    return Outcome(**values)


ROUTES = """
[upstreams.a]
base_url = "http://a.test/v1"

[[routes]]
model = "alias"
upstream = "a"
upstream_model = "real-model"
"""


class LabelTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.metrics = RelayMetrics()

    def requests(self, **labels: str) -> float | None:
        return self.metrics.registry.get_sample_value("codex_relay_requests_total", labels)

    def test_unknownCodeIsOther(self) -> None:
        self.metrics.observe(outcome(status="failed", code="some_upstream_code_42"))
        self.assertEqual(self.requests(
            transport="http", route="default", model="other", client="-", status="failed",
            code="other", http="200"), 1)

    def test_unconfiguredClientIsDash(self) -> None:
        """
        Only the names of configured client keys become labels.
        """
        self.metrics.clients = frozenset({"alice"})
        self.metrics.observe(outcome(client="alice"))
        self.metrics.observe(outcome(client="mallory"))
        labels = dict(transport="http", route="default", model="other", status="completed",
                      code="", http="200")
        self.assertEqual(self.requests(client="alice", **labels), 1)
        self.assertEqual(self.requests(client="-", **labels), 1)

    def test_exactRouteNamesAreKnown(self) -> None:
        """
        A model an exact route names is labelled by name; another is
        C{other}, as is an upstream model only the route knows.
        """
        relay = InMemoryRelay(routes=parse(ROUTES))
        metrics = relay.resource.metrics
        self.assertEqual([metrics.model(name) for name in ("alias", "real-model", "-")],
                         ["alias", "other", "-"])

    def test_statuses(self) -> None:
        self.assertEqual(
            [finalStatus(outcome(status=s, http=h, gone=g)) for s, h, g in (
                ("completed", 200, False), ("incomplete", 200, False), ("failed", 200, False),
                ("-", 429, False), ("-", 200, True), ("-", 200, False))],
            ["completed", "incomplete", "failed", "error", "cancelled", "-"])

    def test_upstreamErrorClasses(self) -> None:
        cases = [
            (dict(http=504, status="-", code="upstream_timeout"), "timeout"),
            (dict(http=502, status="-", code="upstream_unreachable"), "unreachable"),
            (dict(http=503, status="-", code="whatever"), "server_error"),
            (dict(http=401, status="-", code=None), None),
            (dict(http=401, status="-", code="invalid_api_key"), "auth"),
            (dict(http=200, status="failed", code="server_error"), "stream"),
            (dict(http=400, status="-", code="invalid_json", route="-"), None),
            (dict(http=500, status="-", code="server_error"), None),
            (dict(http=200, status="completed", code=None), None),
        ]
        self.assertEqual([upstreamErrorClass(outcome(**fields)) for fields, _ in cases],
                         [kind for _, kind in cases])

    def test_tokensAndLatency(self) -> None:
        self.metrics.observe(outcome(
            firstDelta=0.3, seconds=2.0, usage={
                "input_tokens": 7, "output_tokens": 3,
                "input_tokens_details": {"cached_tokens": 5},
                "output_tokens_details": {"reasoning_tokens": 1}}))
        registry = self.metrics.registry
        labels = {"route": "default", "model": "other"}
        self.assertEqual(
            [registry.get_sample_value("codex_relay_{}_tokens_total".format(kind), labels)
             for kind in ("input", "output", "cached", "reasoning")], [7, 3, 5, 1])
        self.assertEqual(registry.get_sample_value(
            "codex_relay_first_delta_seconds_bucket", dict(labels, le="0.5")), 1)
        self.assertEqual(registry.get_sample_value(
            "codex_relay_request_duration_seconds_sum", dict(labels, transport="http")), 2.0)
