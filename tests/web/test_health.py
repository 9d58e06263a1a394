"""
C{/healthz} and C{/readyz}: the process serves; every upstream answered
its last probe.  In memory, the probe runs on the relay's clock and an
upstream goes down and comes back at the test's word; on loopback, the
service starts and stops the probing, and a real upstream port closes.
"""

import json
from typing import Any

import treq
from twisted.internet import reactor
from twisted.internet.defer import Deferred, fail
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.endpoints import serverFromString
from twisted.web.server import Site

from codex_relay import RelayConfig, RelayService
from tests.harness.fakehttp import HangingHTTP
from tests.harness.loopback import ConnectionLog, LoopbackTestCase, eventually
from tests.harness.memory import HELLO, LogCapture, RelayTestCase, UpstreamsByURL
from tests.harness.routes import parse
from tests.harness.upstream import ScriptedUpstream, Stream

TWO = """
[upstreams.a]
base_url = "http://a.test/v1"

[upstreams.b]
base_url = "http://b.test/v1"
"""


class Switch:
    """
    An HTTP client that passes requests on to C{http}, except to the base
    URLs in C{down}, which refuse the connection; counts the model lists
    asked for.
    """

    def __init__(self, http: Any) -> None:
        self.http = http
        self.down: set[str] = set()
        self.probes = 0

    def _refused(self, url: str) -> bool:
        return any(url.startswith(base) for base in self.down)

    def get(self, url: str, **kwargs: Any) -> Deferred[Any]:
        self.probes += url.endswith("/models")
        if self._refused(url):
            return fail(ConnectionRefusedError())
        getting: Deferred[Any] = self.http.get(url, **kwargs)
        return getting

    def post(self, url: str, **kwargs: Any) -> Deferred[Any]:
        posting: Deferred[Any] = self.http.post(url, **kwargs)
        return posting


class HealthTests(RelayTestCase):
    def getJSON(self, path: str) -> tuple[int, Any]:
        response = self.respond("GET", path)
        return response.code, json.loads(self.content(response))

    def test_healthz(self) -> None:
        """
        C{/healthz} (and C{/health}) say the process serves, probed or not.
        """
        self.assertEqual(self.getJSON("/healthz"), (200, {"status": "ok"}))
        self.assertEqual(self.getJSON("/health"), (200, {"status": "ok"}))

    def test_notReadyBeforeFirstProbe(self) -> None:
        self.assertEqual(self.getJSON("/readyz"), (503, {
            "status": "unready", "upstreams": {"default": "not probed yet"},
            "unready": ["default"]}))


class ReadinessTests(RelayTestCase):
    def setUp(self) -> None:
        self.switch = Switch(None)
        relay = self.makeRelay(http=self.switch)
        self.switch.http = relay.upstreamStub
        self.health = relay.resource.health
        self.addCleanup(self.health.stop)

    def ready(self) -> tuple[int, Any]:
        response = self.respond("GET", "/readyz")
        return response.code, json.loads(self.content(response))

    def start(self) -> None:
        self.health.start()
        self.relay.pump()

    def test_flipsWhenUpstreamGoesDownAndBack(self) -> None:
        """
        Ready while the upstream answers; 503 naming it from the probe after
        it goes down; ready again from the probe after it is back, with one
        log line each way.
        """
        log = LogCapture(self)
        self.start()
        self.assertEqual(self.ready(), (200, {"status": "ready",
                                              "upstreams": {"default": "ok"}}))
        self.switch.down.add("http://upstream.test/")
        self.assertEqual(self.ready()[0], 200)  # until the next probe
        self.relay.advance(30)
        code, body = self.ready()
        self.assertEqual((code, body["status"], body["unready"]), (503, "unready", ["default"]))
        self.assertIn("ConnectionRefusedError", body["upstreams"]["default"])
        self.relay.advance(30)
        self.switch.down.clear()
        self.relay.advance(30)
        self.assertEqual(self.ready()[0], 200)
        lines = [line for line in log.texts() if "readiness probe" in line]
        self.assertEqual(len(lines), 2, lines)
        self.assertIn("failed its readiness probe", lines[0])
        self.assertIn("answers its readiness probe again", lines[1])

    def test_periodicNeverPerRequest(self) -> None:
        """
        One probe at start, then one every 30 seconds; requests never
        probe.
        """
        self.start()
        self.assertEqual(self.switch.probes, 1)
        self.upstream.queue(Stream(HELLO), Stream(HELLO))
        self.stream()
        self.stream()
        self.ready()
        self.relay.advance(29)
        self.assertEqual(self.switch.probes, 1)
        self.relay.advance(1)
        self.assertEqual(self.switch.probes, 2)

    def test_probeLearnsModels(self) -> None:
        """
        The probe's model list makes its models known, for metrics labels.
        """
        self.start()
        self.assertEqual(self.relay.resource.metrics.model("model-a"), "model-a")

    def test_upstreamUpMetric(self) -> None:
        registry = self.relay.resource.metrics.registry
        up = lambda: registry.get_sample_value(  # noqa: E731
            "codex_relay_upstream_up", {"upstream": "default"})
        self.assertIsNone(up())
        self.start()
        self.assertEqual(up(), 1)
        self.switch.down.add("http://upstream.test/")
        self.relay.advance(30)
        self.assertEqual(up(), 0)

    def test_stopped(self) -> None:
        """
        Once stopped, the relay is not ready, and no timer is left.
        """
        self.start()
        self.health.stop()
        self.assertEqual(self.ready()[1]["status"], "stopping")
        self.assertEqual(self.ready()[0], 503)
        self.assertQuiet()


