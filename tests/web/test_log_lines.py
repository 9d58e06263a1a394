"""
The log lines a request leaves hold what the client sent in a form a log
file can take: a lone surrogate (valid JSON) escaped, never an encoding
error in the log observer.
"""

from tests.harness.chunks import text
from tests.harness.memory import HELLO, LogCapture, RelayTestCase, streamRequest
from tests.harness.replies import Stream


class SurrogateTests(RelayTestCase):
    def test_loneSurrogateInModelAndInput(self) -> None:
        log = LogCapture(self)
        body = b'{"model": "m\\ud83d", "input": [{"type": "x\\udc00", "id": 1}], "stream": true}'
        self.upstream.queue(Stream(HELLO))
        self.assertStream(self.post(body))
        self.upstream.queue(Stream([text("a")]))
        self.post(streamRequest(model="\ud83d"))
        lines = log.texts()
        for line in lines:
            line.encode("utf-8")
        self.assertTrue(any("model=m\\ud83d" in line for line in lines), lines)
