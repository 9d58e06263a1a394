"""
C{/metrics}: what the relay did, in the Prometheus text format, from one
L{CollectorRegistry} per relay (never the global one, so that tests and
relays embedded side by side do not mix their counts).

Every finished request's L{Outcome} moves the request, token, latency and
upstream-error series; a gauge reads the exchanges in flight when scraped;
a L{CountingStore} counts the store's operations.  Label values stay
bounded: a model neither routed by name nor listed by an upstream is
C{other}, a client not among the configured keys C{-}, an error code not
in L{CODES} C{other}.
"""

import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from codex_relay._core.stored import StoredResponse
from codex_relay._store.interface import ResponseStore
from codex_relay._web.activity import Outcome, usageTokens
from codex_relay._web.context import RelayContext

OTHER = "other"
NONE = "-"

# The error codes the relay answers with or finishes streams with; any
# other (an upstream's own code) is counted as "other".
CODES = frozenset((
    "server_error", "rate_limit_exceeded", "insufficient_quota", "context_length_exceeded",
    "invalid_prompt", "upstream_timeout", "upstream_unreachable", "upstream_error",
    "bad_upstream_response", "model_not_found", "invalid_json", "invalid_type",
    "invalid_value", "missing_required_parameter", "unsupported_parameter",
    "nesting_too_deep", "request_too_large", "request_header_fields_too_large",
    "previous_response_not_found", "item_not_found", "store_unavailable", "not_found",
    "method_not_allowed", "websocket_unsupported", "invalid_upgrade", "invalid_api_key",
    "model_not_allowed",
))

# Error codes that only an upstream's failure produces, by error class.
_UPSTREAM_CLASSES = {
    "upstream_timeout": "timeout",
    "upstream_unreachable": "unreachable",
    "upstream_error": "bad_response",
    "bad_upstream_response": "bad_response",
    "rate_limit_exceeded": "rate_limited",
    "insufficient_quota": "quota",
    "context_length_exceeded": "context_length",
    "invalid_prompt": "content_filter",
}

# Seconds: a first token within a minute or two, a whole answer within the
# total timeout (an hour by default).
FIRST_DELTA_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
DURATION_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
                    1800.0, 3600.0)


