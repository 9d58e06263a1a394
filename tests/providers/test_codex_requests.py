"""
The requests Codex 0.169 really sends (L{tests.harness.captures}) through
the request translator.

Each fixture is the last request of a scripted conversation, so it holds
every kind of item Codex replays: two developer messages, the
C{<environment_context>} and prompt user messages, a reasoning item whose
C{encrypted_content} was sealed with the secret C{b"x"}, an assistant
message, function and custom tool calls with their outputs, and (fallback
and catalog) a call with a C{namespace}. The translated request keeps only
Chat keys, every message in order, every call next to its output and every
tool Chat can take.
"""

import copy
import json
import os
import re

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.request.translate import translateRequest
from tests.harness.captures import FIXTURES, REASONING_TEXT, SETTINGS, TranslatedFixture, loadFixture, partsText

# Chat body keys the relay may send for a Codex request.
CHAT_KEYS = {"model", "messages", "tools", "tool_choice", "parallel_tool_calls",
             "reasoning_effort", "stream", "stream_options"}
NOT_FORWARDED = ("include", "prompt_cache_key", "client_metadata", "store", "text",
                 "reasoning", "input", "instructions")
DROPPED_TOOL_TYPES = ("tool_search", "web_search")


class FixtureFilesTests(SynchronousTestCase):
    """
    The capture script's output is all there.
    """

    def test_present(self) -> None:
        """
        One fixture per configuration, each a Codex request.
        """
        names = sorted(name for name in os.listdir(FIXTURES)
                       if re.fullmatch(r"codex_request_.+\.json", name))
        self.assertEqual(names, ["codex_request_bundled.json", "codex_request_catalog.json",
                                 "codex_request_fallback.json"])
        for name in ("bundled", "catalog", "fallback"):
            fixture = loadFixture(name)
            self.assertEqual(fixture["stream"], True)
            self.assertEqual(fixture["store"], False)
            self.assertNotIn("instructions", fixture)

    def test_scrubbed(self) -> None:
        """
        No machine paths, real ids or keys in the fixtures.
        """
        for name in ("bundled", "catalog", "fallback"):
            raw = json.dumps(loadFixture(name))
            self.assertNotIn("/tmp/", raw)
            self.assertNotIn(os.path.expanduser("~") + "/", raw)
            self.assertNotRegex(raw, r"sk-[A-Za-z0-9]{8}|Bearer ")
            uuids = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                               raw)
            self.assertTrue(uuids)
            for found in uuids:
                self.assertTrue(found.startswith("00000000-0000-4000-8000-"), found)


