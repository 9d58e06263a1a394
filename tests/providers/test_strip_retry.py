"""
Strip and retry through the real relay: a 400/422 naming one parameter is
retried once without it, and the parameter is left out from then on for
that upstream and model; an error naming none is not retried.
"""

from collections.abc import Callable

from tests.harness.relaycase import RelayCase, answer, request
from tests.harness.rules import StrictFake, _extra, openaiError
from tests.harness.upstream import JSONReply, Reply


def rejecting(*names: str, reply: Callable[[str], JSONReply]) -> StrictFake:
    """
    A fake that rejects, with C{reply(name)}, the first of C{names} present
    in a request.
    """
    def check(body: dict, rawBody: bytes) -> Reply | None:
        for name in names:
            if name in body:
                return reply(name)
        return None
    return StrictFake(check, lambda b: answer())


def unrecognized(name: str) -> JSONReply:
    # OpenAI's wording, which several compatible servers copy.
    return openaiError(400, "Unrecognized request argument supplied: {}".format(name))


def extraForbidden(name: str) -> JSONReply:
    return JSONReply({"detail": [_extra(["body", name], False)]}, status=422)


class StripAndRetryTests(RelayCase):
    """
    A 400/422 naming one parameter the upstream does not take.
    """

    async def checkStripAndRetry(self, reply: Callable[[str], JSONReply]) -> None:
        fake = rejecting("parallel_tool_calls", reply=reply)
        relay = await self.relay(fake, "generic")
        body = request("model-a", parallel_tool_calls=False)

        _, response = await relay.stream(body)
        self.assertEqual(response["status"], "completed")
        first, retried = relay.chat
        self.assertIs(first["parallel_tool_calls"], False)
        self.assertNotIn("parallel_tool_calls", retried)
        self.assertEqual(dict(first, parallel_tool_calls=None),
                         dict(retried, parallel_tool_calls=None))

        # Learned: the same model's next request leaves it out at once.
        _, response = await relay.stream(body)
        self.assertEqual(response["status"], "completed")
        self.assertEqual(len(relay.chat), 3)
        self.assertNotIn("parallel_tool_calls", relay.chat[2])

        # For that upstream and model only: another model tries it once more.
        _, response = await relay.stream(dict(body, model="model-b"))
        self.assertEqual(response["status"], "completed")
        self.assertEqual(len(relay.chat), 5)
        self.assertIn("parallel_tool_calls", relay.chat[3])
        self.assertNotIn("parallel_tool_calls", relay.chat[4])
        self.assertEqual(len(fake.rejections), 2)

    async def test_retry400Unrecognized(self) -> None:
        """
        400 "Unrecognized request argument supplied: parallel_tool_calls":
        retried once without it, and left out from then on.
        """
        await self.checkStripAndRetry(unrecognized)

    async def test_retry422ExtraForbidden(self) -> None:
        """
        422 with one C{extra_forbidden} detail: the same.
        """
        await self.checkStripAndRetry(extraForbidden)

    async def test_retriedOnlyOnce(self) -> None:
        """
        The retry is rejected too, for another parameter: no third request;
        the client gets the second rejection.
        """
        fake = rejecting("parallel_tool_calls", "stream_options", reply=unrecognized)
        relay = await self.relay(fake, "generic")
        code, error = await relay.failing(request("model-a", parallel_tool_calls=True,
                                                  stream=True))
        self.assertEqual(code, 400)
        self.assertEqual(error["message"],
                         "Unrecognized request argument supplied: stream_options")
        self.assertEqual(len(relay.chat), 2)

    async def test_unnamedErrorNotRetried(self) -> None:
        """
        A 400 that names no parameter is passed on at once: one upstream
        request, the OpenAI envelope with the upstream's message.
        """
        message = "Invalid request: the conversation could not be processed."
        fake = StrictFake(lambda body, rawBody: openaiError(400, message),
                          lambda b: answer())
        relay = await self.relay(fake, "generic")
        code, error = await relay.failing(request("model-a", parallel_tool_calls=False,
                                                  stream=True))
        self.assertEqual(code, 400)
        self.assertEqual(error["message"], message)
        self.assertEqual(len(relay.chat), 1)
