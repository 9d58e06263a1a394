"""
The requests Codex 0.169 really sends (L{tests.harness.captures}) taken
through every provider profile as the exchange does (route, translation,
adaptation, content filter): the body must be JSON, meet the profile's
rules and the provider's strict fake (L{tests.harness.rules}), and the
content filter built from Codex's tools must heal DSML leaked into an
answer; DSML healing is on for every route that offers tools, and a route
can switch it off.
"""

import copy
import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.carrier import ReasoningCarrier
from codex_relay._core.request.translate import ChatRequest, translateRequest
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.stream.translator import StreamTranslator
from codex_relay._providers.adapt import adaptRequest, alnum9, contentFilter, healedCalls
from codex_relay._providers.config_file import parseRoutingTable, singleUpstream
from codex_relay._providers.healers import DSMLHealer
from codex_relay._providers.profiles import FORBIDDEN, PROFILES, REQUIRED, Profile
from codex_relay._providers.routes import Route
from tests.harness import oracle
from tests.harness.captures import REASONING_TEXT, SECRET, SETTINGS, loadFixture
from tests.harness.chunks import chunk, finish, text, usage
from tests.harness.stream import CountingIds, stoppedClock
from tests.harness.rules import MISTRAL_RULES, deepseekThinking, firstOf, groqNoReasoning, kimiControls, kimiThinking, ollamaToolChoice, qwenThinking

UPSTREAM_URL = "http://upstream.example/v1"
# Chat's function-name rule (OpenAI's, which most providers copy).
FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
REASONING_KEYS = ("reasoning_content", "reasoning", "reasoning_details")
# What the strict fakes of tests.harness.rules say each provider rejects.
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
        translator = StreamTranslator(self.request, chat, settings, contentFilter=healer,
                                      ids=CountingIds(), clock=stoppedClock)
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
