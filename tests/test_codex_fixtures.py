"""
The requests Codex 0.169 really sends (captured by
L{tests.fixtures.capture_codex}, scrubbed, in
C{tests/fixtures/codex_request_*.json}) through the request translator and,
for the answer, the stream translator and the oracle.

Each fixture is the last request of a scripted conversation, so it holds
every kind of item Codex replays: two developer messages, the
C{<environment_context>} and prompt user messages, a reasoning item whose
C{encrypted_content} was sealed with the secret C{b"x"}, an assistant
message, function and custom tool calls with their outputs, and (fallback
and catalog) a call with a C{namespace}.

L{FallbackProfileTests}, L{BundledProfileTests} and L{CatalogProfileTests}
take each fixture through every provider profile as the exchange does
(route, translation, adaptation, content filter): the body must be JSON,
meet the profile's rules and the provider's strict fake
(L{tests.test_profiles}), and the content filter built from Codex's tools
must heal DSML leaked into an answer.
"""

import copy
import dataclasses
import json
import os
import re
from collections.abc import Callable
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.adapt import adaptRequest, alnum9, contentFilter, healedCalls
from codex_relay._core.carrier import ReasoningCarrier
from codex_relay._providers.healers import DSMLHealer
from codex_relay._providers.profiles import FORBIDDEN, PROFILES, REQUIRED, Profile
from codex_relay._core.request.translate import ChatRequest, translateRequest
from codex_relay._providers.routes import Route
from codex_relay._providers.config_file import parseRoutingTable, singleUpstream
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.stream.translator import StreamTranslator
from tests.harness import oracle
from tests.harness.chunks import chunk, finish, reasoning, text, toolCall, usage
from tests.harness.rules import MISTRAL_RULES, deepseekThinking, firstOf, groqNoReasoning, kimiControls, kimiThinking, ollamaToolChoice, qwenThinking

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
SECRET = b"x"
SETTINGS = TranslationSettings(secret=SECRET)
# Must match tests/fixtures/capture_codex.py.
REASONING_TEXT = "The user wants a file. I will look at the directory first."
# Chat body keys the relay may send for a Codex request.
CHAT_KEYS = {"model", "messages", "tools", "tool_choice", "parallel_tool_calls",
             "reasoning_effort", "stream", "stream_options"}
NOT_FORWARDED = ("include", "prompt_cache_key", "client_metadata", "store", "text",
                 "reasoning", "input", "instructions")
DROPPED_TOOL_TYPES = ("tool_search", "web_search")


def loadFixture(name: str) -> dict:
    with open(os.path.join(FIXTURES, "codex_request_{}.json".format(name)),
              encoding="utf-8") as f:
        return json.load(f)


def partsText(content: object) -> str:
    """
    The text of a Responses message content, joined as the relay joins
    user and developer parts.
    """
    if isinstance(content, str):
        return content
    return "\n".join(part["text"] for part in content)  # type: ignore[union-attr]


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


class _FixtureTests:
    """
    The checks, for the fixture named C{fixtureName}; a mixin for
    L{SynchronousTestCase}.
    """

    fixtureName = ""
    expectedToolTypes: set[str] = set()

    def setUp(self) -> None:
        self.request = loadFixture(self.fixtureName)
        self.chat = translateRequest(copy.deepcopy(self.request), SETTINGS)

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

    # The answer.

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
        translator = StreamTranslator(self.request, self.chat, SETTINGS)
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


class FallbackFixtureTests(_FixtureTests, SynchronousTestCase):
    """
    C{model = "deepseek-chat"}: Codex's fallback metadata.
    """

    fixtureName = "fallback"
    expectedToolTypes = {"function", "namespace", "web_search"}


class BundledFixtureTests(_FixtureTests, SynchronousTestCase):
    """
    C{model = "gpt-5.5"}: a bundled slug.
    """

    fixtureName = "bundled"
    expectedToolTypes = {"function", "custom", "tool_search", "web_search"}


