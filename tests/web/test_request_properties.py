"""
Property test of the whole request path, in memory: for any JSON body
(arbitrary values, Responses-shaped requests with odd fields, and very deep
nesting), C{POST /v1/responses} answers with an OpenAI error envelope below
500, a complete JSON response, or a complete stream that ends with exactly
one terminal event.  Never a 5xx, never a request left open.
"""

import json
from typing import Any

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.harness.oracle import checkStream
from tests.harness.memory import HELLO, InMemoryRelay
from tests.harness.upstream import Stream

EXAMPLES = settings(max_examples=200, deadline=None)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    # Lone surrogates and escapes that strict parsers reject downstream.
    st.sampled_from(["\ud83d", "\ude00", "\x00", "<think>", "\u2028"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=25,
)
KEYS = ("model", "input", "instructions", "stream", "tools", "tool_choice", "metadata",
        "text", "reasoning", "max_output_tokens", "temperature", "include",
        "parallel_tool_calls", "store", "previous_response_id", "truncation", "user")
ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning",
              "custom_tool_call", "custom_tool_call_output", "item_reference", "other")
items = st.fixed_dictionaries(
    {"type": st.sampled_from(ITEM_TYPES)},
    optional={"role": st.sampled_from(["user", "assistant", "developer", "system", 7]),
              "content": values, "call_id": values, "name": values,
              "arguments": values, "output": values, "input": values,
              "summary": values, "encrypted_content": values, "id": values})
requests = st.fixed_dictionaries(
    {"model": st.one_of(st.just("model-a"), values)},
    optional={key: values for key in KEYS if key != "model"} | {
        "input": st.one_of(st.text(max_size=10), st.lists(items, max_size=4), values),
        "stream": st.booleans()},
)


def deep(depth: int, opener: str) -> str:
    closer = {"[": "]", "{\"a\":": "}"}[opener]
    return opener * depth + "1" + closer * depth


class AnyBodyTests(SynchronousTestCase):
    """
    Whatever the client sends, the relay's answer is complete and below 500.
    """

    def answer(self, raw: bytes) -> None:
        relay = InMemoryRelay()
        relay.upstream.respond = lambda body, received: Stream(HELLO)
        d = relay.request("POST", "/v1/responses", data=raw,
                          headers={"Content-Type": "application/json"})
        response = self.successResultOf(d)
        body = relay.client.content(response)
        relay.pump()
        content = self.successResultOf(body)
        self.assertLess(response.code, 500, content[:300])
        contentType = response.headers.getRawHeaders("content-type", [""])[0]
        if "event-stream" in contentType:
            self.assertEqual(response.code, 200)
            events = checkStream(content)
            self.assertIn(events[-1]["type"], ("response.completed", "response.incomplete",
                                               "response.failed"))
            return
        parsed = json.loads(content)
        if response.code == 200:
            self.assertIn(parsed["status"], ("completed", "incomplete"))
        else:
            self.assertEqual(set(parsed["error"]), {"message", "type", "param", "code"})

    @EXAMPLES
    @given(values)
    def test_anyJSON(self, body: Any) -> None:
        self.answer(json.dumps(body).encode("utf-8", "surrogatepass"))

    @EXAMPLES
    @given(requests)
    def test_requestShaped(self, body: Any) -> None:
        self.answer(json.dumps(body).encode("utf-8", "surrogatepass"))

    @settings(max_examples=30, deadline=None)
    @given(st.integers(1, 30000), st.sampled_from(["[", "{\"a\":"]),
           st.sampled_from(["input", "metadata", "tools", "text", "reasoning"]))
    def test_deep(self, depth: int, opener: str, key: str) -> None:
        raw = '{"model": "model-a", "stream": true, "%s": %s}' % (key, deep(depth, opener))
        self.answer(raw.encode())