class _RequestTests(TranslatedFixture):
    """
    The request checks, for the fixture named C{fixtureName}; a mixin for
    L{SynchronousTestCase}.
    """

    expectedToolTypes: set[str] = set()

    # Shapes of the fixture itself, so a recapture that changes them is noticed.

    def test_fixtureShape(self) -> None:
        """
        The fixture holds the item and tool types these tests are about.
        """
        kinds = [item["type"] for item in self.request["input"]]
        self.assertEqual(kinds[:4], ["message"] * 4)
        self.assertEqual([item["role"] for item in self.request["input"][:4]],
                         ["developer", "developer", "user", "user"])
        self.assertIn("<environment_context>", partsText(self.request["input"][2]["content"]))
        for kind in ("reasoning", "function_call", "function_call_output"):
            self.assertIn(kind, kinds)
        self.assertEqual({tool["type"] for tool in self.request["tools"]},
                         self.expectedToolTypes)
        self.assertTrue(all("id" in item for item in self.request["input"]))

    # The request.

    def test_onlyChatKeys(self) -> None:
        """
        include, prompt_cache_key, client_metadata, store, text (verbosity)
        and reasoning are not forwarded; reasoning.effort becomes
        reasoning_effort.
        """
        body = self.chat.body
        self.assertLessEqual(set(body), CHAT_KEYS)
        for key in NOT_FORWARDED:
            self.assertNotIn(key, body)
        for key in ("include", "prompt_cache_key", "client_metadata", "store"):
            self.assertIn(key, self.request)  # the fixture does carry them
        effort = (self.request.get("reasoning") or {}).get("effort")
        self.assertEqual(body.get("reasoning_effort"), effort)
        self.assertEqual(body["model"], self.request["model"])
        self.assertEqual(body["stream"], True)
        self.assertEqual(body["stream_options"], {"include_usage": True})
        self.assertEqual(body["tool_choice"], "auto")
        self.assertEqual(body["parallel_tool_calls"], True)
        self.assertTrue(self.chat.includeEncryptedReasoning)

    def test_developerAndContextMessages(self) -> None:
        """
        Every developer message becomes a system message and every user
        message (the environment context, the prompt) a user message, all
        in their input order, with their full text.
        """
        expected = [("system" if item["role"] == "developer" else item["role"],
                     partsText(item["content"]))
                    for item in self.request["input"]
                    if item["type"] == "message" and item["role"] != "assistant"]
        actual = [(message["role"], message["content"]) for message in self.chat.body["messages"]
                  if message["role"] not in ("assistant", "tool")]
        self.assertEqual(actual, expected)
        self.assertEqual([role for role, _ in actual], ["system", "system", "user", "user"])
        # And they come before the conversation.
        roles = [message["role"] for message in self.chat.body["messages"]]
        self.assertEqual(roles[:4], ["system", "system", "user", "user"])

    def test_everyItemAccepted(self) -> None:
        """
        No input item is dropped or refused because of its C{id} (every
        Codex item has one), and the ids change nothing.
        """
        itemWarnings = [w for w in self.chat.warnings if "tool of type" not in w]
        self.assertEqual(itemWarnings, [])
        withoutIds = copy.deepcopy(self.request)
        for item in withoutIds["input"]:
            del item["id"]
        self.assertEqual(translateRequest(withoutIds, SETTINGS).body, self.chat.body)

    def test_conversation(self) -> None:
        """
        Calls become assistant tool_calls, each answered at once by its tool
        message; the reasoning (sealed with the relay's secret) rides on the
        assistant message after it; assistant text is kept.
        """
        messages = self.chat.body["messages"]
        calls = [item for item in self.request["input"]
                 if item["type"] in ("function_call", "custom_tool_call")]
        outputs = {item["call_id"]: item["output"] for item in self.request["input"]
                   if item["type"].endswith("_call_output")}
        self.assertEqual(set(outputs), {call["call_id"] for call in calls})
        seen = []
        for index, message in enumerate(messages):
            for position, toolCallEntry in enumerate(message.get("tool_calls") or ()):
                seen.append(toolCallEntry["id"])
                answer = messages[index + 1 + position]
                self.assertEqual(answer, {"role": "tool", "tool_call_id": toolCallEntry["id"],
                                          "content": outputs[toolCallEntry["id"]]})
        self.assertEqual(seen, [call["call_id"] for call in calls])
        first = next(m for m in messages if m["role"] == "assistant")
        self.assertEqual(first["reasoning_content"], REASONING_TEXT)
        self.assertEqual(first["content"], "Looking at the directory first.")
        byId = {entry["id"]: entry["function"] for m in messages
                for entry in m.get("tool_calls") or ()}
        for call in calls:
            function = byId[call["call_id"]]
            if call["type"] == "custom_tool_call":
                self.assertEqual(function["name"], call["name"])
                self.assertEqual(json.loads(function["arguments"]), {"input": call["input"]})
            elif call.get("namespace"):
                self.assertEqual(function["name"],
                                 "{}__{}".format(call["namespace"], call["name"]))
                self.assertEqual(function["arguments"], call["arguments"])
            else:
                self.assertEqual(function, {"name": call["name"],
                                            "arguments": call["arguments"]})

    def test_tools(self) -> None:
        """
        Function tools pass as they are; the custom apply_patch becomes a
        function with one string parameter C{input} and its grammar in the
        description; namespace tools are flattened to C{ns__name};
        tool_search and web_search are dropped with a warning each.
        """
        chatTools = {tool["function"]["name"]: tool for tool in self.chat.body["tools"]}
        self.assertTrue(all(tool["type"] == "function" for tool in chatTools.values()))
        expectedNames = []
        for index, tool in enumerate(self.request["tools"]):
            kind = tool["type"]
            if kind == "function":
                expectedNames.append(tool["name"])
                self.assertEqual(chatTools[tool["name"]]["function"], {
                    "name": tool["name"], "description": tool["description"],
                    "parameters": tool["parameters"], "strict": tool["strict"]})
            elif kind == "custom":
                expectedNames.append(tool["name"])
                function = chatTools[tool["name"]]["function"]
                parameters = function["parameters"]
                self.assertEqual(parameters["type"], "object")
                self.assertEqual(list(parameters["properties"]), ["input"])
                self.assertEqual(parameters["properties"]["input"]["type"], "string")
                self.assertEqual(parameters["required"], ["input"])
                self.assertIn(tool["description"], function["description"])
                self.assertIn(tool["format"]["definition"], function["description"])
            elif kind == "namespace":
                for inner in tool["tools"]:
                    flat = "{}__{}".format(tool["name"], inner["name"])
                    expectedNames.append(flat)
                    function = chatTools[flat]["function"]
                    self.assertEqual(function["parameters"], inner["parameters"])
                    self.assertEqual(function["description"], inner["description"])
            else:
                self.assertIn(kind, DROPPED_TOOL_TYPES)
                self.assertIn("dropped tool of type {!r} (tools[{}])".format(kind, index),
                              " ".join(self.chat.warnings))
        self.assertEqual([tool["function"]["name"] for tool in self.chat.body["tools"]],
                         expectedNames)
        self.assertEqual(len(self.chat.warnings), sum(
            1 for tool in self.request["tools"] if tool["type"] in DROPPED_TOOL_TYPES))


class FallbackFixtureTests(_RequestTests, SynchronousTestCase):
    """
    C{model = "deepseek-chat"}: Codex's fallback metadata.
    """

    fixtureName = "fallback"
    expectedToolTypes = {"function", "namespace", "web_search"}


class BundledFixtureTests(_RequestTests, SynchronousTestCase):
    """
    C{model = "gpt-5.5"}: a bundled slug.
    """

    fixtureName = "bundled"
    expectedToolTypes = {"function", "custom", "tool_search", "web_search"}


class CatalogFixtureTests(_RequestTests, SynchronousTestCase):
    """
    C{model = "relay-model"} from a C{buildCatalog} catalog.
    """

    fixtureName = "catalog"
    expectedToolTypes = {"function", "custom", "namespace", "web_search"}
