"""
The openai SDK through the relay (see L{tests.harness.sdk}), endings
other than completed: an upstream that breaks off mid-stream gives
C{response.failed}, C{finish_reason: length} gives
C{response.incomplete}.
"""

from typing import Any

import openai

from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.sdk import MODEL, SDKTestCase
from tests.harness.upstream import Drop, Stream


class SDKEndingTests(SDKTestCase):
    """
    Streams that end failed or incomplete, as the SDK sees them.
    """

    async def assertFailedMidStream(self, reply: Stream, message: str) -> None:
        """
        C{reply} breaks off after some text: the stream ends with
        response.failed, and get_final_response() raises as the SDK does
        without response.completed.
        """
        self.upstream.queue(reply, reply)

        def run(client: openai.OpenAI) -> tuple[list[Any], BaseException]:
            with client.responses.stream(model=MODEL, input="Tell me") as stream:
                events = list(stream)
                try:
                    stream.get_final_response()
                except RuntimeError as e:
                    return events, e
                raise AssertionError("get_final_response() did not raise")

        events, error = await self.sdk(run)
        self.assertEqual(str(error), "Didn't receive a `response.completed` event.")
        last = events[-1]
        self.assertEqual(last.type, "response.failed")
        self.assertEqual(last.response.status, "failed")
        self.assertEqual(last.response.error.code, "server_error")
        self.assertEqual(last.response.error.message, message)
        [partial] = last.response.output
        self.assertEqual(partial.status, "incomplete")
        self.assertEqual(partial.content[0].text, "Partial ")
        self.assertEqual(self.sdkEvents()[-1]["type"], "response.failed")
        await self.replayRaw()

    async def test_errorChunkMidStream(self) -> None:
        await self.assertFailedMidStream(
            Stream([text("Partial "),
                    {"error": {"message": "Upstream overloaded.", "type": "server_error"}}],
                   done=False),
            "Upstream overloaded.")

    async def test_endedMidStream(self) -> None:
        """
        A body that ends cleanly without a finish_reason or C{[DONE]}.
        """
        await self.assertFailedMidStream(
            Stream([text("Partial ")], done=False),
            "The upstream stream ended before the response was complete.")

    async def test_droppedMidStream(self) -> None:
        """
        A connection cut in the middle of the chunked body.
        """
        await self.assertFailedMidStream(
            Drop([text("Partial ")]), "The upstream closed the connection before the response was complete.")

    async def test_lengthIsIncomplete(self) -> None:
        """
        C{finish_reason: length} ends the stream with response.incomplete,
        reason max_output_tokens.
        """
        reply = Stream([text("Once upon"), finish("length"),
                        chunk(choices=False, usage=usage(7, 5))])
        self.upstream.queue(reply, reply)
        events = await self.sdk(lambda c: list(c.responses.create(
            model=MODEL, input="A long story", max_output_tokens=5, stream=True)))
        last = events[-1]
        self.assertEqual(last.type, "response.incomplete")
        self.assertEqual(last.response.status, "incomplete")
        self.assertEqual(last.response.incomplete_details.reason, "max_output_tokens")
        self.assertEqual(last.response.output_text, "Once upon")
        self.assertEqual(last.response.output[0].status, "incomplete")
        self.assertEqual(last.response.usage.output_tokens, 5)
        self.assertEqual(self.chatRequests()[0].json["max_tokens"], 5)
        self.assertEqual(sum(e.type.startswith("response.incomplete") for e in events), 1)
        await self.replayRaw()
