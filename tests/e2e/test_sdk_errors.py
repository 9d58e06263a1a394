"""
The openai SDK through the relay (see L{tests.harness.sdk}), upstream
errors before the stream: each becomes the SDK's exception with the
upstream's message and code; the relay's Retry-After is honoured.
"""

import time
from typing import Any

import openai

from tests.harness.chunks import finish, text
from tests.harness.sdk import MODEL, SDKTestCase, upstreamError
from tests.harness.upstream import JSONReply, Stream


class SDKErrorTests(SDKTestCase):
    """
    Upstream errors, as the SDK raises them.
    """

    async def assertSDKError(self, reply: JSONReply, error: type[openai.APIStatusError],
                             status: int, message: str, code: str | None) -> list[Any]:
        """
        Both a plain and a streaming request meet C{reply} as C{error} with
        C{status}, the upstream's C{message} and C{code}.

        @return: the two exceptions.
        """
        self.upstream.queue(reply, reply)
        caught = []
        for stream in (False, True):
            with self.assertRaises(error) as context:
                await self.sdk(lambda c: c.responses.create(
                    model=MODEL, input="hi", stream=stream))
            exception = context.exception
            self.assertEqual(exception.status_code, status)
            self.assertEqual(exception.body["message"], message)
            self.assertEqual(exception.code, code)
            self.assertEqual(exception.response.headers["content-type"], "application/json")
            caught.append(exception)
        self.assertEqual(len(self.chatRequests()), 2)
        return caught

    async def test_badRequest(self) -> None:
        message = "Invalid 'temperature': must be at most 2."
        await self.assertSDKError(
            upstreamError(400, message, type="invalid_request_error", param="temperature",
                          code="invalid_value"),
            openai.BadRequestError, 400, message, "invalid_value")

    async def test_contextOverflow(self) -> None:
        message = ("This model's maximum context length is 65536 tokens. However, you "
                   "requested 70123 tokens. Please reduce the length of the messages.")
        errors = await self.assertSDKError(
            upstreamError(400, message, type="invalid_request_error"),
            openai.BadRequestError, 400, message, "context_length_exceeded")
        self.assertEqual(errors[0].body["code"], "context_length_exceeded")

    async def test_rateLimited(self) -> None:
        """
        A 429 without Retry-After reaches the SDK with one.
        """
        message = "Rate limit reached for requests."
        for error in await self.assertSDKError(
                upstreamError(429, message, type="requests"),
                openai.RateLimitError, 429, message, "rate_limit_exceeded"):
            self.assertEqual(error.response.headers["retry-after"], "2")

    async def test_unauthorized(self) -> None:
        message = "Incorrect API key provided."
        await self.assertSDKError(
            upstreamError(401, message, type="authentication_error", code="invalid_api_key"),
            openai.AuthenticationError, 401, message, "invalid_api_key")

    async def test_upstreamServerError(self) -> None:
        message = "The server had an error while processing your request."
        await self.assertSDKError(
            upstreamError(500, message, type="server_error"),
            openai.InternalServerError, 502, message, "server_error")

    async def test_retryAfterHonoured(self) -> None:
        """
        With retries on, the SDK waits the relay's Retry-After (the
        upstream's "try again in 200ms", rounded up) and then succeeds.
        """
        self.upstream.queue(
            upstreamError(429, "Rate limit reached. Please try again in 200ms.",
                          code="rate_limit_exceeded"),
            Stream([text("ok"), finish("stop")]))
        client = self.makeClient(maxRetries=1)
        started = time.monotonic()
        final = await self.sdk(lambda c: c.responses.create(model=MODEL, input="hi"), client)
        self.assertEqual(final.output_text, "ok")
        self.assertEqual([e.status for e in self.exchanges], [429, 200])
        self.assertEqual(self.exchanges[0].headers["retry-after"], "1")
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        self.assertEqual(len(self.chatRequests()), 2)