class CatalogFixtureTests(_FixtureTests, SynchronousTestCase):
    """
    C{model = "relay-model"} from a C{buildCatalog} catalog.
    """

    fixtureName = "catalog"
    expectedToolTypes = {"function", "custom", "namespace", "web_search"}


# Every profile: the same requests adapted for each provider, as the exchange
# does it (route, translation, adaptation, content filter).

UPSTREAM_URL = "http://upstream.example/v1"
# Chat's function-name rule (OpenAI's, which most providers copy).
FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
REASONING_KEYS = ("reasoning_content", "reasoning", "reasoning_details")
# What the strict fakes of tests.test_profiles say each provider rejects.
PROVIDER_RULES = {
    "deepseek": deepseekThinking,
    "kimi": firstOf(kimiThinking, kimiControls),
    "mistral": MISTRAL_RULES,
    "groq": groqNoReasoning,
    "qwen": qwenThinking,
    "ollama": ollamaToolChoice,
}
DSML_ANSWER = (
    "Checking.\n\n<\uff5c\uff5cDSML\uff5c\uff5cinvoke name=\"exec_command\" string=\"ls -la\" />"
    "<\uff5cDSML\uff5cfunction_calls>\n<\uff5cDSML\uff5cinvoke name=\"get_goal\">\n"
    "</\uff5cDSML\uff5cinvoke>\n</\uff5cDSML\uff5cfunction_calls>")


def routeFor(profileName: str | None, model: str, config: str | None = None) -> Route:
    """
    The route a request for C{model} takes with C{--profile profileName},
    or through the routing file C{config}.
    """
    if config is not None:
        table = parseRoutingTable(config, {}, "relay.toml")
    else:
        table = singleUpstream(UPSTREAM_URL, None, profileName)
    route = table.route(model)
    assert route is not None
    return route


def adapted(request: dict, route: Route) -> tuple[ChatRequest, object, TranslationSettings]:
    """
    C{request} translated and adapted for C{route}, with the content filter
    its answer goes through, as L{codex_relay._web.exchange} builds them.
    """
    settings = dataclasses.replace(SETTINGS, origin=route.upstream.baseURL)
    chat = translateRequest(copy.deepcopy(request), settings)
    adaptRequest(chat.body, route.profile, route.upstreamModel,
                 extraParams=route.extraParams, dropParams=route.dropParams,
                 withholdTools=route.withholdTools, heal=route.heal)
    healer = contentFilter(route.profile, route.heal, chat.body.get("tools"))
    return chat, healer, settings


