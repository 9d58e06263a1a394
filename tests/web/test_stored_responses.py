"""
Stored responses over HTTP, in memory: what a response keeps (C{store}
defaults to true), C{previous_response_id} rebuilding the conversation the
upstream sees, C{item_reference}, GET, DELETE and C{input_items}, and one
credential never seeing another's responses.
"""

import json
from typing import Any

from tests.harness.chunks import finish, reasoning, toolCall
from tests.harness.memory import HELLO, RelayTestCase, streamRequest
from tests.harness.replies import Stream

TOOLS = [{"type": "function", "name": "shell", "parameters": {"type": "object"}}]


class StoredResponseTests(RelayTestCase):
    def turn(self, chunks: list[Any] = HELLO, headers: dict[str, str] | None = None,
             **fields: Any) -> list[dict[str, Any]]:
        self.upstream.queue(Stream(chunks))
        return self.assertStream(self.post(streamRequest(**fields), headers=headers))

    def getJSON(self, path: str, status: int = 200,
                headers: dict[str, str] | None = None) -> Any:
        response = self.respond("GET", path, headers=headers)
        body = self.content(response)
        self.assertEqual(response.code, status, body)
        return json.loads(body)

    def lastMessages(self) -> list[dict[str, Any]]:
        return self.upstream.requests[-1].json["messages"]

    def test_storedByDefault(self) -> None:
        """
        Without C{store}, the response is kept: GET answers it as the
        terminal event had it.
        """
        events = self.turn()
        completed = events[-1]["response"]
        self.assertEqual(self.getJSON("/v1/responses/" + completed["id"]), completed)

    def test_storeFalseKeepsNothing(self) -> None:
        events = self.turn(store=False)
        responseId = events[-1]["response"]["id"]
        self.assertEqual(self.getJSON("/v1/responses/" + responseId, 404)["error"]["code"],
                         "not_found")
        self.upstream.queue(Stream(HELLO))
        self.assertError(self.post(streamRequest(previous_response_id=responseId)), 400,
                         "previous_response_not_found")

    def test_previousResponseRebuildsConversation(self) -> None:
        """
        Three turns chained by id: the upstream sees the whole conversation,
        with only the newest request's instructions.
        """
        first = self.turn(input="one", instructions="old rules")[-1]["response"]
        second = self.turn(input="two", instructions="new rules",
                           previous_response_id=first["id"])[-1]["response"]
        self.assertEqual(second["previous_response_id"], first["id"])
        self.turn(input="three", previous_response_id=second["id"])
        self.assertEqual(
            [(m["role"], m["content"]) for m in self.lastMessages()],
            [("user", "one"), ("assistant", "Hello"), ("user", "two"),
             ("assistant", "Hello"), ("user", "three")])
        second = self.upstream.requests[1].json["messages"]
        self.assertEqual(second[0], {"role": "system", "content": "new rules"})

    def test_toolCallAndReasoningCarriedAcrossTurns(self) -> None:
        """
        A tool call and its reasoning, continued by id with only the tool's
        output: the upstream gets the assistant turn back whole, its
        C{reasoning_content} included (what DeepSeek requires).
        """
        self.makeRelay(profile="deepseek")
        call = [reasoning("think"), toolCall(0, "call_1", "shell", '{"cmd":"ls"}'),
                finish("tool_calls")]
        first = self.turn(call, input="list", tools=TOOLS)[-1]["response"]
        [functionCall] = [i for i in first["output"] if i["type"] == "function_call"]
        self.turn(previous_response_id=first["id"], tools=TOOLS, input=[
            {"type": "function_call_output", "call_id": functionCall["call_id"],
             "output": "a b"}])
        user, assistant, tool = self.lastMessages()
        self.assertEqual(user["content"], "list")
        self.assertEqual(assistant["reasoning_content"], "think")
        self.assertEqual(assistant["tool_calls"][0]["id"], "call_1")
        self.assertEqual(assistant["tool_calls"][0]["function"]["arguments"], '{"cmd":"ls"}')
        self.assertEqual(tool, {"role": "tool", "tool_call_id": "call_1", "content": "a b"})

    def test_unknownPrevious(self) -> None:
        for previous in ("resp_nope", ""):
            error = self.assertError(
                self.post(streamRequest(previous_response_id=previous)), 400,
                "previous_response_not_found" if previous else "invalid_type")
            self.assertEqual(error["param"], "previous_response_id")
        self.assertEqual(self.upstream.requests, [])

    def test_anotherCredentialSeesNothing(self) -> None:
        mine, theirs = {"Authorization": "Bearer mine"}, {"Authorization": "Bearer theirs"}
        responseId = self.turn(headers=mine)[-1]["response"]["id"]
        self.getJSON("/v1/responses/" + responseId, headers=mine)
        for path in ("/v1/responses/" + responseId,
                     "/v1/responses/{}/input_items".format(responseId)):
            error = self.getJSON(path, 404, headers=theirs)["error"]
            self.assertNotIn("Hello", json.dumps(error))
        self.assertError(self.post(streamRequest(previous_response_id=responseId),
                                   headers=theirs), 400, "previous_response_not_found")
        response = self.respond("DELETE", "/v1/responses/" + responseId, headers=theirs)
        self.assertError(response, 404, "not_found")
        self.getJSON("/v1/responses/" + responseId, headers=mine)

    def test_delete(self) -> None:
        responseId = self.turn()[-1]["response"]["id"]
        response = self.respond("DELETE", "/v1/responses/" + responseId)
        self.assertEqual(json.loads(self.content(response)),
                         {"id": responseId, "object": "response", "deleted": True})
        self.getJSON("/v1/responses/" + responseId, 404)
        self.assertError(self.respond("DELETE", "/v1/responses/" + responseId), 404,
                         "not_found")
        self.assertError(self.post(streamRequest(previous_response_id=responseId)), 400,
                         "previous_response_not_found")

    def test_itemReference(self) -> None:
        """
        An earlier output item named by id goes upstream as the item itself.
        """
        first = self.turn(input="one")[-1]["response"]
        [message] = first["output"]
        self.turn(input=[{"role": "user", "content": "one"},
                         {"type": "item_reference", "id": message["id"]},
                         {"role": "user", "content": "two"}])
        self.assertEqual([(m["role"], m["content"]) for m in self.lastMessages()],
                         [("user", "one"), ("assistant", "Hello"), ("user", "two")])
        error = self.assertError(self.post(streamRequest(
            input=[{"type": "item_reference", "id": "msg_nope"}])), 400, "item_not_found")
        self.assertEqual(error["param"], "input[0]")

    def test_inputItemsPaged(self) -> None:
        items = [{"role": "user", "content": str(n)} for n in range(5)]
        responseId = self.turn(input=items)[-1]["response"]["id"]
        path = "/v1/responses/{}/input_items".format(responseId)
        whole = self.getJSON(path + "?order=asc")
        self.assertEqual(whole["object"], "list")
        self.assertFalse(whole["has_more"])
        self.assertEqual([i["content"] for i in whole["data"]],
                         [[{"type": "input_text", "text": str(n)}] for n in range(5)])
        ids = [i["id"] for i in whole["data"]]
        self.assertEqual(len(set(ids)), 5)
        page = self.getJSON(path + "?limit=2")
        self.assertEqual([i["id"] for i in page["data"]], ids[:2:-1][:2])
        self.assertTrue(page["has_more"])
        rest = self.getJSON(path + "?limit=10&after=" + page["last_id"])
        self.assertEqual([i["id"] for i in rest["data"]], ids[2::-1])
        self.assertFalse(rest["has_more"])
        for query, param in (("limit=0", "limit"), ("limit=x", "limit"),
                             ("order=up", "order"), ("after=nope", "after"),
                             ("include=bogus", "include")):
            error = self.getJSON(path + "?" + query, 400)["error"]
            self.assertEqual(error["param"], param)

    def test_inputItemsWhole(self) -> None:
        """
        Items are kept whole, so what C{include} asks for is always there:
        an input image's URL, a reasoning item's C{encrypted_content}.
        """
        image = {"type": "input_image", "image_url": "data:image/png;base64,AAAA",
                 "detail": "auto"}
        thought = {"type": "reasoning", "id": "rs_1", "summary": [],
                   "encrypted_content": "opaque-blob"}
        responseId = self.turn(input=[
            {"role": "user", "content": [image]}, thought,
            {"role": "user", "content": "go on"}])[-1]["response"]["id"]
        path = "/v1/responses/{}/input_items?order=asc".format(responseId)
        for query in ("", "&include=message.input_image.image_url"
                      "&include=reasoning.encrypted_content",
                      "&include[]=reasoning.encrypted_content"):
            data = self.getJSON(path + query)["data"]
            self.assertEqual(data[0]["content"][0]["image_url"], image["image_url"], query)
            self.assertEqual(data[1], dict(thought, status="completed"), query)

    def test_wholeResponseStored(self) -> None:
        self.upstream.queue(Stream(HELLO))
        response = json.loads(self.content(self.post({"model": "model-a", "input": "hi"})))
        self.assertEqual(self.getJSON("/v1/responses/" + response["id"]), response)

    def test_noStore(self) -> None:
        """
        With no store, nothing is kept and nothing can be continued.
        """
        self.makeRelay(store="none")
        responseId = self.turn()[-1]["response"]["id"]
        error = self.getJSON("/v1/responses/" + responseId, 404)["error"]
        self.assertIn("keeps no stored responses", error["message"])
        self.assertError(self.post(streamRequest(previous_response_id=responseId)), 400,
                         "previous_response_not_found")
