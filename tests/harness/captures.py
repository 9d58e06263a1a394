"""
The requests Codex really sends, captured by L{tests.fixtures.capture_codex}
and scrubbed into C{tests/fixtures/codex_request_*.json}: loading them, and
L{TranslatedFixture}, a mixin that translates one for each test.
"""

import copy
import json
import os

from codex_relay._core.request.translate import translateRequest
from codex_relay._core.settings import TranslationSettings

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
SECRET = b"x"
SETTINGS = TranslationSettings(secret=SECRET)
# Must match tests/fixtures/capture_codex.py.
REASONING_TEXT = "The user wants a file. I will look at the directory first."


def loadFixture(name: str) -> dict:
    """
    The captured request C{codex_request_NAME.json}.
    """
    with open(os.path.join(FIXTURES, "codex_request_{}.json".format(name)),
              encoding="utf-8") as f:
        return json.load(f)


def partsText(content: object) -> str:
    """
    The text of a Responses message content, joined as the relay joins
    user and developer parts.
    """
    if isinstance(content, str):
        return content
    return "\n".join(part["text"] for part in content)  # type: ignore[union-attr]


class TranslatedFixture:
    """
    The fixture named C{fixtureName} as C{self.request} and translated with
    L{SETTINGS} as C{self.chat}; a mixin for L{SynchronousTestCase}.
    """

    fixtureName = ""

    def setUp(self) -> None:
        self.request = loadFixture(self.fixtureName)
        self.chat = translateRequest(copy.deepcopy(self.request), SETTINGS)
