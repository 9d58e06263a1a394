"""
A failing store, over HTTP on real loopback sockets: a request that needs
to read it gets a retryable 503 C{store_unavailable} naming only the
failure's class; a response it fails to keep is still answered whole, and
the failure is one error line, with no traceback.
"""

import json

import treq
from twisted.internet.defer import fail

from tests.harness.loopback import LoopbackTestCase
from tests.harness.memory import HELLO, streamRequest
from tests.harness.oracle import checkStream
from tests.harness.replies import Stream


class StoreFailureTests(LoopbackTestCase):
    async def setUp(self) -> None:  # type: ignore[override]
        super().setUp()
        await self.setUpRelay(store="memory")

    async def test_readFails(self) -> None:
        self.patch(self.service.store, "get", lambda owner, responseId: fail(
            OSError("secret detail")))
        for streaming in True, False:
            response = await self.post(dict(
                streamRequest(previous_response_id="resp_1"), stream=streaming))
            error = await self.assertError(response, 503, "store_unavailable")
            self.assertEqual(error["type"], "server_error")
            self.assertIn("OSError", error["message"])
            self.assertNotIn("secret detail", error["message"])
        self.assertEqual(self.upstream.requests, [])

    async def test_referenceReadFails(self) -> None:
        self.patch(self.service.store, "items", lambda owner, itemIds: fail(
            ConnectionError("gone")))
        response = await self.post(streamRequest(
            input=[{"type": "item_reference", "id": "msg_1"}]))
        await self.assertError(response, 503, "store_unavailable")

    async def test_writeFails(self) -> None:
        self.patch(self.service.store, "put", lambda record: fail(OSError("disk full")))
        self.upstream.queue(Stream(HELLO))
        response = await self.post(streamRequest())
        self.assertEqual(response.code, 200)
        events = checkStream(await treq.content(response))
        self.assertEqual(events[-1]["type"], "response.completed")
        errors = self.log.errors()
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("storing the response failed", errors[0])
        self.assertIn("disk full", errors[0])
        self.assertNotIn("Traceback", errors[0])
        self.assertEqual([e for e in self.log.events if e.get("log_failure")], [])
        self.log.events.clear()
        # Not kept, so not found.
        responseId = events[-1]["response"]["id"]
        got = await self.client.get(self.url + "/v1/responses/" + responseId)
        self.assertEqual(got.code, 404)
        self.assertEqual(json.loads(await treq.content(got))["error"]["code"], "not_found")

    async def test_endpointsWhenReadFails(self) -> None:
        """
        GET, DELETE and input_items answer 503 too, and each logs one line.
        """
        self.patch(self.service.store, "get", lambda owner, responseId: fail(
            OSError("no disk")))
        self.patch(self.service.store, "delete", lambda owner, responseId: fail(
            OSError("no disk")))
        for method, path in (("GET", "/v1/responses/resp_1"),
                             ("DELETE", "/v1/responses/resp_1"),
                             ("GET", "/v1/responses/resp_1/input_items")):
            response = await self.client.request(method, self.url + path)
            await self.assertError(response, 503, "store_unavailable")
        errors = self.log.errors()
        self.assertEqual(len(errors), 3, errors)
        self.assertTrue(all("the store failed: OSError" in e for e in errors), errors)
        self.assertEqual([e for e in self.log.events if e.get("log_failure")], [])
        self.log.events.clear()
