"""
The relay's paths and methods: C{/health}, 404 for unknown paths, 405 with
C{Allow}, and WebSocket upgrades (refused with 426 when turned off, so that
Codex falls back to HTTP at once); none goes upstream.
"""

import json

from tests.harness.memory import RelayTestCase


class RoutingTests(RelayTestCase):
    def test_health(self) -> None:
        response = self.respond("GET", "/health")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["application/json"])
        self.assertEqual(json.loads(self.content(response)), {"status": "ok"})
        self.assertEqual(self.upstream.requests, [])

    def test_unknownPaths(self) -> None:
        for path in ("/", "/nope", "/v1", "/v1/", "/v1/chat/completions",
                     "/v1/responses/resp_1/nope", "/v1/responses/resp_1/input_items/x",
                     "/health/deep"):
            for method in ("GET", "POST"):
                response = self.respond(method, path)
                error = self.assertError(response, 404, "not_found",
                                         "invalid_request_error")
                self.assertIn(path, error["message"])
        self.assertEqual(self.upstream.requests, [])

    def test_wrongMethods(self) -> None:
        for method, path, allowed in (("GET", "/v1/responses", "POST"),
                                      ("POST", "/v1/models", "GET"),
                                      ("DELETE", "/health", "GET"),
                                      ("POST", "/v1/responses/resp_1", "GET, DELETE"),
                                      ("PUT", "/v1/responses/resp_1/input_items", "GET")):
            response = self.respond(method, path)
            self.assertError(response, 405, "method_not_allowed", "invalid_request_error")
            self.assertEqual(response.headers.getRawHeaders("allow"), [allowed])
        response = self.respond("PUT", "/v1/responses")
        self.assertError(response, 405, "method_not_allowed")
        self.assertIn("POST", response.headers.getRawHeaders("allow")[0])
        self.assertEqual(self.upstream.requests, [])

    def test_unknownStoredResponse(self) -> None:
        for method, path in (("GET", "/v1/responses/resp_1"),
                             ("DELETE", "/v1/responses/resp_1"),
                             ("GET", "/v1/responses/resp_1/input_items")):
            error = self.assertError(self.respond(method, path), 404, "not_found")
            self.assertEqual(error["message"], "Response with id 'resp_1' not found.")

    def test_webSocketTurnedOff(self) -> None:
        """
        With C{websocket} off, Codex's WebSocket attempt gets a 426, so it
        falls back to HTTP.
        """
        self.makeRelay(websocket=False)
        response = self.respond("GET", "/v1/responses",
                                headers={"Upgrade": "websocket", "Connection": "Upgrade"})
        self.assertError(response, 426, "websocket_unsupported")
        self.assertEqual(self.upstream.requests, [])

    def test_webSocketUpgradeWithoutKey(self) -> None:
        """
        An upgrade that is not a WebSocket handshake is a 400 envelope, not
        Twisted's plain-text page.
        """
        response = self.respond("GET", "/v1/responses",
                                headers={"Upgrade": "websocket", "Connection": "Upgrade"})
        self.assertError(response, 400, "invalid_upgrade")
        self.assertEqual(self.upstream.requests, [])
