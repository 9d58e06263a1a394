"""
Tests for L{tests.harness.oracle.checkResponse} on non-streaming bodies.
"""

import copy

from twisted.trial.unittest import SynchronousTestCase

from tests.harness.oracle import checkResponse
from tests.harness.protocol import CALL, MESSAGE, USAGE, response


class ResponseTests(SynchronousTestCase):
    """
    L{checkResponse} on non-streaming bodies.
    """

    def test_inProgress(self) -> None:
        self.assertRaises(AssertionError, checkResponse, response())

    def test_missingTemperature(self) -> None:
        body = response("completed", [MESSAGE], USAGE)
        del body["temperature"]
        self.assertRaises(AssertionError, checkResponse, body)

    def test_reasoningTokensAboveOutput(self) -> None:
        usage = copy.deepcopy(USAGE)
        usage["output_tokens_details"]["reasoning_tokens"] = 6
        self.assertRaises(
            AssertionError, checkResponse, response("completed", [MESSAGE], usage)
        )

    def test_duplicateItemIds(self) -> None:
        call = dict(CALL, id="msg_1")
        self.assertRaises(
            AssertionError, checkResponse, response("completed", [MESSAGE, call], USAGE)
        )

    def test_itemStillInProgress(self) -> None:
        item = dict(MESSAGE, status="in_progress")
        self.assertRaises(
            AssertionError, checkResponse, response("completed", [item], USAGE)
        )

    def test_boolForInt(self) -> None:
        usage = dict(USAGE, output_tokens=True)
        self.assertRaises(
            AssertionError, checkResponse, response("completed", [MESSAGE], usage)
        )

    def test_codexCode(self) -> None:
        body = response("failed", error={"code": "insufficient_quota", "message": "no"})
        self.assertRaises(AssertionError, checkResponse, body)
        checkResponse(body, allowCodexCodes=True)
        body["error"]["code"] = "usage_limit"
        self.assertRaises(AssertionError, checkResponse, body, allowCodexCodes=True)
