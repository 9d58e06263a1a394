"""
Request bodies: where the client's is kept while it arrives (in memory up
to L{IN_MEMORY_BODY} when its length is declared, in a temporary file past
it or when it is chunked, nowhere past the body limit).
"""

from io import BytesIO

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyChannel

from codex_relay._web.limits import IN_MEMORY_BODY, LimitedRequest


class BodyStorageTests(SynchronousTestCase):
    def content(self, length: int | None, limit: int = 32 * 1024 * 1024) -> object:
        request = LimitedRequest(DummyChannel(), maxBodyBytes=limit)
        request.gotLength(length)
        self.addCleanup(request.content.close)
        return request.content

    def test_codexSizedInMemory(self) -> None:
        # Twisted alone would use a file from 100 000 bytes.
        for length in (0, 40_000, 100_000, IN_MEMORY_BODY):
            self.assertIsInstance(self.content(length), BytesIO)

    def test_largerOrChunkedInAFile(self) -> None:
        for length in (IN_MEMORY_BODY + 1, None):
            self.assertNotIsInstance(self.content(length), BytesIO)

    def test_pastTheLimitNothingKept(self) -> None:
        self.assertIsInstance(self.content(IN_MEMORY_BODY * 2, limit=100), BytesIO)

