"""
Stored responses across relay processes (see L{tests.harness.storeprocs}):
a conversation on a SQLite file outlives the relay that began it, with the
relay's secret given or kept beside the database; two relays sharing one
real C{redis-server} continue, read and delete each other's responses when
they share a secret, and see none of them when they do not.

The Redis tests skip loudly when C{redis-server} is missing, and fail
under CI (L{tests.harness.store.startRedis}).
"""

import os
import stat
from typing import Any

import openai
from openai.types.responses import Response
from twisted.trial.unittest import TestCase

from tests.harness.chunks import WEATHER_TOOL
from tests.harness.requests import output as functionCallOutput
from tests.harness.store import startRedis
from tests.harness.storeprocs import (
    CALL, THANKS_TURN, THOUGHT, TOOL_TURN, WEATHER_TURN, chatMessages, createResponse,
    sdk, sdkClient, serveAnswers, startRelay, stopRelay)

SECRET = "a-secret-the-relays-share"
QUESTION = [{"role": "user", "content": "I live in Norway."},
            {"role": "user", "content": "Weather in Oslo?"}]
USERS = [{"role": "user", "content": m["content"]} for m in QUESTION]
CALLING = {"role": "assistant", "content": None, "reasoning_content": THOUGHT,
           "tool_calls": [CALL]}
TOOL = {"role": "tool", "tool_call_id": "call_oslo", "content": "3C"}
ANSWERED = {"role": "assistant", "content": "It is 3C in Oslo."}
THANKS = {"role": "user", "content": "Thanks!"}


