"""
C{/metrics} on loopback: a real relay in front of a scripted upstream,
scraped and parsed with C{prometheus_client}'s own parser; its counters move
as requests are made.
"""

import json
import os

import treq
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import reactor
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from codex_relay import RelayConfig, RelayService
from codex_relay._run.tap import Options, makeService
from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.loopback import ConnectionLog, LoopbackTestCase, eventually
from tests.harness.memory import HELLO, responsesRequest, streamRequest
from tests.harness.upstream import Drop, JSONReply, ScriptedUpstream, Stream


def sampleValue(body: bytes, name: str, **labels: str) -> float:
    """
    The sum of the samples called C{name} whose labels include C{labels}
    (0 when there are none), in a scrape parsed by C{prometheus_client}.
    """
    total = 0.0
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            if sample.name == name and all(
                    sample.labels.get(key) == value for key, value in labels.items()):
                total += sample.value
    return total


class MetricsCase(LoopbackTestCase):
    async def scrape(self, url: str | None = None) -> bytes:
        response = await self.client.get((url or self.url) + "/metrics")
        body = await treq.content(response)
        self.assertEqual(response.code, 200, body[:500])
        self.assertTrue(response.headers.getRawHeaders("content-type")[0].startswith(
            "text/plain"))
        return body


class RequestMetricsTests(MetricsCase):
    async def test_completedStream(self) -> None:
        """
        A completed stream counts once by route, model, client, transport
        and status, with its tokens, its first delta and its duration.
        """
        await self.setUpRelay(store="none")
        before = await self.scrape()
        self.assertEqual(sampleValue(before, "codex_relay_requests_total"), 0)
        self.upstream.queue(Stream([text("Hel"), text("lo"), finish("stop"), chunk(
            choices=False, usage=usage(10, 5, cached=4, reasoning=2))]))
        await self.stream()
        body = await self.scrape()
        labels = dict(route="default", model="other", client="-", transport="http")
        self.assertEqual(sampleValue(body, "codex_relay_requests_total", status="completed",
                                     code="", http="200", **labels), 1)
        self.assertEqual(sampleValue(body, "codex_relay_requests_total"), 1)
        tokens = {kind: sampleValue(body, "codex_relay_{}_tokens_total".format(kind),
                                    route="default", model="other")
                  for kind in ("input", "output", "cached", "reasoning")}
        self.assertEqual(tokens, {"input": 10, "output": 5, "cached": 4, "reasoning": 2})
        self.assertEqual(sampleValue(body, "codex_relay_first_delta_seconds_count",
                                     route="default", model="other"), 1)
        self.assertEqual(sampleValue(body, "codex_relay_request_duration_seconds_count",
                                     route="default", model="other", transport="http"), 1)
        self.assertEqual(sampleValue(body, "codex_relay_requests_in_flight"), 0)
        self.assertEqual(sampleValue(body, "codex_relay_upstream_errors_total"), 0)

    async def test_unknownModelIsOther(self) -> None:
        """
        A model no route names and no upstream listed is C{other}; once the
        upstream's model list named it, it is labelled by its name.
        """
        await self.setUpRelay(store="none")
        self.upstream.queue(Stream(HELLO), Stream(HELLO))
        await self.stream(streamRequest(model="model-a"))
        response = await self.client.get(self.url + "/v1/models")
        await treq.content(response)
        await self.stream(streamRequest(model="model-a"))
        self.upstream.queue(Stream(HELLO))
        await self.stream(streamRequest(model="made-up-" + "x" * 40))
        body = await self.scrape()
        self.assertEqual(sampleValue(body, "codex_relay_requests_total", model="other"), 2)
        self.assertEqual(sampleValue(body, "codex_relay_requests_total", model="model-a"), 1)
        self.assertNotIn(b"made-up-", body)

    async def test_failedWithCode(self) -> None:
        """
        An upstream's 429 is an error answer with its code, and an upstream
        error of class C{rate_limited}; a stream cut short is C{failed} with
        C{server_error}, an upstream error of class C{stream}.
        """
        await self.setUpRelay(store="none")
        self.upstream.queue(JSONReply({"error": {"message": "slow down"}}, status=429))
        await self.assertError(await self.post(streamRequest()), 429, "rate_limit_exceeded")
        self.upstream.queue(Drop([text("Hel")]))
        events = await self.stream()
        self.assertEqual(events[-1]["type"], "response.failed")
        body = await self.scrape()
        self.assertEqual(sampleValue(body, "codex_relay_requests_total", status="error",
                                     code="rate_limit_exceeded", http="429"), 1)
        self.assertEqual(sampleValue(body, "codex_relay_requests_total", status="failed",
                                     code="server_error", http="200"), 1)
        self.assertEqual(sampleValue(body, "codex_relay_upstream_errors_total",
                                     route="default", **{"class": "rate_limited"}), 1)
        self.assertEqual(sampleValue(body, "codex_relay_upstream_errors_total",
                                     **{"class": "stream"}), 1)

    async def test_relayErrorIsNoUpstreamError(self) -> None:
        """
        A body that is not JSON is the client's error: counted with its
        code, and no upstream error.
        """
        await self.setUpRelay(store="none")
        response = await self.client.post(self.url + "/v1/responses", data=b"{nope",
                                          headers={"Content-Type": ["application/json"]})
        await self.assertError(response, 400, "invalid_json")
        body = await self.scrape()
        self.assertEqual(sampleValue(body, "codex_relay_requests_total", status="error",
                                     code="invalid_json", route="-", model="-"), 1)
        self.assertEqual(sampleValue(body, "codex_relay_upstream_errors_total"), 0)

    async def test_inFlightDuringSlowStream(self) -> None:
        """
        The in-flight gauge counts a slow stream while it runs, and not
        once it is done.
        """
        await self.setUpRelay(store="none")
        self.upstream.queue(Stream(HELLO, interval=0.3))
        response = await self.post(streamRequest())
        self.assertEqual(response.code, 200)
        during = await self.scrape()
        self.assertEqual(sampleValue(during, "codex_relay_requests_in_flight"), 1)
        self.assertEqual(sampleValue(during, "codex_relay_requests_total"), 0)
        await treq.content(response)
        await eventually(lambda: not self.service.resource.activity.inFlight, "in flight")
        after = await self.scrape()
        self.assertEqual(sampleValue(after, "codex_relay_requests_in_flight"), 0)
        self.assertEqual(sampleValue(after, "codex_relay_requests_total",
                                     status="completed"), 1)


