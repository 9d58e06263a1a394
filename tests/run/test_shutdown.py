"""
Graceful shutdown of real relay processes (L{tests.harness.draining}):
SIGTERM with 20 slow streams in flight, under the console command, under
C{twistd -n} and under C{twist}.  New connections are refused at once, idle
ones closed, the streams that finish within C{--drain-timeout} complete, the
others end with a retryable C{response.failed}, and the process exits 0
within the drain timeout and a second of teardown, or as soon as the streams
are done when they all finish in time.
"""

import os
import time

import treq
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from codex_relay import start
from tests.harness.draining import assertDrains, slowUpstream
from tests.harness.sockets import serveUpstream, webClient
from tests.harness.processes import BIN, STARTUP, Child, cleanEnvironment, freePort, reap

DRAIN = 3.0


class ShutdownTests(TestCase):
    timeout = 60

    async def setUp(self) -> None:
        self.upstream = slowUpstream()
        self.upstreamURL = await serveUpstream(self, self.upstream)
        self.web = webClient(self)

    async def test_consoleCommand(self) -> None:
        """
        C{codex-relay} (through C{start()}) drains on SIGTERM and exits 0.
        """
        relay = await deferToThread(start, port=0, upstream=self.upstreamURL,
                                    env=cleanEnvironment(), store="none",
                                    drain_timeout=DRAIN)
        self.addCleanup(reap, relay)
        await assertDrains(self, relay, relay.port, self.upstream, self.web, DRAIN)

    async def test_drainTimeoutFromEnvironment(self) -> None:
        """
        C{CODEX_RELAY_DRAIN_TIMEOUT} sets the drain timeout.
        """
        relay = await deferToThread(start, port=0, upstream=self.upstreamURL,
                                    env=cleanEnvironment(CODEX_RELAY_DRAIN_TIMEOUT="1.5"),
                                    store="none")
        self.addCleanup(reap, relay)
        await assertDrains(self, relay, relay.port, self.upstream, self.web, 1.5, streams=4)

    async def test_drainedEarly(self) -> None:
        """
        When every stream in flight finishes within the drain timeout, the
        relay exits once they have, without waiting out the timeout.
        """
        relay = await deferToThread(start, port=0, upstream=self.upstreamURL,
                                    env=cleanEnvironment(), store="none",
                                    drain_timeout=DRAIN)
        self.addCleanup(reap, relay)
        await assertDrains(self, relay, relay.port, self.upstream, self.web, DRAIN,
                           slow=False)

    async def test_twistd(self) -> None:
        """
        C{twistd -n codex-relay} drains the same way, and exits 0 too.
        """
        await self.assertPluginDrains([os.path.join(BIN, "twistd"), "-n", "--pidfile="])

    async def test_twist(self) -> None:
        """
        C{twist codex-relay} drains the same way, and exits 0 too.
        """
        await self.assertPluginDrains([os.path.join(BIN, "twist"), "--log-format=text"])

    async def assertPluginDrains(self, runner: list[str]) -> None:
        """
        The twistd plugin, run by C{runner} in an empty directory, drains on
        SIGTERM as L{assertDrains} checks, says it ended the slow streams,
        and exits 0 without a traceback.
        """
        port = freePort()
        cwd = self.mktemp()
        os.makedirs(cwd)
        child = Child(self, runner + [
            "codex-relay", "--upstream", self.upstreamURL, "--store", "none",
            "--listen", "tcp:{}:interface=127.0.0.1".format(port),
            "--drain-timeout", str(DRAIN)], cleanEnvironment(), cwd=cwd)
        await self.waitServing(child, port)
        await assertDrains(self, child.process, port, self.upstream, self.web, DRAIN,
                           status=0)
        self.assertIn("drain timeout (3s): ended 10 responses still in flight",
                      child.stdout(), child.output())
        self.assertNotIn("Traceback", child.output())

    async def waitServing(self, child: Child, port: int) -> None:
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                self.fail("exited before serving:\n" + child.output())
            try:
                response = await self.web.get(
                    "http://127.0.0.1:{}/health".format(port), timeout=2)
                await treq.content(response)
                return
            except Exception:
                await deferLater(reactor, 0.05, lambda: None)
        self.fail("did not serve within {}s:\n{}".format(STARTUP, child.output()))
