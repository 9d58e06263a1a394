"""
Codex through the relay over WebSocket (C{supports_websockets = true},
CODEX.md §9): a session with tool calls gives the upstream the same Chat
history as over HTTP, C{exec resume --last} continues on a new connection,
and a relay restarted mid-session costs Codex only a reconnect.

A L{tests.harness.codexflow.Tap} between Codex and the relay shows what
went over the wire: the upgrades, Codex's C{response.create} messages and
the relay's events.
"""

import json
import os
import re
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread

from codex_relay import start
from tests.harness.codex import CodexRun, stopProcess
from tests.harness.codexflow import (
    CATALOG_MODEL,
    RELAY_KEY,
    CodexFlowTestCase,
    Tap,
    Tapped,
    answering,
    assistantCalling,
    textReply,
    toolCallReply,
    unexpected,
)
from tests.harness.upstream import ReceivedRequest, Reply

SHELL_CALL = "call_ws_shell"
PATCH_CALL = "call_ws_patch"
SHELL_COMMAND = "printf 'over the wire' > wire.txt && echo wire-ok"
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello world\n*** End Patch\n"
ANSWER = "Wrote wire.txt and hello.txt."
# Things that differ between two runs of the same session.
_VARYING = [
    (re.compile(r"Wall time: [0-9.]+ seconds"), "Wall time: <T> seconds"),
    (re.compile(r"Chunk ID: \w+"), "Chunk ID: <ID>"),
]


def lastUser(body: dict) -> str | None:
    """
    The text of C{body}'s last message if it is a user message.
    """
    last = (body.get("messages") or [{}])[-1]
    if last.get("role") != "user":
        return None
    content = last.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return content


def texts(body: dict) -> str:
    return json.dumps(body.get("messages"))


def describeWire(connections: list[Tapped]) -> str:
    """
    What went over each connection: Codex's messages (previous id, input
    item types) and the relay's terminal events (response id).
    """
    lines = []
    for number, connection in enumerate(connections):
        lines.append("connection {}: {}".format(number, connection.head.split("\r\n")[0]))
        for message in connection.messages():
            lines.append("  > {} generate={} previous={} input={}".format(
                message.get("type"), message.get("generate", True),
                message.get("previous_response_id"),
                [i.get("type") + (":" + i["role"] if "role" in i else "")
                 for i in message.get("input", [])]))
        for event in connection.events():
            response = event.get("response") or {}
            if event["type"] in ("response.completed", "response.failed", "error"):
                lines.append("  < {} {} output={}".format(
                    event["type"], response.get("id") or event.get("error"),
                    [i["type"] for i in response.get("output") or ()]))
    return "\n".join(lines)


def prewarmed(connection: Tapped) -> bool:
    messages = connection.messages()
    return bool(messages) and messages[0].get("generate") is False