class _ProfileTests:
    """
    One Codex fixture adapted for every profile: checks generated per
    profile by L{_generateProfileTests}; a mixin for L{SynchronousTestCase}.
    """

    fixtureName = ""

    def setUp(self) -> None:
        self.request = loadFixture(self.fixtureName)

    def checkRequest(self, profileName: str) -> None:
        """
        The request the upstream gets is JSON, keeps every call next to its
        outputs, has the reasoning where the profile sends it back (and
        nowhere else), the ids, tools and parameters the profile demands,
        and passes what the provider's strict fake checks.
        """
        route = routeFor(profileName, self.request["model"])
        profile = route.profile
        chat, healer, _ = adapted(self.request, route)
        body = chat.body
        encoded = json.dumps(body, allow_nan=False)
        self.assertEqual(json.loads(encoded), body, "the body is not plain JSON")
        self.assertEqual(body["model"], self.request["model"])
        # DSML healing is on for every route that offers tools.
        self.assertIsNotNone(healer)
        filters = getattr(healer, "filters", [healer])
        self.assertIn(DSMLHealer, [type(f) for f in filters])

        messages = body["messages"]
        calls = [item["call_id"] for item in self.request["input"]
                 if item["type"] in ("function_call", "custom_tool_call")]
        seen: list[str] = []
        for index, message in enumerate(messages):
            self.assertIn(message["role"], ("system", "user", "assistant", "tool"))
            ids = [call["id"] for call in message.get("tool_calls") or ()]
            seen += ids
            answers = [m.get("tool_call_id") for m in messages[index + 1:index + 1 + len(ids)]]
            self.assertEqual(answers, ids, "tool calls not answered at once")
        self.assertEqual(len(seen), len(calls))
        if profile.toolCallIds == "alnum9":
            self.assertEqual(seen, [alnum9(callId) for callId in calls])
            for callId in seen:
                self.assertRegex(callId, r"\A[A-Za-z0-9]{9}\Z")
        else:
            self.assertEqual(seen, calls)

        self.checkReasoning(profile, [m for m in messages if m["role"] == "assistant"])

        for tool in body["tools"]:
            function = tool["function"]
            self.assertRegex(function["name"], FUNCTION_NAME)
            if not profile.strictTools:
                self.assertNotIn("strict", function)
        self.assertEqual(body.get("tool_choice"),
                         None if profile.toolChoice.get("auto", "auto") is None else "auto")
        self.assertEqual("parallel_tool_calls" in body, profile.parallelToolCalls)
        self.assertEqual("stream_options" in body, profile.streamOptions)
        if "reasoning_effort" in body and profile.effortValues is not None:
            self.assertIn(body["reasoning_effort"], profile.effortValues)
        if "glm_thinking" in route.heal:
            self.assertEqual(body["thinking"], {"type": "enabled"})

        rule = PROVIDER_RULES.get(profileName)
        if rule is not None:
            rejection = rule(body, encoded.encode("utf-8"))
            self.assertIsNone(rejection, "the provider would reject it: {}".format(
                getattr(rejection, "body", rejection)))

    def checkReasoning(self, profile: Profile, assistants: list[dict]) -> None:
        """
        The fixture's sealed reasoning rides on its first assistant message
        in the profile's replay field; a required field is on every tool
        call turn.
        """
        first = assistants[0]
        if profile.replay == FORBIDDEN:
            for message in assistants:
                for key in REASONING_KEYS:
                    self.assertNotIn(key, message)
            self.assertIsInstance(first["content"], str)
            return
        if profile.replayField == "thinking":
            for message in assistants:
                for key in REASONING_KEYS:
                    self.assertNotIn(key, message)
            self.assertEqual(first["content"][0], {
                "type": "thinking", "thinking": [{"type": "text", "text": REASONING_TEXT}]})
            return
        # reasoning_details go back only as received; the text goes as reasoning.
        field = "reasoning" if profile.replayField == "reasoning_details" else profile.replayField
        self.assertEqual(first[field], REASONING_TEXT)
        for message in assistants:
            self.assertEqual([key for key in REASONING_KEYS if key in message],
                             [field] if field in message else [])
            if profile.replay == REQUIRED and message.get("tool_calls"):
                self.assertIsInstance(message.get(field), str)

    def checkAnswer(self, profileName: str) -> None:
        """
        The content filter built from the request's tools turns DSML leaked
        into the answer's text into calls (exec_command's first required
        parameter takes the invoke's own value; get_goal requires none), and
        splits inline think tags where the profile expects them; the result
        passes the oracle.
        """
        route = routeFor(profileName, self.request["model"])
        chat, healer, settings = adapted(self.request, route)
        translator = StreamTranslator(self.request, chat, settings, contentFilter=healer)
        answer = "<think>Plan.</think>" + DSML_ANSWER
        middle = answer.index("DSML") + 2
        events = translator.start()
        for upstreamChunk in [text(answer[:middle]), text(answer[middle:]), finish("stop"),
                              chunk(choices=False, usage=usage(1200, 40))]:
            events += translator.feedChunk(upstreamChunk)
        events += translator.finish(doneMarker=True)
        try:
            oracle.checkEvents(events)
        except AssertionError as error:
            self.fail("the oracle rejects the healed answer: {}".format(error))
        done = [event["item"] for event in events
                if event["type"] == "response.output_item.done"]
        shapes = [(item["type"], item.get("name"), item.get("arguments")) for item in done]
        if route.profile.thinkTags:
            self.assertEqual(done[0]["type"], "reasoning")
            self.assertEqual(ReasoningCarrier(SECRET).unseal(
                done[0]["encrypted_content"])["text"], "Plan.")
            shapes = shapes[1:]
            said = "Checking.\n\n"
        else:
            said = "<think>Plan.</think>Checking.\n\n"
        self.assertEqual(shapes, [
            ("message", None, None),
            ("function_call", "exec_command", json.dumps({"cmd": "ls -la"})),
            ("function_call", "get_goal", "{}")])
        self.assertEqual(done[-3]["content"][0]["text"], said)
        self.assertEqual(healedCalls(healer), 2)