class StoreMetricsTests(MetricsCase):
    async def test_storeOperations(self) -> None:
        """
        Keeping, reading and deleting a response count as store operations
        by backend and result.
        """
        await self.setUpRelay(store="memory")
        self.upstream.queue(Stream(HELLO))
        response = await self.post(responsesRequest())
        kept = json.loads(await treq.content(response))
        path = self.url + "/v1/responses/"
        for method, url in (("GET", path + kept["id"]), ("GET", path + "resp_unknown"),
                            ("DELETE", path + kept["id"]), ("DELETE", path + kept["id"])):
            await treq.content(await self.client.request(method, url))
        body = await self.scrape()

        def count(operation: str, result: str) -> float:
            return sampleValue(body, "codex_relay_store_operations_total", backend="memory",
                               operation=operation, result=result)

        self.assertEqual(
            {(op, result): count(op, result) for op, result in (
                ("put", "ok"), ("get", "hit"), ("get", "miss"), ("delete", "deleted"),
                ("delete", "miss"))},
            {("put", "ok"): 1, ("get", "hit"): 1, ("get", "miss"): 1,
             ("delete", "deleted"): 1, ("delete", "miss"): 1})


class MetricsListenTests(MetricsCase):
    async def test_ownPort(self) -> None:
        """
        With C{metricsListen}, C{/metrics} is served there, and not on the
        relay's port.
        """
        self.upstream = ScriptedUpstream(reactor=reactor)
        upstreamURL, _ = await self.startUpstream()
        service = RelayService(RelayConfig(upstream=upstreamURL, store="none"), reactor,
                               listen=["tcp:0:interface=127.0.0.1"],
                               metricsListen=["tcp:0:interface=127.0.0.1"])
        connections = [ConnectionLog(service.site), ConnectionLog(service.metricsSite)]
        service.startService()
        for log in connections:
            self.addCleanup(log.allClosed)
        self.addCleanup(service.stopService)
        [port] = await service.listening
        [metricsPort] = service.metricsPorts
        self.url = "http://127.0.0.1:{}".format(port.getHost().port)
        self.client = self.makeClient()
        response = await self.client.get(self.url + "/metrics")
        self.assertEqual(json.loads(await treq.content(response))["error"]["code"],
                         "not_found")
        self.upstream.queue(Stream(HELLO))
        await self.stream()
        body = await self.scrape("http://127.0.0.1:{}".format(metricsPort.getHost().port))
        self.assertEqual(sampleValue(body, "codex_relay_requests_total",
                                     status="completed"), 1)
        self.assertTrue(any("serving /metrics on 127.0.0.1:{}".format(
            metricsPort.getHost().port) in line for line in self.log.texts()))

    async def test_relaysCountApart(self) -> None:
        """
        Each relay has its own registry: two in one process count apart.
        """
        await self.setUpRelay(store="none")
        otherURL, _ = await self.startRelay(self.upstreamURL, store="none")
        self.upstream.queue(Stream(HELLO))
        await self.stream()
        self.assertEqual(sampleValue(await self.scrape(), "codex_relay_requests_total"), 1)
        self.assertEqual(sampleValue(await self.scrape(otherURL),
                                     "codex_relay_requests_total"), 0)


