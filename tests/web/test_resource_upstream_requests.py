"""
What the relay sends upstream, in memory: the relay's key or else the
client's, never logged, and both upstream calls unbuffered without
following redirects.
"""

import json

from tests.harness.upstream import DEFAULT_MODELS, JSONReply, Stream
from tests.harness.memory import HELLO, LogCapture, RelayTestCase, UPSTREAM, streamRequest


KEY = "sk-relay-secret-4242"
CLIENT_KEY = "Bearer sk-client-secret-1717"


class AuthorizationTests(RelayTestCase):
    def setUp(self) -> None:
        self.log = LogCapture(self)
        super().setUp()

    def test_modelsWithKey(self) -> None:
        """
        C{/v1/models} is proxied with the relay's key, not the client's.
        """
        self.makeRelay(apiKey=KEY)
        response = self.respond("GET", "/v1/models", headers={"Authorization": CLIENT_KEY})
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["application/json"])
        self.assertEqual(json.loads(self.content(response)), DEFAULT_MODELS)
        [sent] = self.upstream.requests
        self.assertEqual((sent.method, sent.path), ("GET", "/v1/models"))
        self.assertEqual(sent.headers["authorization"], "Bearer " + KEY)
        self.assertNotIn("cookie", sent.headers)
        self.assertNoKeyLogged()

    def test_modelsForwardsClientKey(self) -> None:
        response = self.respond("GET", "/v1/models", headers={"Authorization": CLIENT_KEY})
        self.assertEqual(json.loads(self.content(response)), DEFAULT_MODELS)
        self.assertEqual(self.upstream.requests[0].headers["authorization"], CLIENT_KEY)
        self.assertNoKeyLogged()

    def test_modelsWithoutAnyKey(self) -> None:
        self.content(self.respond("GET", "/v1/models"))
        self.assertNotIn("authorization", self.upstream.requests[0].headers)

    def test_responsesWithKey(self) -> None:
        self.makeRelay(apiKey=KEY)
        self.upstream.queue(Stream(HELLO), JSONReply({"error": {"message": "no"}}, status=401))
        self.stream(streamRequest())
        self.assertError(self.post(streamRequest(), headers={"Authorization": CLIENT_KEY}),
                         401, None)
        self.assertEqual([r.headers["authorization"] for r in self.upstream.requests],
                         ["Bearer " + KEY] * 2)
        self.assertEqual(len([line for line in self.log.texts()
                              if line.startswith("POST /v1/responses")]), 2)
        self.assertNoKeyLogged()

    def test_responsesForwardsClientKey(self) -> None:
        self.upstream.queue(Stream(HELLO))
        self.assertStream(self.post(streamRequest(), headers={"Authorization": CLIENT_KEY}))
        self.assertEqual(self.upstream.requests[0].headers["authorization"], CLIENT_KEY)
        self.assertNoKeyLogged()

    def assertNoKeyLogged(self) -> None:
        for line in self.log.texts():
            self.assertNotIn(KEY, line)
            self.assertNotIn(CLIENT_KEY.split()[1], line)


class RequestOptionsTests(RelayTestCase):
    def test_unbufferedWithoutRedirects(self) -> None:
        """
        Both upstream calls stream their bodies unbuffered and never follow
        redirects.
        """
        recorder = self.makeRelay(record=True).http
        self.upstream.queue(Stream(HELLO))
        self.stream()
        self.content(self.respond("GET", "/v1/models"))
        self.assertEqual([(method, url) for method, url, _ in recorder.calls],
                         [("POST", UPSTREAM + "/chat/completions"),
                          ("GET", UPSTREAM + "/models")])
        for _, _, kwargs in recorder.calls:
            self.assertEqual((kwargs["unbuffered"], kwargs["allow_redirects"]),
                             (True, False))
