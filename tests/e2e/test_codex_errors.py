"""
Codex through the relay, upstream failures (flows 4 and 5): rate limits,
context overflow, a stream that dies, and truncated answers become errors
Codex acts on.
"""

from collections.abc import Callable
from typing import Any

from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.codexflow import CodexFlowTestCase, textReply
from tests.harness.upstream import Drop, JSONReply, ReceivedRequest, Reply, Stream

CONTEXT_OVERFLOW = (
    "This model's maximum context length is 8192 tokens. However, you requested 9321 tokens "
    "(8297 in the messages, 1024 in the completion). Please reduce the length of the "
    "messages or completion.")


def _truncatedReply(body: Any, received: ReceivedRequest) -> Reply:
    return Stream([text("The partial "), text("answ"), finish("length"),
                   chunk(choices=False, usage=usage(2000, 4))])


class ErrorTests(CodexFlowTestCase):
    """
    Flows 4 and 5: upstream failures become errors Codex acts on.
    """

    def rateLimitedOnce(self, headers: dict[str, str]) -> Callable[[Any, ReceivedRequest], Reply]:
        def respond(body: Any, received: ReceivedRequest) -> Reply:
            if len(self.arrivals) == 1:
                return JSONReply({"error": {"message": "Rate limit reached for requests",
                                            "type": "rate_limit_error", "param": None,
                                            "code": "rate_limit_exceeded"}},
                                 status=429, headers=headers)
            return textReply("Recovered.")
        return respond

    async def test_rateLimitWithoutRetryAfter(self) -> None:
        """
        An upstream 429 without Retry-After: Codex alone would give up at
        once, but the relay adds C{Retry-After} (1 s here), so Codex waits,
        retries and finishes.
        """
        upstream, url = await self.serveUpstream(self.rateLimitedOnce({}))
        environment = self.environment(self.startRelay(url, retry_after=1))
        run = await self.codex(environment, "Hi.")

        self.assertAnswered(run, "Recovered.")
        self.assertEqual(len(self.chat), 2)
        self.assertEqual(self.chat[0].json, self.chat[1].json)
        self.assertGreaterEqual(self.arrivals[1] - self.arrivals[0], 0.9)

    async def test_rateLimitWithRetryAfter(self) -> None:
        """
        An upstream 429 with C{Retry-After: 1}: the relay passes the
        upstream's delay on (its own default is 3 s here), Codex waits about
        1 s, retries and finishes.
        """
        upstream, url = await self.serveUpstream(self.rateLimitedOnce({"Retry-After": "1"}))
        environment = self.environment(self.startRelay(url, retry_after=3))
        run = await self.codex(environment, "Hi.")

        self.assertAnswered(run, "Recovered.")
        self.assertEqual(len(self.chat), 2)
        waited = self.arrivals[1] - self.arrivals[0]
        self.assertGreaterEqual(waited, 0.9)
        self.assertLess(waited, 2.9)

    async def test_contextLengthExceeded(self) -> None:
        """
        An upstream 400 saying the context is too long: Codex reports it
        once as "ran out of room in the model's context window" and does not
        retry.
        """
        def respond(body: Any, received: ReceivedRequest) -> Reply:
            return JSONReply({"error": {"message": CONTEXT_OVERFLOW,
                                        "type": "invalid_request_error", "param": None,
                                        "code": None}}, status=400)

        upstream, url = await self.serveUpstream(respond)
        environment = self.environment(self.startRelay(url))
        run = await self.codex(environment, "Hi.")

        self.assertFailedWith(run, "ran out of room in the model's context window")
        # No retry: Codex exec prints a fatal error twice (as the error event
        # and as the turn's failure), but never "Reconnecting".
        self.assertNotIn("Reconnecting", run.stderr, run.describe())
        self.assertEqual((run.answer or "").strip(), "")
        self.assertEqual(len(self.chat), 1)

    async def test_upstreamDiesMidStream(self) -> None:
        """
        An upstream that always dies after one text chunk: the relay ends
        each response with C{response.failed}; Codex retries
        C{stream_max_retries} times (1 here), then reports the failure and
        exits non-zero, in bounded time.
        """
        def respond(body: Any, received: ReceivedRequest) -> Reply:
            return Drop([text("Partial answer")])

        upstream, url = await self.serveUpstream(respond)
        environment = self.environment(
            self.startRelay(url),
            provider={"stream_max_retries": 1, "request_max_retries": 1})
        run = await self.codex(environment, "Hi.", timeout=30)

        self.assertFailedWith(run, "ERROR: Reconnecting... 1/1",
                              "stream disconnected before completion")
        self.assertLess(run.elapsed, 20, run.describe())
        self.assertEqual(len(self.chat), 2)
        first, second = (r.json["messages"] for r in self.chat)
        # What the retry did to history: before failing, the relay closed the
        # partial message with output_item.done (status "incomplete"), and
        # Codex keeps every output_item.done item in its history even when
        # the response then fails (CODEX.md §5.3): it resends the partial
        # message at the end of the input, one more copy per failed attempt
        # (0, 1, then 2 copies with stream_max_retries = 2, checked against a
        # recording Responses fake).  The relay drops that incomplete tail,
        # so every retry asks the upstream exactly what the first try did.
        self.assertEqual(second, first)

    async def test_truncated(self) -> None:
        """
        C{finish_reason: length} with the default settings: the relay sends
        C{response.incomplete} (max_output_tokens); Codex stops the turn with
        "Incomplete response returned, reason: max_output_tokens", shows the
        partial text and does not retry.
        """
        upstream, url = await self.serveUpstream(_truncatedReply)
        environment = self.environment(self.startRelay(url))
        run = await self.codex(environment, "Hi.")

        self.assertFailedWith(run, "Incomplete response returned, reason: max_output_tokens",
                              "The partial answ")
        self.assertEqual(len(self.chat), 1)

    async def test_truncatedAsCompleted(self) -> None:
        """
        With C{length_as_completed}, the relay reports the truncated
        response as completed: Codex ends the turn normally with the partial
        text as its answer.
        """
        upstream, url = await self.serveUpstream(_truncatedReply)
        environment = self.environment(self.startRelay(url, length_as_completed=True))
        run = await self.codex(environment, "Hi.")

        self.assertAnswered(run, "The partial answ")
        self.assertEqual(len(self.chat), 1)
