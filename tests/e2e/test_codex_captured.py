"""
The committed Codex request fixtures (C{tests/fixtures/codex_request_*.json})
still describe what the pinned Codex sends, checked against a fresh capture.
"""

from twisted.internet import reactor

from tests.fixtures import capture_codex
from tests.harness.codexflow import CodexFlowTestCase, relayCatalog


class CapturedRequestTests(CodexFlowTestCase):
    """
    The fixtures that L{tests.harness.captures} loads for the
    C{tests/providers/test_codex_*} tests still describe what this Codex
    sends: Codex pointed straight at a recording Responses fake.
    """

    async def test_requestsMatchFixtures(self) -> None:
        """
        A fresh capture (see C{tests/fixtures/capture_codex.py}) has the
        same shape as each committed fixture: the same top-level fields,
        item kinds, roles, tools and parameters.  Regenerate the fixtures
        with C{python -m tests.fixtures.capture_codex} when Codex changes.
        """
        for configuration in capture_codex.CONFIGURATIONS:
            result = await capture_codex.capture(
                reactor, self.binary, configuration,
                relayCatalog(self.binary) if configuration.catalog else None)
            self.assertTrue(result.ok, "{}: {}".format(configuration.name, result.run.describe()))
            self.assertEqual(result.run.parseFailures, [])
            self.assertEqual(
                capture_codex.shape(result.scrubbed),
                capture_codex.shape(capture_codex.loadFixture(configuration)),
                "{}: Codex now sends something else than {}; recapture".format(
                    configuration.name, configuration.path))
