"""
The Codex end-to-end harness: the real Codex CLI (0.171.0, see
L{tests.harness.codex}) driven through codex-relay, run as a separate
process by L{codex_relay.start}, onto a scripted Chat Completions upstream
(L{tests.harness.upstream.ScriptedUpstream}) served on a loopback port by the
test's reactor.

    codex exec  --Responses-->  relay process  --Chat-->  ScriptedUpstream

The upstream decides from the Chat request it receives (for instance: if
the last message is the tool message answering call X, reply with text,
else call the tool), and answers anything unexpected with a 400 that Codex
treats as fatal (L{unexpected}), so a broken translation fails fast and
visibly.

Codex exits 0 with an empty answer when it drops output it cannot parse,
so L{CodexFlowTestCase.codex} checks that Codex's debug log
(C{RUST_LOG=codex_api=debug}) has no "failed to parse" line, and every
test checks the answer itself (the C{-o} file).

Set C{CODEX_RELAY_CODEX_BIN} to run these tests; without it they are
skipped (loudly), except under C{CI=true}, where that is a failure.  Set
C{CODEX_RELAY_TEST_VERBOSE=1} to print each Codex run (command, exit
status, answer, stderr).
"""

import json
import os
import subprocess
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.threads import deferToThread
from twisted.protocols import portforward
from twisted.trial.unittest import TestCase
from twisted.web.server import Site
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import TextMessage

from codex_relay import start
from codex_relay._tools.catalog import buildCatalog
from tests.harness.chunks import chunk, finish, reasoning, text, toolCall, usage
from tests.harness.codex import (
    CodexEnvironment,
    CodexRun,
    bundledModels,
    requireCodex,
    stopProcess,
    trackingFactory,
)
from tests.harness.upstream import JSONReply, ReceivedRequest, Reply, ScriptedUpstream, Stream

RELAY_KEY = "sk-test"
FALLBACK_MODEL = "deepseek-chat"
CATALOG_MODEL = "relay-model"
REASONING = "The user wants a greeting. Running echo is the simplest way."

_catalogs: dict[str, dict] = {}


def relayCatalog(binary: str) -> dict:
    """
    The catalog C{codex-relay model-catalog} would write for
    L{CATALOG_MODEL} (made once per binary).
    """
    if binary not in _catalogs:
        _catalogs[binary] = buildCatalog(bundledModels(binary), [CATALOG_MODEL])
    return _catalogs[binary]


# What the scripted upstream answers with.

def textReply(answer: str) -> Stream:
    """
    A streamed text answer, split in two deltas, with usage.
    """
    middle = len(answer) // 2
    return Stream([text(answer[:middle]), text(answer[middle:]), finish("stop"),
                   chunk(choices=False, usage=usage(2000, 12))])


def toolCallReply(callId: str, name: str, arguments: dict,
                  thinking: str | None = None) -> Stream:
    """
    A streamed tool call, arguments in fragments, optionally after
    C{reasoning_content} deltas.
    """
    encoded = json.dumps(arguments)
    chunks: list[dict] = []
    if thinking is not None:
        middle = len(thinking) // 2
        chunks += [reasoning(thinking[:middle]), reasoning(thinking[middle:])]
    chunks += [toolCall(0, id=callId, name=name, arguments=""),
               toolCall(0, arguments=encoded[:10]), toolCall(0, arguments=encoded[10:]),
               finish("tool_calls"), chunk(choices=False, usage=usage(2000, 30))]
    return Stream(chunks)


def unexpected(why: str) -> JSONReply:
    """
    A 400 for a request the script did not expect: Codex gives up at once.
    """
    return JSONReply({"error": {"message": "scripted upstream: " + why,
                                "type": "invalid_request_error", "param": None,
                                "code": None}}, status=400)


def offers(body: dict, name: str) -> dict | None:
    """
    The Chat function tool C{name} of C{body}, if offered.
    """
    for tool in body.get("tools") or []:
        if tool.get("type") == "function" and tool["function"].get("name") == name:
            return tool["function"]
    return None


def answering(body: dict, callId: str) -> dict | None:
    """
    The last message of C{body} if it is the tool message answering
    C{callId}.
    """
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    if last.get("role") == "tool" and last.get("tool_call_id") == callId:
        return last
    return None


def assistantCalling(body: dict, callId: str) -> dict | None:
    """
    The assistant message of C{body} that holds the tool call C{callId}.
    """
    for message in body.get("messages") or []:
        if message.get("role") == "assistant" and any(
                call.get("id") == callId for call in message.get("tool_calls") or ()):
            return message
    return None


