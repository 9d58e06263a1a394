"""
Tests for L{codex_relay._core.request.messages} on conversation history:
every tool call stays answered whatever the interleaving, partial output of
a failed response is dropped, and provider reasoning data goes back only to
its upstream.
"""

from hypothesis import given, settings as hypothesisSettings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.carrier import ReasoningCarrier
from codex_relay._core.request.translate import ChatRequest, translateRequest
from codex_relay._core.settings import TranslationSettings
from tests.harness.requests import SECRET, SETTINGS, assistantItem, call, messagesOf, output


_OPS = st.lists(st.one_of(
    st.tuples(st.just("user")),
    st.tuples(st.just("developer")),
    st.tuples(st.just("assistant")),
    st.tuples(st.just("reasoning")),
    st.tuples(st.just("call")),
    st.tuples(st.just("output"), st.integers(0, 8)),
    st.tuples(st.just("imageOutput"), st.integers(0, 8)),
    st.tuples(st.just("hosted")),
), max_size=40)


def _itemsFor(ops: list) -> tuple[list, list, list]:
    """
    Input items for C{ops}, the user texts in order, and the outputs that
    must survive: the first output after each call.
    """
    items, users, expected = [], [], []
    calls = 0
    answered = set()
    for index, op in enumerate(ops):
        kind = op[0]
        if kind in ("user", "developer"):
            items.append({"role": kind, "content": "text {}".format(index)})
            users.append("text {}".format(index))
        elif kind == "assistant":
            items.append(assistantItem("said {}".format(index)))
        elif kind == "reasoning":
            items.append({"type": "reasoning",
                          "summary": [{"type": "summary_text", "text": "r"}]})
        elif kind == "call":
            items.append(call("call_{}".format(calls)))
            calls += 1
        elif kind == "hosted":
            items.append({"type": "web_search_call", "id": "ws"})
        else:
            callId = "call_{}".format(op[1])
            content = "out {}".format(index)
            if kind == "imageOutput":
                items.append(output(callId, [{"type": "input_text", "text": content},
                                             {"type": "input_image", "image_url": "u"}]))
            else:
                items.append(output(callId, content))
            if op[1] < calls and callId not in answered:
                answered.add(callId)
                expected.append(content)
    return items, users, expected


class InvariantTests(SynchronousTestCase):
    """
    Whatever the interleaving, the Chat invariants hold and nothing is lost.
    """

    @hypothesisSettings(max_examples=400, deadline=None)
    @given(_OPS)
    def test_toolCallsAnswered(self, ops: list) -> None:
        """
        Each call is answered right after its message; no answer is orphaned or lost.
        """
        items, users, expected = _itemsFor(ops)
        messages = messagesOf(items)
        index = 0
        kept = []
        while index < len(messages):
            message = messages[index]
            self.assertNotEqual(message["role"], "tool", "orphaned tool message")
            index += 1
            calls = message.get("tool_calls") or []
            answers = messages[index:index + len(calls)]
            self.assertEqual([answer.get("tool_call_id") for answer in answers],
                             [entry["id"] for entry in calls])
            self.assertEqual({answer["role"] for answer in answers} | {"tool"}, {"tool"})
            kept.extend(answer["content"] for answer in answers
                        if answer["content"] != "(no output)")
            index += len(calls)
        self.assertEqual(sorted(kept), sorted(expected))
        self.assertEqual([m["content"] for m in messages
                          if m["role"] in ("user", "system") and isinstance(m["content"], str)],
                         users)
        callIds = [entry["id"] for m in messages for entry in m.get("tool_calls", ())]
        self.assertEqual(len(callIds), len(set(callIds)))
        self.assertEqual(len(callIds), sum(1 for op in ops if op[0] == "call"))


class FailedTailTests(SynchronousTestCase):
    """
    Partial output that a failed response left behind, and that Codex
    resends on retry, does not reach the upstream.
    """

    def translate(self, items: list) -> ChatRequest:
        return translateRequest({"model": "m", "input": items}, SETTINGS)

    def test_trailingIncompleteDropped(self) -> None:
        prompt = {"type": "message", "role": "user", "content": "Hi."}
        partial = {"type": "message", "role": "assistant", "status": "incomplete",
                   "content": [{"type": "output_text", "text": "Partial"}]}
        chat = self.translate([prompt, partial, dict(partial)])
        self.assertEqual(chat.body["messages"], [{"role": "user", "content": "Hi."}])
        self.assertEqual(len(chat.warnings), 1)
        self.assertIn("2 incomplete item(s)", chat.warnings[0])

    def test_incompleteFollowedByUserKept(self) -> None:
        """
        A truncated answer the conversation went on from stays in history.
        """
        items = [
            {"type": "message", "role": "user", "content": "Hi."},
            {"type": "message", "role": "assistant", "status": "incomplete",
             "content": [{"type": "output_text", "text": "Partial"}]},
            {"type": "message", "role": "user", "content": "Go on."},
        ]
        self.assertEqual(self.translate(items).body["messages"], [
            {"role": "user", "content": "Hi."},
            {"role": "assistant", "content": "Partial"},
            {"role": "user", "content": "Go on."},
        ])


class ReasoningOriginTests(SynchronousTestCase):
    """
    Provider-specific reasoning data goes back only to the upstream it came
    from; the reasoning text, which is neutral, goes anywhere.
    """

    def translateWith(self, origin: str) -> dict:
        blob = ReasoningCarrier(SECRET).seal({
            "v": 1, "model": "m", "field": "reasoning", "text": "because",
            "details": [{"type": "reasoning.text", "text": "because", "signature": "s"}],
            "origin": "https://openrouter.ai/api/v1"})
        items = [
            {"type": "message", "role": "user", "content": "hi"},
            {"type": "reasoning", "summary": [], "encrypted_content": blob},
            {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "ok"}]},
        ]
        settings = TranslationSettings(secret=SECRET, origin=origin)
        chat = translateRequest({"model": "m", "input": items}, settings)
        return chat.body["messages"][1]

    def test_sameOrigin(self) -> None:
        message = self.translateWith("https://openrouter.ai/api/v1")
        self.assertEqual(message["reasoning"], "because")
        self.assertEqual(message["reasoning_details"][0]["signature"], "s")

    def test_otherOrigin(self) -> None:
        message = self.translateWith("https://api.deepseek.com/v1")
        self.assertEqual(message["reasoning"], "because")
        self.assertNotIn("reasoning_details", message)
