"""
C{--log-format json}: one JSON object per line through twisted.logger's
JSON encoding, the request's line carrying its fields at the top level; and
no Twisted access line beside it.  In memory, on loopback, and from the
console command as a real process.
"""

import io
import json
import os
import sys
import time
from typing import Any

import treq
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.logger import Logger, globalLogPublisher
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase

from codex_relay import start
from codex_relay._run import logs
from codex_relay._run.cli import READY
from codex_relay._run.tap import Options
from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.loopback import LoopbackTestCase
from tests.harness.memory import HELLO, RelayTestCase, streamRequest
from tests.harness.sockets import serveUpstream, webClient
from tests.harness.upstream import ScriptedUpstream, Stream
from tests.harness.processes import BIN, STARTUP, Child, cleanEnvironment, freePort, reap, terminate

REQUEST_FIELDS = ("transport", "route", "model", "client", "http", "status", "code",
                  "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens",
                  "first_delta", "seconds", "gone")


def jsonLines(output: str) -> list[dict[str, Any]]:
    """
    Every line of C{output} parsed as one JSON object.
    """
    parsed = [json.loads(line) for line in output.splitlines()]
    for event in parsed:
        assert isinstance(event, dict), event
    return parsed


def requestLines(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("log_namespace") == "codex_relay._web.activity"]


class ObserverTests(SynchronousTestCase):
    def test_oneObjectPerLine(self) -> None:
        """
        Each event is one line of JSON: its own fields at the top level,
        twisted.logger's, and C{log_text}, the event as text.
        """
        output = io.StringIO()
        log = Logger(observer=logs.filteredObserver(output, "info", "json"))
        log.info("hello {who}", who="you", seconds=1.5)
        log.debug("hidden")
        log.warn("two\nlines {n}", n=2)
        [first, second] = jsonLines(output.getvalue())
        self.assertEqual((first["who"], first["seconds"], first["log_text"]),
                         ("you", 1.5, "hello you"))
        self.assertEqual(first["log_level"]["name"], "info")
        self.assertEqual(second["log_text"], "two\nlines 2")

    def test_textByDefault(self) -> None:
        output = io.StringIO()
        Logger(observer=logs.filteredObserver(output)).info("hello {who}", who="you")
        self.assertIn("hello you", output.getvalue())
        self.assertFalse(output.getvalue().startswith("{"))

    def test_twistdObservers(self) -> None:
        """
        C{--logger=codex_relay._run.logs.jsonObserver} writes JSON lines;
        C{...logs.observer} does when C{CODEX_RELAY_LOG_FORMAT} is json.
        """
        for factory, environ in ((logs.jsonObserver, {}),
                                 (logs.observer, {"CODEX_RELAY_LOG_FORMAT": "json"})):
            output = io.StringIO()
            self.patch(sys, "stdout", output)
            self.patch(os, "environ", environ)
            Logger(observer=factory()).info("x {y}", y=1)
            [event] = jsonLines(output.getvalue())
            self.assertEqual(event["y"], 1)

    def test_option(self) -> None:
        """
        C{--log-format} takes text or json, or C{CODEX_RELAY_LOG_FORMAT}.
        """
        environ = {"XDG_STATE_HOME": os.environ["XDG_STATE_HOME"]}
        options = Options(environ=environ)
        options.parseOptions(["--log-format", "json"])
        self.assertEqual(options["log-format"], "json")
        options = Options(environ=dict(environ, CODEX_RELAY_LOG_FORMAT="json"))
        options.parseOptions([])
        self.assertEqual(options["log-format"], "json")
        with self.assertRaises(UsageError):
            Options(environ=environ).parseOptions(["--log-format", "xml"])