class WebSocketFlowTests(CodexFlowTestCase):
    """
    Codex 0.171 speaking Responses over WebSocket to the relay.
    """

    async def begin(self, respond: Any) -> tuple[Any, Tap, str]:
        upstream, url = await self.serveUpstream(respond)
        self.upstreamURL = url
        relay = self.startRelay(url, store="memory")
        tap, tapURL = await self.serveTap(relay)
        return relay, tap, tapURL

    async def runClean(self, environment: Any, prompt: str, **options: Any) -> CodexRun:
        """
        One Codex run that must finish cleanly, with no C{ERROR} line.
        """
        run = await self.codex(environment, prompt, **options)
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual([line for line in run.stderr.splitlines()
                          if re.search(r"\bERROR\b", line)], [], run.describe())
        return run

    def normalized(self, environment: Any, bodies: list[dict]) -> list[Any]:
        """
        The C{messages} of C{bodies}, less what differs between two runs.
        """
        found = json.dumps([body["messages"] for body in bodies])
        found = found.replace(environment.root, "<ROOT>")
        for pattern, replacement in _VARYING:
            found = pattern.sub(replacement, found)
        return json.loads(found)

    def assertServedOverWebSocket(self, tap: Tap, connections: list[Tapped]) -> None:
        if os.environ.get("CODEX_RELAY_TEST_VERBOSE"):
            print("\n" + describeWire(connections))
        self.assertEqual(tap.posts(connections), 0)
        self.assertTrue(connections)
        self.assertTrue(all(c.upgraded for c in connections))
        for connection in connections:
            self.assertIn("openai-beta: responses_websockets=", connection.head)

    def toolSession(self, body: Any, received: ReceivedRequest) -> Reply:
        """
        A shell call, then an apply_patch call, then the answer.
        """
        if answering(body, PATCH_CALL) is not None:
            if assistantCalling(body, SHELL_CALL) is None:
                return unexpected("the shell call is missing from the history")
            return textReply(ANSWER)
        if answering(body, SHELL_CALL) is not None:
            return toolCallReply(PATCH_CALL, "apply_patch", {"input": PATCH})
        if lastUser(body) is not None:
            return toolCallReply(SHELL_CALL, "exec_command", {"cmd": SHELL_COMMAND})
        return unexpected("not a step of the session")

    async def test_sameChatHistoryAsHTTP(self) -> None:
        """
        The same session over HTTP and over WebSocket: three Chat requests
        each, with the same messages.  Over WebSocket, Codex prewarms, then
        chains every request by C{previous_response_id} and sends only what
        is new (after a tool call, just its output), and the relay fills in
        the rest from the connection's chain, though Codex sends
        C{store: false}.
        """
        relay, tap, url = await self.begin(self.toolSession)
        chats: dict[bool, list[dict]] = {}
        normal = {}
        for websockets in (False, True):
            environment = self.environment(relay, model=CATALOG_MODEL, catalog=True,
                                           baseURL=url, websockets=websockets)
            before, tapped = len(self.chat), len(tap.connections)
            run = await self.runClean(environment, "Write wire.txt and hello.txt.")
            self.assertAnswered(run, ANSWER)
            with open(os.path.join(environment.workdir, "hello.txt")) as f:
                self.assertEqual(f.read(), "hello world\n")
            chats[websockets] = [r.json for r in self.chat[before:]]
            normal[websockets] = self.normalized(environment, chats[websockets])
            connections = tap.connections[tapped:]
            if not websockets:
                self.assertEqual(tap.posts(connections), 3)
                self.assertEqual([c for c in connections if c.upgraded], [])
        self.assertEqual(len(chats[True]), 3)
        self.assertEqual(normal[True], normal[False])
        self.assertEqual([b["tools"] for b in chats[True]], [b["tools"] for b in chats[False]])

        self.assertServedOverWebSocket(tap, connections)
        self.assertEqual(len(connections), 1, describeWire(connections))
        messages = connections[0].messages()
        events = connections[0].events()
        completed = [e["response"]["id"] for e in events if e["type"] == "response.completed"]
        self.assertEqual(len(completed), 4)
        self.assertEqual([m["type"] for m in messages], ["response.create"] * 4)
        self.assertIs(messages[0]["generate"], False)
        self.assertNotIn("previous_response_id", messages[0])
        self.assertEqual([m.get("previous_response_id") for m in messages[1:]], completed[:3])
        self.assertEqual([m["store"] for m in messages], [False] * 4)
        self.assertEqual([[item["type"] for item in m["input"]] for m in messages[2:]],
                         [["function_call_output"], ["custom_tool_call_output"]])
        self.assertIn("Write wire.txt", json.dumps(messages[1]["input"]))

    async def resumed(self, websockets: bool) -> tuple[Any, list[dict], list[Tapped]]:
        """
        A first exec and an C{exec resume --last} through the tap.
        """
        environment = self.environment(self.relay, model=CATALOG_MODEL, catalog=True,
                                       baseURL=self.url, websockets=websockets,
                                       ephemeral=False)
        tapped = len(self.tap.connections)
        self.assertAnswered(await self.runClean(environment, "Remember the word apple."),
                            "Remembered.")
        before = len(self.chat)
        afterFirst = len(self.tap.connections)
        self.assertAnswered(await self.runClean(environment, "What was the word?", resume=True),
                            "apple")
        self.assertGreater(afterFirst, tapped)
        return (environment, [r.json for r in self.chat[before:]],
                self.tap.connections[afterFirst:])

    async def test_resumeLast(self) -> None:
        """
        C{exec resume --last} over WebSocket: a new connection, a new
        prewarm, then C{previous_response_id} = the prewarm's id with the
        whole stored history; the upstream gets the same Chat history as
        with the same resume over HTTP.
        """
        def respond(body: Any, received: ReceivedRequest) -> Reply:
            asked = lastUser(body) or ""
            if "What was the word?" in asked:
                if "Remember the word apple." not in texts(body) or (
                        "Remembered." not in texts(body)):
                    return unexpected("the first turn is missing")
                return textReply("apple")
            if "Remember the word apple." in asked:
                return textReply("Remembered.")
            return unexpected("not a step of the session")

        self.relay, self.tap, self.url = await self.begin(respond)
        results = {}
        for websockets in (False, True):
            results[websockets] = await self.resumed(websockets)
        http, ws = results[False], results[True]
        self.assertEqual(len(ws[1]), 1)
        self.assertEqual(self.normalized(ws[0], ws[1]), self.normalized(http[0], http[1]))

        connections = ws[2]
        self.assertServedOverWebSocket(self.tap, connections)
        self.assertEqual(len(connections), 1)
        messages, events = connections[0].messages(), connections[0].events()
        self.assertEqual(len(messages), 2)
        self.assertTrue(prewarmed(connections[0]))
        prewarm = [e for e in events if e["type"] == "response.completed"][0]
        self.assertEqual(prewarm["response"]["output"], [])
        self.assertEqual(messages[1]["previous_response_id"], prewarm["response"]["id"])
        history = json.dumps(messages[1]["input"])
        for said in ("Remember the word apple.", "Remembered.", "What was the word?"):
            self.assertIn(said, history)

    async def test_relayRestartMidSession(self) -> None:
        """
        The relay stops while Codex runs a tool, and a new one starts on the
        same port before the tool ends: Codex reconnects, resends the whole
        history (the new relay knows nothing of the old chain), and the
        session ends with the right answer.
        """
        answer = "The relay came back."

        def respond(body: Any, received: ReceivedRequest) -> Reply:
            if answering(body, SHELL_CALL) is not None:
                return textReply(answer)
            if lastUser(body) is not None:
                return toolCallReply(SHELL_CALL, "exec_command", {
                    "cmd": "touch started; while [ ! -e go ]; do sleep 0.05; done; "
                           "echo restarted-ok", "yield_time_ms": 30000})
            return unexpected("not a step of the session")

        relay, tap, url = await self.begin(respond)
        environment = self.environment(relay, model=CATALOG_MODEL, catalog=True,
                                       baseURL=url, websockets=True)
        done = Deferred.fromCoroutine(self.runClean(environment, "Run the command."))
        started = os.path.join(environment.workdir, "started")
        for _ in range(600):
            if os.path.exists(started) or done.called:
                break
            await deferLater(reactor, 0.05)
        self.assertTrue(os.path.exists(started), "the tool never started")
        await deferToThread(stopProcess, relay)
        second = await deferToThread(start, port=relay.port, upstream=self.upstreamURL,
                                     api_key=RELAY_KEY, store="memory")
        self.addCleanup(stopProcess, second)
        with open(os.path.join(environment.workdir, "go"), "w"):
            pass
        run = await done
        self.assertAnswered(run, answer)

        self.assertEqual(len(self.chat), 2)
        last = self.chat[1].json
        self.assertIn("restarted-ok", answering(last, SHELL_CALL)["content"])
        self.assertIs(last["messages"][-2], assistantCalling(last, SHELL_CALL))
        connections = tap.connections
        self.assertServedOverWebSocket(tap, connections)
        self.assertEqual(len(connections), 2, describeWire(connections))
        # The old connection: prewarm and the turn; the new one: no
        # prewarm, the whole history, no previous_response_id.
        self.assertEqual(len(connections[0].messages()), 2, describeWire(connections))
        resent = connections[1].messages()
        self.assertEqual(len(resent), 1, describeWire(connections))
        self.assertNotIn("previous_response_id", resent[0])
        self.assertEqual([i["type"] for i in resent[0]["input"]][-2:],
                         ["function_call", "function_call_output"])
        self.assertIn("Run the command.", json.dumps(resent[0]["input"]))