class RelayMetrics:
    """
    The relay's metrics and the registry that exposes them.

    @ivar registry: this relay's own registry.
    @ivar clients: the configured client keys' names; a request's client
        outside them is labelled C{-}.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.clients: Collection[str] = frozenset()
        self._routed: Callable[[], Collection[str]] = frozenset
        self._listed: Collection[str] = frozenset()
        self._upstreamUp = _UpstreamUp(dict)
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}
        registry = self.registry
        self.requests = Counter(
            "codex_relay_requests", "Responses requests finished, by final status "
            "(completed, incomplete, failed, error, cancelled) and error code.",
            ("transport", "route", "model", "client", "status", "code", "http"),
            registry=registry)
        self.upstreamErrors = Counter(
            "codex_relay_upstream_errors", "Requests an upstream failed, by class.",
            ("route", "model", "class"), registry=registry)
        self.firstDelta = Histogram(
            "codex_relay_first_delta_seconds", "Seconds from a request to its first "
            "output delta.", ("route", "model"), buckets=FIRST_DELTA_BUCKETS,
            registry=registry)
        self.duration = Histogram(
            "codex_relay_request_duration_seconds", "Seconds a Responses request took.",
            ("transport", "route", "model"), buckets=DURATION_BUCKETS, registry=registry)
        # Summed over the live workers when they share PROMETHEUS_MULTIPROC_DIR.
        self.inFlight = Gauge(
            "codex_relay_requests_in_flight", "Responses requests (streams and whole "
            "answers) in flight.", registry=registry, multiprocess_mode="livesum")
        self.tokens = {kind: Counter(
            "codex_relay_{}_tokens".format(kind), help, ("route", "model"),
            registry=registry) for kind, help in (
                ("input", "Input tokens the upstreams counted."),
                ("output", "Output tokens the upstreams counted."),
                ("cached", "Input tokens served from the upstreams' caches (part of "
                           "the input tokens)."),
                ("reasoning", "Output tokens spent reasoning (part of the output "
                              "tokens)."))}
        registry.register(self._upstreamUp)
        self.storeOperations = Counter(
            "codex_relay_store_operations", "Response store operations, by result.",
            ("backend", "operation", "result"), registry=registry)

    def watch(self, context: RelayContext) -> None:
        """
        Count the outcomes of C{context}'s requests, and read its exchanges
        in flight and its known models.
        """
        activity = context.activity
        activity.observe(self.observe)
        activity.count(self.inFlight.set)
        self._routed = context.table.exactModels
        self._listed = context.listedModels
        keys = context.config.clientKeys
        if keys is not None:
            self.clients = frozenset(client.name for client in keys.clients)

    def watchUpstreams(self, reachable: Callable[[], Mapping[str, bool | None]]) -> None:
        """
        Expose C{codex_relay_upstream_up}: 1 for each upstream that answered
        its last probe, 0 for one that did not (none before the first).
        """
        self._upstreamUp.reachable = reachable

    def model(self, name: str) -> str:
        if name == NONE or name in self._listed or name in self._routed():
            return name
        return OTHER

    def client(self, name: str) -> str:
        return name if name in self.clients else NONE

    def observe(self, outcome: Outcome) -> None:
        """
        Count one finished request (an L{Activity} observer).
        """
        route, model = outcome.route, self.model(outcome.model)
        child = self._child
        child(self.requests, outcome.transport, route, model, self.client(outcome.client),
              finalStatus(outcome), errorCode(outcome.code),
              str(outcome.http) if 100 <= outcome.http < 600 else OTHER).inc()
        kind = upstreamErrorClass(outcome)
        if kind is not None:
            child(self.upstreamErrors, route, model, kind).inc()
        if outcome.firstDelta is not None:
            child(self.firstDelta, route, model).observe(outcome.firstDelta)
        child(self.duration, outcome.transport, route, model).observe(outcome.seconds)
        for kind, count in usageTokens(outcome.usage).items():
            if count:
                child(self.tokens[kind], route, model).inc(count)

    def _child(self, metric: Any, *labels: str) -> Any:
        # prometheus_client checks and joins the labels on every call; the
        # label sets are bounded (unknown models are "other"), so keep them.
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def countingStore(self, store: ResponseStore) -> "CountingStore":
        """
        C{store}, its operations counted.
        """
        return CountingStore(store, self.storeOperations)

    def resource(self) -> IResource:
        """
        The C{/metrics} page: C{prometheus_client}'s Twisted resource over
        this registry.
        """
        directory = os.environ.get(MULTIPROC_DIR)
        if not directory:
            return MetricsPage(self.registry)
        # Workers (--workers N): every worker's counters, from the files
        # prometheus_client keeps per process in the shared directory, so
        # one scrape of any worker sees them all.
        from prometheus_client import multiprocess

        scraped = CollectorRegistry(auto_describe=True)
        multiprocess.MultiProcessCollector(scraped, path=directory)
        scraped.register(self._upstreamUp)
        return MetricsPage(scraped)


class MetricsPage(Resource):
    """
    C{prometheus_client.twisted.MetricsResource} for one registry, made on
    the first scrape: it renders in the global reactor's thread pool, which
    a relay never scraped (or driven by a test's clock) need not start.
    """

    isLeaf = True

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self._registry = registry
        self._page: IResource | None = None

    def render(self, request: Request) -> Any:
        page = self._page
        if page is None:
            from prometheus_client.twisted import MetricsResource

            page = self._page = MetricsResource(self._registry)
        return page.render(request)


def finalStatus(outcome: Outcome) -> str:
    """
    C{completed}, C{incomplete} or C{failed} for a response that reached
    one; otherwise C{error} for an error answer, C{cancelled} when the
    client left first, else C{-}.
    """
    if outcome.status in ("completed", "incomplete", "failed"):
        return outcome.status
    if outcome.http >= 400:
        return "error"
    return "cancelled" if outcome.gone else NONE


def errorCode(code: str | None) -> str:
    if code is None:
        return ""
    return code if code in CODES else OTHER


def upstreamErrorClass(outcome: Outcome) -> str | None:
    """
    How the upstream failed a request, or L{None} when it did not (or
    none was called): by the error's code, else by the HTTP status mapped
    from the upstream's (502, 503, 504 for its server errors; 401 and 403
    for a key it refused), else C{stream} for a stream that failed once
    started.
    """
    if outcome.route == NONE or outcome.code is None:
        return None
    kind = _UPSTREAM_CLASSES.get(outcome.code)
    if kind is not None:
        return kind
    if outcome.http in (502, 503, 504):
        return "server_error"
    if outcome.http in (401, 403):
        return "auth"
    if outcome.status == "failed" and outcome.code == "server_error":
        return "stream"
    return None


class _UpstreamUp(Collector):
    def __init__(self, reachable: Callable[[], Mapping[str, bool | None]]) -> None:
        self.reachable = reachable

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily("codex_relay_upstream_up", "", labels=("upstream",))]

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "codex_relay_upstream_up", "Whether each upstream answered its last "
            "readiness probe (1) or not (0).", labels=("upstream",))
        for name, up in dict(self.reachable()).items():
            if up is not None:
                family.add_metric([name], 1.0 if up else 0.0)
        return [family]


def _backend(name: str) -> str:
    backend = name.split(":", 1)[0]
    return backend if backend in ("memory", "sqlite", "redis") else OTHER


class CountingStore:
    """
    A L{ResponseStore} that counts each C{put}, C{get}, C{delete} and
    C{items} by backend and result, and passes everything on.
    """

    def __init__(self, store: ResponseStore, counter: Counter) -> None:
        self.store = store
        self.shared = store.shared
        self.name = store.name
        self._counter = counter
        self._backend = _backend(store.name)

    def _count(self, operation: str, pending: "Deferred[Any]",
               result: Callable[[Any], str]) -> "Deferred[Any]":
        def done(value: Any) -> Any:
            self._counter.labels(self._backend, operation, result(value)).inc()
            return value

        def failed(failure: Failure) -> Failure:
            self._counter.labels(self._backend, operation, "error").inc()
            return failure

        return pending.addCallbacks(done, failed)

    def open(self) -> Deferred[None]:
        return self.store.open()

    def close(self) -> Deferred[None]:
        return self.store.close()

    def put(self, record: StoredResponse) -> Deferred[None]:
        return self._count("put", self.store.put(record), lambda _: "ok")

    def get(self, owner: str, responseId: str) -> Deferred[StoredResponse | None]:
        return self._count("get", self.store.get(owner, responseId),
                           lambda record: "miss" if record is None else "hit")

    def delete(self, owner: str, responseId: str) -> Deferred[bool]:
        return self._count("delete", self.store.delete(owner, responseId),
                           lambda deleted: "deleted" if deleted else "miss")

    def items(self, owner: str, itemIds: Sequence[str]) -> Deferred[dict[str, dict[str, Any]]]:
        return self._count("items", self.store.items(owner, itemIds), lambda _: "ok")
