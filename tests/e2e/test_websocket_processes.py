"""
A WebSocket chain moved to another relay process (see
L{tests.harness.storeprocs}): two relays share one store (a real
C{redis-server}, or one SQLite file) and a secret; a response made on a
WebSocket connection to relay A is continued on a connection to relay B
with only C{previous_response_id} and the new input.  B's connection never
saw the chain, so B reads it from the store, and its upstream request
holds the whole conversation; with C{store: false} the chain stayed on
A's connection, and B answers with an C{error} event.

The Redis tests skip loudly when C{redis-server} is missing, and fail
under CI (L{tests.harness.store.startRedis}).
"""

import json
import os
from typing import Any

import treq
from twisted.trial.unittest import TestCase

from tests.harness.chunks import WEATHER_TOOL
from tests.harness.oracleevents import checkEvents
from tests.harness.sockets import webClient
from tests.harness.store import startRedis
from tests.harness.storeprocs import (
    CALL, CLIENT_KEY, MODEL, THOUGHT, TOOL_TURN, WEATHER_TURN, chatMessages,
    serveAnswers, startRelay)
from tests.harness.websocket import WebSocketClient, connectWebSocket

SECRET = "a-secret-the-relays-share"
HEADERS = {"Authorization": "Bearer " + CLIENT_KEY}
QUESTION = "Weather in Oslo?"
USER = {"role": "user", "content": QUESTION}
CALLING = {"role": "assistant", "content": None, "reasoning_content": THOUGHT,
           "tool_calls": [CALL]}
TOOL = {"role": "tool", "tool_call_id": "call_oslo", "content": "3C"}


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def toolOutput(output: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": "call_oslo", "output": output}


class WebSocketAcrossRelaysCase(TestCase):
    """
    Two relay processes on one store, each with a WebSocket client.
    """

    timeout = 90

    async def store(self) -> str:
        """
        The store spec both relays are given.
        """
        raise NotImplementedError()

    async def setUp(self) -> None:  # type: ignore[override]
        spec = await self.store()  # first: a missing redis-server skips at once
        self.answers, self.scripted, url = await serveAnswers(self)
        self.relayA = await startRelay(self, url, store=spec, profile="deepseek",
                                       secret=SECRET)
        # A's store answers before B opens it: two relays making a new
        # SQLite file at the same instant may find it locked.
        await self.assertStoreAnswers(self.relayA)
        self.relayB = await startRelay(self, url, store=spec, profile="deepseek",
                                       secret=SECRET)

    async def assertStoreAnswers(self, relay: Any) -> None:
        """
        C{relay}'s store is open: an unknown response is 404 there, not a
        503 of a store that failed.
        """
        headers: dict[str | bytes, str | bytes] = {"Authorization": HEADERS["Authorization"]}
        response = await webClient(self).get(relay.base_url + "/responses/resp_none",
                                              headers=headers)
        body = await treq.content(response)
        self.assertEqual(response.code, 404, body[:500])
        self.assertEqual(json.loads(body)["error"]["code"], "not_found")

    async def connect(self, relay: Any) -> WebSocketClient:
        return await connectWebSocket(self, relay.base_url, HEADERS)

    async def answer(self, client: WebSocketClient, answer: Any,
                     **body: Any) -> list[dict[str, Any]]:
        """
        Send one C{response.create} (the upstream to answer with
        C{answer}, if any); the events up to its terminal one.
        """
        if answer is not None:
            self.answers.add(answer)
        client.create(**dict({"model": MODEL, "tools": [WEATHER_TOOL]}, **body))
        return await client.nextAnswer()

    def completed(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """
        The response of a valid, completed answer.
        """
        self.assertEqual(events[-1]["type"], "response.completed", events[-1])
        checkEvents(events)
        return events[-1]["response"]

    async def chainMovesToB(self) -> None:
        """
        A tool call turn on A, stored by default; its output sent to B by
        id: B's upstream request has the whole conversation, reasoning
        included, and B's response continues A's.
        """
        a = await self.connect(self.relayA)
        first = self.completed(await self.answer(a, TOOL_TURN, input=[user(QUESTION)]))
        self.assertEqual([item["type"] for item in first["output"]],
                         ["reasoning", "function_call"])
        b = await self.connect(self.relayB)
        second = self.completed(await self.answer(
            b, WEATHER_TURN, previous_response_id=first["id"], input=[toolOutput("3C")]))
        self.assertEqual(second["previous_response_id"], first["id"])
        self.assertEqual(chatMessages(self.scripted), [[USER], [USER, CALLING, TOOL]])
        self.assertEqual(self.answers.pending, [])

    async def unstoredChainStaysOnA(self) -> None:
        """
        With C{store: false} on A, B has nothing to continue: an C{error}
        event C{previous_response_not_found}, nothing sent upstream, and
        B's connection still serves.  A's own connection continues the
        chain.
        """
        a = await self.connect(self.relayA)
        first = self.completed(await self.answer(a, TOOL_TURN, input=[user(QUESTION)],
                                                 store=False))
        b = await self.connect(self.relayB)
        [error] = await self.answer(b, None, previous_response_id=first["id"],
                                    input=[toolOutput("3C")])
        self.assertEqual((error["type"], error["status"]), ("error", 400))
        self.assertEqual((error["error"]["code"], error["error"]["param"]),
                         ("previous_response_not_found", "previous_response_id"))
        self.assertIn(first["id"], error["error"]["message"])
        self.assertEqual(len(chatMessages(self.scripted)), 1)

        self.completed(await self.answer(b, WEATHER_TURN, input=[user("Hi")], store=False))
        self.completed(await self.answer(a, WEATHER_TURN, previous_response_id=first["id"],
                                         input=[toolOutput("3C")], store=False))
        self.assertEqual(chatMessages(self.scripted), [
            [USER], [{"role": "user", "content": "Hi"}], [USER, CALLING, TOOL]])


class RedisWebSocketTests(WebSocketAcrossRelaysCase):
    async def store(self) -> str:
        redis = await startRedis(self)
        return "redis://{}:{}/0".format(redis.host, redis.port)

    async def test_chainMovesToAnotherRelay(self) -> None:
        await self.chainMovesToB()

    async def test_unstoredChainStaysOnItsConnection(self) -> None:
        await self.unstoredChainStaysOnA()


class SQLiteWebSocketTests(WebSocketAcrossRelaysCase):
    async def store(self) -> str:
        directory = self.mktemp()
        os.makedirs(directory)
        return "sqlite:" + os.path.join(directory, "r.sqlite3")

    async def test_chainMovesToAnotherRelay(self) -> None:
        await self.chainMovesToB()

    async def test_unstoredChainStaysOnItsConnection(self) -> None:
        await self.unstoredChainStaysOnA()
