"""
The relay onto the real llama.cpp server (see L{tests.harness.llamarelay}),
plain text with the default translation settings: streamed and whole
answers with the server's usage, the model list, and context overflow.
"""

import json

import openai
from openai.types.responses import Response, ResponseOutputMessage

import treq

from tests.harness import oracle
from tests.harness.llamacpp import MODEL_ALIAS
from tests.harness.llamarelay import CLIENT_KEY, LlamaTestCase


class TextTests(LlamaTestCase):
    """
    Plain text, models and errors, with the relay's default translation
    settings (C{finish_reason: length} is C{response.incomplete}).
    """

    async def setUp(self) -> None:
        await super().setUp()
        await self.startRelay()

    async def test_streamedTextWithUsage(self) -> None:
        """
        A streamed text answer: the SDK's events carry the server's text and
        its usage; the ending follows the server's finish_reason (length:
        response.incomplete for max_output_tokens; stop: completed).  The
        same request sent again with plain treq gives an oracle-valid raw
        stream with the same events.
        """
        request = dict(model=MODEL_ALIAS, input="Say hello.", max_output_tokens=16,
                       temperature=0, stream=True)
        events = await self.sdk(lambda c: list(c.responses.create(**request)))
        [upstream] = self.proxy.chat()
        sent = upstream.json
        self.assertIs(sent["stream"], True)
        self.assertEqual(sent["stream_options"], {"include_usage": True})
        self.assertEqual((sent["max_tokens"], sent["temperature"]), (16, 0))
        self.assertEqual(upstream.status, 200)
        self.assertTrue(upstream.streamed, upstream.contentType)

        self.assertEqual([e.sequence_number for e in events], list(range(len(events))))
        final = events[-1].response
        if upstream.finishReason() == "length":
            self.assertEqual(events[-1].type, "response.incomplete")
            self.assertEqual(final.incomplete_details.reason, "max_output_tokens")
        else:
            self.assertEqual(upstream.finishReason(), "stop")
            self.assertEqual(events[-1].type, "response.completed")
        [message] = final.output
        self.assertIsInstance(message, ResponseOutputMessage)
        self.assertTrue(message.id.startswith("msg_"))
        self.assertEqual(final.output_text, upstream.deltas("content"))
        self.assertNotEqual(final.output_text, "")
        self.assertEqual("".join(e.delta for e in events
                                 if e.type == "response.output_text.delta"),
                         final.output_text)
        self.assertUsageFrom(final.usage, upstream)
        sdkEvents = self.sdkEvents()

        response = await self.web.post(
            self.relayURL + "/responses", json=request,
            headers={"Authorization": ["Bearer " + CLIENT_KEY]})
        body = await treq.content(response)
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type")[0].split(";")[0],
                         "text/event-stream")
        raw = oracle.checkStream(body)
        self.assertEqual([e["type"] for e in raw], [e["type"] for e in sdkEvents])
        self.assertEqual(raw[-1]["response"]["output"][0]["content"][0]["text"],
                         final.output_text)

    async def test_createText(self) -> None:
        """
        Without streaming, the relay asks the server for one completion and
        answers one Response with its text and usage.
        """
        response = await self.sdk(lambda c: c.responses.create(
            model=MODEL_ALIAS, input="Say hello.", max_output_tokens=8, temperature=0))
        self.assertIsInstance(response, Response)
        [upstream] = self.proxy.chat()
        self.assertIs(upstream.json["stream"], False)
        self.assertEqual(upstream.status, 200)
        self.assertFalse(upstream.streamed, upstream.contentType)
        self.assertEqual(response.status == "incomplete", upstream.finishReason() == "length")
        if response.status == "incomplete":
            self.assertEqual(response.incomplete_details.reason, "max_output_tokens")
        else:
            self.assertEqual(response.status, "completed")
        self.assertEqual(response.output_text,
                         upstream.completion()["choices"][0]["message"]["content"])
        self.assertNotEqual(response.output_text, "")
        self.assertUsageFrom(response.usage, upstream)
        oracle.checkResponse(json.loads(self.transport.exchanges[-1].body))

    async def test_modelsList(self) -> None:
        """
        C{GET /v1/models} through the relay lists the server's model.
        """
        page = await self.sdk(lambda c: c.models.list())
        self.assertIn(MODEL_ALIAS, [m.id for m in page.data])
        [sent] = self.proxy.exchanges
        self.assertEqual((sent.method, sent.path, sent.status), ("GET", "/v1/models", 200))

    async def test_contextOverflow(self) -> None:
        """
        A prompt larger than the server's context: llama.cpp answers 400
        C{exceed_context_size_error}, "request (N tokens) exceeds the
        available context size (M tokens), try increasing it", and the
        relay must answer C{context_length_exceeded}, the code Codex and
        SDK users act on.
        """
        with self.assertRaises(openai.BadRequestError) as caught:
            await self.sdk(lambda c: c.responses.create(
                model=MODEL_ALIAS, input="hello " * 20000, max_output_tokens=8))
        [upstream] = self.proxy.chat()
        self.assertEqual(upstream.status, 400)
        self.assertEqual(json.loads(upstream.body)["error"]["type"],
                         "exceed_context_size_error")
        self.assertIn("exceeds the available context size", caught.exception.message)
        self.assertEqual(caught.exception.code, "context_length_exceeded")