class RequestLineTests(RelayTestCase):
    def test_requestFields(self) -> None:
        """
        A request's line carries route, model, client, status, tokens,
        first delta and total time as fields of its own.
        """
        output = io.StringIO()
        observer = logs.jsonLineObserver(output)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.upstream.queue(Stream([text("Hel"), text("lo"), finish("stop"), chunk(
            choices=False, usage=usage(10, 5, cached=4, reasoning=2))]))
        self.stream(streamRequest(model="model-a"))
        [line] = requestLines(jsonLines(output.getvalue()))
        self.assertEqual({name: line[name] for name in REQUEST_FIELDS}, {
            "transport": "http", "route": "default", "model": "model-a", "client": "-",
            "http": 200, "status": "completed", "code": None, "input_tokens": 10,
            "output_tokens": 5, "cached_tokens": 4, "reasoning_tokens": 2,
            "first_delta": 0.0, "seconds": 0.0, "gone": False})
        self.assertTrue(line["log_text"].startswith("POST /v1/responses model=model-a "))


class AccessLineTests(LoopbackTestCase):
    async def test_noTwistedAccessLine(self) -> None:
        """
        A request leaves the relay's one line, and no Twisted access line
        beside it (nor does a request for anything else).
        """
        await self.setUpRelay(store="none")
        self.upstream.queue(Stream(HELLO))
        await self.stream()
        response = await self.client.get(self.url + "/healthz")
        await treq.content(response)
        texts = self.log.texts()
        # (The scripted upstream's own Site still writes its access lines.)
        self.assertEqual([t for t in texts if '"POST /v1/responses HTTP/1.1"' in t
                          or '"GET /healthz HTTP/1.1"' in t], [])
        self.assertEqual(len([t for t in texts if t.startswith("POST /v1/responses")]), 1)


class ConsoleCommandTests(TestCase):
    timeout = 40

    async def setUp(self) -> None:
        self.upstream = ScriptedUpstream(reactor=reactor)
        self.upstreamURL = await serveUpstream(self, self.upstream)
        self.web = webClient(self)

    async def test_jsonLines(self) -> None:
        """
        C{codex-relay --log-format json}: everything on stderr is JSON
        lines, the request's with its fields, and no access line.
        """
        port = freePort()
        child = Child(self, [os.path.join(BIN, "codex-relay"), "--log-format", "json",
                             "--store", "none"], cleanEnvironment(
            CODEX_RELAY_PORT=str(port), CODEX_RELAY_UPSTREAM=self.upstreamURL))
        base = "http://127.0.0.1:{}".format(port)
        deadline = time.monotonic() + STARTUP
        while READY not in child.stderr():
            if child.process.poll() is not None or time.monotonic() > deadline:
                self.fail("did not listen:\n" + child.output())
            await deferLater(reactor, 0.05, lambda: None)
        self.upstream.queue(Stream(HELLO))
        response = await self.web.post(base + "/v1/responses", json=streamRequest())
        await treq.content(response)
        self.assertEqual(response.code, 200)
        self.assertEqual(await terminate(child.process), 0, child.output())
        events = jsonLines(child.stderr())
        self.assertIn(READY + "127.0.0.1:{}".format(port), [e["log_text"] for e in events])
        [line] = requestLines(events)
        self.assertEqual((line["model"], line["status"], line["input_tokens"],
                          line["output_tokens"]), ("model-a", "completed", 3, 2))
        self.assertIsInstance(line["seconds"], float)
        self.assertIsInstance(line["first_delta"], float)
        self.assertFalse([e for e in events if "HTTP/1.1\"" in e["log_text"]])

    async def test_startReadsJSONReadyLine(self) -> None:
        """
        C{start()} finds the listening line among JSON lines.
        """
        process = await deferToThread(start, port=0, upstream=self.upstreamURL,
                                      log_format="json", store="none")
        self.addCleanup(reap, process)
        self.assertGreater(process.port, 0)
        response = await self.web.get(process.base_url.removesuffix("/v1") + "/healthz")
        self.assertEqual(json.loads(await treq.content(response)), {"status": "ok"})
        self.assertEqual(await terminate(process), 0)
