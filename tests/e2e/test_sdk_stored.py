"""
The openai SDK through the relay (see L{tests.harness.sdk}), stored
responses: a conversation of three turns chained by C{previous_response_id}
(a reasoned tool call, its output, a follow-up), streamed and not, then
C{responses.retrieve}, C{input_items.list} paged by the SDK, and
C{responses.delete}; and another credential seeing none of it.  Once with
the memory store and once with SQLite in a temporary directory.
"""

import os
from typing import TYPE_CHECKING, Any

import httpx2
import openai
from openai.types.responses import Response, ResponseFunctionToolCall, ResponseReasoningItem

from codex_relay import RelayConfig, TranslationSettings
from tests.harness.chunks import WEATHER_TOOL
from tests.harness.requests import output as functionCallOutput
from tests.harness.sdk import SECRET, SDKTestCase
from tests.harness.sockets import RecordingTransport, serveRelay, serveUpstream, webClient
from tests.harness.storeprocs import (
    CALL, THANKS_TURN, THOUGHT, TOOL_TURN, WEATHER_TURN, ScriptedAnswers, createResponse)
from tests.harness.upstream import ScriptedUpstream

if TYPE_CHECKING:
    _Base = SDKTestCase
else:
    _Base = object

OTHER_KEY = "sk-another-client"
QUESTION = [{"role": "user", "content": "I live in Norway."},
            {"role": "user", "content": "It is winter."},
            {"role": "user", "content": "Weather in Oslo?"}]