def _generateProfileTests(case: type) -> type:
    """
    Add C{test_request_NAME} and C{test_answer_NAME} to C{case} for every
    profile.
    """
    def make(check: str, profileName: str) -> Callable[[Any], None]:
        def test(self: Any) -> None:
            getattr(self, check)(profileName)
        test.__doc__ = "{}: {}".format(profileName, getattr(case, check).__doc__.strip())
        return test

    for profileName in PROFILES:
        key = re.sub(r"[^A-Za-z0-9]+", "_", profileName)
        for check, prefix in (("checkRequest", "test_request_"), ("checkAnswer", "test_answer_")):
            setattr(case, prefix + key, make(check, profileName))
    return case


@_generateProfileTests
class FallbackProfileTests(_ProfileTests, SynchronousTestCase):
    fixtureName = "fallback"


@_generateProfileTests
class BundledProfileTests(_ProfileTests, SynchronousTestCase):
    fixtureName = "bundled"


@_generateProfileTests
class CatalogProfileTests(_ProfileTests, SynchronousTestCase):
    fixtureName = "catalog"


ROUTES_WITHOUT_DSML = """
[upstreams.vllm]
base_url = "http://127.0.0.1:8000/v1"

[[routes]]
model = "deepseek-chat"
upstream = "vllm"
heal = { dsml = false }
"""


class DefaultHealingTests(SynchronousTestCase):
    """
    DSML healing is on for every route that offers tools, and a route can
    switch it off.
    """

    def setUp(self) -> None:
        self.request = loadFixture("fallback")

    def test_offForRoute(self) -> None:
        """
        C{heal = { dsml = false }} on a vLLM route (its profile would
        otherwise heal): no content filter, leaked markup stays text.
        """
        route = routeFor(None, "deepseek-chat", ROUTES_WITHOUT_DSML)
        self.assertEqual(route.profile.name, "vllm")
        self.assertEqual(route.heal, frozenset())
        self.assertIsNone(adapted(self.request, route)[1])
        self.assertIn("dsml", routeFor("vllm", "deepseek-chat").heal)

    def test_noTools(self) -> None:
        """
        Without tools there is nothing a leaked call could call: no DSML
        healer, except on the deepseek profile, which always had one.
        """
        self.assertIsNone(contentFilter(PROFILES["generic"], {"dsml"}, None))
        self.assertIsNone(contentFilter(PROFILES["generic"], {"dsml"}, []))
        self.assertIsInstance(contentFilter(PROFILES["deepseek"], {"dsml"}, None), DSMLHealer)

    def test_codeText(self) -> None:
        """
        Code, full of C{<}, passes at once on every route; only a C{<} or
        C{</} at the very end of a delta waits for the next one to show
        whether it opens markup.
        """
        _, healer, _ = adapted(self.request, routeFor("generic", "deepseek-chat"))
        feed = healer.feed  # type: ignore[attr-defined]

        def texts(delta: str) -> list:
            return [(piece.kind, piece.text) for piece in feed(delta)]

        self.assertEqual(texts("if (a < b) { return <T>x; } </"),
                         [("text", "if (a < b) { return <T>x; } ")])
        self.assertEqual(texts("p> List<"), [("text", "</p> List")])
        self.assertEqual(texts('\uff5cDSML\uff5cinvoke name="get_goal">'), [])
        self.assertEqual(texts("</"), [])
        self.assertEqual([piece.kind for piece in feed("\uff5cDSML\uff5cinvoke> ok")],
                         ["call", "text"])
