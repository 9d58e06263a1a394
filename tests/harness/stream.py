"""
The harness of the stream translator tests (L{codex_relay._core.stream}):
Chat Completions chunks in, Responses stream events out.

Every translator is built from a real Responses request through
L{translateRequest}, so tool maps are the real ones.  L{TranslatorMixin}
puts every event list through L{tests.harness.oracle.checkEvents}
(PROTOCOL.md §5); the golden sequences here (PROTOCOL.md §2.5) are what the
event types are compared with.  Item ids come from a counter (reset per
translation) and the clock stands still, both handed to the translator, so
that whole events can be compared exactly.
"""

from codex_relay._core.carrier import ReasoningCarrier
from codex_relay._core.request.translate import translateRequest
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.sse import SSEDecoder
from codex_relay._core.stream.translator import StreamTranslator

from tests.harness import chunks as C
from tests.harness.oracle import checkEvents


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
    Deterministic ids for a translator's C{ids}, in place of the shell's
    L{codex_relay._web.ids.newId}.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._next = 0

    def __call__(self, prefix: str) -> str:
        self._next += 1
        return "{}{}".format(prefix, self._next)


IDS = CountingIds()


def stoppedClock() -> int:
    """
    A translator's C{clock}: always L{COMPLETED_AT}.
    """
    return COMPLETED_AT


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
                                createdAt=CREATED_AT, ids=IDS, clock=stoppedClock)

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