class MetricsListenOptionTests(SynchronousTestCase):
    def test_tapOption(self) -> None:
        """
        C{--metrics-listen} (or C{CODEX_RELAY_METRICS_LISTEN}) gives
        makeService's relay a port of its own for C{/metrics}, which its
        main tree then lacks.
        """
        for argv, environ in (
                (["--metrics-listen", "tcp:9100:interface=127.0.0.1"], {}),
                ([], {"CODEX_RELAY_METRICS_LISTEN": "tcp:9100:interface=127.0.0.1"})):
            memory = MemoryReactorClock()
            options = Options(environ=dict(
                environ, XDG_STATE_HOME=os.environ["XDG_STATE_HOME"]))
            options.parseOptions(["--upstream", "http://127.0.0.1:9/v1", "--store", "none",
                                  "--port", "4321", *argv])
            service = makeService(options, reactor=memory)
            assert isinstance(service, RelayService)
            service.startService()
            self.assertEqual([(p, i) for p, _, _, i in memory.tcpServers],
                             [(4321, "127.0.0.1"), (9100, "127.0.0.1")])
            self.assertEqual(len(self.successResultOf(service.listening)), 1)
            self.assertEqual(len(service.metricsPorts), 1)
            self.assertNotIn(b"metrics", service.resource.children)
            self.assertIn(b"metrics", service.metricsSite.resource.children)
            self.successResultOf(service.stopService())
            self.assertEqual(service.metricsPorts, [])

    def test_onMainPortByDefault(self) -> None:
        options = Options(environ={"XDG_STATE_HOME": os.environ["XDG_STATE_HOME"]})
        options.parseOptions(["--upstream", "http://127.0.0.1:9/v1", "--store", "none"])
        service = makeService(options, reactor=MemoryReactorClock())
        assert isinstance(service, RelayService)
        self.assertIn(b"metrics", service.resource.children)