class StoreProcessCase(TestCase):
    timeout = 90

    def database(self) -> str:
        """
        A SQLite file (not yet made) in a new temporary directory.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        return os.path.join(directory, "r.sqlite3")

    async def upstream(self) -> str:
        self.answers, self.scripted, url = await serveAnswers(self)
        return url

    def messages(self) -> list[list[dict[str, Any]]]:
        return chatMessages(self.scripted)

    async def ask(self, client: openai.OpenAI, streaming: bool, answer: Any,
                  **request: Any) -> Response:
        self.answers.add(answer)
        response = await sdk(createResponse, client, streaming, tools=[WEATHER_TOOL],
                             **request)
        self.assertEqual(response.status, "completed")
        return response

    async def assertGone(self, client: openai.OpenAI, responseId: str) -> None:
        """
        C{client} can neither retrieve nor continue C{responseId}.
        """
        asked = len(self.messages())
        with self.assertRaises(openai.NotFoundError) as caught:
            await sdk(client.responses.retrieve, responseId)
        self.assertEqual(caught.exception.code, "not_found")
        with self.assertRaises(openai.NotFoundError):
            await sdk(client.responses.input_items.list, responseId)
        with self.assertRaises(openai.BadRequestError) as refused:
            await sdk(createResponse, client, False, previous_response_id=responseId,
                      input="Go on")
        self.assertEqual(refused.exception.code, "previous_response_not_found")
        self.assertEqual(len(self.messages()), asked)

    async def relaysOn(self, store: str, secretA: str, secretB: str) -> tuple[Any, Any]:
        """
        Clients of two relays, A and B, on one C{store}.
        """
        url = await self.upstream()
        a = await startRelay(self, url, store=store, profile="deepseek", secret=secretA)
        b = await startRelay(self, url, store=store, profile="deepseek", secret=secretB)
        return sdkClient(self, a), sdkClient(self, b)

    async def assertSame(self, client: openai.OpenAI, response: Response) -> None:
        retrieved = await sdk(client.responses.retrieve, response.id)
        self.assertEqual(retrieved.model_dump(), response.model_dump())


class SQLiteRestartTests(StoreProcessCase):
    """
    A chain on a SQLite file, continued by a new relay process on the file.
    """

    async def survivesRestart(self, path: str, **options: Any) -> None:
        url = await self.upstream()
        options.update(store="sqlite:" + path, profile="deepseek")
        relay = await startRelay(self, url, **options)
        client = sdkClient(self, relay)
        first = await self.ask(client, True, TOOL_TURN, input=QUESTION)
        self.assertEqual([i.type for i in first.output], ["reasoning", "function_call"])
        self.assertEqual(await stopRelay(relay), 0)

        again = await startRelay(self, url, **options)
        self.assertNotEqual(again.pid, relay.pid)
        client = sdkClient(self, again)
        await self.assertSame(client, first)
        second = await self.ask(client, False, WEATHER_TURN, previous_response_id=first.id,
                                input=[functionCallOutput("call_oslo", "3C")])
        self.assertEqual(second.previous_response_id, first.id)
        self.assertEqual(self.messages(), [USERS, [*USERS, CALLING, TOOL]])
        listed = await sdk(lambda: list(client.responses.input_items.list(first.id)))
        self.assertEqual([i.content[0].text for i in listed],
                         ["Weather in Oslo?", "I live in Norway."])
        await sdk(client.responses.delete, second.id)
        await self.assertGone(client, second.id)
        await self.assertSame(client, first)
        self.assertEqual(await stopRelay(again), 0)

    async def test_withSecret(self) -> None:
        """
        With C{--secret}, the chain goes on after a restart; no secret file
        is written.
        """
        path = self.database()
        await self.survivesRestart(path, secret=SECRET)
        self.assertFalse(os.path.exists(path + ".secret"))

    async def test_withoutSecret(self) -> None:
        """
        Without C{--secret}, the relay keeps a random one beside the
        database (C{<db>.secret}, readable by its owner only), and the next
        relay on the file reads it back: the chain goes on.
        """
        path = self.database()
        await self.survivesRestart(path)
        mode = os.stat(path + ".secret").st_mode
        self.assertEqual(stat.S_IMODE(mode), 0o600)
        with open(path + ".secret") as kept:
            self.assertEqual(len(bytes.fromhex(kept.read().strip())), 32)

    async def test_anotherSecret(self) -> None:
        """
        A relay on the same file with another secret sees nothing of the
        first one's responses: the secret keys who owns them.
        """
        path = self.database()
        url = await self.upstream()
        relay = await startRelay(self, url, store="sqlite:" + path, secret=SECRET)
        first = await self.ask(sdkClient(self, relay), False, WEATHER_TURN, input=QUESTION)
        self.assertEqual(await stopRelay(relay), 0)
        other = await startRelay(self, url, store="sqlite:" + path, secret="another")
        await self.assertGone(sdkClient(self, other), first.id)
        self.assertEqual(self.answers.pending, [])


class SharedRedisTests(StoreProcessCase):
    """
    Two relay processes on one redis-server.
    """

    async def twoRelays(self, secretA: str, secretB: str) -> tuple[Any, Any]:
        redis = await startRedis(self)  # first: skips before anything starts
        return await self.relaysOn("redis://{}:{}/0".format(redis.host, redis.port),
                                   secretA, secretB)

    async def test_chainAcrossRelays(self) -> None:
        """
        With one secret, a chain begun on A goes on at B and back at A, the
        upstream seeing the whole conversation each time; B reads what A
        stored, and a deletion at B is seen at A.
        """
        a, b = await self.twoRelays(SECRET, SECRET)
        first = await self.ask(a, True, TOOL_TURN, input=QUESTION)
        second = await self.ask(b, False, WEATHER_TURN, previous_response_id=first.id,
                                input=[functionCallOutput("call_oslo", "3C")])
        third = await self.ask(a, True, THANKS_TURN, previous_response_id=second.id,
                               input="Thanks!")
        self.assertEqual(self.messages(), [
            USERS, [*USERS, CALLING, TOOL], [*USERS, CALLING, TOOL, ANSWERED, THANKS]])
        self.assertEqual((second.previous_response_id, third.previous_response_id),
                         (first.id, second.id))
        for response in (first, second, third):
            await self.assertSame(b, response)
            await self.assertSame(a, response)
        page = await sdk(b.responses.input_items.list, first.id, limit=1, order="asc")
        self.assertTrue(page.has_more)
        self.assertEqual(page.data[0].content[0].text, "I live in Norway.")

        # A kept its own third response close at hand: it must ask the store.
        self.assertIsNone(await sdk(b.responses.delete, third.id))
        await self.assertGone(a, third.id)
        await self.assertGone(b, third.id)
        with self.assertRaises(openai.NotFoundError):
            await sdk(a.responses.delete, third.id)
        await self.assertSame(a, second)

    async def test_anotherSecret(self) -> None:
        """
        With different secrets, B sees nothing of A's responses (404), and
        cannot delete them.
        """
        a, b = await self.twoRelays(SECRET, "another-secret")
        first = await self.ask(a, False, WEATHER_TURN, input=QUESTION)
        await self.assertGone(b, first.id)
        with self.assertRaises(openai.NotFoundError):
            await sdk(b.responses.delete, first.id)
        await self.assertSame(a, first)


class SharedSQLiteTests(StoreProcessCase):
    """
    Two relay processes on one SQLite file.
    """

    async def test_deletedEarlierResponse(self) -> None:
        """
        When an earlier response of a chain is deleted, the relays agree on
        whether the chain can still be continued: A, which made the chain,
        and B, which walks it in the store, answer alike.
        """
        a, b = await self.relaysOn("sqlite:" + self.database(), SECRET, SECRET)
        first = await self.ask(a, False, WEATHER_TURN, input=QUESTION)
        second = await self.ask(a, False, WEATHER_TURN, previous_response_id=first.id,
                                input="Again?")
        await sdk(b.responses.delete, first.id)
        outcomes = []
        for client in (a, b):
            self.answers.add(WEATHER_TURN)
            try:
                await sdk(createResponse, client, False, previous_response_id=second.id,
                          input="Once more?")
            except openai.BadRequestError as error:
                outcomes.append(error.code)
            else:
                outcomes.append("continued")
        self.assertEqual(outcomes[0], outcomes[1])

