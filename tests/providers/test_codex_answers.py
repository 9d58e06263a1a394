"""
Answers to the requests Codex 0.169 really sends (L{tests.harness.captures}):
an upstream answer using every kind of tool the request offers, through the
stream translator, passes the oracle, gives the items Codex expects, and
translates back to the same Chat calls on the next turn.
"""

import copy
import json

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.carrier import ReasoningCarrier
from codex_relay._core.request.translate import translateRequest
from codex_relay._core.stream.translator import StreamTranslator
from tests.harness import oracle
from tests.harness.captures import SECRET, SETTINGS, TranslatedFixture
from tests.harness.chunks import chunk, finish, reasoning, text, toolCall, usage
from tests.harness.stream import CountingIds, stoppedClock


class _AnswerTests(TranslatedFixture):
    """
    The answer checks, for the fixture named C{fixtureName}; a mixin for
    L{SynchronousTestCase}.
    """

    def answerChunks(self) -> list[dict]:
        """
        An upstream answer using each kind of tool this request offers:
        reasoning, text, then a call of exec_command, of apply_patch (custom)
        and of a namespaced tool.
        """
        names = [tool["function"]["name"] for tool in self.chat.body["tools"]]
        chunks = [reasoning("Thinking "), reasoning("hard."), text("On it.")]
        calls = [("call_up_exec", "exec_command", json.dumps({"cmd": "ls"}))]
        if "apply_patch" in names:
            calls.append(("call_up_patch", "apply_patch", json.dumps(
                {"input": "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch\n"})))
        namespaced = [name for name in names if "__" in name]
        if namespaced:
            calls.append(("call_up_ns", namespaced[0], json.dumps({"target": "x"})))
        for index, (callId, name, arguments) in enumerate(calls):
            chunks.append(toolCall(index, id=callId, name=name, arguments=""))
            chunks.append(toolCall(index, arguments=arguments[:5]))
            chunks.append(toolCall(index, arguments=arguments[5:]))
        chunks += [finish("tool_calls"), chunk(choices=False, usage=usage(1200, 40, cached=1000,
                                                                          reasoning=10))]
        return chunks

    def answerEvents(self) -> tuple[StreamTranslator, list[dict]]:
        translator = StreamTranslator(self.request, self.chat, SETTINGS, ids=CountingIds(),
                                      clock=stoppedClock)
        events = translator.start()
        for upstreamChunk in self.answerChunks():
            events += translator.feedChunk(upstreamChunk)
        events += translator.finish(doneMarker=True)
        return translator, events

    def test_answerPassesOracle(self) -> None:
        """
        A streamed answer to this request passes the oracle, including the
        echo of Codex's own tools (function, custom, namespace, tool_search,
        web_search) in C{Response.tools}, which the SDK models.
        """
        _, events = self.answerEvents()
        try:
            response = oracle.checkEvents(events)
        except AssertionError as error:
            self.fail("the oracle rejects the answer to a Codex request: {}".format(error))
        self.assertEqual(response["status"], "completed")
        self.assertEqual(response["tools"], self.request["tools"])

    def test_answerHasNoStoreKey(self) -> None:
        """
        The echoed Response has no C{store}: the openai SDK's C{Response}
        does not model it, so the oracle (rule 16) rejects it.
        """
        _, events = self.answerEvents()
        for event in events:
            if "response" in event:
                self.assertNotIn("store", event["response"],
                                 "{} echoes store; the SDK's Response has no such field".format(
                                     event["type"]))

    def test_answerItems(self) -> None:
        """
        The answer's items are what Codex expects: reasoning sealed for the
        next turn, then text, then C{function_call} / C{custom_tool_call} /
        namespaced C{function_call} with the Responses-side names.
        """
        translator, events = self.answerEvents()
        done = [event["item"] for event in events
                if event["type"] == "response.output_item.done"]
        self.assertEqual(done[0]["type"], "reasoning")
        payload = ReasoningCarrier(SECRET).unseal(done[0]["encrypted_content"])
        self.assertEqual(payload["text"], "Thinking hard.")
        self.assertEqual(done[1]["content"][0]["text"], "On it.")
        shapes = [(item["type"], item["name"], item.get("namespace")) for item in done[2:]]
        expected = [("function_call", "exec_command", None)]
        names = [tool["function"]["name"] for tool in self.chat.body["tools"]]
        if "apply_patch" in names:
            expected.append(("custom_tool_call", "apply_patch", None))
        namespaced = [name for name in names if "__" in name]
        if namespaced:
            namespace, _, name = namespaced[0].partition("__")
            expected.append(("function_call", name, namespace))
        self.assertEqual(shapes, expected)
        for item in done[2:]:
            if item["type"] == "custom_tool_call":
                self.assertEqual(item["input"],
                                 "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch\n")

    def test_nextTurn(self) -> None:
        """
        The answer's items replayed by Codex (with outputs) translate back to
        the same Chat calls, with the reasoning restored.
        """
        translator, events = self.answerEvents()
        done = [event["item"] for event in events
                if event["type"] == "response.output_item.done"]
        nextRequest = copy.deepcopy(self.request)
        nextRequest["input"] += done
        for item in done:
            if item["type"] in ("function_call", "custom_tool_call"):
                nextRequest["input"].append({
                    "type": item["type"] + "_output", "id": "out_" + item["call_id"],
                    "call_id": item["call_id"], "output": "ok"})
        chat = translateRequest(nextRequest, SETTINGS)
        last = [m for m in chat.body["messages"] if m["role"] == "assistant"][-1]
        self.assertEqual(last["reasoning_content"], "Thinking hard.")
        self.assertEqual(last["content"], "On it.")
        upstreamCalls = [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
                         for c in last["tool_calls"]]
        expected = []
        for upstreamChunk in self.answerChunks():
            for fragment in (upstreamChunk.get("choices") or [{}])[0].get("delta", {}).get(
                    "tool_calls") or ():
                if "id" in fragment:
                    expected.append([fragment["id"], fragment["function"]["name"], ""])
                else:
                    expected[fragment["index"]][2] += fragment["function"]["arguments"]
        self.assertEqual(upstreamCalls, [(i, n, json.loads(a)) for i, n, a in expected])


class FallbackAnswerTests(_AnswerTests, SynchronousTestCase):
    """
    C{model = "deepseek-chat"}: Codex's fallback metadata.
    """

    fixtureName = "fallback"


class BundledAnswerTests(_AnswerTests, SynchronousTestCase):
    """
    C{model = "gpt-5.5"}: a bundled slug.
    """

    fixtureName = "bundled"


class CatalogAnswerTests(_AnswerTests, SynchronousTestCase):
    """
    C{model = "relay-model"} from a C{buildCatalog} catalog.
    """

    fixtureName = "catalog"
