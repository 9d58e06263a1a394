"""
Inbound auth in memory, on one L{MemoryReactorClock}: with client keys a
request needs a client's token (401 without), a client asks only for its
models (404 for others, and C{/v1/models} lists only its own), its limits
answer 429 with C{Retry-After} until the window moves on, and its own
upstream key wins over the relay's; the client's token never goes upstream
nor into a log line, and its name is in the request's log line.
"""

import json
from typing import Any

from codex_relay._providers.client_keys import hashToken, parseClientKeys
from codex_relay._providers.config_file import parseRoutingTable
from tests.harness.memory import (
    HELLO,
    LogCapture,
    RelayTestCase,
    UPSTREAM,
    responsesRequest,
    streamRequest,
)
from tests.harness.clientkeys import (
    ALICE, BOB, BOB_UPSTREAM_KEY, CAROL, DAVE, KEYS, MODELS, RELAY_KEY, SECRETS, bearer,
)
from tests.harness.upstream import ScriptedUpstream, Stream

class AuthCase(RelayTestCase):
    def setUp(self) -> None:
        self.log = LogCapture(self)
        self.addCleanup(self.assertNoSecretLogged)
        self.makeRelay()

    def makeRelay(self, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("clientKeys", parseClientKeys(KEYS, {}, "keys.toml"))
        return super().makeRelay(**kwargs)

    def assertNoSecretLogged(self) -> None:
        for event in self.log.events:
            for text in (repr(event), *self.log.texts()):
                for secret in SECRETS + tuple(hashToken(s) for s in SECRETS):
                    self.assertNotIn(secret, text)

    def assertUnauthorized(self, response: Any) -> dict[str, Any]:
        error = self.assertError(response, 401, "invalid_api_key", "invalid_request_error")
        [challenge] = response.headers.getRawHeaders("www-authenticate")
        self.assertTrue(challenge.startswith("Bearer"), challenge)
        return error

    def assertLimited(self, response: Any, retryAfter: int, kind: str) -> dict[str, Any]:
        error = self.assertError(response, 429, "rate_limit_exceeded", kind)
        self.assertEqual(response.headers.getRawHeaders("retry-after"), [str(retryAfter)])
        self.assertIn("try again in {}s".format(retryAfter), error["message"])
        return error

    def outcomes(self) -> list[dict[str, Any]]:
        """
        The requests' log lines, as events: the outcome's fields are theirs.
        """
        return [e for e in self.log.events
                if e.get("log_namespace") == "codex_relay._web.activity" and "http" in e]


class AdmissionTests(AuthCase):
    def test_accepted(self) -> None:
        """
        A client's token admits it; without a key of the relay's, the
        upstream gets no C{Authorization} at all: the token is for the
        relay only.  The client's name is in the log line.
        """
        self.upstream.queue(Stream(HELLO))
        self.assertStream(self.post(streamRequest(), headers=bearer(ALICE)))
        [sent] = self.upstream.requests
        self.assertNotIn("authorization", sent.headers)
        [outcome] = self.outcomes()
        self.assertEqual((outcome["client"], outcome["http"]), ("alice", 200))
        [line] = [text for text in self.log.texts() if text.startswith("POST /v1/responses")]
        self.assertIn("client=alice", line)

    def test_relayKey(self) -> None:
        self.makeRelay(apiKey=RELAY_KEY)
        self.upstream.queue(Stream(HELLO))
        self.assertStream(self.post(streamRequest(), headers=bearer(ALICE)))
        self.assertEqual(self.upstream.requests[0].headers["authorization"],
                         "Bearer " + RELAY_KEY)

    def test_clientUpstreamKeyWins(self) -> None:
        """
        A client's own upstream key is sent instead of the relay's.
        """
        self.makeRelay(apiKey=RELAY_KEY)
        self.upstream.queue(Stream(HELLO))
        self.assertStream(self.post(streamRequest(), headers=bearer(BOB)))
        self.assertEqual(self.upstream.requests[0].headers["authorization"],
                         "Bearer " + BOB_UPSTREAM_KEY)

    def test_passthroughRoute(self) -> None:
        """
        A route that passes requests through to an upstream's own
        C{/responses} sends the client's upstream key, or none: never the
        token.
        """
        table = parseRoutingTable('[upstreams.native]\nbase_url = "{}"\napi = "responses"\n'
                                  .format(UPSTREAM), {})
        self.makeRelay(routes=table)
        for token, sent in ((ALICE, None), (BOB, "Bearer " + BOB_UPSTREAM_KEY)):
            self.content(self.post(streamRequest(), headers=bearer(token)))
            request = self.upstream.requests[-1]
            self.assertEqual(request.path, "/v1/responses")
            self.assertEqual(request.headers.get("authorization"), sent)

    def test_refused(self) -> None:
        """
        No token, another scheme, an empty or an unknown token: 401 in the
        OpenAI envelope, with C{WWW-Authenticate}, and nothing goes upstream.
        Each is a request's log line, with no client.
        """
        for headers in ({}, {"Authorization": "Basic " + ALICE}, {"Authorization": "Bearer"},
                        {"Authorization": "Bearer  "}, bearer(ALICE + "x"),
                        bearer(hashToken(ALICE)), {"Authorization": ALICE}):
            error = self.assertUnauthorized(self.post(streamRequest(), headers=headers))
            self.assertNotIn(ALICE, error["message"])
        self.assertEqual(self.upstream.requests, [])
        outcomes = self.outcomes()
        self.assertEqual(len(outcomes), 7)
        for outcome in outcomes:
            self.assertEqual((outcome["client"], outcome["http"], outcome["code"]),
                             ("-", 401, "invalid_api_key"))

    def test_schemeAnyCase(self) -> None:
        self.upstream.queue(Stream(HELLO))
        self.assertStream(self.post(streamRequest(), headers={"Authorization": "bearer " + ALICE}))

    def test_webSocketUpgradeRefused(self) -> None:
        """
        An upgrade without a valid token is refused with 401 before it
        upgrades (a valid one upgrades: L{tests.web.test_auth_loopback}).
        """
        for headers in ({}, bearer("nope")):
            response = self.respond("GET", "/v1/responses", headers=dict(
                headers, Upgrade="websocket", Connection="Upgrade",
                **{"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                   "Sec-WebSocket-Version": "13"}))
            self.assertUnauthorized(response)

    def test_storedResponses(self) -> None:
        """
        The stored responses need a token too; each client sees only its own.
        """
        self.upstream.queue(Stream(HELLO))
        events = self.assertStream(self.post(streamRequest(store=True), headers=bearer(ALICE)))
        path = "/v1/responses/" + events[-1]["response"]["id"]
        for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/input_items")):
            self.assertUnauthorized(self.respond(method, path + suffix))
            self.assertUnauthorized(self.respond(method, path + suffix,
                                                 headers=bearer("nope")))
            self.assertError(self.respond(method, path + suffix, headers=bearer(BOB)),
                             404, "not_found")
        response = self.respond("GET", path, headers=bearer(ALICE))
        self.assertEqual(json.loads(self.content(response))["id"], path.rsplit("/", 1)[1])

    def test_openPaths(self) -> None:
        """
        C{/health} needs no token.
        """
        self.assertEqual(self.respond("GET", "/health").code, 200)


class ModelTests(AuthCase):
    def test_onlyItsModels(self) -> None:
        """
        A model the client may not use is answered as an unknown one: 404
        C{model_not_found}, and nothing goes upstream.
        """
        for model in ("model-c", "model-", "model-aa"):
            self.assertError(self.post(streamRequest(model=model), headers=bearer(BOB)),
                             404, "model_not_found", param="model")
        self.assertEqual(self.upstream.requests, [])
        self.upstream.queue(Stream(HELLO), Stream(HELLO))
        self.assertStream(self.post(streamRequest(model="model-b7"), headers=bearer(BOB)))
        self.assertStream(self.post(streamRequest(model="model-c"), headers=bearer(ALICE)))

    def test_listsOnlyItsModels(self) -> None:
        self.upstream.models = MODELS
        response = self.respond("GET", "/v1/models", headers=bearer(BOB))
        self.assertEqual(response.code, 200)
        self.assertEqual([m["id"] for m in json.loads(self.content(response))["data"]],
                         ["model-a", "model-b1"])
        self.assertEqual(self.upstream.requests[-1].headers["authorization"],
                         "Bearer " + BOB_UPSTREAM_KEY)
        response = self.respond("GET", "/v1/models", headers=bearer(ALICE))
        self.assertEqual(json.loads(self.content(response)), MODELS)
        self.assertNotIn("authorization", self.upstream.requests[-1].headers)
        self.assertUnauthorized(self.respond("GET", "/v1/models"))
        self.assertEqual(len(self.upstream.requests), 2)

    def test_listsOnlyItsRoutes(self) -> None:
        """
        With several upstreams, a client with C{routes} has only those
        upstreams asked for their lists, with its own upstream key.
        """
        one, two = ScriptedUpstream(reactor=None), ScriptedUpstream(reactor=None)
        one.models = {"object": "list", "data": [{"id": "m1"}]}
        two.models = {"object": "list", "data": [{"id": "m2"}]}
        table = parseRoutingTable(
            '[upstreams.one]\nbase_url = "http://one.test/v1"\n'
            '[upstreams.two]\nbase_url = "http://two.test/v1"\n'
            '[[routes]]\nprefix = "one/"\nupstream = "one"\n'
            '[[routes]]\nprefix = "two/"\nupstream = "two"\n', {})
        keys = parseClientKeys(
            '[clients.erin]\ntoken_sha256 = "{}"\nroutes = ["two"]\n'
            'upstream_api_key = {{ two = "sk-erin-two" }}\n'.format(hashToken("crk-erin")),
            {}, "keys.toml")
        keys.check(table.upstreams)
        self.makeRelay(routes=table, clientKeys=keys,
                       upstreams={"http://one.test/v1": one, "http://two.test/v1": two})
        response = self.respond("GET", "/v1/models", headers=bearer("crk-erin"))
        self.assertEqual([m["id"] for m in json.loads(self.content(response))["data"]],
                         ["two/m2"])
        self.assertEqual(one.requests, [])
        self.assertEqual(two.requests[0].headers["authorization"], "Bearer sk-erin-two")
        self.assertError(self.post(streamRequest(model="one/m1"), headers=bearer("crk-erin")),
                         404, "model_not_found")
        self.assertEqual(one.requests, [])


class LimitTests(AuthCase):
    def test_requestsPerMinute(self) -> None:
        """
        The third request within a minute is refused with the seconds until
        the oldest leaves the window, then admitted again.
        """
        self.upstream.queue(*[Stream(HELLO)] * 3)
        for _ in range(2):
            self.assertStream(self.post(streamRequest(), headers=bearer(CAROL)))
        self.assertLimited(self.post(streamRequest(), headers=bearer(CAROL)), 60, "requests")
        self.relay.advance(30.5)
        error = self.assertLimited(self.post(streamRequest(), headers=bearer(CAROL)), 30,
                                   "requests")
        self.assertIn("'carol'", error["message"])
        self.assertIn("requests per minute", error["message"])
        # Another client is not limited by carol's requests.
        self.upstream.queue(Stream(HELLO))
        self.assertStream(self.post(streamRequest(), headers=bearer(ALICE)))
        self.relay.advance(29.5)
        self.assertStream(self.post(streamRequest(), headers=bearer(CAROL)))
        self.assertEqual(len(self.upstream.requests), 4)
        refused = [o for o in self.outcomes() if o["http"] == 429]
        self.assertEqual([(o["client"], o["code"]) for o in refused],
                         [("carol", "rate_limit_exceeded")] * 2)
        self.assertQuiet()

    def test_everyRequestCounts(self) -> None:
        """
        Listing models and reading stored responses count as requests too.
        """
        self.assertEqual(self.respond("GET", "/v1/models", headers=bearer(CAROL)).code, 200)
        self.assertError(self.respond("GET", "/v1/responses/resp_1", headers=bearer(CAROL)),
                         404, "not_found")
        self.assertLimited(self.respond("GET", "/v1/models", headers=bearer(CAROL)), 60,
                           "requests")
        self.assertLimited(self.post(streamRequest(), headers=bearer(CAROL)), 60, "requests")

    def test_tokensPerDay(self) -> None:
        """
        Once a client's requests that ended today used its tokens, new ones
        are refused until the next UTC day; its other requests are not.
        """
        self.relay.advance(86400 * 3 + 1000)
        self.upstream.queue(Stream(HELLO), Stream(HELLO))
        self.assertStream(self.post(streamRequest(), headers=bearer(DAVE)))  # 3 + 2 tokens
        error = self.assertLimited(self.post(streamRequest(), headers=bearer(DAVE)),
                                   85400, "tokens")
        self.assertIn("tokens per day", error["message"])
        self.assertIn("used 5", error["message"])
        self.assertEqual(self.respond("GET", "/v1/models", headers=bearer(DAVE)).code, 200)
        self.relay.advance(85399)
        self.assertLimited(self.post(streamRequest(), headers=bearer(DAVE)), 1, "tokens")
        self.relay.advance(1)
        self.assertStream(self.post(streamRequest(), headers=bearer(DAVE)))

    def test_tokensOfAWholeResponse(self) -> None:
        """
        A JSON (not streamed) response counts its usage too.
        """
        self.upstream.queue(Stream(HELLO))
        response = self.post(responsesRequest(), headers=bearer(DAVE))
        self.assertEqual(json.loads(self.content(response))["usage"]["total_tokens"], 5)
        self.assertLimited(self.post(streamRequest(), headers=bearer(DAVE)), 86400, "tokens")

    def test_underBudget(self) -> None:
        """
        Requests are admitted while the tokens spent are under the budget,
        even if the last one goes past it.
        """
        self.makeRelay(clientKeys=parseClientKeys(
            '[clients.dave]\ntoken_sha256 = "{}"\ntokens_per_day = 11\n'.format(
                hashToken(DAVE)), {}))
        self.upstream.queue(*[Stream(HELLO)] * 3)
        for _ in range(3):  # 0, 5 and 10 tokens spent before each
            self.assertStream(self.post(streamRequest(), headers=bearer(DAVE)))
        self.assertLimited(self.post(streamRequest(), headers=bearer(DAVE)), 86400, "tokens")


class WithoutKeysTests(RelayTestCase):
    """
    Without client keys nothing changes: every client is admitted, and its
    header is forwarded when the relay has no key.
    """

    def test_unchanged(self) -> None:
        self.makeRelay()
        self.upstream.queue(Stream(HELLO))
        self.assertStream(self.post(streamRequest(), headers=bearer("sk-client")))
        self.assertEqual(self.upstream.requests[0].headers["authorization"],
                         "Bearer sk-client")
        self.assertEqual(self.respond("GET", "/v1/models").code, 200)
        self.assertEqual(UPSTREAM, self.relay.config.upstream)