class ProbeTimeoutTests(RelayTestCase):
    def test_shortTimeout(self) -> None:
        """
        An upstream that never answers fails its probe after 5 seconds, and
        the probe is cancelled.
        """
        http = HangingHTTP()
        relay = self.makeRelay(http=http)
        health = relay.resource.health
        self.addCleanup(health.stop)
        health.start()
        relay.advance(4.9)
        [pending] = http.pending
        self.assertFalse(pending.called)
        relay.advance(0.2)
        self.assertTrue(pending.called)  # cancelled
        response = self.respond("GET", "/readyz")
        body = json.loads(self.content(response))
        self.assertEqual((response.code, body["upstreams"]),
                         (503, {"default": "no answer within 5 seconds"}))


class SeveralUpstreamsTests(RelayTestCase):
    def test_namesOnlyTheUnreachable(self) -> None:
        a, b = ScriptedUpstream(reactor=None), ScriptedUpstream(reactor=None)
        switch = Switch(UpstreamsByURL({"http://a.test/v1": a, "http://b.test/v1": b}))
        relay = self.makeRelay(http=switch, routes=parse(TWO))
        relay.stubs += switch.http.stubs.values()
        switch.down.add("http://b.test/")
        health = relay.resource.health
        self.addCleanup(health.stop)
        health.start()
        relay.pump()
        response = self.respond("GET", "/readyz")
        body = json.loads(self.content(response))
        self.assertEqual((response.code, body["unready"], body["upstreams"]["a"]),
                         (503, ["b"], "ok"))


class ServiceProbeTests(LoopbackTestCase):
    async def test_serviceStartsAndStopsProbing(self) -> None:
        """
        A service started with C{probeUpstreams} becomes ready on loopback;
        when the upstream's port closes, the next probe makes it unready,
        and stopping the service stops the probing.
        """
        self.upstream = ScriptedUpstream(reactor=reactor)
        site = Site(self.upstream.resource)
        site.noisy = False
        upstreamLog = ConnectionLog(site)
        upstreamPort = await serverFromString(
            reactor, "tcp:0:interface=127.0.0.1").listen(site)
        self.addCleanup(upstreamLog.allClosed)
        upstreamURL = "http://127.0.0.1:{}/v1".format(upstreamPort.getHost().port)
        service = RelayService(RelayConfig(upstream=upstreamURL, store="none"), reactor,
                               listen=["tcp:0:interface=127.0.0.1"], probeUpstreams=True)
        relayLog = ConnectionLog(service.site)
        service.startService()
        self.addCleanup(relayLog.allClosed)
        self.addCleanup(service.stopService)
        [port] = await service.listening
        url = "http://127.0.0.1:{}/readyz".format(port.getHost().port)
        client = self.makeClient()

        async def ready() -> tuple[int, Any]:
            response = await client.get(url)
            return response.code, json.loads(await treq.content(response))

        health = service.resource.health
        await eventually(lambda: health.ready, "the first probe")
        self.assertEqual(await ready(), (200, {"status": "ready",
                                               "upstreams": {"default": "ok"}}))
        await upstreamPort.stopListening()
        await service.client.close()  # no pooled connection left to reuse
        await health.probe()
        code, body = await ready()
        self.assertEqual((code, body["unready"]), (503, ["default"]))
        self.assertIn("Could not connect", body["upstreams"]["default"])
        await service.stopService()
        self.assertTrue(health.stopping)
        self.assertFalse(health.ready)
