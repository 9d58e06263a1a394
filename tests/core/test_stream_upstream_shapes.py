"""
Tests for L{codex_relay._core.stream.translator}: Chat Completions chunks in,
Responses stream events out.

Every translator is built from a real Responses request through
L{translateRequest}, so tool maps are the real ones.  Every event list goes
through L{tests.harness.oracle.checkEvents} (PROTOCOL.md §5) and is also compared
with its golden sequence (PROTOCOL.md §2.5).  Item ids come from a counter
(reset per translation) so that whole events can be compared exactly.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.stream import items as _items
from codex_relay._core.stream import translator as _translate_stream
from codex_relay._core.carrier import ReasoningCarrier
from codex_relay._core.request.translate import translateRequest
from codex_relay._core.settings import REASONING_RAW, TranslationSettings
from codex_relay._core.sse import SSEDecoder
from codex_relay._core.stream.translator import StreamTranslator

from tests.harness import chunks as C
from tests.harness.chunks import CountingText
from tests.harness.oracle import checkEvents, checkResponse

SECRET = b"test-secret"
SETTINGS = TranslationSettings(secret=SECRET)
RESPONSE_ID = "resp_test"
CREATED_AT = 1700000000
COMPLETED_AT = 1700000042

WEATHER = {
    "type": "function", "name": "get_weather", "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]},
    "strict": False,
}
APPLY_PATCH = {
    "type": "custom", "name": "apply_patch",
    "description": "Apply a patch. This is a FREEFORM tool.",
    "format": {"type": "grammar", "syntax": "lark",
               "definition": 'start: "*** Begin Patch" LF hunk+ "*** End Patch"'},
}
NAMESPACE = {
    "type": "namespace", "name": "mcp", "description": "An MCP server.",
    "tools": [{"type": "function", "name": "search", "description": "Search.",
               "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
               "strict": None}],
}
LOCAL_SHELL = {"type": "local_shell"}

START = ["response.created", "response.in_progress"]
ADDED = "response.output_item.added"
DONE = "response.output_item.done"
COMPLETED = "response.completed"
INCOMPLETE = "response.incomplete"
FAILED = "response.failed"


def streamRequest(**fields) -> dict:
    """
    A Codex-like streaming Responses request with every kind of tool the
    relay translates.
    """
    request = {
        "model": "model-a",
        "instructions": "You are a coding agent.",
        "input": [{"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": "What is the weather?"}]}],
        "tools": [WEATHER, APPLY_PATCH, NAMESPACE, LOCAL_SHELL],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
    }
    request.update(fields)
    return request


class CountingIds:
    """
    A deterministic stand-in for L{codex_relay._core.stream.response.newId}.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._next = 0

    def __call__(self, prefix: str) -> str:
        self._next += 1
        return "{}{}".format(prefix, self._next)


IDS = CountingIds()


# -- golden sequences ---------------------------------------------------------


def messageTypes(deltas: int, part: str = "output_text") -> list[str]:
    return ([ADDED, "response.content_part.added"]
            + ["response.{}.delta".format(part)] * deltas
            + ["response.{}.done".format(part), "response.content_part.done", DONE])


def summaryTypes(deltas: int) -> list[str]:
    return ([ADDED, "response.reasoning_summary_part.added"]
            + ["response.reasoning_summary_text.delta"] * deltas
            + ["response.reasoning_summary_text.done",
               "response.reasoning_summary_part.done", DONE])


def rawReasoningTypes(deltas: int) -> list[str]:
    return ([ADDED, "response.content_part.added"]
            + ["response.reasoning_text.delta"] * deltas
            + ["response.reasoning_text.done", "response.content_part.done", DONE])


def functionTypes(deltas: int) -> list[str]:
    return ([ADDED] + ["response.function_call_arguments.delta"] * deltas
            + ["response.function_call_arguments.done", DONE])


def customTypes(deltas: int) -> list[str]:
    return ([ADDED] + ["response.custom_tool_call_input.delta"] * deltas
            + ["response.custom_tool_call_input.done", DONE])


def types(events: list[dict]) -> list[str]:
    return [event["type"] for event in events]


def deltas(events: list[dict], kind: str, outputIndex: int | None = None) -> list[str]:
    return [event["delta"] for event in events if event["type"] == kind
            and (outputIndex is None or event["output_index"] == outputIndex)]


def terminal(events: list[dict]) -> dict:
    return events[-1]["response"]


def outputItems(events: list[dict]) -> list[dict]:
    return terminal(events)["output"]