class StoredSDKMixin(_Base):
    """
    The conversation tests, for a store from L{storeSpec}.
    """

    def storeSpec(self) -> str:
        raise NotImplementedError()

    async def setUp(self) -> None:
        self.answers = ScriptedAnswers(TOOL_TURN, WEATHER_TURN, THANKS_TURN)
        self.upstream = ScriptedUpstream(self.answers)
        upstreamURL = await serveUpstream(self, self.upstream)
        self.service, self.relayURL = await serveRelay(self, RelayConfig(
            upstream=upstreamURL, profile="deepseek", store=self.storeSpec(),
            translation=TranslationSettings(secret=SECRET)))
        await self.service.opened
        self.transport = RecordingTransport()
        self.client = self.makeClient(maxRetries=0)
        self.other = openai.OpenAI(
            api_key=OTHER_KEY, base_url=self.relayURL, max_retries=0, timeout=10.0,
            _strict_response_validation=True,
            http_client=httpx2.Client(transport=self.transport))
        self.addCleanup(self.other.close)
        self.web = webClient(self)
        self.addCleanup(self.checkExchanges)

    async def create(self, streaming: bool, client: openai.OpenAI | None = None,
                     **request: Any) -> Response:
        """
        C{responses.create(**request)}: the Response itself, or the one in
        the terminal event of the stream (each event checked by the oracle).
        """
        response = await self.sdk(lambda c: createResponse(c, streaming, **request), client)
        if streaming:
            self.sdkEvents()
        return response

    async def conversation(self, streaming: bool) -> list[Response]:
        """
        Three turns chained by id; what the upstream got each time is the
        whole Chat history.
        """
        first = await self.create(streaming, input=QUESTION, tools=[WEATHER_TOOL])
        thinking, call = first.output
        self.assertIsInstance(thinking, ResponseReasoningItem)
        self.assertEqual([s.text for s in thinking.summary], [THOUGHT])
        self.assertIsInstance(call, ResponseFunctionToolCall)
        self.assertEqual(call.call_id, "call_oslo")
        self.assertIsNone(first.previous_response_id)

        second = await self.create(streaming, previous_response_id=first.id,
                                   tools=[WEATHER_TOOL],
                                   input=[functionCallOutput("call_oslo", "3C")])
        self.assertEqual(second.output_text, "It is 3C in Oslo.")
        self.assertEqual(second.previous_response_id, first.id)

        third = await self.create(streaming, previous_response_id=second.id,
                                  tools=[WEATHER_TOOL], input="Thanks!")
        self.assertEqual(third.output_text, "You are welcome.")
        self.assertEqual(third.previous_response_id, second.id)

        users = [{"role": "user", "content": m["content"]} for m in QUESTION]
        calling = {"role": "assistant", "content": None, "reasoning_content": THOUGHT,
                   "tool_calls": [CALL]}
        tool = {"role": "tool", "tool_call_id": "call_oslo", "content": "3C"}
        answered = {"role": "assistant", "content": "It is 3C in Oslo."}
        sent = [r.json for r in self.chatRequests()]
        self.assertEqual([body["messages"] for body in sent], [
            users,
            [*users, calling, tool],
            [*users, calling, tool, answered, {"role": "user", "content": "Thanks!"}],
        ])
        for body in sent:
            self.assertIs(body["stream"], streaming)
            self.assertEqual(body["tools"][0]["function"]["name"], "get_weather")
        self.assertEqual(self.answers.pending, [])
        return [first, second, third]

    async def readBack(self, responses: list[Response]) -> None:
        """
        Retrieve, list the input items a page at a time, delete.
        """
        first, second, third = responses
        for response in responses:
            retrieved = await self.sdk(lambda c: c.responses.retrieve(response.id))
            self.assertIsInstance(retrieved, Response)
            self.assertEqual(retrieved.model_dump(), response.model_dump())

        page = await self.sdk(lambda c: c.responses.input_items.list(first.id, limit=2))
        self.assertEqual(len(page.data), 2)
        self.assertTrue(page.has_next_page())
        # Newest first by default; the SDK pages on with after=<last id>.
        items = await self.sdk(lambda c: list(c.responses.input_items.list(first.id,
                                                                            limit=2)))
        self.assertEqual([i.content[0].text for i in items],
                         ["Weather in Oslo?", "It is winter.", "I live in Norway."])
        self.assertEqual([(i.type, i.role, i.status) for i in items],
                         [("message", "user", "completed")] * 3)
        self.assertEqual(len({i.id for i in items}), 3)
        self.assertIn("after=" + items[1].id, self.exchanges[-1].url)
        self.assertEqual(items[:2], page.data)
        ascending = await self.sdk(lambda c: list(c.responses.input_items.list(
            first.id, limit=2, order="asc")))
        self.assertEqual([i.id for i in ascending], [i.id for i in reversed(items)])
        rest = await self.sdk(lambda c: c.responses.input_items.list(
            first.id, order="asc", after=ascending[0].id))
        self.assertEqual(rest.data, ascending[1:])
        self.assertFalse(rest.has_more)

        [thanks] = await self.sdk(lambda c: list(c.responses.input_items.list(
            third.id, include=["message.input_image.image_url"])))
        self.assertEqual(thanks.content[0].text, "Thanks!")

        self.assertIsNone(await self.sdk(lambda c: c.responses.delete(third.id)))
        with self.assertRaises(openai.NotFoundError):
            await self.sdk(lambda c: c.responses.retrieve(third.id))
        with self.assertRaises(openai.NotFoundError):
            await self.sdk(lambda c: c.responses.input_items.list(third.id))
        with self.assertRaises(openai.NotFoundError):
            await self.sdk(lambda c: c.responses.delete(third.id))
        with self.assertRaises(openai.BadRequestError) as caught:
            await self.create(False, previous_response_id=third.id, input="More?")
        self.assertEqual(caught.exception.code, "previous_response_not_found")
        # The rest of the chain is still there.
        retrieved = await self.sdk(lambda c: c.responses.retrieve(second.id))
        self.assertEqual(retrieved.id, second.id)

    async def isolated(self, responses: list[Response], streaming: bool) -> None:
        """
        Another api_key sees none of the responses, and cannot continue
        them; they stay whole for their owner.
        """
        before = len(self.chatRequests())
        for response in responses:
            with self.assertRaises(openai.NotFoundError) as caught:
                await self.sdk(lambda c: c.responses.retrieve(response.id), self.other)
            self.assertEqual(caught.exception.code, "not_found")
            self.assertNotIn("Oslo", str(caught.exception.body))
            with self.assertRaises(openai.NotFoundError):
                await self.sdk(lambda c: c.responses.input_items.list(response.id),
                               self.other)
            with self.assertRaises(openai.NotFoundError):
                await self.sdk(lambda c: c.responses.delete(response.id), self.other)
            with self.assertRaises(openai.BadRequestError) as refused:
                await self.create(streaming, self.other,
                                  previous_response_id=response.id, input="Go on")
            self.assertEqual(refused.exception.code, "previous_response_not_found")
            self.assertEqual(refused.exception.param, "previous_response_id")
        self.assertEqual(len(self.chatRequests()), before)
        for response in responses:
            mine = await self.sdk(lambda c: c.responses.retrieve(response.id))
            self.assertEqual(mine.id, response.id)

    async def test_streamed(self) -> None:
        """
        Streamed turns: chained, read back, deleted.
        """
        responses = await self.conversation(streaming=True)
        await self.readBack(responses)

    async def test_created(self) -> None:
        """
        Whole (non-streaming) turns: chained, read back, deleted.
        """
        responses = await self.conversation(streaming=False)
        await self.readBack(responses)

    async def test_anotherKeyStreamed(self) -> None:
        await self.isolated(await self.conversation(streaming=True), streaming=True)

    async def test_anotherKeyCreated(self) -> None:
        await self.isolated(await self.conversation(streaming=False), streaming=False)

    async def test_storeFalse(self) -> None:
        """
        C{store=False}: nothing to retrieve, nothing to continue.
        """
        response = await self.create(False, input=QUESTION, tools=[WEATHER_TOOL],
                                     store=False)
        with self.assertRaises(openai.NotFoundError):
            await self.sdk(lambda c: c.responses.retrieve(response.id))
        with self.assertRaises(openai.BadRequestError) as caught:
            await self.create(True, previous_response_id=response.id, input="More?")
        self.assertEqual(caught.exception.code, "previous_response_not_found")
        self.assertEqual(len(self.chatRequests()), 1)

    # Relay bugs: the listings below fail the SDK's validation.

    async def test_toolItemsListed(self) -> None:
        """
        Tool items the client sent (a function_call without a status, as
        Codex sends it, and a function_call_output) are listed as the SDK's
        ResponseItems, which require C{status}.
        """
        self.answers.pending = [(None, "Done.", None)]
        resent = await self.create(True, tools=[WEATHER_TOOL], input=[
            *QUESTION, {"type": "function_call", "call_id": "call_oslo",
                        "name": "get_weather", "arguments": '{"city":"Oslo"}'},
            functionCallOutput("call_oslo", "3C")])
        listed = await self.sdk(lambda c: list(c.responses.input_items.list(
            resent.id, order="asc")))
        call, output = listed[3:]
        self.assertEqual((call.type, call.call_id, call.status),
                         ("function_call", "call_oslo", "completed"))
        self.assertEqual((output.type, output.call_id, output.output),
                         ("function_call_output", "call_oslo", "3C"))


    async def test_referenceListed(self) -> None:
        """
        An C{item_reference} in the input is listed as the item it named
        (an C{item_reference} is no ResponseItem).
        """
        self.answers.pending = [(None, "Hello.", None), (None, "Again.", None)]
        first = await self.create(False, input="Hi")
        second = await self.create(False, input=[
            {"role": "user", "content": "Hi"},
            {"type": "item_reference", "id": first.output[0].id},
            {"role": "user", "content": "Once more"}])
        self.assertEqual([m["content"] for m in self.chatRequests()[1].json["messages"]],
                         ["Hi", "Hello.", "Once more"])
        listed = await self.sdk(lambda c: list(c.responses.input_items.list(
            second.id, order="asc")))
        named = listed[1]
        self.assertEqual((named.type, named.id, named.role, named.content[0].text),
                         ("message", first.output[0].id, "assistant", "Hello."))



class MemoryStoredSDKTests(StoredSDKMixin, SDKTestCase):
    def storeSpec(self) -> str:
        return "memory"


class SQLiteStoredSDKTests(StoredSDKMixin, SDKTestCase):
    def storeSpec(self) -> str:
        directory = self.mktemp()
        os.makedirs(directory)
        return "sqlite:" + os.path.join(directory, "responses.sqlite3")

