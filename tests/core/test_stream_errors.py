"""
Tests for errors inside a 200 stream in
L{codex_relay._core.stream.translator}: error chunks and events, and streams
of nothing parsable, end in C{response.failed}.
"""

from twisted.trial.unittest import SynchronousTestCase


from tests.harness import chunks as C
from tests.harness.stream import (
    COMPLETED,
    FAILED,
    START,
    TranslatorMixin,
    deltas,
    messageTypes,
    outputItems,
    summaryTypes,
    terminal,
    types,
)


class ErrorTests(TranslatorMixin, SynchronousTestCase):
    """
    Errors inside a 200 stream end in C{response.failed} (PROVIDERS.md §4).
    """

    def assertFailed(self, events: list[dict], code: str, before: list[str],
                     allowCodexCodes: bool = False) -> dict:
        self.assertEqual(types(events), START + before + [FAILED])
        response = self.assertTerminal(events, FAILED, "failed")
        self.assertEqual(response["error"]["code"], code)
        self.assertIsNone(response["incomplete_details"])
        if response["output"]:
            self.assertEqual(response["output"][-1]["status"], "incomplete")
        self.oracle(events, allowCodexCodes=allowCodexCodes)
        return response["error"]

    def test_openAIErrorChunk(self) -> None:
        """
        OpenAI and SGLang: C{{"error": {...}}}; a context overflow maps to
        C{context_length_exceeded}.
        """
        message = ("This model's maximum context length is 128000 tokens. However, your "
                   "messages resulted in 130000 tokens.")
        events = self.translate([C.text("a"), {"error": {
            "message": message, "type": "invalid_request_error", "param": "messages",
            "code": "context_length_exceeded"}}])
        error = self.assertFailed(events, "context_length_exceeded", messageTypes(1),
                                  allowCodexCodes=True)
        self.assertEqual(error["message"], message)

    def test_openRouterErrorChunk(self) -> None:
        """
        OpenRouter: an error object next to C{finish_reason: "error"}.
        """
        events = self.translate([C.reasoning("r"), C.chunk(
            {"content": ""}, finish="error",
            error={"code": 502, "message": "Provider disconnected unexpectedly"},
            native_finish_reason="error")])
        error = self.assertFailed(events, "server_error", summaryTypes(1))
        self.assertEqual(error["message"], "Provider disconnected unexpectedly")

    def test_finishReasonErrorWithoutObject(self) -> None:
        """
        C{finish_reason: "error"} without an error object after streamed
        text: a failed response, numbered without gaps.
        """
        events = self.translate([C.text("a"), C.chunk({"content": "b"}, finish="error")])
        self.assertEqual([event["sequence_number"] for event in events],
                         list(range(len(events))))
        self.assertEqual(deltas(events, "response.output_text.delta"), ["a", "b"])
        self.assertFailed(events, "server_error", messageTypes(2))

    def test_vllmErrorObject(self) -> None:
        """
        vLLM: C{{"object": "error", "message": ...}}.
        """
        events = self.translate([C.text("a"), {
            "object": "error", "message": "CUDA out of memory", "type": "InternalServerError",
            "param": None, "code": 500}])
        error = self.assertFailed(events, "server_error", messageTypes(1))
        self.assertEqual(error["message"], "CUDA out of memory")

    def test_errorEvent(self) -> None:
        """
        An SSE C{event: error} with an error envelope fails the response.
        """
        body = (C.sse(C.text("a"), done=False)
                + b'event: error\ndata: {"error": {"message": "Overloaded", '
                  b'"type": "overloaded_error"}}\n\n')
        error = self.assertFailed(self.translateBody(body), "server_error", messageTypes(1))
        self.assertEqual(error["message"], "Overloaded")

    def test_errorEventBare(self) -> None:
        """
        An SSE C{event: error} whose data is the error itself (no envelope).
        """
        body = (C.sse(C.text("a"), done=False)
                + b'event: error\ndata: {"message": "Rate limit exceeded", '
                  b'"code": "rate_limit_exceeded"}\n\n')
        error = self.assertFailed(self.translateBody(body), "rate_limit_exceeded",
                                  messageTypes(1))
        self.assertIn("try again in", error["message"].lower())

    def test_rateLimitGetsRetryHint(self) -> None:
        """
        A rate limit without a delay gets the "try again in" phrase Codex
        reads its retry delay from.
        """
        events = self.translate([C.text("a"), {"error": {
            "message": "Rate limit reached for requests", "code": "rate_limit_exceeded"}}])
        error = self.assertFailed(events, "rate_limit_exceeded", messageTypes(1))
        self.assertEqual(error["message"],
                         "Rate limit reached for requests Please try again in 2s.")

    def test_rateLimitKeepsDelay(self) -> None:
        """
        A rate limit message that already says when to retry is kept.
        """
        message = "Rate limit reached for gpt-x. Please try again in 1.5s."
        events = self.translate([{"error": {"message": message, "type": "tokens",
                                            "code": "rate_limit_exceeded"}}])
        error = self.assertFailed(events, "rate_limit_exceeded", [])
        self.assertEqual(error["message"], message)

    def test_errorBeforeAnyItem(self) -> None:
        """
        An error before any output: C{response.failed} with empty output.
        """
        events = self.translate([{"error": {"message": "Internal error"}}])
        self.assertFailed(events, "server_error", [])
        self.assertEqual(outputItems(events), [])

    def test_usageKeptOnFailure(self) -> None:
        """
        Usage reported before the failure is kept on C{response.failed}.
        """
        events = self.translate([C.chunk({"content": "a"}, usage=C.usage(4, 2)),
                                 {"error": {"message": "boom"}}])
        self.assertFailed(events, "server_error", messageTypes(1))
        self.assertEqual(terminal(events)["usage"]["total_tokens"], 6)


class UnparsableStreamTests(TranslatorMixin, SynchronousTestCase):
    """
    An upstream whose events are none of them Chat chunks has not given an
    empty answer: it fails (C{server_error}, the code Codex retries and the
    SDK models).
    """

    def assertUnparsable(self, body: bytes, count: int) -> None:
        events = self.translateBody(body)
        self.assertEqual(types(events), START + [FAILED])
        error = self.assertTerminal(events, FAILED, "failed")["error"]
        self.assertEqual(error["code"], "server_error")
        self.assertIn("{} event(s) were not JSON objects".format(count), error["message"])
        self.oracle(events)

    def test_onlyNonJSON(self) -> None:
        self.assertUnparsable(b"data: <html>\n\ndata: oops\n\ndata: [DONE]\n\n", 2)

    def test_onlyNonObjects(self) -> None:
        self.assertUnparsable(b'data: 42\n\ndata: "text"\n\ndata: [1]\n\ndata: [DONE]\n\n', 3)

    def test_onlyNonJSONThenEOF(self) -> None:
        self.assertUnparsable(b"data: oops\n\n", 1)

    def test_tooDeep(self) -> None:
        """
        Nesting too deep for the JSON parser is not JSON either, not a
        relay crash.
        """
        self.assertUnparsable(b"data: " + b"[" * 100000 + b"]" * 100000
                              + b"\n\ndata: [DONE]\n\n", 1)

    def test_emptyStream(self) -> None:
        """
        A stream of nothing but C{[DONE]} stays an empty completed answer:
        nothing was unparsable.
        """
        events = self.translateBody(b"data: [DONE]\n\n")
        self.assertEqual(types(events), START + [COMPLETED])
        self.oracle(events)
