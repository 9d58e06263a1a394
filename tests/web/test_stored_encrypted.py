"""
The C{encrypted_content} of a reasoning item through each response store:
the relay seals the upstream's reasoning in it (text, field and signed
C{reasoning_details}); the stored response comes back from C{GET
/v1/responses/{id}} with the blob unchanged; continued by
C{previous_response_id}, the blob is opened again and its reasoning goes
upstream in the profile's form.  On SQLite and Redis a second relay on the
same store (and secret) does the reading and the continuing, so only the
store can have kept the blob.

The Redis tests skip loudly when C{redis-server} is missing, and fail
under CI (L{tests.harness.store.startRedis}).
"""

import json
import os
from typing import Any

import treq
from twisted.internet import reactor

from codex_relay import TranslationSettings
from codex_relay._core.carrier import ReasoningCarrier
from tests.harness.chunks import chunk, finish, text, toolCall
from tests.harness.loopback import LoopbackTestCase
from tests.harness.memory import streamRequest
from tests.harness.oracle import checkStream
from tests.harness.replies import Stream
from tests.harness.store import startRedis
from tests.harness.upstream import ScriptedUpstream

SECRET = b"a-secret-both-relays-share"
THOUGHT = "The user wants the files: run ls."
DETAILS = [{"type": "reasoning.text", "text": THOUGHT, "signature": "sig-1",
            "format": "anthropic-claude-v1", "index": 0}]
TOOLS = [{"type": "function", "name": "shell", "parameters": {"type": "object"}}]
ARGUMENTS = '{"cmd":"ls"}'
INCLUDE = ["reasoning.encrypted_content"]
QUESTION = "list the files"


class EncryptedRoundTripCase(LoopbackTestCase):
    timeout = 30

    async def setUp(self) -> None:  # type: ignore[override]
        super().setUp()
        self.upstream = ScriptedUpstream(reactor=reactor)
        self.upstreamURL, _ = await self.startUpstream()
        self.client = self.makeClient()

    async def relay(self, store: str, profile: str) -> str:
        url, service = await self.startRelay(self.upstreamURL, store=store, profile=profile,
                                             translation=TranslationSettings(secret=SECRET))
        # Open before the next relay opens the same file: two connections
        # switching a new SQLite file to WAL at once may find it locked.
        await service.opened
        return url

    async def streamTo(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(url + "/v1/responses", json=body)
        content = await treq.content(response)
        self.assertEqual(response.code, 200, content[:500])
        events = checkStream(content)
        self.assertEqual(events[-1]["type"], "response.completed", events[-1])
        return events[-1]["response"]

    async def getJSON(self, url: str) -> Any:
        response = await self.client.get(url)
        content = await treq.content(response)
        self.assertEqual(response.code, 200, content[:500])
        return json.loads(content)

    def database(self) -> str:
        directory = self.mktemp()
        os.makedirs(directory)
        return os.path.join(directory, "r.sqlite3")

    async def roundTrip(self, store: str, profile: str, another: bool) -> dict[str, Any]:
        """
        A tool call turn with sealed reasoning on one relay; the stored
        response read back, then continued with the tool's output, on
        another relay of C{store} when C{another}.

        @return: the assistant message of the continuation, as the
            upstream received it.
        """
        first = await self.relay(store, profile)
        second = await self.relay(store, profile) if another else first
        self.upstream.queue(Stream([
            chunk({"reasoning": THOUGHT, "reasoning_details": DETAILS}),
            toolCall(0, "call_1", "shell", ARGUMENTS), finish("tool_calls")]))
        made = await self.streamTo(first, streamRequest(input=QUESTION, tools=TOOLS,
                                                        include=INCLUDE))
        thought, call = made["output"]
        self.assertEqual((thought["type"], call["type"]), ("reasoning", "function_call"))
        blob = thought["encrypted_content"]
        payload = ReasoningCarrier(SECRET).unseal(blob)
        assert payload is not None, blob
        self.assertEqual((payload["text"], payload["field"], payload["details"]),
                         (THOUGHT, "reasoning", DETAILS))

        kept = await self.getJSON("{}/v1/responses/{}".format(second, made["id"]))
        self.assertEqual(kept["output"][0]["encrypted_content"], blob)
        self.assertEqual(kept, made)

        self.upstream.queue(Stream([text("Done."), finish("stop")]))
        later = await self.streamTo(second, streamRequest(
            previous_response_id=made["id"], tools=TOOLS,
            input=[{"type": "function_call_output", "call_id": call["call_id"],
                    "output": "a b"}]))
        self.assertEqual(later["previous_response_id"], made["id"])
        self.assertEqual(len(self.upstream.requests), 2)
        user, assistant, tool = self.upstream.requests[-1].json["messages"]
        self.assertEqual(user, {"role": "user", "content": QUESTION})
        self.assertEqual(tool, {"role": "tool", "tool_call_id": "call_1", "content": "a b"})
        [sent] = assistant.pop("tool_calls")
        self.assertEqual((sent["id"], sent["function"]),
                         ("call_1", {"name": "shell", "arguments": ARGUMENTS}))
        return assistant

    async def openRouter(self, store: str, another: bool) -> None:
        """
        OpenRouter gets its signed C{reasoning_details} back unchanged:
        only the sealed blob holds them (the summary has the text alone).
        """
        assistant = await self.roundTrip(store, "openrouter", another)
        self.assertEqual(assistant, {"role": "assistant", "content": None,
                                     "reasoning_details": DETAILS})

    async def deepSeek(self, store: str, another: bool) -> None:
        """
        DeepSeek gets the reasoning text as C{reasoning_content}, which it
        requires on a tool call turn.
        """
        assistant = await self.roundTrip(store, "deepseek", another)
        self.assertEqual(assistant, {"role": "assistant", "content": None,
                                     "reasoning_content": THOUGHT})


class MemoryEncryptedTests(EncryptedRoundTripCase):
    async def test_openRouter(self) -> None:
        await self.openRouter("memory", False)

    async def test_deepSeek(self) -> None:
        await self.deepSeek("memory", False)


class SQLiteEncryptedTests(EncryptedRoundTripCase):
    async def test_openRouter(self) -> None:
        await self.openRouter("sqlite:" + self.database(), True)

    async def test_deepSeek(self) -> None:
        await self.deepSeek("sqlite:" + self.database(), True)


class RedisEncryptedTests(EncryptedRoundTripCase):
    async def redis(self) -> str:
        server = await startRedis(self)
        return "redis://{}:{}/0".format(server.host, server.port)

    async def test_openRouter(self) -> None:
        await self.openRouter(await self.redis(), True)

    async def test_deepSeek(self) -> None:
        await self.deepSeek(await self.redis(), True)
