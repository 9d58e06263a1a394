"""
The openai SDK end to end: L{SDKTestCase} has a synchronous, strictly
validating C{openai.OpenAI} client talk to a real relay on loopback, which
talks to a L{ScriptedUpstream} on loopback.

The relay and the upstream run on the global reactor; the blocking SDK runs
in a thread (L{deferToThread}) so the reactor keeps serving both.  Every
HTTP exchange the SDK makes is recorded below its transport, so each stream
it saw is also checked byte for byte by L{tests.harness.oracle}; some
requests are replayed with plain treq as well (L{SDKTestCase.replayRaw}).
"""

from collections.abc import Callable
from typing import Any, TypeVar

import httpx2
import openai
from openai.types.responses import Response
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

import treq

from codex_relay import RelayConfig, TranslationSettings
from tests.harness import oracle
from tests.harness.upstream import JSONReply, ReceivedRequest, ScriptedUpstream
from tests.harness.sockets import Exchange, RecordingTransport, checkExchanges, serveUpstream, streamOf, webClient, serveRelay

T = TypeVar("T")

MODEL = "model-a"
CLIENT_KEY = "sk-client-key"
SECRET = b"codex-relay-e2e-secret"


def upstreamError(status: int, message: str, **fields: Any) -> JSONReply:
    return JSONReply({"error": {"message": message, **fields}}, status=status)


class SDKTestCase(TestCase):
    """
    The openai SDK against a real relay.
    """

    timeout = 20

    async def setUp(self) -> None:
        self.upstream = ScriptedUpstream(reactor=reactor)
        upstreamURL = await serveUpstream(self, self.upstream)
        self.service, self.relayURL = await serveRelay(self, RelayConfig(
            upstream=upstreamURL, translation=TranslationSettings(secret=SECRET)))
        self.transport = RecordingTransport()
        self.client = self.makeClient(maxRetries=0)
        self.web = webClient(self)
        self.addCleanup(self.checkExchanges)

    def makeClient(self, maxRetries: int) -> openai.OpenAI:
        client = openai.OpenAI(
            api_key=CLIENT_KEY, base_url=self.relayURL, max_retries=maxRetries,
            timeout=10.0, _strict_response_validation=True,
            http_client=httpx2.Client(transport=self.transport))
        self.addCleanup(client.close)
        return client

    def sdk(self, call: Callable[[openai.OpenAI], T],
            client: openai.OpenAI | None = None) -> "Deferred[T]":
        """
        Run a blocking SDK call in a thread; the Deferred fires with its
        result.
        """
        return deferToThread(call, client or self.client)

    @property
    def exchanges(self) -> list[Exchange]:
        return self.transport.exchanges

    def checkExchanges(self) -> None:
        """
        Hold everything the SDK received to the oracle: streams, Response
        bodies, and the OpenAI envelope of errors.
        """
        checkExchanges(self, self.exchanges)

    def sdkEvents(self, index: int = -1) -> list[dict[str, Any]]:
        """
        The stream of exchange C{index} as the SDK received it, checked by
        the oracle.
        """
        return streamOf(self, self.exchanges[index])

    async def replayRaw(self, index: int = -1) -> list[dict[str, Any]]:
        """
        Send the SDK's request C{index} again with plain treq, check the raw
        SSE with the oracle, and check its event types equal the SDK's.
        """
        exchange = self.exchanges[index]
        response = await self.web.post(
            exchange.url, data=exchange.requestBody,
            headers={"Content-Type": ["application/json"],
                     "Authorization": ["Bearer " + CLIENT_KEY]})
        body = await treq.content(response)
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type")[0].split(";")[0],
                         "text/event-stream")
        self.assertEqual(response.headers.getRawHeaders("cache-control"), ["no-cache"])
        events = oracle.checkStream(body)
        self.assertEqual([e["type"] for e in events],
                         [e["type"] for e in self.sdkEvents(index)])
        return events

    def chatRequests(self) -> list[ReceivedRequest]:
        return [r for r in self.upstream.requests if r.path == "/v1/chat/completions"]

    def finalResponse(self, **request: Any) -> "Deferred[Response]":
        """
        C{responses.stream(**request).get_final_response()} in a thread.
        """
        def run(client: openai.OpenAI) -> Response:
            with client.responses.stream(model=MODEL, **request) as stream:
                return stream.get_final_response()

        return self.sdk(run)