def splitEvery(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def functionChunk(index: int, callId: str, name: str, arguments: str) -> dict:
    return {"index": index, "id": callId, "type": "function",
            "function": {"name": name, "arguments": arguments}}


def toolCalls(*calls: dict) -> dict:
    """
    One chunk holding several tool-call fragments.
    """
    return C.chunk({"tool_calls": list(calls)})


class TranslatorMixin:
    """
    Runs translators with deterministic ids and makes sure that every event
    list produced in a test went through the oracle.
    """

    def setUp(self) -> None:
        self.patch(_items, "newId", IDS)
        self.patch(_translate_stream, "newId", IDS)
        self.patch(_translate_stream, "now", lambda: COMPLETED_AT)
        self._unchecked: list[list[dict]] = []
        self.addCleanup(self._checkRest)

    def _checkRest(self) -> None:
        """
        Put the event lists a test did not check itself (for instance
        because an earlier assertion failed) through the oracle.
        """
        while self._unchecked:
            checkEvents(self._unchecked.pop())

    def _record(self, events: list[dict]) -> list[dict]:
        self._unchecked.append(events)
        return events

    def translator(self, request: dict | None = None,
                   settings: TranslationSettings = SETTINGS) -> StreamTranslator:
        request = streamRequest() if request is None else request
        IDS.reset()
        chat = translateRequest(request, settings)
        return StreamTranslator(request, chat, settings, responseId=RESPONSE_ID,
                                createdAt=CREATED_AT)

    def translate(self, chunks: list[dict], done: bool = True, **kwargs) -> list[dict]:
        """
        Feed C{chunks} and end the stream (with C{[DONE]} when C{done}).
        """
        translator = self.translator(**kwargs)
        events = translator.start()
        for chunk in chunks:
            events += translator.feedChunk(chunk)
        events += translator.finish(doneMarker=done)
        return self._record(events)

    def translateBody(self, body: bytes, pieceSize: int = 7, **kwargs) -> list[dict]:
        """
        Feed an upstream SSE body through L{SSEDecoder} in small pieces,
        then end the stream at EOF.
        """
        translator = self.translator(**kwargs)
        decoder = SSEDecoder()
        events = translator.start()
        for piece in splitEvery(body, pieceSize):
            for event in decoder.feed(piece):
                events += translator.feedEvent(event)
        for event in decoder.close():
            events += translator.feedEvent(event)
        events += translator.finish()
        return self._record(events)

    def oracle(self, events: list[dict], allowCodexCodes: bool = False) -> dict:
        """
        Check C{events} against the oracle; the terminal response.
        """
        self._unchecked = [other for other in self._unchecked if other is not events]
        return checkEvents(events, allowCodexCodes=allowCodexCodes)

    def assertItem(self, events: list[dict], outputIndex: int) -> tuple[dict, dict]:
        """
        The events of the item at C{outputIndex} start with its
        C{output_item.added} and end with its C{output_item.done}, with one
        item id throughout.

        @return: the added and the done item.
        """
        own = [event for event in events if event.get("output_index") == outputIndex]
        self.assertEqual((own[0]["type"], own[-1]["type"]), (ADDED, DONE))
        added, done = own[0]["item"], own[-1]["item"]
        self.assertEqual(added["id"], done["id"])
        self.assertEqual({event["item_id"] for event in own[1:-1]} or {added["id"]},
                         {added["id"]})
        first = events.index(own[0])
        self.assertEqual(own, events[first:first + len(own)], "interleaved items")
        return added, done

    def assertTerminal(self, events: list[dict], kind: str, status: str) -> dict:
        self.assertEqual(events[-1]["type"], kind)
        self.assertEqual(sum(event["type"] in (COMPLETED, INCOMPLETE, FAILED)
                             for event in events), 1)
        response = terminal(events)
        self.assertEqual(response["status"], status)
        return response


def reasoningPayload(item: dict, secret: bytes = SECRET) -> dict | None:
    return ReasoningCarrier(secret).unseal(item.get("encrypted_content"))


class LifecycleTests(TranslatorMixin, SynchronousTestCase):
    """
    The opening events and a plain text answer.
    """

    def test_plainText(self) -> None:
        """
        A text answer is one message item: part added, a delta per upstream
        chunk, the done events with the full text, then C{response.completed}
        with the upstream usage.
        """
        events = self.translate([
            C.chunk({"role": "assistant", "content": "", "refusal": None}),
            C.text("Hel"), C.text("lo, "), C.text("world!"),
            C.finish("stop"),
            C.chunk(choices=False, usage=C.usage(12, 5)),
        ])
        self.assertEqual(types(events), START + messageTypes(3) + [COMPLETED])
        self.assertEqual([event["sequence_number"] for event in events],
                         list(range(len(events))))
        self.assertEqual(events[2], {
            "type": ADDED, "sequence_number": 2, "output_index": 0,
            "item": {"id": "msg_1", "type": "message", "status": "in_progress",
                     "role": "assistant", "content": []},
        })
        self.assertEqual(events[3], {
            "type": "response.content_part.added", "sequence_number": 3,
            "item_id": "msg_1", "output_index": 0, "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
        })
        self.assertEqual(events[4], {
            "type": "response.output_text.delta", "sequence_number": 4,
            "item_id": "msg_1", "output_index": 0, "content_index": 0,
            "delta": "Hel", "logprobs": [],
        })
        self.assertEqual(deltas(events, "response.output_text.delta"),
                         ["Hel", "lo, ", "world!"])
        self.assertEqual(events[7]["text"], "Hello, world!")
        part = {"type": "output_text", "text": "Hello, world!", "annotations": [],
                "logprobs": []}
        self.assertEqual(events[8]["part"], part)
        self.assertEqual(events[9]["item"], {
            "id": "msg_1", "type": "message", "status": "completed",
            "role": "assistant", "content": [part],
        })
        response = self.assertTerminal(events, COMPLETED, "completed")
        self.assertEqual(response["output"], [events[9]["item"]])
        self.assertEqual((response["id"], response["created_at"], response["completed_at"]),
                         (RESPONSE_ID, CREATED_AT, COMPLETED_AT))
        self.assertEqual((response["error"], response["incomplete_details"]), (None, None))
        self.assertEqual(response["usage"], {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 17,
        })
        self.oracle(events)

    def test_start(self) -> None:
        """
        The stream opens with C{response.created} and C{response.in_progress}:
        in progress, no output, no usage, the request echoed.
        """
        events = self.translate([C.text("hi"), C.finish("stop")])
        for event in events[:2]:
            response = event["response"]
            self.assertEqual(
                (response["id"], response["status"], response["output"], response["usage"]),
                (RESPONSE_ID, "in_progress", [], None))
            self.assertEqual((response["model"], response["instructions"]),
                             ("model-a", "You are a coding agent."))
            self.assertEqual(response["tools"], [WEATHER, APPLY_PATCH, NAMESPACE, LOCAL_SHELL])
        self.oracle(events)

    def test_noStoreEcho(self) -> None:
        """
        The Response carries no C{store} key: the SDK does not model it, so
        PROTOCOL.md §5 rule 16 forbids it (the oracle rejects it too).
        """
        events = self.translate([C.text("hi"), C.finish("stop")])
        for event in (events[0], events[1], events[-1]):
            self.assertNotIn("store", event["response"])
        self.oracle(events)


class IdTests(SynchronousTestCase):
    """
    Item ids, with the real id generator.
    """

    def test_prefixes(self) -> None:
        """
        Items get fresh ids: C{rs_}, C{msg_}, C{fc_}, C{ctc_} plus random
        hex; a call without an upstream id gets a C{call_} id.
        """
        request = streamRequest()
        translator = StreamTranslator(request, translateRequest(request, SETTINGS), SETTINGS)
        events = translator.start()
        for chunk in [C.reasoning("r"), C.text("t"),
                      C.toolCall(0, None, "get_weather", "{}"),
                      C.toolCall(1, "call_b", "apply_patch", '{"input":"x"}'),
                      C.finish("tool_calls")]:
            events += translator.feedChunk(chunk)
        events += translator.finish(doneMarker=True)
        output = terminal(events)["output"]
        patterns = ["rs_", "msg_", "fc_", "ctc_"]
        for item, prefix in zip(output, patterns):
            self.assertRegex(item["id"], "^{}[0-9a-f]{{24}}$".format(prefix))
        self.assertRegex(output[2]["call_id"], "^call_[0-9a-f]{24}$")
        self.assertRegex(terminal(events)["id"], "^resp_[0-9a-f]{24}$")
        self.assertEqual(len({item["id"] for item in output}), 4)
        checkEvents(events)


class ReasoningTests(TranslatorMixin, SynchronousTestCase):
    """
    Provider reasoning becomes reasoning items (PROTOCOL.md §2.5, §4.4).
    """

    def test_summaryThenText(self) -> None:
        """
        In the default summary mode reasoning streams as summary text of a
        reasoning item at index 0, closed before the message at index 1.
        """
        events = self.translate([
            C.reasoning("Let me "), C.reasoning("think."), C.text("Sunny."),
            C.finish("stop"),
        ])
        self.assertEqual(types(events), START + summaryTypes(2) + messageTypes(1) + [COMPLETED])
        added, done = self.assertItem(events, 0)
        self.assertEqual(added, {"id": "rs_1", "type": "reasoning", "summary": []})
        self.assertEqual(events[3], {
            "type": "response.reasoning_summary_part.added", "sequence_number": 3,
            "item_id": "rs_1", "output_index": 0, "summary_index": 0,
            "part": {"type": "summary_text", "text": ""},
        })
        self.assertEqual(deltas(events, "response.reasoning_summary_text.delta"),
                         ["Let me ", "think."])
        self.assertEqual([event["summary_index"] for event in events[3:8]], [0] * 5)
        self.assertEqual(events[6]["text"], "Let me think.")
        self.assertEqual(events[7]["part"], {"type": "summary_text", "text": "Let me think."})
        self.assertEqual(done["summary"], [{"type": "summary_text", "text": "Let me think."}])
        self.assertNotIn("content", done)
        self.assertTrue(done["encrypted_content"].startswith("crelay1."))
        message, _ = self.assertItem(events, 1)
        self.assertEqual(message["id"], "msg_2")
        self.assertEqual(deltas(events, "response.output_text.delta", 1), ["Sunny."])
        self.assertTerminal(events, COMPLETED, "completed")
        self.oracle(events)

    def test_raw(self) -> None:
        """
        In raw mode reasoning streams as C{reasoning_text} content; the
        summary stays empty.
        """
        settings = TranslationSettings(secret=SECRET, reasoningPresentation=REASONING_RAW)
        events = self.translate([C.reasoning("a"), C.reasoning("b"), C.text("c"),
                                 C.finish("stop")], settings=settings)
        self.assertEqual(types(events),
                         START + rawReasoningTypes(2) + messageTypes(1) + [COMPLETED])
        added, done = self.assertItem(events, 0)
        self.assertEqual(added, {"id": "rs_1", "type": "reasoning", "summary": [],
                                 "content": []})
        self.assertEqual(events[3]["part"], {"type": "reasoning_text", "text": ""})
        self.assertEqual(events[3]["content_index"], 0)
        self.assertEqual(deltas(events, "response.reasoning_text.delta"), ["a", "b"])
        self.assertEqual(events[6]["text"], "ab")
        self.assertEqual(done["summary"], [])
        self.assertEqual(done["content"], [{"type": "reasoning_text", "text": "ab"}])
        self.oracle(events)

    def test_alternation(self) -> None:
        """
        Reasoning after text opens a new reasoning item, and text after that
        a new message: four items, each closed before the next.
        """
        events = self.translate([
            C.reasoning("r1"), C.text("t1"), C.reasoning("r2"), C.text("t2"),
            C.finish("stop"),
        ])
        self.assertEqual(types(events), START + summaryTypes(1) + messageTypes(1)
                         + summaryTypes(1) + messageTypes(1) + [COMPLETED])
        output = outputItems(events)
        self.assertEqual([(item["id"], item["type"]) for item in output],
                         [("rs_1", "reasoning"), ("msg_2", "message"),
                          ("rs_3", "reasoning"), ("msg_4", "message")])
        for index in range(4):
            self.assertItem(events, index)
        self.assertEqual(output[2]["summary"][0]["text"], "r2")
        self.assertEqual(reasoningPayload(output[2])["text"], "r2")
        self.oracle(events)

    def assertReasoningText(self, chunks: list[dict], text: str, field: str) -> list[dict]:
        events = self.translate(chunks + [C.text("ok"), C.finish("stop")])
        self.assertEqual(types(events), START + summaryTypes(len(chunks)) + messageTypes(1)
                         + [COMPLETED])
        reasoning = outputItems(events)[0]
        self.assertEqual(reasoning["summary"], [{"type": "summary_text", "text": text}])
        self.assertEqual(reasoningPayload(reasoning)["field"], field)
        self.oracle(events)
        return events

    def test_reasoningContent(self) -> None:
        """
        DeepSeek, Kimi, Qwen: C{reasoning_content}.
        """
        self.assertReasoningText([C.reasoning("a"), C.reasoning("b")], "ab",
                                 "reasoning_content")

    def test_reasoningString(self) -> None:
        """
        vLLM, Ollama, OpenRouter: C{reasoning} as a string.
        """
        self.assertReasoningText([C.reasoning("a", "reasoning"), C.reasoning("b", "reasoning")],
                                 "ab", "reasoning")

    def test_reasoningObject(self) -> None:
        """
        C{reasoning} as an object with C{text} (Codex's legacy parser
        accepted it).
        """
        self.assertReasoningText([C.chunk({"reasoning": {"text": "a"}}),
                                  C.chunk({"reasoning": {"text": "b"}})], "ab", "reasoning")

    def test_reasoningDetailsOnly(self) -> None:
        """
        Reasoning only in C{reasoning_details}: their text is shown.
        """
        self.assertReasoningText(
            [C.chunk({"reasoning_details": [{"type": "reasoning.text", "text": "a",
                                             "index": 0}]}),
             C.chunk({"reasoning_details": [{"type": "reasoning.summary", "summary": "b",
                                             "index": 1}]})],
            "ab", "reasoning_details")

    def test_openRouterBothFields(self) -> None:
        """
        OpenRouter sends each piece in C{reasoning} and again in
        C{reasoning_details}: the text is shown once, and the details are
        kept verbatim, merged by index, in the sealed C{encrypted_content}.
        """
        chunks = [
            C.chunk({"reasoning": "Let", "reasoning_details": [
                {"type": "reasoning.text", "text": "Let", "index": 0,
                 "format": "anthropic-claude-v1"}]}),
            C.chunk({"reasoning": " me", "reasoning_details": [
                {"type": "reasoning.text", "text": " me", "index": 0}]}),
            C.chunk({"reasoning": " see", "reasoning_details": [
                {"type": "reasoning.text", "text": " see", "index": 0,
                 "signature": "sig=="}]}),
        ]
        events = self.assertReasoningText(chunks, "Let me see", "reasoning")
        self.assertEqual(deltas(events, "response.reasoning_summary_text.delta"),
                         ["Let", " me", " see"])
        self.assertEqual(reasoningPayload(outputItems(events)[0])["details"], [
            {"type": "reasoning.text", "text": "Let me see", "index": 0,
             "format": "anthropic-claude-v1", "signature": "sig=="},
        ])

    def test_openRouterTrailingSignature(self) -> None:
        """
        A last C{reasoning_details} fragment that only carries a signature
        (no text) is merged into the details, and does not change the field
        the reasoning text came from: the replay field must not depend on
        whether the signature arrived in its own chunk.
        """
        chunks = [
            C.chunk({"reasoning": "Let", "reasoning_details": [
                {"type": "reasoning.text", "text": "Let", "index": 0}]}),
            C.chunk({"reasoning": " me", "reasoning_details": [
                {"type": "reasoning.text", "text": " me", "index": 0}]}),
            C.chunk({"reasoning_details": [
                {"type": "reasoning.text", "signature": "sig==", "index": 0}]}),
        ]
        events = self.translate(chunks + [C.text("ok"), C.finish("stop")])
        self.assertEqual(types(events), START + summaryTypes(2) + messageTypes(1) + [COMPLETED])
        payload = reasoningPayload(outputItems(events)[0])
        self.assertEqual(payload["details"], [
            {"type": "reasoning.text", "text": "Let me", "index": 0, "signature": "sig=="}])
        self.assertEqual((payload["text"], payload["field"]), ("Let me", "reasoning"))
        self.oracle(events)

    def test_deepSeekNullContent(self) -> None:
        """
        DeepSeek sends C{content: null} next to C{reasoning_content}: null is
        no content, so no message opens during the reasoning.
        """
        events = self.translate([
            C.chunk({"role": "assistant", "content": None, "reasoning_content": "hm"}),
            C.chunk({"content": None, "reasoning_content": "m"}),
            C.chunk({"content": "Yes", "reasoning_content": None}),
            C.finish("stop"),
        ])
        self.assertEqual(types(events), START + summaryTypes(2) + messageTypes(1) + [COMPLETED])
        self.assertEqual(outputItems(events)[0]["summary"][0]["text"], "hmm")
        self.assertEqual(outputItems(events)[1]["content"][0]["text"], "Yes")
        self.oracle(events)


class MessageTests(TranslatorMixin, SynchronousTestCase):
    """
    Message items: refusals, empty deltas.
    """

    def test_refusal(self) -> None:
        """
        A refusal is a message with a refusal part.
        """
        events = self.translate([C.chunk({"refusal": "I can't "}),
                                 C.chunk({"refusal": "help."}), C.finish("stop")])
        self.assertEqual(types(events), START + messageTypes(2, "refusal") + [COMPLETED])
        self.assertEqual(events[3]["part"], {"type": "refusal", "refusal": ""})
        self.assertEqual(deltas(events, "response.refusal.delta"), ["I can't ", "help."])
        self.assertNotIn("logprobs", events[4])
        self.assertEqual(events[6]["refusal"], "I can't help.")
        _, done = self.assertItem(events, 0)
        self.assertEqual(done["content"], [{"type": "refusal", "refusal": "I can't help."}])
        self.oracle(events)

    def test_textThenRefusal(self) -> None:
        """
        Text then refusal: one message, two parts, the first closed before
        the second opens.
        """
        events = self.translate([C.text("Well, "), C.chunk({"refusal": "no."}),
                                 C.finish("stop")])
        self.assertEqual(types(events), START + [
            ADDED, "response.content_part.added", "response.output_text.delta",
            "response.output_text.done", "response.content_part.done",
            "response.content_part.added", "response.refusal.delta",
            "response.refusal.done", "response.content_part.done", DONE, COMPLETED])
        self.assertEqual([event["content_index"] for event in events[3:11]],
                         [0, 0, 0, 0, 1, 1, 1, 1])
        self.oracle(events)

    def test_emptyDeltasSkipped(self) -> None:
        """
        Empty content and role-only deltas produce no events.
        """
        events = self.translate([C.chunk({"role": "assistant", "content": ""}),
                                 C.text(""), C.text("a"), C.text(""), C.finish("stop")])
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.oracle(events)


class ToolCallTests(TranslatorMixin, SynchronousTestCase):
    """
    Chat tool calls become function, custom tool and local shell calls.
    """

    def test_oneFunctionCall(self) -> None:
        """
        One function call: added with empty arguments, a delta per
        fragment, the done event with C{name}, then the completed item.
        """
        events = self.translate([
            C.toolCall(0, "call_1", "get_weather", ""),
            C.toolCall(0, arguments='{"city":'), C.toolCall(0, arguments='"Paris"}'),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(2) + [COMPLETED])
        self.assertEqual(events[2]["item"], {
            "id": "fc_1", "type": "function_call", "status": "in_progress",
            "call_id": "call_1", "name": "get_weather", "arguments": ""})
        self.assertEqual(deltas(events, "response.function_call_arguments.delta"),
                         ['{"city":', '"Paris"}'])
        self.assertEqual(events[5], {
            "type": "response.function_call_arguments.done", "sequence_number": 5,
            "item_id": "fc_1", "output_index": 0, "name": "get_weather",
            "arguments": '{"city":"Paris"}'})
        self.assertEqual(events[6]["item"], {
            "id": "fc_1", "type": "function_call", "status": "completed",
            "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'})
        self.assertTerminal(events, COMPLETED, "completed")
        self.oracle(events)

    def test_textThenCall(self) -> None:
        """
        Text before a call is a message closed before the call opens.
        """
        events = self.translate([C.text("Checking."),
                                 C.toolCall(0, "call_1", "get_weather", '{"city":"Oslo"}'),
                                 C.finish("tool_calls")])
        self.assertEqual(types(events), START + messageTypes(1) + functionTypes(1)
                         + [COMPLETED])
        self.assertItem(events, 0)
        self.assertEqual(self.assertItem(events, 1)[1]["call_id"], "call_1")
        self.oracle(events)

    def test_sequentialCalls(self) -> None:
        """
        Calls at Chat indices 0 and 1, streamed one after the other (as
        OpenAI does), are two items, the first closed before the second.
        """
        events = self.translate([
            C.toolCall(0, "call_1", "get_weather", ""), C.toolCall(0, arguments='{"city":"A"}'),
            C.toolCall(1, "call_2", "mcp__search", ""), C.toolCall(1, arguments='{"q":"B"}'),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(1) + functionTypes(1)
                         + [COMPLETED])
        first, second = outputItems(events)
        self.assertEqual((first["call_id"], first["name"], first["arguments"]),
                         ("call_1", "get_weather", '{"city":"A"}'))
        self.assertNotIn("namespace", first)
        self.assertEqual((second["call_id"], second["name"], second["namespace"],
                          second["arguments"]), ("call_2", "search", "mcp", '{"q":"B"}'))
        self.assertEqual([self.assertItem(events, i)[0]["id"] for i in (0, 1)],
                         ["fc_1", "fc_2"])
        self.oracle(events)

    def test_parallelCallsInOneChunk(self) -> None:
        """
        Complete parallel calls in a single chunk (Groq, xAI) are streamed
        one after the other, in index order.
        """
        events = self.translate([
            toolCalls(functionChunk(0, "call_a", "get_weather", '{"city":"A"}'),
                      functionChunk(1, "call_b", "get_weather", '{"city":"B"}'),
                      functionChunk(2, "call_c", "apply_patch", '{"input":"P"}')),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(1) + functionTypes(1)
                         + customTypes(1) + [COMPLETED])
        self.assertEqual([(item["type"], item["call_id"]) for item in outputItems(events)],
                         [("function_call", "call_a"), ("function_call", "call_b"),
                          ("custom_tool_call", "call_c")])
        self.assertEqual(outputItems(events)[1]["arguments"], '{"city":"B"}')
        self.assertEqual(outputItems(events)[2]["input"], "P")
        self.oracle(events)

    def test_customToolEscapesSplit(self) -> None:
        """
        A custom tool's JSON arguments C{{"input": "..."}} split inside every
        escape (C{\\n}, C{\\"}, C{\\u00e9}, a surrogate pair, C{\\\\})
        stream as decoded raw text that concatenates to the done input.
        """
        raw = 'x\ny "q" \u00e9\U0001F600\\z'
        arguments = json.dumps({"input": raw})
        self.assertEqual(arguments, '{"input": "x\\ny \\"q\\" \\u00e9\\ud83d\\ude00\\\\z"}')
        fragments = ['{"in', 'put": "x\\', 'ny \\', '"q\\"', ' \\u00', 'e9\\ud83d', '\\ude',
                     '00\\', '\\z"', '}']
        self.assertEqual("".join(fragments), arguments)
        events = self.translate(
            [C.toolCall(0, "call_p", "apply_patch", "")]
            + [C.toolCall(0, arguments=fragment) for fragment in fragments]
            + [C.finish("tool_calls")])
        self.assertEqual(types(events), START + customTypes(7) + [COMPLETED])
        self.assertEqual(events[2]["item"], {
            "id": "ctc_1", "type": "custom_tool_call", "status": "in_progress",
            "call_id": "call_p", "name": "apply_patch", "input": ""})
        streamed = deltas(events, "response.custom_tool_call_input.delta")
        self.assertEqual(streamed, ["x", "\ny ", '"q"', " ", "\u00e9", "\U0001F600", "\\z"])
        self.assertEqual([events[-3]["input"]], [raw])
        self.assertEqual(events[-2]["item"], {
            "id": "ctc_1", "type": "custom_tool_call", "status": "completed",
            "call_id": "call_p", "name": "apply_patch", "input": raw})
        self.oracle(events)

    def test_customToolEverySplit(self) -> None:
        """
        Whatever the fragment size, the custom input deltas are the raw text
        and add up to it.
        """
        raw = '*** Begin Patch\n*** Add File: caf\u00e9.txt\n+"\U0001F600"\t\\\n*** End Patch'
        arguments = json.dumps({"input": raw})
        for size in range(1, 14):
            events = self.translate(
                [C.toolCall(0, "call_p", "apply_patch", "")]
                + [C.toolCall(0, arguments=arguments[i:i + size])
                   for i in range(0, len(arguments), size)]
                + [C.finish("tool_calls")])
            # In lists, so that a lone surrogate in a failure prints escaped.
            self.assertEqual(["".join(deltas(events, "response.custom_tool_call_input.delta")),
                              outputItems(events)[0]["input"]], [raw, raw])
            self.oracle(events)

    def test_customToolRawText(self) -> None:
        """
        A custom tool whose model sent raw text instead of JSON: the text is
        the input, sent as one delta at close.
        """
        patch = "*** Begin Patch\n*** Delete File: a.txt\n*** End Patch\n"
        events = self.translate([
            C.toolCall(0, "call_p", "apply_patch", patch[:10]),
            C.toolCall(0, arguments=patch[10:]),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + customTypes(1) + [COMPLETED])
        self.assertEqual(deltas(events, "response.custom_tool_call_input.delta"), [patch])
        self.assertEqual(outputItems(events)[0]["input"], patch)
        self.oracle(events)

    def test_namespaceCall(self) -> None:
        """
        A call of a flattened namespace tool maps back to C{name} plus
        C{namespace}, in C{added} and in C{done}.
        """
        events = self.translate([C.toolCall(0, "call_n", "mcp__search", '{"q":"x"}'),
                                 C.finish("tool_calls")])
        self.assertEqual(types(events), START + functionTypes(1) + [COMPLETED])
        added, done = self.assertItem(events, 0)
        for item in (added, done):
            self.assertEqual((item["type"], item["name"], item["namespace"], item["call_id"]),
                             ("function_call", "search", "mcp", "call_n"))
        self.assertEqual(events[4]["name"], "search")
        self.oracle(events)

    def test_localShellCall(self) -> None:
        """
        A call of the C{local_shell} function becomes a C{local_shell_call}
        item with an exec action, announced whole at close.
        """
        events = self.translate([
            C.toolCall(0, "call_s", "local_shell", '{"command": ["ls", '),
            C.toolCall(0, arguments='"-la"], "workdir": "/tmp", "timeout_ms": 1000}'),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + [ADDED, DONE, COMPLETED])
        action = {"type": "exec", "command": ["ls", "-la"], "env": {},
                  "working_directory": "/tmp", "timeout_ms": 1000}
        self.assertEqual(events[2]["item"], {
            "id": "fc_1", "type": "local_shell_call", "status": "in_progress",
            "call_id": "call_s", "action": action})
        self.assertEqual(events[3]["item"], {
            "id": "fc_1", "type": "local_shell_call", "status": "completed",
            "call_id": "call_s", "action": action})
        self.oracle(events)

    def test_missingAndDuplicateUpstreamIds(self) -> None:
        """
        A call without an upstream id, or with one already used, gets a
        generated C{call_} id, so call ids stay unique.
        """
        events = self.translate([
            toolCalls({"index": 0, "function": {"name": "get_weather", "arguments": "{}"}}),
            toolCalls(functionChunk(1, "dup", "get_weather", "{}")),
            toolCalls(functionChunk(2, "dup", "get_weather", "{}")),
            C.finish("tool_calls"),
        ])
        self.assertEqual([item["call_id"] for item in outputItems(events)],
                         ["call_1", "dup", "call_4"])
        self.oracle(events)


class UpstreamShapeTests(TranslatorMixin, SynchronousTestCase):
    """
    Irregular upstream streams (PROVIDERS.md §4, §5).
    """

    def test_fragmentsWithoutIndex(self) -> None:
        """
        Gemini-style fragments without C{index}: a new id starts a call, a
        fragment without id continues the last one.
        """
        events = self.translate([
            C.toolCall(0, "call_1", "get_weather", '{"city":', omitIndex=True),
            C.toolCall(0, arguments='"A"}', omitIndex=True),
            C.toolCall(0, "call_2", "get_weather", '{"city":"B"}', omitIndex=True),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(2) + functionTypes(1)
                         + [COMPLETED])
        self.assertEqual([(item["call_id"], item["arguments"]) for item in outputItems(events)],
                         [("call_1", '{"city":"A"}'), ("call_2", '{"city":"B"}')])
        self.oracle(events)

    def test_indexReusedWithNewId(self) -> None:
        """
        Ollama sends parallel calls all at index 0 with different ids: two
        calls, not one merged one.
        """
        events = self.translate([
            C.toolCall(0, "call_1", "get_weather", '{"city":"A"}'),
            C.toolCall(0, "call_2", "get_weather", '{"city":"B"}'),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(1) + functionTypes(1)
                         + [COMPLETED])
        self.assertEqual([(item["call_id"], item["arguments"]) for item in outputItems(events)],
                         [("call_1", '{"city":"A"}'), ("call_2", '{"city":"B"}')])
        self.oracle(events)

    def test_sameIdRepeated(self) -> None:
        """
        Kimi and LM Studio repeat the id (and type) on every fragment: one
        call.
        """
        events = self.translate([
            C.toolCall(0, "call_1", "get_weather", ""),
            C.toolCall(0, "call_1", None, '{"city":'),
            C.toolCall(0, "call_1", None, '"A"}'),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(2) + [COMPLETED])
        self.assertEqual(outputItems(events)[0]["arguments"], '{"city":"A"}')
        self.oracle(events)

    def test_sameIdRepeatedWithoutIndex(self) -> None:
        """
        The same id repeated on fragments without C{index} is still one call.
        """
        events = self.translate([
            C.toolCall(0, "call_1", "get_weather", '{"city":', omitIndex=True),
            C.toolCall(0, "call_1", None, '"A"}', omitIndex=True),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(2) + [COMPLETED])
        self.assertEqual(outputItems(events)[0]["arguments"], '{"city":"A"}')
        self.oracle(events)

    def test_nameInLaterFragment(self) -> None:
        """
        A call whose name arrives only in a later fragment opens once the
        name is known, with the arguments received so far as its first
        delta.
        """
        events = self.translate([
            C.text("x"),
            C.toolCall(0, "call_1", None, '{"city":'),
            C.toolCall(0, None, "get_weather", '"A"'),
            C.toolCall(0, arguments="}"),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + messageTypes(1) + functionTypes(3)
                         + [COMPLETED])
        self.assertEqual(deltas(events, "response.function_call_arguments.delta"),
                         ['{"city":', '"A"', "}"])
        _, done = self.assertItem(events, 1)
        self.assertEqual((done["call_id"], done["name"], done["arguments"]),
                         ("call_1", "get_weather", '{"city":"A"}'))
        self.oracle(events)

    def test_argumentsAsObject(self) -> None:
        """
        Arguments sent as a parsed JSON object become a JSON string.
        """
        events = self.translate([
            toolCalls({"index": 0, "id": "call_1", "type": "function",
                       "function": {"name": "get_weather", "arguments": {"city": "A"}}}),
            C.finish("tool_calls"),
        ])
        self.assertEqual(types(events), START + functionTypes(1) + [COMPLETED])
        self.assertEqual(json.loads(outputItems(events)[0]["arguments"]), {"city": "A"})
        self.oracle(events)

    def test_usageAfterFinishEmptyChoices(self) -> None:
        """
        OpenAI: usage in a last chunk with C{choices: []}, after the
        finish_reason.
        """
        events = self.translate([C.text("a"), C.finish("stop"),
                                 C.chunk(choices=False, usage=C.usage(7, 3))])
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        usage = terminal(events)["usage"]
        self.assertEqual((usage["input_tokens"], usage["output_tokens"],
                          usage["total_tokens"]), (7, 3, 10))
        self.oracle(events)

    def test_usageAfterFinishWithChoice(self) -> None:
        """
        OpenRouter: usage on a later chunk that still has a choice with an
        empty delta.
        """
        events = self.translate([C.text("a"), C.finish("stop"),
                                 C.chunk({"content": ""}, usage=C.usage(7, 3))])
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.assertEqual(terminal(events)["usage"]["total_tokens"], 10)
        self.oracle(events)

    def test_usageOnFinishChunk(self) -> None:
        """
        DeepSeek: usage on the finish chunk itself; other chunks have
        C{usage: null}.
        """
        events = self.translate([C.chunk({"content": "a"}, usage=None),
                                 C.chunk({}, finish="stop", usage=C.usage(9, 1))])
        self.assertEqual(terminal(events)["usage"]["input_tokens"], 9)
        self.oracle(events)

    def test_emptyFirstChunk(self) -> None:
        """
        A first chunk without choices (Azure's C{prompt_filter_results}, or
        just C{choices: []}) is skipped.
        """
        azure = C.chunk(choices=False, id="", model="", prompt_filter_results=[
            {"prompt_index": 0, "content_filter_results": {"hate": {"filtered": False}}}])
        events = self.translate([azure, C.chunk(choices=False), C.text("a"),
                                 C.finish("stop")])
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.oracle(events)

    def test_noDoneMarker(self) -> None:
        """
        A stream that ends without C{[DONE]} after a finish_reason completes
        normally at EOF.
        """
        events = self.translateBody(C.sse(C.text("a"), C.finish("stop"), done=False))
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.oracle(events)

    def test_keepAliveComments(self) -> None:
        """
        Keep-alive comments (with CRLF line ends, split in 7-byte pieces)
        produce no events.
        """
        body = C.sse(C.Comment("OPENROUTER PROCESSING"), C.reasoning("r"),
                     C.Comment(), C.text("caf\u00e9"), C.Comment(), C.finish("stop"),
                     C.Comment(), lineEnd="\r\n")
        events = self.translateBody(body)
        self.assertEqual(types(events), START + summaryTypes(1) + messageTypes(1)
                         + [COMPLETED])
        self.assertEqual(outputItems(events)[1]["content"][0]["text"], "caf\u00e9")
        self.oracle(events)

    def test_mistralContentParts(self) -> None:
        """
        Mistral streams C{content} as typed parts, C{thinking} among them:
        thinking is reasoning, text parts are text.
        """
        events = self.translate([
            C.chunk({"content": [{"type": "thinking",
                                  "thinking": [{"type": "text", "text": "hmm"}]}]}),
            C.chunk({"content": [{"type": "text", "text": "Hi"}]}),
            C.finish("stop"),
        ])
        self.assertEqual(types(events), START + summaryTypes(1) + messageTypes(1)
                         + [COMPLETED])
        self.assertEqual(deltas(events, "response.reasoning_summary_text.delta"), ["hmm"])
        self.assertEqual(deltas(events, "response.output_text.delta"), ["Hi"])
        self.oracle(events)

    def test_legacyFunctionCall(self) -> None:
        """
        The legacy C{function_call} delta is one tool call.
        """
        events = self.translate([
            C.chunk({"function_call": {"name": "get_weather", "arguments": '{"city":'}}),
            C.chunk({"function_call": {"arguments": '"A"}'}}),
            C.finish("function_call"),
        ])
        self.assertEqual(types(events), START + functionTypes(2) + [COMPLETED])
        self.assertEqual((outputItems(events)[0]["name"], outputItems(events)[0]["arguments"]),
                         ("get_weather", '{"city":"A"}'))
        self.oracle(events)

    def test_nameNeverSent(self) -> None:
        """
        A call whose name never comes still becomes an item at the end
        (named C{unknown}), so its arguments are not lost.
        """
        events = self.translate([C.toolCall(0, "call_1", None, '{"a":1}'),
                                 C.finish("tool_calls")])
        self.assertEqual(types(events), START + functionTypes(1) + [COMPLETED])
        self.assertEqual(outputItems(events)[0]["name"], "unknown")
        self.assertEqual(outputItems(events)[0]["arguments"], '{"a":1}')
        self.oracle(events)

    def test_customToolOtherKey(self) -> None:
        """
        Custom tool arguments with one string member that is not C{input}:
        that string is the input.
        """
        events = self.translate([C.toolCall(0, "call_1", "apply_patch", '{"patch": "x\\ny"}'),
                                 C.finish("tool_calls")])
        self.assertEqual(types(events), START + customTypes(1) + [COMPLETED])
        self.assertEqual(outputItems(events)[0]["input"], "x\ny")
        self.oracle(events)

    def test_nonJSONEventSkipped(self) -> None:
        """
        An upstream event whose data is not a JSON object, among good
        chunks, is skipped with one warning for all of them.
        """
        body = b"data: {oops\n\ndata: 42\n\n" + C.sse(C.text("a"), C.finish("stop"))
        translator = self.translator()
        decoder = SSEDecoder()
        events = translator.start()
        for event in decoder.feed(body):
            events += translator.feedEvent(event)
        self._record(events)
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.assertEqual(translator.warnings,
                         ["skipped 2 upstream event(s) that are not JSON objects"])
        self.oracle(events)

    def test_sseMatchesChunks(self) -> None:
        """
        The same stream fed as SSE bytes (any piece size) or as parsed
        chunks gives the same events.
        """
        chunks = [C.reasoning("r\u00e9"), C.text("a\nb"),
                  C.toolCall(0, "call_1", "apply_patch", '{"input":"x\\u00e9"}'),
                  C.finish("tool_calls"), C.chunk(choices=False, usage=C.usage(3, 4))]
        expected = self.translate(chunks)
        self.oracle(expected)
        body = b"".join(b"data: " + json.dumps(c, ensure_ascii=False).encode("utf-8")
                        + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
        for size in (1, 2, 3, 5, 64, len(body)):
            events = self.translateBody(body, pieceSize=size)
            self.assertEqual(events, expected)
            self.oracle(events)


class FinishTests(TranslatorMixin, SynchronousTestCase):
    """
    finish_reason, [DONE] and EOF pick the terminal event (PROTOCOL.md §4.6).
    """

    def test_length(self) -> None:
        """
        C{length}: the open item closes incomplete and the response is
        C{incomplete} with reason C{max_output_tokens}; earlier items stay
        completed.
        """
        events = self.translate([C.reasoning("r"), C.text("abc"), C.finish("length"),
                                 C.chunk(choices=False, usage=C.usage(5, 8))])
        self.assertEqual(types(events), START + summaryTypes(1) + messageTypes(1)
                         + [INCOMPLETE])
        response = self.assertTerminal(events, INCOMPLETE, "incomplete")
        self.assertEqual(response["incomplete_details"], {"reason": "max_output_tokens"})
        self.assertEqual((response["error"], response.get("completed_at")), (None, None))
        self.assertEqual(response["usage"]["output_tokens"], 8)
        self.assertNotIn("status", response["output"][0])
        self.assertEqual(response["output"][1]["status"], "incomplete")
        self.oracle(events)

    def test_lengthInToolCall(self) -> None:
        """
        C{length} inside a call's arguments: the call closes incomplete.
        """
        events = self.translate([C.toolCall(0, "call_1", "get_weather", '{"ci'),
                                 C.finish("length")])
        self.assertEqual(types(events), START + functionTypes(1) + [INCOMPLETE])
        self.assertEqual(outputItems(events)[0]["status"], "incomplete")
        self.oracle(events)

    def test_lengthAsCompleted(self) -> None:
        """
        With C{lengthAsCompleted}, C{length} gives C{response.completed}
        whose last item is marked incomplete.
        """
        settings = TranslationSettings(secret=SECRET, lengthAsCompleted=True)
        events = self.translate([C.text("a"), C.toolCall(0, "call_1", "get_weather", "{"),
                                 C.finish("length")], settings=settings)
        self.assertEqual(types(events), START + messageTypes(1) + functionTypes(1)
                         + [COMPLETED])
        response = self.assertTerminal(events, COMPLETED, "completed")
        self.assertEqual([item["status"] for item in response["output"]],
                         ["completed", "incomplete"])
        self.assertEqual((response["incomplete_details"], response["completed_at"]),
                         (None, COMPLETED_AT))
        self.oracle(events)

    def test_contentFilterFailed(self) -> None:
        """
        C{content_filter} by default: C{response.failed} with the
        non-retryable code C{invalid_prompt}, the open item incomplete.
        """
        events = self.translate([C.text("a"), C.finish("content_filter")])
        self.assertEqual(types(events), START + messageTypes(1) + [FAILED])
        response = self.assertTerminal(events, FAILED, "failed")
        self.assertEqual(response["error"]["code"], "invalid_prompt")
        self.assertIn("content_filter", response["error"]["message"])
        self.assertEqual(response["output"][0]["status"], "incomplete")
        self.assertIsNone(response["incomplete_details"])
        self.oracle(events)

    def test_contentFilterIncomplete(self) -> None:
        """
        With C{contentFilterAsFailed=False}: C{response.incomplete} with
        reason C{content_filter}.
        """
        settings = TranslationSettings(secret=SECRET, contentFilterAsFailed=False)
        events = self.translate([C.text("a"), C.finish("content_filter")], settings=settings)
        self.assertEqual(types(events), START + messageTypes(1) + [INCOMPLETE])
        response = self.assertTerminal(events, INCOMPLETE, "incomplete")
        self.assertEqual(response["incomplete_details"], {"reason": "content_filter"})
        self.assertEqual(response["output"][0]["status"], "incomplete")
        self.assertIsNone(response["error"])
        self.oracle(events)

    def test_unknownFinishReason(self) -> None:
        """
        Unknown finish reasons (C{eos}, C{MALFORMED_FUNCTION_CALL}, ...)
        complete.
        """
        events = self.translate([C.text("a"), C.finish("eos")])
        self.assertTerminal(events, COMPLETED, "completed")
        self.assertEqual(outputItems(events)[0]["status"], "completed")
        self.oracle(events)

    def test_eofWithoutFinishReason(self) -> None:
        """
        EOF without a finish_reason: the open item closes incomplete, then
        C{response.failed} with C{server_error}.
        """
        events = self.translate([C.reasoning("r"), C.toolCall(0, "call_1", "get_weather", "{")],
                                done=False)
        self.assertEqual(types(events), START + summaryTypes(1) + functionTypes(1) + [FAILED])
        response = self.assertTerminal(events, FAILED, "failed")
        self.assertEqual(response["error"]["code"], "server_error")
        self.assertEqual([item.get("status") for item in response["output"]],
                         [None, "incomplete"])
        self.assertIsNone(response["usage"])
        self.oracle(events)

    def test_finishReasonThenEOF(self) -> None:
        """
        A finish_reason then EOF without C{[DONE]}: completed by
        C{finish()}.
        """
        translator = self.translator()
        events = translator.start() + translator.feedChunk(C.text("a"))
        events += translator.feedChunk(C.finish("stop"))
        self.assertFalse(translator.finished)
        self.assertEqual(types(events), START + messageTypes(1))
        events += translator.finish()
        self.assertTrue(translator.finished)
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.assertIs(translator.response, terminal(events))
        self.assertEqual(translator.usage, terminal(events)["usage"])
        self.oracle(events)

    def test_exactlyOneTerminal(self) -> None:
        """
        After the terminal event, more chunks, C{[DONE]}, C{finish()} and
        C{fail()} produce nothing.
        """
        translator = self.translator()
        body = C.sse(C.text("a"), C.finish("stop"), C.chunk(choices=False, usage=C.usage(1, 1)))
        body += C.sse(C.text("late"), C.finish("stop"))
        decoder = SSEDecoder()
        events = translator.start()
        for event in decoder.feed(body):
            events += translator.feedEvent(event)
        response = terminal(events)
        self.assertEqual(translator.feedChunk(C.text("more")), [])
        self.assertEqual(translator.feedChunk({"error": {"message": "boom"}}), [])
        self.assertEqual(translator.finish(), [])
        self.assertEqual(translator.finish(doneMarker=True), [])
        self.assertEqual(translator.fail("server_error", "late"), [])
        self.assertIs(translator.response, response)
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self._record(events)
        self.oracle(events)

    def test_errorAfterFinishReason(self) -> None:
        """
        An error chunk after the finish_reason but before C{[DONE]} fails
        the response, once.
        """
        events = self.translate([C.text("a"), C.finish("stop"),
                                 {"error": {"message": "boom", "code": "server_error"}}])
        self.assertEqual(types(events), START + messageTypes(1) + [FAILED])
        self.assertEqual(outputItems(events)[0]["status"], "completed")
        self.oracle(events)


class ErrorTests(TranslatorMixin, SynchronousTestCase):
    """
    Errors inside a 200 stream end in C{response.failed} (PROVIDERS.md §4).
    """

    def assertFailed(self, events: list[dict], code: str, before: list[str],
                     allowCodexCodes: bool = False) -> dict:
        self.assertEqual(types(events), START + before + [FAILED])
        response = self.assertTerminal(events, FAILED, "failed")
        self.assertEqual(response["error"]["code"], code)
        self.assertIsNone(response["incomplete_details"])
        if response["output"]:
            self.assertEqual(response["output"][-1]["status"], "incomplete")
        self.oracle(events, allowCodexCodes=allowCodexCodes)
        return response["error"]

    def test_openAIErrorChunk(self) -> None:
        """
        OpenAI and SGLang: C{{"error": {...}}}; a context overflow maps to
        C{context_length_exceeded}.
        """
        message = ("This model's maximum context length is 128000 tokens. However, your "
                   "messages resulted in 130000 tokens.")
        events = self.translate([C.text("a"), {"error": {
            "message": message, "type": "invalid_request_error", "param": "messages",
            "code": "context_length_exceeded"}}])
        error = self.assertFailed(events, "context_length_exceeded", messageTypes(1),
                                  allowCodexCodes=True)
        self.assertEqual(error["message"], message)

    def test_openRouterErrorChunk(self) -> None:
        """
        OpenRouter: an error object next to C{finish_reason: "error"}.
        """
        events = self.translate([C.reasoning("r"), C.chunk(
            {"content": ""}, finish="error",
            error={"code": 502, "message": "Provider disconnected unexpectedly"},
            native_finish_reason="error")])
        error = self.assertFailed(events, "server_error", summaryTypes(1))
        self.assertEqual(error["message"], "Provider disconnected unexpectedly")

    def test_finishReasonErrorWithoutObject(self) -> None:
        """
        C{finish_reason: "error"} without an error object after streamed
        text: a failed response, numbered without gaps.
        """
        events = self.translate([C.text("a"), C.chunk({"content": "b"}, finish="error")])
        self.assertEqual([event["sequence_number"] for event in events],
                         list(range(len(events))))
        self.assertEqual(deltas(events, "response.output_text.delta"), ["a", "b"])
        self.assertFailed(events, "server_error", messageTypes(2))

    def test_vllmErrorObject(self) -> None:
        """
        vLLM: C{{"object": "error", "message": ...}}.
        """
        events = self.translate([C.text("a"), {
            "object": "error", "message": "CUDA out of memory", "type": "InternalServerError",
            "param": None, "code": 500}])
        error = self.assertFailed(events, "server_error", messageTypes(1))
        self.assertEqual(error["message"], "CUDA out of memory")

    def test_errorEvent(self) -> None:
        """
        An SSE C{event: error} with an error envelope fails the response.
        """
        body = (C.sse(C.text("a"), done=False)
                + b'event: error\ndata: {"error": {"message": "Overloaded", '
                  b'"type": "overloaded_error"}}\n\n')
        error = self.assertFailed(self.translateBody(body), "server_error", messageTypes(1))
        self.assertEqual(error["message"], "Overloaded")

    def test_errorEventBare(self) -> None:
        """
        An SSE C{event: error} whose data is the error itself (no envelope).
        """
        body = (C.sse(C.text("a"), done=False)
                + b'event: error\ndata: {"message": "Rate limit exceeded", '
                  b'"code": "rate_limit_exceeded"}\n\n')
        error = self.assertFailed(self.translateBody(body), "rate_limit_exceeded",
                                  messageTypes(1))
        self.assertIn("try again in", error["message"].lower())

    def test_rateLimitGetsRetryHint(self) -> None:
        """
        A rate limit without a delay gets the "try again in" phrase Codex
        reads its retry delay from.
        """
        events = self.translate([C.text("a"), {"error": {
            "message": "Rate limit reached for requests", "code": "rate_limit_exceeded"}}])
        error = self.assertFailed(events, "rate_limit_exceeded", messageTypes(1))
        self.assertEqual(error["message"],
                         "Rate limit reached for requests Please try again in 2s.")

    def test_rateLimitKeepsDelay(self) -> None:
        """
        A rate limit message that already says when to retry is kept.
        """
        message = "Rate limit reached for gpt-x. Please try again in 1.5s."
        events = self.translate([{"error": {"message": message, "type": "tokens",
                                            "code": "rate_limit_exceeded"}}])
        error = self.assertFailed(events, "rate_limit_exceeded", [])
        self.assertEqual(error["message"], message)

    def test_errorBeforeAnyItem(self) -> None:
        """
        An error before any output: C{response.failed} with empty output.
        """
        events = self.translate([{"error": {"message": "Internal error"}}])
        self.assertFailed(events, "server_error", [])
        self.assertEqual(outputItems(events), [])

    def test_usageKeptOnFailure(self) -> None:
        """
        Usage reported before the failure is kept on C{response.failed}.
        """
        events = self.translate([C.chunk({"content": "a"}, usage=C.usage(4, 2)),
                                 {"error": {"message": "boom"}}])
        self.assertFailed(events, "server_error", messageTypes(1))
        self.assertEqual(terminal(events)["usage"]["total_tokens"], 6)


class UsageTests(TranslatorMixin, SynchronousTestCase):
    """
    Chat usage mapped onto Responses usage (PROTOCOL.md §4.6).
    """

    def usageOf(self, usage: dict | None) -> dict:
        chunks = [C.text("Hello there"), C.finish("stop")]
        if usage is not None:
            chunks.append(C.chunk(choices=False, usage=usage))
        events = self.translate(chunks)
        self.oracle(events)
        return terminal(events)["usage"]

    def test_oddDetails(self) -> None:
        """
        Details that are not objects count as absent, rather than breaking
        the terminal event.
        """
        usage = C.usage(100, 20)
        usage["prompt_tokens_details"] = "none"
        usage["completion_tokens_details"] = [1]
        self.assertEqual(self.usageOf(usage)["input_tokens_details"],
                         {"cached_tokens": 0, "cache_write_tokens": 0})

    def test_cachedTokens(self) -> None:
        """
        C{prompt_tokens_details.cached_tokens} and C{cache_write_tokens}.
        """
        usage = C.usage(100, 20, cached=30)
        usage["prompt_tokens_details"]["cache_write_tokens"] = 10
        self.assertEqual(self.usageOf(usage), {
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 10},
            "output_tokens": 20,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 120,
        })

    def test_deepSeekCacheHits(self) -> None:
        """
        DeepSeek's C{prompt_cache_hit_tokens} are cached tokens.
        """
        usage = self.usageOf(C.usage(100, 20, deepseekHits=40))
        self.assertEqual(usage["input_tokens_details"]["cached_tokens"], 40)

    def test_reasoningTokens(self) -> None:
        """
        C{completion_tokens_details.reasoning_tokens} pass through.
        """
        usage = self.usageOf(C.usage(100, 20, reasoning=15))
        self.assertEqual(usage["output_tokens_details"], {"reasoning_tokens": 15})

    def test_totalRecomputed(self) -> None:
        """
        A wrong upstream total is replaced by input + output.
        """
        usage = C.usage(10, 5)
        usage["total_tokens"] = 99
        self.assertEqual(self.usageOf(usage)["total_tokens"], 15)

    def test_clamped(self) -> None:
        """
        Cached tokens are clamped to the input, reasoning tokens to the
        output.
        """
        usage = self.usageOf(C.usage(100, 20, cached=500, reasoning=50))
        self.assertEqual((usage["input_tokens_details"]["cached_tokens"],
                          usage["output_tokens_details"]["reasoning_tokens"]), (100, 20))

    def test_estimate(self) -> None:
        """
        Without any upstream usage, usage is a non-zero integer estimate that
        grows with the output.
        """
        short = self.usageOf(None)
        events = self.translate([C.text("Hello there" * 40), C.finish("stop")])
        self.oracle(events)
        long = terminal(events)["usage"]
        for usage in (short, long):
            for key in ("input_tokens", "output_tokens", "total_tokens"):
                self.assertIs(type(usage[key]), int)
                self.assertGreater(usage[key], 0)
            self.assertEqual(usage["total_tokens"],
                             usage["input_tokens"] + usage["output_tokens"])
        self.assertEqual(short["input_tokens"], long["input_tokens"])
        self.assertGreater(long["output_tokens"], short["output_tokens"])

    def test_lastUsageWins(self) -> None:
        """
        With usage on several chunks (continuous usage stats), the last one
        counts.
        """
        events = self.translate([C.chunk({"content": "a"}, usage=C.usage(5, 1)),
                                 C.chunk({"content": "b"}, usage=C.usage(5, 2)),
                                 C.chunk({}, finish="stop", usage=C.usage(5, 3))])
        self.assertEqual(terminal(events)["usage"]["output_tokens"], 3)
        self.oracle(events)


class EncryptedReasoningTests(TranslatorMixin, SynchronousTestCase):
    """
    Reasoning carried to the next turn in C{encrypted_content}
    (PROTOCOL.md §4.5).
    """

    def test_notIncluded(self) -> None:
        """
        Without C{reasoning.encrypted_content} in C{include}, reasoning items
        have no C{encrypted_content}.
        """
        for include in (None, [], ["message.output_text.logprobs"]):
            request = streamRequest(include=include)
            events = self.translate([C.reasoning("r"), C.text("t"), C.finish("stop")],
                                    request=request)
            self.assertNotIn("encrypted_content", outputItems(events)[0])
            self.oracle(events)

    def test_sealed(self) -> None:
        """
        The blob is only on C{output_item.done}; it opens with the same
        secret to the text, the field, the details, the model and the
        upstream it came from, and not with another secret.
        """
        events = self.translate([C.reasoning("Let me "), C.reasoning("check."),
                                 C.text("t"), C.finish("stop")])
        self.assertNotIn("encrypted_content", events[2]["item"])
        item = outputItems(events)[0]
        self.assertEqual(reasoningPayload(item), {
            "v": 1, "model": "model-a", "field": "reasoning_content",
            "text": "Let me check.", "details": None, "origin": ""})
        self.assertIsNone(reasoningPayload(item, b"another-secret"))
        self.oracle(events)

    def test_roundTrip(self) -> None:
        """
        The output items fed back as the next request's input put the
        reasoning text on the assistant message holding the tool calls, and
        map every call back to its Chat name and arguments.
        """
        patch = "*** Begin Patch\n*** End Patch"
        events = self.translate([
            C.reasoning("I should "), C.reasoning("look."),
            C.toolCall(0, "call_1", "get_weather", '{"city":"Paris"}'),
            C.toolCall(1, "call_2", "apply_patch", json.dumps({"input": patch})),
            C.toolCall(2, "call_3", "mcp__search", '{"q":"x"}'),
            C.finish("tool_calls"),
        ])
        self.oracle(events)
        items = outputItems(events)
        self.assertEqual([item["type"] for item in items],
                         ["reasoning", "function_call", "custom_tool_call", "function_call"])
        nextRequest = streamRequest()
        nextRequest["input"] = nextRequest["input"] + items + [
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Done"},
            {"type": "function_call_output", "call_id": "call_3", "output": "found"},
        ]
        messages = translateRequest(nextRequest, SETTINGS).body["messages"]
        self.assertEqual(messages[2:], [
            {"role": "assistant", "content": None, "reasoning_content": "I should look.",
             "tool_calls": [
                 {"id": "call_1", "type": "function",
                  "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                 {"id": "call_2", "type": "function",
                  "function": {"name": "apply_patch",
                               "arguments": json.dumps({"input": patch})}},
                 {"id": "call_3", "type": "function",
                  "function": {"name": "mcp__search", "arguments": '{"q":"x"}'}},
             ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "Done"},
            {"role": "tool", "tool_call_id": "call_3", "content": "found"},
        ])

    def test_roundTripOtherSecret(self) -> None:
        """
        A relay with another secret cannot open the blob and falls back to
        the visible summary text.
        """
        events = self.translate([C.reasoning("why"),
                                 C.toolCall(0, "call_1", "get_weather", "{}"),
                                 C.finish("tool_calls")])
        self.oracle(events)
        nextRequest = streamRequest()
        nextRequest["input"] = nextRequest["input"] + outputItems(events) + [
            {"type": "function_call_output", "call_id": "call_1", "output": "ok"}]
        other = TranslationSettings(secret=b"another-secret")
        assistant = translateRequest(nextRequest, other).body["messages"][2]
        self.assertEqual(assistant["reasoning_content"], "why")


class NonStreamingTests(TranslatorMixin, SynchronousTestCase):
    """
    A whole C{chat.completion} fed as one chunk gives the same items as the
    equivalent stream.
    """

    def test_wholeCompletion(self) -> None:
        """
        Reasoning, text and tool calls without C{index}: the response passes
        the oracle and has the same output (same ids, statuses, shapes) as
        the streamed case.
        """
        message = {
            "role": "assistant", "reasoning_content": "Need weather.",
            "content": "Let me check.",
            "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                {"id": "call_2", "type": "function",
                 "function": {"name": "apply_patch",
                              "arguments": json.dumps({"input": "a\n\u00e9"})}},
            ],
        }
        request = streamRequest(stream=False)
        translator = self.translator(request=request)
        events = translator.start()
        events += translator.feedChunk(C.completion(message, "tool_calls", C.usage(30, 12)))
        events += translator.finish(doneMarker=True)
        self._record(events)
        response = translator.response
        checkResponse(response)
        self.assertEqual(response["status"], "completed")
        self.assertEqual(response["usage"]["total_tokens"], 42)
        self.oracle(events)

        streamed = self.translate([
            C.reasoning("Need weather."), C.text("Let me check."),
            C.toolCall(0, "call_1", "get_weather", '{"city":"Paris"}'),
            C.toolCall(1, "call_2", "apply_patch", json.dumps({"input": "a\n\u00e9"})),
            C.finish("tool_calls"),
        ], request=request)
        self.oracle(streamed)
        self.assertEqual(response["output"], outputItems(streamed))
        self.assertEqual([item["type"] for item in response["output"]],
                         ["reasoning", "message", "function_call", "custom_tool_call"])
        self.assertEqual(response["output"][3]["input"], "a\n\u00e9")

    def test_wholeCompletionLength(self) -> None:
        """
        A whole completion cut by C{length} is an incomplete response.
        """
        translator = self.translator(request=streamRequest(stream=False))
        events = translator.start()
        events += translator.feedChunk(C.completion("partial", "length"))
        events += translator.finish(doneMarker=True)
        self._record(events)
        checkResponse(translator.response)
        self.assertEqual(translator.response["incomplete_details"],
                         {"reason": "max_output_tokens"})
        self.assertEqual(translator.response["output"][0]["status"], "incomplete")
        self.oracle(events)


def assertCarriable(testCase: SynchronousTestCase, events: list[dict]) -> None:
    """
    No surrogate anywhere in C{events}: every string is one UTF-8 (and
    serde_json) can carry as it is.
    """
    try:
        json.dumps(events, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        testCase.fail("a surrogate in the events: {}".format(e))


class SurrogateTests(TranslatorMixin, SynchronousTestCase):
    """
    A surrogate pair split across two upstream events (an emoji escaped as
    C{\\ud83d\\ude00}, cut between its halves) is joined; a lone surrogate
    never goes out: it becomes U+FFFD.  serde_json (Codex) and pydantic
    refuse lone surrogates.
    """

    def translateSSE(self, *chunks: dict, **kwargs) -> list[dict]:
        # C.sse escapes non-ASCII as json.dumps does: \ud83d on the wire.
        body = C.sse(*chunks)
        self.assertIn(b"\\ud83d", body)
        events = self.translateBody(body, **kwargs)
        assertCarriable(self, events)
        return events

    def test_contentPairSplit(self) -> None:
        events = self.translateSSE(C.text("a\ud83d"), C.text("\ude00b"), C.finish("stop"))
        self.assertEqual(deltas(events, "response.output_text.delta"), ["a", "\U0001F600b"])
        self.assertEqual(outputItems(events)[0]["content"][0]["text"], "a\U0001F600b")
        self.oracle(events)

    def test_contentOnlyHalves(self) -> None:
        """
        Fragments that are each one half: the high one sends nothing, the
        low one the whole character.
        """
        events = self.translateSSE(C.text("\ud83d"), C.text("\ude00"), C.finish("stop"))
        self.assertEqual(types(events), START + messageTypes(1) + [COMPLETED])
        self.assertEqual(deltas(events, "response.output_text.delta"), ["\U0001F600"])
        self.oracle(events)

    def test_highNeverFollowed(self) -> None:
        """
        A high surrogate that ends the text becomes U+FFFD when its part
        closes, as a last delta, so deltas still add up to the text.
        """
        events = self.translateSSE(C.text("a\ud83d"), C.finish("stop"))
        self.assertEqual(deltas(events, "response.output_text.delta"), ["a", "\ufffd"])
        self.assertEqual(outputItems(events)[0]["content"][0]["text"], "a\ufffd")
        self.oracle(events)

    def test_highThenOther(self) -> None:
        """
        A high surrogate followed by anything but its low half, and a stray
        low one, are each U+FFFD.
        """
        events = self.translateSSE(C.text("\ud83d"), C.text("x\ude00y"), C.text("\ud800\ud800"),
                                   C.text("z"), C.finish("stop"))
        self.assertEqual("".join(deltas(events, "response.output_text.delta")),
                         "\ufffdx\ufffdy\ufffd\ufffdz")
        self.oracle(events)

    def test_partChange(self) -> None:
        """
        The halves of a pair in two different parts are two lone halves.
        """
        events = self.translateSSE(C.text("a\ud83d"), C.chunk({"refusal": "\ude00"}),
                                   C.finish("stop"))
        self.assertEqual(deltas(events, "response.output_text.delta"), ["a", "\ufffd"])
        self.assertEqual(deltas(events, "response.refusal.delta"), ["\ufffd"])
        self.oracle(events)

    def test_refusal(self) -> None:
        events = self.translateSSE(C.chunk({"refusal": "no \ud83d"}),
                                   C.chunk({"refusal": "\ude00"}), C.finish("stop"))
        self.assertEqual(deltas(events, "response.refusal.delta"), ["no ", "\U0001F600"])
        self.assertEqual(outputItems(events)[0]["content"][0]["refusal"], "no \U0001F600")
        self.oracle(events)

    def test_reasoningSummary(self) -> None:
        """
        Reasoning shown as a summary, and the text sealed in
        C{encrypted_content}: joined, and a last lone half replaced.
        """
        events = self.translateSSE(C.reasoning("r\ud83d"), C.reasoning("\ude00\ud83d"),
                                   C.text("ok"), C.finish("stop"))
        self.assertEqual(deltas(events, "response.reasoning_summary_text.delta"),
                         ["r", "\U0001F600", "\ufffd"])
        item = outputItems(events)[0]
        self.assertEqual(item["summary"][0]["text"], "r\U0001F600\ufffd")
        self.assertEqual(reasoningPayload(item)["text"], "r\U0001F600\ufffd")
        self.oracle(events)

    def test_reasoningRaw(self) -> None:
        events = self.translateSSE(
            C.reasoning("\ud83d"), C.reasoning("\ude00"), C.finish("stop"),
            settings=TranslationSettings(secret=SECRET, reasoningPresentation=REASONING_RAW))
        self.assertEqual(deltas(events, "response.reasoning_text.delta"), ["\U0001F600"])
        self.assertEqual(outputItems(events)[0]["content"][0]["text"], "\U0001F600")
        self.oracle(events)

    def test_functionArguments(self) -> None:
        """
        Arguments whose upstream JSON escaped an emoji and cut it in two:
        the arguments carry the character.
        """
        events = self.translateSSE(
            C.toolCall(0, "call_1", "get_weather", '{"city":"\ud83d'),
            C.toolCall(0, arguments='\ude00"}'), C.finish("tool_calls"))
        self.assertEqual(deltas(events, "response.function_call_arguments.delta"),
                         ['{"city":"', '\U0001F600"}'])
        self.assertEqual(outputItems(events)[0]["arguments"], '{"city":"\U0001F600"}')
        self.oracle(events)

    def test_functionArgumentsLoneAtEnd(self) -> None:
        events = self.translateSSE(
            C.toolCall(0, "call_1", "get_weather", '{"city":"x"}\ud83d'), C.finish("tool_calls"))
        self.assertEqual(deltas(events, "response.function_call_arguments.delta"),
                         ['{"city":"x"}', "\ufffd"])
        self.assertEqual(outputItems(events)[0]["arguments"], '{"city":"x"}\ufffd')
        self.oracle(events)

    def test_customInputOuterEscapes(self) -> None:
        """
        A custom tool's input, its emoji cut by the upstream's own escaping.
        """
        events = self.translateSSE(
            C.toolCall(0, "call_p", "apply_patch", '{"input": "a\ud83d'),
            C.toolCall(0, arguments='\ude00"}'), C.finish("tool_calls"))
        self.assertEqual(deltas(events, "response.custom_tool_call_input.delta"),
                         ["a", "\U0001F600"])
        self.assertEqual(outputItems(events)[0]["input"], "a\U0001F600")
        self.oracle(events)

    def test_customInputInnerLone(self) -> None:
        """
        Lone surrogates escaped inside the custom tool's JSON arguments
        (C{\\\\ud83d} as text): U+FFFD in the deltas and in the done input
        alike.
        """
        for arguments, expected in [
                ('{"input": "a\\ud83d"}', "a\ufffd"),
                ('{"input": "a\\ud83db"}', "a\ufffdb"),
                ('{"input": "\\ude00\\ud83d\\ude00"}', "\ufffd\U0001F600"),
                ('{"input": "a\\ud83d\\u0041"}', "a\ufffdA")]:
            for size in (1, 3, 7, 100):
                events = self.translate(
                    [C.toolCall(0, "call_p", "apply_patch", "")]
                    + [C.toolCall(0, arguments=arguments[i:i + size])
                       for i in range(0, len(arguments), size)]
                    + [C.finish("tool_calls")])
                assertCarriable(self, events)
                self.assertEqual(
                    [ascii("".join(deltas(events, "response.custom_tool_call_input.delta"))),
                     ascii(outputItems(events)[0]["input"])],
                    [ascii(expected)] * 2, (arguments, size))
                self.oracle(events)

    def test_wholeCompletion(self) -> None:
        """
        A non-streamed completion with lone surrogates: its output is
        carriable too.
        """
        translator = self.translator(request=streamRequest(stream=False))
        events = translator.start()
        events += translator.feedChunk(C.completion(
            {"role": "assistant", "reasoning_content": "\ude00", "content": "a\ud83d"}))
        events += translator.finish(doneMarker=True)
        self._record(events)
        assertCarriable(self, [translator.response])
        self.assertEqual(translator.response["output"][1]["content"][0]["text"], "a\ufffd")
        self.oracle(events)


class TerminalTests(TranslatorMixin, SynchronousTestCase):
    """
    The translator is L{StreamTranslator.finished} only once its terminal
    event exists: a fault on the way leaves L{StreamTranslator.fail} able
    to end the stream, with nothing made before the fault lost.
    """

    # Usage whose details are not an object: mapping it raises.
    ODD_USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "prompt_tokens_details": "n/a"}

    def test_terminalExposed(self) -> None:
        translator = self.translator()
        events = translator.start()
        self.assertEqual((translator.terminal, translator.nextSequence), (None, 2))
        events += translator.feedChunk(C.text("a"))
        events += translator.finish(doneMarker=True)
        self._record(events)
        self.assertIs(translator.terminal, events[-1])
        self.assertEqual(translator.nextSequence, len(events))
        self.assertEqual(translator.fail("server_error", "late"), [])
        self.oracle(events)

    def test_faultBeforeTerminal(self) -> None:
        """
        A fault while the terminal event is made (here: usage the mapping
        cannot read) leaves the translator unfinished; L{fail} then sends
        the item events made before the fault and C{response.failed}, with
        no gap in the sequence numbers.
        """
        def broken(usage: dict) -> dict:
            raise AttributeError("a bug in the usage mapping")

        self.patch(_translate_stream, "mapUsage", broken)
        translator = self.translator()
        events = translator.start()
        events += translator.feedChunk(C.text("a"))
        events += translator.feedChunk(C.chunk(choices=False, usage=self.ODD_USAGE))
        self.assertRaises(AttributeError, translator.finish, doneMarker=True)
        self.assertFalse(translator.finished)
        self.assertIsNone(translator.terminal)
        events += translator.fail("server_error", "The relay failed.")
        self._record(events)
        self.assertEqual(types(events), START + messageTypes(1) + [FAILED])
        self.assertEqual([event["sequence_number"] for event in events],
                         list(range(len(events))))
        response = self.assertTerminal(events, FAILED, "failed")
        self.assertIsNone(response["usage"])
        self.assertEqual(response["output"][0]["content"][0]["text"], "a")
        self.assertTrue(translator.finished)
        self.oracle(events)

    def test_failWithOddUsage(self) -> None:
        """
        Usage the mapping cannot read does not stop a failure from being
        told.
        """
        events = self.translate([C.text("a"), C.chunk(choices=False, usage=self.ODD_USAGE),
                                 {"error": {"message": "boom"}}])
        response = self.assertTerminal(events, FAILED, "failed")
        self.assertEqual(response["usage"]["input_tokens_details"]["cached_tokens"], 0)
        self.oracle(events)


class UnparsableStreamTests(TranslatorMixin, SynchronousTestCase):
    """
    An upstream whose events are none of them Chat chunks has not given an
    empty answer: it fails (C{server_error}, the code Codex retries and the
    SDK models).
    """

    def assertUnparsable(self, body: bytes, count: int) -> None:
        events = self.translateBody(body)
        self.assertEqual(types(events), START + [FAILED])
        error = self.assertTerminal(events, FAILED, "failed")["error"]
        self.assertEqual(error["code"], "server_error")
        self.assertIn("{} event(s) were not JSON objects".format(count), error["message"])
        self.oracle(events)

    def test_onlyNonJSON(self) -> None:
        self.assertUnparsable(b"data: <html>\n\ndata: oops\n\ndata: [DONE]\n\n", 2)

    def test_onlyNonObjects(self) -> None:
        self.assertUnparsable(b'data: 42\n\ndata: "text"\n\ndata: [1]\n\ndata: [DONE]\n\n', 3)

    def test_onlyNonJSONThenEOF(self) -> None:
        self.assertUnparsable(b"data: oops\n\n", 1)

    def test_tooDeep(self) -> None:
        """
        Nesting too deep for the JSON parser is not JSON either, not a
        relay crash.
        """
        self.assertUnparsable(b"data: " + b"[" * 100000 + b"]" * 100000
                              + b"\n\ndata: [DONE]\n\n", 1)

    def test_emptyStream(self) -> None:
        """
        A stream of nothing but C{[DONE]} stays an empty completed answer:
        nothing was unparsable.
        """
        events = self.translateBody(b"data: [DONE]\n\n")
        self.assertEqual(types(events), START + [COMPLETED])
        self.oracle(events)


def referenceMerge(kept: list[dict], fragments: list) -> None:
    """
    The merging of C{reasoning_details} as it was (quadratic): the
    reference for what L{_translate_stream._ReasoningDetails} computes.
    """
    for fragment in fragments:
        if not isinstance(fragment, dict):
            continue
        index = fragment.get("index")
        target = next((d for d in kept if index is not None and d.get("index") == index
                       and d.get("type") == fragment.get("type")), None)
        if target is None:
            kept.append(dict(fragment))
            continue
        for key, value in fragment.items():
            if key in ("text", "summary", "data") and isinstance(value, str):
                target[key] = (target.get(key) or "") + value
            elif value is not None:
                target[key] = value


class CountingIndex(int):
    """
    An C{index} that counts how often it is compared.
    """

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountingIndex.comparisons += 1
        return int(self) == other

    __hash__ = int.__hash__


class ReasoningDetailsTests(SynchronousTestCase):
    """
    L{_translate_stream._ReasoningDetails} merges streamed
    C{reasoning_details} as the reference merge does, in linear time.
    """

    def merged(self, batches: list[list]) -> list[dict]:
        details = _translate_stream._ReasoningDetails()
        for batch in batches:
            details.merge(batch)
        return details.take()

    def test_likeTheReference(self) -> None:
        batches = [
            [{"type": "reasoning.text", "text": "a", "index": 0}],
            [{"type": "reasoning.text", "text": "b", "index": 0, "format": "f"},
             {"type": "reasoning.summary", "summary": "s", "index": 0}],
            [{"type": "reasoning.text", "signature": "sig", "index": 0, "text": None}],
            [{"type": "reasoning.encrypted", "data": "x", "index": 1}, "junk"],
            [{"type": "reasoning.encrypted", "data": "y", "index": 1}],
            [{"type": "reasoning.text", "text": "no index"}, {"text": "nor type", "index": 2}],
            [{"type": "reasoning.text", "text": "again"}, {"text": " and", "index": 2}],
            [{"type": "reasoning.summary", "summary": 5, "index": 0}],
        ]
        reference: list[dict] = []
        for batch in batches:
            referenceMerge(reference, batch)
        self.assertEqual(self.merged(batches), reference)

    def test_textAfterOther(self) -> None:
        """
        Text after a value that is not text replaces it (where the old
        merge raised C{TypeError}).
        """
        self.assertEqual(self.merged([[{"type": "t", "summary": "a", "index": 0}],
                                      [{"type": "t", "summary": 5, "index": 0}],
                                      [{"type": "t", "summary": "b", "index": 0}],
                                      [{"type": "t", "summary": "c", "index": 0}]]),
                         [{"type": "t", "summary": "bc", "index": 0}])

    def test_takeStartsAfresh(self) -> None:
        details = _translate_stream._ReasoningDetails()
        details.merge([{"type": "t", "text": "a", "index": 0}])
        details.merge([{"type": "t", "text": "b", "index": 0}])
        self.assertEqual(details.take(), [{"type": "t", "text": "ab", "index": 0}])
        details.merge([{"type": "t", "text": "c", "index": 0}])
        self.assertEqual(details.take(), [{"type": "t", "text": "c", "index": 0}])
        self.assertEqual(details.take(), [])

    def test_unhashableKey(self) -> None:
        """
        An index or type no dict can key on is kept, unmerged.
        """
        self.assertEqual(self.merged([[{"type": ["x"], "text": "a", "index": 0}],
                                      [{"type": ["x"], "text": "b", "index": 0}]]),
                         [{"type": ["x"], "text": "a", "index": 0},
                          {"type": ["x"], "text": "b", "index": 0}])

    def test_lookupByKey(self) -> None:
        """
        A fragment finds its detail by key: merging N fragments over N/2
        details compares indexes about N times, not N²/4.
        """
        self.patch(CountingIndex, "comparisons", 0)
        fragments = 2000
        self.merged([[{"type": "reasoning.encrypted", "data": "x",
                       "index": CountingIndex(i % (fragments // 2))}]
                     for i in range(fragments)])
        self.assertLess(CountingIndex.comparisons, 2 * fragments)

    def test_textJoinedOnce(self) -> None:
        """
        Text fragments are joined once, not concatenated one by one (which
        copies the text so far every time).
        """
        self.patch(CountingText, "concatenations", 0)
        merged = self.merged([[{"type": "reasoning.text", "text": CountingText("ab"),
                                "index": 0}] for _ in range(1000)])
        self.assertEqual(merged, [{"type": "reasoning.text", "text": "ab" * 1000, "index": 0}])
        self.assertEqual(CountingText.concatenations, 0)

    def test_throughTheTranslator(self) -> None:
        """
        Sealed in C{encrypted_content}, many fragments come back whole.
        """
        request = streamRequest()
        chat = translateRequest(request, SETTINGS)
        translator = StreamTranslator(request, chat, SETTINGS)
        translator.start()
        for _ in range(5000):
            translator.feedChunk(C.chunk({"reasoning_details": [
                {"type": "reasoning.text", "text": "ab", "index": 0}]}))
        translator.finish(doneMarker=True)
        payload = reasoningPayload(translator.response["output"][0])
        self.assertEqual(payload["details"],
                         [{"type": "reasoning.text", "text": "ab" * 5000, "index": 0}])
