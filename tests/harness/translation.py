"""
Helpers for the request translation tests (L{codex_relay._core.request}):
the Chat parameters the relay writes for tools, and the bad request
assertion.
"""

from codex_relay._core.errors import RelayError
from codex_relay._core.request.translate import translateRequest

from tests.harness.requests import SETTINGS


EMPTY_PARAMETERS = {"type": "object", "properties": {}}
CUSTOM_PARAMETERS = {
    "type": "object",
    "properties": {"input": {"type": "string",
                             "description": "The raw tool input, not JSON-wrapped."}},
    "required": ["input"],
    "additionalProperties": False,
}


class BadRequestMixin:
    """
    Asserts that a request fails translation as a 400 Responses error.
    """

    def assertBadRequest(self, request: object, param: str | None, code: str | None) -> RelayError:
        error = self.assertRaises(RelayError, translateRequest, request, SETTINGS)
        self.assertEqual(
            (error.status, error.type, error.param, error.code),
            (400, "invalid_request_error", param, code),
        )
        return error
