"""
The three ways to run the relay, as real child processes: C{start()} from
Python, the C{codex-relay} console command (and C{python -m codex_relay}),
and the twistd plugin under C{twistd} and C{twist}.

Each child relays to a L{ScriptedUpstream} served by this test's reactor, so
all waiting happens in threads (L{deferToThread}) or by polling
(L{deferLater}): the reactor must keep serving the upstream meanwhile.
"""

import json
import os
import subprocess
import sys
import time

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

import treq

from codex_relay import RelayStartError, start
from codex_relay._run.cli import READY
from codex_relay._version import __version__
from tests.harness import oracle
from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.sockets import serveUpstream, webClient
from tests.harness.processes import BIN, STARTUP, Child, cleanEnvironment, freePort, reap, terminate
from tests.harness.upstream import DEFAULT_MODELS, ScriptedUpstream, Stream

RELAY_KEY = "sk-relay-e2e-0123456789abcdef"
CLIENT_KEY = "sk-client-e2e"


class LaunchTests(TestCase):
    timeout = 40

    async def setUp(self) -> None:
        self.upstream = ScriptedUpstream(reactor=reactor)
        self.upstreamURL = await serveUpstream(self, self.upstream)
        self.web = webClient(self)

    async def waitServing(self, child: Child, port: int) -> None:
        """
        Poll the relay's C{/health} on C{port} until it answers; fail with
        the child's output if it exits or takes too long.
        """
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                self.fail("exited with {} before serving:\n{}".format(
                    child.process.returncode, child.output()))
            try:
                response = await self.web.get(
                    "http://127.0.0.1:{}/health".format(port), timeout=2)
                body = await treq.content(response)
            except Exception:
                await deferLater(reactor, 0.05, lambda: None)
                continue
            self.assertEqual((response.code, json.loads(body)), (200, {"status": "ok"}))
            return
        self.fail("did not serve within {}s:\n{}".format(STARTUP, child.output()))

    async def assertRelays(self, baseURL: str, authorization: str) -> None:
        """
        A streaming Responses request through the relay at C{baseURL}
        yields an oracle-valid stream of the scripted answer, and the
        upstream sees C{authorization}.
        """
        self.upstream.queue(Stream([text("Hello from "), text("upstream"), finish("stop"),
                                    chunk(choices=False, usage=usage(6, 3))]))
        before = len(self.upstream.requests)
        response = await self.web.post(
            baseURL + "/responses",
            json={"model": "model-a", "input": "hi", "stream": True},
            headers={"Authorization": ["Bearer " + CLIENT_KEY]})
        body = await treq.content(response)
        self.assertEqual(response.code, 200)
        events = oracle.checkStream(body)
        final = events[-1]["response"]
        self.assertEqual(final["status"], "completed")
        self.assertEqual(final["output"][0]["content"][0]["text"], "Hello from upstream")
        self.assertEqual(final["usage"]["total_tokens"], 9)
        # The relay's own start-time model list fetch may land in between.
        [sent] = [r for r in self.upstream.requests[before:] if r.method == "POST"]
        self.assertEqual(sent.path, "/v1/chat/completions")
        self.assertEqual(sent.json["messages"], [{"role": "user", "content": "hi"}])
        self.assertEqual(sent.headers["authorization"], authorization)

    # start()

    async def test_start(self) -> None:
        """
        C{start(port=0)} returns once the relay listens; it proxies the model
        list with its key; terminate() stops it cleanly.
        """
        process = await deferToThread(start, port=0, upstream=self.upstreamURL,
                                      api_key=RELAY_KEY)
        self.addCleanup(reap, process)
        self.assertGreater(process.port, 0)
        self.assertEqual(process.base_url, "http://127.0.0.1:{}/v1".format(process.port))
        self.assertNotIn(RELAY_KEY, " ".join(process.args))
        response = await self.web.get(process.base_url + "/models")
        self.assertEqual(response.code, 200)
        self.assertEqual(json.loads(await treq.content(response)), DEFAULT_MODELS)
        # The relay may also have asked for the list itself, at start.
        self.assertTrue(self.upstream.requests)
        for sent in self.upstream.requests:
            self.assertEqual((sent.method, sent.path), ("GET", "/v1/models"))
            self.assertEqual(sent.headers["authorization"], "Bearer " + RELAY_KEY)
        await self.assertRelays(process.base_url, "Bearer " + RELAY_KEY)
        self.assertEqual(await terminate(process), 0)

    async def test_startInvalidOption(self) -> None:
        """
        An invalid option makes start() raise with the relay's own message.
        """
        with self.assertRaises(RelayStartError) as caught:
            await deferToThread(start, port=0, upstream=self.upstreamURL, reasoning="loud")
        message = str(caught.exception)
        self.assertIn("exited with status 2", message)
        self.assertIn("codex-relay: --reasoning must be one of: summary, raw", message)

    async def test_startPortInUse(self) -> None:
        """
        A port that is taken makes start() raise, saying it could not listen.
        """
        taken = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            Factory.forProtocol(Protocol))
        self.addCleanup(taken.stopListening)
        port = taken.getHost().port
        with self.assertRaises(RelayStartError) as caught:
            await deferToThread(start, port=port, upstream=self.upstreamURL, timeout=STARTUP)
        message = str(caught.exception)
        self.assertIn("exited with status 1", message)
        self.assertIn("codex-relay: could not listen:", message)
        self.assertIn(str(port), message)

    # The console command.

    async def test_consoleCommandFromEnvironment(self) -> None:
        """
        C{codex-relay} configured only by environment variables relays a
        stream with its key, and never prints the key, even at debug level.
        """
        port = freePort()
        child = Child(self, [os.path.join(BIN, "codex-relay")], cleanEnvironment(
            CODEX_RELAY_PORT=str(port),
            CODEX_RELAY_UPSTREAM=self.upstreamURL,
            CODEX_RELAY_API_KEY=RELAY_KEY,
            CODEX_RELAY_LOG_LEVEL="debug",
        ))
        await self.waitServing(child, port)
        self.assertIn("{}127.0.0.1:{}\n".format(READY, port), child.stderr())
        self.assertEqual(child.stderr().count("listening on"), 1, child.output())
        await self.assertRelays("http://127.0.0.1:{}/v1".format(port), "Bearer " + RELAY_KEY)
        self.assertEqual(await terminate(child.process), 0)
        stderr = child.stderr()
        self.assertIn("POST /v1/responses model=model-a http=200 status=completed "
                      "tokens=6/3", stderr)
        self.assertNotIn(RELAY_KEY, stderr)
        self.assertNotIn(RELAY_KEY, child.stdout())

    async def test_version(self) -> None:
        """
        C{--version} prints the relay's own version, not Twisted's.
        """
        for command in ([os.path.join(BIN, "codex-relay")],
                        [sys.executable, "-m", "codex_relay"]):
            result = await deferToThread(
                subprocess.run, command + ["--version"],
                capture_output=True, text=True, timeout=STARTUP, env=cleanEnvironment())
            self.assertEqual((result.returncode, result.stdout),
                             (0, "codex-relay {}\n".format(__version__)), result.stderr)

    async def test_pythonMHelp(self) -> None:
        """
        C{python -m codex_relay --help} documents the environment variables.
        """
        result = await deferToThread(
            subprocess.run, [sys.executable, "-m", "codex_relay", "--help"],
            capture_output=True, text=True, timeout=STARTUP, env=cleanEnvironment())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("CODEX_RELAY_UPSTREAM", result.stdout)
        self.assertIn("--upstream", result.stdout)

    # The twistd plugin.

    async def assertPluginRelays(self, args: list[str], port: int) -> str:
        """
        Run the plugin with C{args} in an empty directory; it relays a
        request, forwarding the client's key, and stops on SIGTERM with
        exit status 0 (it does not re-raise the signal, as twistd and twist
        applications otherwise do).

        @return: the directory, for checks on what was left there.
        """
        cwd = self.mktemp()
        os.makedirs(cwd)
        child = Child(self, args, cleanEnvironment(), cwd=cwd)
        await self.waitServing(child, port)
        await self.assertRelays("http://127.0.0.1:{}/v1".format(port), "Bearer " + CLIENT_KEY)
        self.assertEqual(await terminate(child.process), 0, child.output())
        self.assertIn("codex-relay listening on 127.0.0.1:{} for {}".format(
            port, self.upstreamURL), child.stdout())
        return cwd

    async def test_twistd(self) -> None:
        port = freePort()
        cwd = await self.assertPluginRelays([
            os.path.join(BIN, "twistd"), "-n", "--pidfile=", "codex-relay",
            "--upstream", self.upstreamURL,
            "--listen", "tcp:{}:interface=127.0.0.1".format(port),
        ], port)
        self.assertEqual(os.listdir(cwd), [])

    async def test_twist(self) -> None:
        port = freePort()
        await self.assertPluginRelays([
            os.path.join(BIN, "twist"), "--log-format=text", "codex-relay",
            "--upstream", self.upstreamURL, "--port", str(port),
        ], port)