class CodexFlowTestCase(TestCase):
    """
    Starts the pieces of one flow: the upstream on the test's reactor, the
    relay process, a Codex environment; runs Codex in a thread.
    """

    timeout = 120

    def setUp(self) -> None:
        self.binary = requireCodex(self)

    async def serveUpstream(
        self, respond: Callable[[Any, ReceivedRequest], Reply]
    ) -> tuple[ScriptedUpstream, str]:
        """
        Serve a L{ScriptedUpstream} with C{respond} on a loopback port.
        Each Chat request is recorded in C{self.chat} (the upstream's
        C{requests} also holds the relay's model-list requests), and its
        arrival time (C{reactor.seconds()}) in C{self.arrivals}.
        """
        self.arrivals: list[float] = []
        self.chat: list[ReceivedRequest] = []
        self.scriptErrors: list[str] = []

        def timed(body: Any, received: ReceivedRequest) -> Reply:
            self.arrivals.append(reactor.seconds())
            self.chat.append(received)
            try:
                return respond(body, received)
            except Exception:
                # A 500 would be retried by Codex for half a minute.
                self.scriptErrors.append(traceback.format_exc())
                return unexpected("the script raised")

        upstream = ScriptedUpstream(timed, reactor=reactor)
        factory = trackingFactory(Site(upstream.resource))
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(factory)
        self.addCleanup(port.stopListening)
        self.addCleanup(factory.closeAll, reactor)
        self.addCleanup(upstream.abortAll)
        return upstream, "http://127.0.0.1:{}/v1".format(port.getHost().port)

    def startRelay(self, upstreamURL: str, **options: object) -> subprocess.Popen:
        relay = start(port=0, upstream=upstreamURL, api_key=RELAY_KEY, **options)
        self.addCleanup(stopProcess, relay)  # runs before the upstream's cleanups
        return relay

    def environment(self, relay: subprocess.Popen, model: str = FALLBACK_MODEL,
                    catalog: bool = False, baseURL: str | None = None,
                    **options: Any) -> CodexEnvironment:
        """
        @param baseURL: where Codex goes instead of C{relay} (a L{Tap}).
        """
        environment = CodexEnvironment(
            self.binary, baseURL or relay.base_url,  # type: ignore[attr-defined]
            model=model, catalog=relayCatalog(self.binary) if catalog else None, **options)
        self.addCleanup(environment.cleanup)
        return environment

    async def serveTap(self, relay: subprocess.Popen) -> tuple["Tap", str]:
        """
        Serve a L{Tap} onto C{relay}'s port (whichever relay listens there),
        and return it with the base URL Codex should use.
        """
        tap = Tap("127.0.0.1", relay.port)  # type: ignore[attr-defined]
        factory = trackingFactory(tap)
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(factory)
        self.addCleanup(port.stopListening)
        self.addCleanup(factory.closeAll, reactor)
        return tap, "http://127.0.0.1:{}/v1".format(port.getHost().port)

    async def codex(self, environment: CodexEnvironment, prompt: str,
                    timeout: float = 45.0, **options: Any) -> CodexRun:
        """
        Run Codex (C{options} go to L{CodexEnvironment.run}).
        """
        run = await deferToThread(environment.run, prompt, timeout, **options)
        if os.environ.get("CODEX_RELAY_TEST_VERBOSE"):
            print("\n{}: {}\n{}".format(self.id(), " ".join(run.args[1:]), run.describe()))
        self.assertEqual(getattr(self, "scriptErrors", []), [])
        self.assertFalse(run.timedOut, run.describe())
        self.assertEqual(run.parseFailures, [], run.describe())
        return run

    def assertAnswered(self, run: CodexRun, answer: str) -> None:
        """
        Codex finished the turn and its last message is C{answer}.
        """
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual((run.answer or "").strip(), answer, run.describe())
        self.assertEqual(run.stdout.strip(), answer, run.describe())

    def assertFailedWith(self, run: CodexRun, *fragments: str) -> None:
        self.assertEqual(run.returncode, 1, run.describe())
        for fragment in fragments:
            self.assertIn(fragment, run.stderr, run.describe())


@dataclass
class Tapped:
    """
    One TCP connection through a L{Tap}: the bytes each way.
    """

    sent: list[bytes] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)

    @property
    def head(self) -> str:
        """
        The first request's line and headers, lower-cased.
        """
        return b"".join(self.sent).partition(b"\r\n\r\n")[0].decode("latin-1").lower()

    @property
    def upgraded(self) -> bool:
        """
        A WebSocket upgrade that the server accepted.
        """
        return ("upgrade: websocket" in self.head
                and b"".join(self.received).startswith(b"HTTP/1.1 101"))

    def messages(self) -> list[Any]:
        """
        The client's text messages, decoded from JSON.
        """
        return _messages(self.sent, ConnectionType.SERVER)

    def events(self) -> list[Any]:
        """
        The server's text messages (its events), decoded from JSON.
        """
        return _messages(self.received, ConnectionType.CLIENT)


def _messages(chunks: list[bytes], side: ConnectionType) -> list[Any]:
    # Frames after the handshake; the relay offers no compression.
    connection = Connection(side)
    connection.receive_data(b"".join(chunks).partition(b"\r\n\r\n")[2])
    found, parts = [], []
    for event in connection.events():
        if isinstance(event, TextMessage):
            parts.append(event.data)
            if event.message_finished:
                found.append(json.loads("".join(parts)))
                parts = []
    return found


class _TapClient(portforward.ProxyClient):
    def dataReceived(self, data: bytes) -> None:
        self.peer.tapped.received.append(data)  # type: ignore[union-attr]
        super().dataReceived(data)


class _TapClientFactory(portforward.ProxyClientFactory):
    protocol = _TapClient
    noisy = False


class _TapServer(portforward.ProxyServer):
    clientProtocolFactory = _TapClientFactory

    def connectionMade(self) -> None:
        self.tapped = Tapped()
        self.factory.connections.append(self.tapped)  # type: ignore[attr-defined]
        super().connectionMade()

    def dataReceived(self, data: bytes) -> None:
        self.tapped.sent.append(data)
        super().dataReceived(data)


class Tap(portforward.ProxyFactory):
    """
    A TCP forwarder in front of the relay that keeps what crosses it, so a
    test sees Codex's WebSocket messages (C{connections}, a L{Tapped} each).
    """

    protocol = _TapServer
    noisy = False

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.connections: list[Tapped] = []

    def upgrades(self) -> list[Tapped]:
        return [c for c in self.connections if c.upgraded]

    def posts(self, connections: list[Tapped] | None = None) -> int:
        """
        How many HTTP requests went to C{POST /v1/responses} (on
        C{connections}, by default all).
        """
        return sum(b"".join(c.sent).count(b"POST /v1/responses ")
                   for c in (self.connections if connections is None else connections))
