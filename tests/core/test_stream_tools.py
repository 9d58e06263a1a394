"""
Tests for L{codex_relay._core.stream.translator}: Chat tool calls become
function, custom tool and local shell calls.
"""

import json

from twisted.trial.unittest import SynchronousTestCase


from tests.harness import chunks as C
from tests.harness.stream import (
    ADDED,
    COMPLETED,
    DONE,
    START,
    TranslatorMixin,
    customTypes,
    deltas,
    functionChunk,
    functionTypes,
    messageTypes,
    outputItems,
    toolCalls,
    types,
)


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
