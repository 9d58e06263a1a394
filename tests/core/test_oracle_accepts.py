"""
Tests for L{tests.harness.oracle}: streams that follow every rule pass, and
the openai SDK's own accumulator agrees they are sound.
"""

import copy
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from tests.harness.oracle import checkEvents, checkResponse, checkStream
from tests.harness.protocol import (
    CALL,
    CUT,
    FAILED,
    INCOMPLETE,
    MESSAGE,
    RAW_REASONING_AND_CUSTOM,
    REASONING,
    REASONING_AND_CALL,
    REFUSAL,
    TEXT,
    USAGE,
    encode,
    numbered,
    response,
)


class CorrectStreamTests(SynchronousTestCase):
    """
    Streams that follow every rule pass.
    """

    def test_text(self) -> None:
        terminal = checkEvents(copy.deepcopy(TEXT))
        self.assertEqual(terminal["output"], [MESSAGE])

    def test_reasoningAndFunctionCall(self) -> None:
        terminal = checkEvents(copy.deepcopy(REASONING_AND_CALL))
        self.assertEqual(
            [i["type"] for i in terminal["output"]], ["reasoning", "function_call"]
        )

    def test_rawReasoningAndCustomToolCall(self) -> None:
        terminal = checkEvents(copy.deepcopy(RAW_REASONING_AND_CUSTOM))
        self.assertEqual(terminal["output"][1]["status"], "completed")

    def test_refusal(self) -> None:
        checkEvents(copy.deepcopy(REFUSAL))

    def test_incomplete(self) -> None:
        terminal = checkEvents(copy.deepcopy(INCOMPLETE))
        self.assertEqual(
            terminal["incomplete_details"], {"reason": "max_output_tokens"}
        )

    def test_failed(self) -> None:
        terminal = checkEvents(copy.deepcopy(FAILED))
        self.assertEqual(terminal["error"]["code"], "server_error")

    def test_failedWithoutItems(self) -> None:
        """
        A stream may fail before any item, without an error event.
        """
        events = numbered(
            {"type": "response.created", "response": response()},
            {"type": "response.in_progress", "response": response()},
            {
                "type": "response.failed",
                "response": response(
                    "failed",
                    error={"code": "rate_limit_exceeded", "message": "try again in 2s"},
                ),
            },
        )
        checkEvents(events)

    def test_codexCodeAllowedOnRequest(self) -> None:
        """
        C{allowCodexCodes=True} accepts C{context_length_exceeded} on both
        the error event and the failed response.
        """
        events = copy.deepcopy(FAILED)
        events[-2]["code"] = "context_length_exceeded"
        events[-1]["response"]["error"]["code"] = "context_length_exceeded"
        checkEvents(events, allowCodexCodes=True)
        self.assertRaises(AssertionError, checkEvents, events)

    def test_checkStream(self) -> None:
        """
        C{checkStream} parses the canonical framing and returns the data,
        ignoring comment blocks and extra blank lines.
        """
        body = b": keep-alive\n\n" + encode(TEXT[:3]) + b"\n" + encode(TEXT[3:])
        self.assertEqual(checkStream(body), TEXT)

    def test_nonStreamingResponse(self) -> None:
        checkResponse(response("completed", [REASONING, CALL], USAGE))
        checkResponse(
            response(
                "incomplete",
                [CUT],
                USAGE,
                incomplete_details={"reason": "content_filter"},
            )
        )


class SDKAgreementTests(SynchronousTestCase):
    """
    The openai SDK's own stream accumulator accepts the hand-written
    streams, so they are sound fixtures rather than the oracle's echo.
    """

    def test_accumulator(self) -> None:
        # A private SDK module: the accumulator has no public entry point
        # that works without HTTP.
        from openai import NOT_GIVEN
        from openai._models import construct_type
        from openai.lib.streaming.responses._responses import ResponseStreamState
        from openai.types.responses import ResponseStreamEvent

        streams = [
            TEXT,
            REASONING_AND_CALL,
            RAW_REASONING_AND_CUSTOM,
            REFUSAL,
            INCOMPLETE,
            FAILED,
        ]
        for events in streams:
            state: Any = ResponseStreamState(
                input_tools=NOT_GIVEN, text_format=NOT_GIVEN
            )
            for event in copy.deepcopy(events):
                state.handle_event(
                    construct_type(type_=ResponseStreamEvent, value=event)
                )
