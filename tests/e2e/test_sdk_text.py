"""
The openai SDK through the relay (see L{tests.harness.sdk}), text
answers: created whole, streamed and iterated, accumulated by
C{responses.stream()}; instructions and developer messages; the model
list.
"""

import json

import openai
from openai.types.responses import Response, ResponseOutputMessage

from tests.harness import oracle
from tests.harness.chunks import chunk, completion, finish, text, usage
from tests.harness.sdk import CLIENT_KEY, MODEL, SDKTestCase
from tests.harness.upstream import JSONReply, Stream


class SDKTextTests(SDKTestCase):
    """
    Text answers and the messages they answer, through the SDK.
    """

    async def test_createText(self) -> None:
        """
        Non-streaming C{responses.create()} returns a validated Response; the
        upstream is asked without streaming.
        """
        self.upstream.queue(JSONReply(completion("Hello, world!", usage=usage(12, 5))))
        response = await self.sdk(lambda c: c.responses.create(model=MODEL, input="Say hello"))
        self.assertIsInstance(response, Response)
        self.assertEqual(response.status, "completed")
        self.assertEqual(response.output_text, "Hello, world!")
        self.assertEqual(len(response.output), 1)
        self.assertIsInstance(response.output[0], ResponseOutputMessage)
        self.assertEqual((response.usage.input_tokens, response.usage.output_tokens,
                          response.usage.total_tokens), (12, 5, 17))
        [sent] = self.chatRequests()
        self.assertEqual(sent.json["model"], MODEL)
        self.assertIs(sent.json["stream"], False)
        self.assertEqual(sent.json["messages"], [{"role": "user", "content": "Say hello"}])
        self.assertEqual(sent.headers["authorization"], "Bearer " + CLIENT_KEY)
        raw = json.loads(self.exchanges[-1].body)
        oracle.checkResponse(raw)
        self.assertEqual(raw["id"], response.id)

    async def test_createStreamIterated(self) -> None:
        """
        C{responses.create(stream=True)} yields the canonical event sequence
        of a text answer.
        """
        reply = Stream([text("Hel"), text("lo, "), text("world!"), finish("stop"),
                        chunk(choices=False, usage=usage(9, 3))])
        self.upstream.queue(reply, reply)
        events = await self.sdk(lambda c: list(c.responses.create(
            model=MODEL, input="Say hello", stream=True)))
        self.assertEqual([e.type for e in events], [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ])
        self.assertEqual([e.sequence_number for e in events], list(range(11)))
        self.assertEqual([e.delta for e in events if e.type == "response.output_text.delta"],
                         ["Hel", "lo, ", "world!"])
        final = events[-1].response
        self.assertEqual(final.status, "completed")
        self.assertEqual(final.output_text, "Hello, world!")
        self.assertEqual(final.usage.total_tokens, 12)
        self.assertIs(self.chatRequests()[0].json["stream"], True)
        self.assertEqual(self.chatRequests()[0].json["stream_options"],
                         {"include_usage": True})
        self.assertEqual(self.sdkEvents()[-1]["response"]["id"], final.id)
        await self.replayRaw()

    async def test_streamText(self) -> None:
        """
        C{responses.stream()} accumulates the text into the final response.
        """
        reply = Stream([text("Bonjour"), text(" !"), finish("stop")])
        self.upstream.queue(reply, reply)

        def run(client: openai.OpenAI) -> tuple[list[str], Response]:
            with client.responses.stream(model=MODEL, input="Say hello") as stream:
                deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
                return deltas, stream.get_final_response()

        deltas, final = await self.sdk(run)
        self.assertEqual(deltas, ["Bonjour", " !"])
        self.assertEqual(final.output_text, "Bonjour !")
        self.assertEqual(final.status, "completed")
        # No usage upstream: the relay estimates it rather than sending none.
        self.assertGreater(final.usage.input_tokens, 0)
        self.assertGreater(final.usage.output_tokens, 0)
        self.sdkEvents()
        await self.replayRaw()

    async def test_instructionsAndDeveloperMessages(self) -> None:
        """
        Instructions come first, then developer and user messages in order.
        """
        self.upstream.queue(JSONReply(completion("Oui.")))
        response = await self.sdk(lambda c: c.responses.create(
            model=MODEL, instructions="You are terse.", input=[
                {"role": "developer", "content": "Answer in French."},
                {"role": "user", "content": "Is it raining?"},
                {"role": "developer", "content": "Never use emoji."},
                {"role": "user", "content": [{"type": "input_text", "text": "Well?"}]},
            ]))
        self.assertEqual(response.output_text, "Oui.")
        self.assertEqual(response.instructions, "You are terse.")
        self.assertEqual(self.chatRequests()[0].json["messages"], [
            {"role": "system", "content": "You are terse."},
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Is it raining?"},
            {"role": "system", "content": "Never use emoji."},
            {"role": "user", "content": "Well?"},
        ])

    async def test_modelsList(self) -> None:
        """
        C{models.list()} goes through the relay to the upstream's list.
        """
        page = await self.sdk(lambda c: c.models.list())
        self.assertEqual([(m.id, m.owned_by) for m in page.data], [("model-a", "test")])
        [sent] = self.upstream.requests
        self.assertEqual((sent.method, sent.path), ("GET", "/v1/models"))
        self.assertEqual(sent.headers["authorization"], "Bearer " + CLIENT_KEY)
