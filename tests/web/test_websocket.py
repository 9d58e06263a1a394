"""
Responses over WebSocket, on real loopback sockets: Codex's protocol (a
C{generate: false} prewarm, turns chained by C{previous_response_id} with
only the new input, one event per text frame), the connection's own chain
with C{store: false}, the store when the chain moves to another connection,
bad messages, and a dropped connection cancelling the upstream.
"""

import json
from typing import Any

from tests.harness.chunks import finish, reasoning, text, toolCall
from tests.harness.loopback import LoopbackTestCase, eventually
from tests.harness.memory import HELLO
from tests.harness.oracle import checkEvents
from tests.harness.replies import Hang, Stream
from tests.harness.websocket import connectWebSocket

TOOLS = [{"type": "function", "name": "shell", "parameters": {"type": "object"}}]
BASE = {"model": "model-a", "tools": TOOLS, "store": False, "stream": True}
BASE_PROMPT = {"type": "message", "role": "developer",
               "content": [{"type": "input_text", "text": "base instructions"}]}


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


class WebSocketTests(LoopbackTestCase):
    async def setUp(self) -> None:  # type: ignore[override]
        super().setUp()
        await self.setUpRelay(store="memory")

    async def answer(self, client: Any, **body: Any) -> list[dict[str, Any]]:
        client.create(**dict(BASE, **body))
        return await client.nextAnswer()

    def messages(self, index: int = -1) -> list[tuple[str, Any]]:
        return [(m["role"], m.get("content") or m.get("tool_calls"))
                for m in self.upstream.requests[index].json["messages"]]

    async def test_codexSession(self) -> None:
        """
        Prewarm, a turn that calls a tool, and the turn that answers it with
        only the tool's output: the upstream sees the whole conversation,
        as over HTTP, and every answer is a valid event stream.
        """
        client = await connectWebSocket(self, self.url)
        prewarm = await self.answer(client, generate=False, input=[BASE_PROMPT])
        self.assertEqual([e["type"] for e in prewarm],
                         ["response.created", "response.in_progress", "response.completed"])
        checkEvents(prewarm)
        self.assertEqual(prewarm[-1]["response"]["output"], [])
        self.assertEqual(self.upstream.requests, [])

        self.upstream.queue(Stream([reasoning("hmm"),
                                    toolCall(0, "call_1", "shell", '{"cmd":"ls"}'),
                                    finish("tool_calls")]))
        first = await self.answer(client, input=[user("list files")],
                                  previous_response_id=prewarm[-1]["response"]["id"])
        checkEvents(first)
        [call] = [i for i in first[-1]["response"]["output"] if i["type"] == "function_call"]

        self.upstream.queue(Stream(HELLO))
        second = await self.answer(client, previous_response_id=first[-1]["response"]["id"],
                                   input=[{"type": "function_call_output",
                                           "call_id": call["call_id"], "output": "a b"}])
        checkEvents(second)
        self.assertEqual(second[-1]["type"], "response.completed")
        messages = self.upstream.requests[-1].json["messages"]
        self.assertEqual([m["role"] for m in messages],
                         ["system", "user", "assistant", "tool"])
        self.assertEqual(messages[0]["content"], "base instructions")
        self.assertEqual(messages[2]["tool_calls"][0]["id"], "call_1")
        self.assertEqual(messages[3]["content"], "a b")

    async def test_oneEventPerFrame(self) -> None:
        client = await connectWebSocket(self, self.url)
        self.upstream.queue(Stream(HELLO))
        events = await self.answer(client, input=[user("hi")])
        self.assertEqual([e["type"] for e in events][:2],
                         ["response.created", "response.in_progress"])
        self.assertEqual(len(client.messages), len(events))
        self.assertEqual([e["sequence_number"] for e in events], list(range(len(events))))

    async def test_storeFalseChainStaysOnItsConnection(self) -> None:
        """
        With C{store: false} the chain lives on its connection only: another
        connection gets C{previous_response_not_found}, as Codex expects
        (it then resends the whole history).
        """
        client = await connectWebSocket(self, self.url)
        self.upstream.queue(Stream(HELLO))
        first = await self.answer(client, input=[user("hi")])
        other = await connectWebSocket(self, self.url)
        [error] = await self.answer(other, input=[user("again")],
                                    previous_response_id=first[-1]["response"]["id"])
        self.assertEqual(error["type"], "error")
        self.assertEqual(error["status"], 400)
        self.assertEqual(error["error"]["code"], "previous_response_not_found")
        self.assertEqual(error["error"]["param"], "previous_response_id")
        self.assertEqual(len(self.upstream.requests), 1)

    async def test_storedChainMovesToAnotherConnection(self) -> None:
        client = await connectWebSocket(self, self.url)
        self.upstream.queue(Stream(HELLO))
        first = await self.answer(client, input=[user("hi")], store=True)
        client.drop()
        other = await connectWebSocket(self, self.url)
        self.upstream.queue(Stream(HELLO))
        await self.answer(other, input=[user("again")],
                          previous_response_id=first[-1]["response"]["id"])
        self.assertEqual(self.messages(), [("user", "hi"), ("assistant", "Hello"),
                                           ("user", "again")])

    async def test_anotherCredential(self) -> None:
        mine = await connectWebSocket(self, self.url, {"Authorization": "Bearer mine"})
        self.upstream.queue(Stream(HELLO))
        first = await self.answer(mine, input=[user("hi")], store=True)
        theirs = await connectWebSocket(self, self.url, {"Authorization": "Bearer theirs"})
        [error] = await self.answer(theirs, input=[user("x")],
                                    previous_response_id=first[-1]["response"]["id"])
        self.assertEqual(error["error"]["code"], "previous_response_not_found")

    async def test_badMessages(self) -> None:
        """
        Malformed JSON, a binary message, an unknown type and a bad field
        each get an C{error} event, and the connection goes on.
        """
        client = await connectWebSocket(self, self.url)
        for message, code in (("{nope", "invalid_json"), (b"\x00\x01", "invalid_message"),
                              ('{"type": "response.cancel"}', "invalid_message"),
                              ("[1]", "invalid_message"),
                              (json.dumps(dict(BASE, type="response.create", input=5)),
                               "invalid_type"),
                              (json.dumps({"type": "response.create", "generate": 1}),
                               "invalid_type")):
            client.send(message)
            [error] = await client.nextAnswer()
            self.assertEqual((error["type"], error["status"], error["error"]["code"]),
                             ("error", 400, code), message)
        self.upstream.queue(Stream(HELLO))
        events = await self.answer(client, input=[user("still here")])
        self.assertEqual(events[-1]["type"], "response.completed")

    async def test_tooLarge(self) -> None:
        self.url, self.service = await self.startRelay(self.upstreamURL, maxBodyBytes=1000)
        client = await connectWebSocket(self, self.url)
        client.create(**dict(BASE, input=[user("x" * 2000)]))
        await client.lost
        self.assertEqual(client.closeCode, 1009)

    async def test_inTurn(self) -> None:
        """
        A request sent while another is in progress waits for it.
        """
        client = await connectWebSocket(self, self.url)
        self.upstream.queue(Stream(HELLO, interval=0.05),
                            Stream([text("second"), finish("stop")]))
        client.create(**dict(BASE, input=[user("one")]))
        client.create(**dict(BASE, input=[user("two")]))
        first, second = await client.nextAnswer(), await client.nextAnswer()
        self.assertEqual(first[-1]["response"]["output"][0]["content"][0]["text"], "Hello")
        self.assertEqual(second[-1]["response"]["output"][0]["content"][0]["text"], "second")
        self.assertEqual([r.json["messages"][-1]["content"] for r in self.upstream.requests],
                         ["one", "two"])

    async def test_tooManyWaiting(self) -> None:
        client = await connectWebSocket(self, self.url)
        self.upstream.queue(Hang())
        for n in range(6):
            client.create(**dict(BASE, input=[user(str(n))]))
        [refused] = await client.nextAnswer()
        self.assertEqual(refused["error"]["code"], "too_many_pending")

    async def test_dropCancelsUpstream(self) -> None:
        client = await connectWebSocket(self, self.url)
        self.upstream.queue(Hang(chunks=[text("a")]))
        disconnected = self.upstream.whenDisconnected()
        client.create(**dict(BASE, input=[user("hi")]))
        await eventually(lambda: any(m["type"] == "response.output_text.delta"
                                     for m in client.messages), "the first delta")
        client.drop()
        await disconnected
        self.assertEqual(self.upstream.disconnects, 1)

    async def test_upstreamErrorBeforeStream(self) -> None:
        """
        An upstream refusal before any event is an C{error} event with its
        status, not a closed connection.
        """
        client = await connectWebSocket(self, self.url)
        [error] = await self.answer(client, input=[user("hi")])  # nothing queued: 500
        self.assertEqual(error["type"], "error")
        self.assertGreaterEqual(error["status"], 500)
