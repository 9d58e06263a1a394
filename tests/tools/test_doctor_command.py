"""
C{codex-relay doctor}: the sans-IO probe requests, findings, checks and
report, and the real command, run as a subprocess against scripted
upstreams served by the test reactor and against the real llama.cpp server.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from typing import Any

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from codex_relay._tools.doctor.probes import (
    FAIL,
    INFO,
    OK,
    STREAM_MAX_TOKENS,
    STREAM_PROMPT,
    TOOL_MAX_TOKENS,
    WARN,
    StreamFindings,
    buildProbe,
    probeRoute,
    streamRequest,
    toolRequest,
)
from codex_relay._tools.doctor.checks import (
    Answer,
    Check,
    Unreachable,
    UpstreamReport,
    chatReport,
    exitStatus,
    httpCheck,
    keyCheck,
    parseModelList,
    passthroughReport,
    reasoningCheck,
    renderReport,
    streamCheck,
    toolCheck,
    unreachableCheck,
    usageCheck,
)
from codex_relay._providers.profiles import PROFILES
from codex_relay._providers.config_file import parseRoutingTable, singleUpstream
from codex_relay._core.settings import TranslationSettings
from tests.harness.chunks import chunk, completion, finish, reasoning, sse, text, toolCall, usage
from tests.harness.sockets import serveUpstream, trackConnections
from tests.harness.upstream import JSONReply, ReceivedRequest, ScriptedUpstream, Stream

SETTINGS = TranslationSettings(secret=b"doctor-tests")
MODELS = {"object": "list", "data": [
    {"id": "model-a", "object": "model", "created": 0, "owned_by": "test"},
    {"id": "model-b", "object": "model", "created": 0, "owned_by": "test"}]}

GOOD_USAGE = usage(21, 9, cached=5, reasoning=3)


def route(profile: str = "generic", model: str = "model-a",
          url: str = "http://127.0.0.1:9/v1") -> Any:
    table = singleUpstream(url, None, profile)
    return table.route(model)


def findingsOf(request: dict, body: bytes, profile: str = "generic",
               split: int = 7) -> StreamFindings:
    """
    The findings of C{body} streamed in C{split}-byte pieces.
    """
    findings = StreamFindings(buildProbe(request, route(profile), SETTINGS), SETTINGS)
    for start in range(0, len(body), split):
        findings.feed(body[start:start + split])
    findings.close()
    return findings


def streamed(body: bytes, profile: str = "generic") -> Answer:
    return Answer(status=200, findings=findingsOf(streamRequest("model-a"), body, profile))


def tooled(body: bytes, profile: str = "generic") -> Answer:
    return Answer(status=200, findings=findingsOf(toolRequest("model-a"), body, profile))


HEALTHY_STREAM = sse(reasoning("The user wants ok."), text("ok"), finish("stop"),
                     chunk(choices=False, usage=GOOD_USAGE))
HEALTHY_TOOL = sse(toolCall(0, id="call_1", name="get_time", arguments=""),
                   toolCall(0, arguments="{}"), finish("tool_calls"),
                   chunk(choices=False, usage=usage(80, 12)))


# -- Sans-IO ------------------------------------------------------------------------


class ProbeRequestTests(SynchronousTestCase):
    """
    The probes go through the relay's translation and the route's profile.
    """

    def test_generic(self) -> None:
        body = buildProbe(streamRequest("model-a"), route(), SETTINGS).chat.body
        self.assertEqual(body["messages"], [{"role": "user", "content": STREAM_PROMPT}])
        self.assertEqual(body["max_tokens"], STREAM_MAX_TOKENS)
        self.assertEqual(body["stream_options"], {"include_usage": True})
        self.assertEqual(body["reasoning_effort"], "low")
        self.assertTrue(body["stream"])
        tool = buildProbe(toolRequest("model-a"), route(), SETTINGS).chat.body
        self.assertEqual([t["function"]["name"] for t in tool["tools"]], ["get_time"])
        self.assertEqual(tool["tool_choice"], "auto")
        self.assertEqual(tool["max_tokens"], TOOL_MAX_TOKENS)
        self.assertNotIn("reasoning_effort", tool)

    def test_profiles(self) -> None:
        deepseek = buildProbe(streamRequest("deepseek-chat"),
                              route("deepseek", "deepseek-chat"), SETTINGS).chat.body
        self.assertEqual(deepseek["thinking"], {"type": "enabled"})
        self.assertEqual(deepseek["reasoning_effort"], "low")
        kimi = buildProbe(streamRequest("kimi-k2"), route("kimi", "kimi-k2"), SETTINGS).chat.body
        self.assertEqual(kimi["max_completion_tokens"], STREAM_MAX_TOKENS)
        self.assertNotIn("max_tokens", kimi)
        self.assertNotIn("reasoning_effort", kimi)
        mistral = buildProbe(streamRequest("m"), route("mistral", "m"), SETTINGS).chat.body
        self.assertNotIn("stream_options", mistral)
        ollama = buildProbe(toolRequest("m"), route("ollama", "m"), SETTINGS).chat.body
        self.assertNotIn("tool_choice", ollama)

    def test_routeOverrides(self) -> None:
        """
        A route's upstream_model, extra_params and drop_params apply.
        """
        table = parseRoutingTable(
            '[upstreams.local]\nbase_url = "http://127.0.0.1:9/v1"\n'
            '[[routes]]\nmodel = "fast"\nupstream = "local"\nupstream_model = "model-b"\n'
            'extra_params = { top_k = 20 }\ndrop_params = ["stream_options"]\n', {})
        chosen = probeRoute(table, table.upstreams["local"], ["model-a", "model-b"], "fast")
        self.assertEqual(chosen.upstreamModel, "model-b")
        body = buildProbe(streamRequest("fast"), chosen, SETTINGS).chat.body
        self.assertEqual(body["model"], "model-b")
        self.assertEqual(body["top_k"], 20)
        self.assertNotIn("stream_options", body)

    def test_probeRoute(self) -> None:
        table = parseRoutingTable(
            '[upstreams.a]\nbase_url = "http://127.0.0.1:9/v1"\n'
            '[upstreams.b]\nbase_url = "http://127.0.0.1:10/v1"\n'
            '[[routes]]\nprefix = "b/"\nupstream = "b"\n', {})
        a, b = table.upstreams["a"], table.upstreams["b"]
        # A model routed elsewhere: this upstream's first listed model.
        self.assertEqual(probeRoute(table, a, ["x", "y"], "b/z").upstreamModel, "x")
        chosen = probeRoute(table, b, ["z"], "b/z")
        self.assertEqual((chosen.upstream, chosen.upstreamModel), (b, "z"))
        self.assertEqual(probeRoute(table, b, ["w"], None).upstreamModel, "w")
        self.assertIsNone(probeRoute(table, a, [], None))
        # Nothing listed, but a model named: probe it.
        self.assertEqual(probeRoute(table, a, [], "m").upstreamModel, "m")

    def test_parseModelList(self) -> None:
        self.assertEqual(parseModelList(json.dumps(MODELS).encode()), ["model-a", "model-b"])
        self.assertEqual(parseModelList(b'[{"id": "x"}, {"name": "y"}]'), ["x"])
        self.assertIsNone(parseModelList(b"<html>"))
        self.assertIsNone(parseModelList(b'{"models": []}'))


class FindingsTests(SynchronousTestCase):
    """
    A Chat answer read raw and through the relay's translator.
    """

    def test_healthyStream(self) -> None:
        findings = streamed(HEALTHY_STREAM).findings
        self.assertEqual(findings.reasoningFields, ["reasoning_content"])
        self.assertEqual(findings.text, "ok")
        self.assertEqual(findings.reasoningText, "The user wants ok.")
        self.assertEqual(findings.finishReason, "stop")
        self.assertEqual(findings.usage, GOOD_USAGE)
        self.assertTrue(findings.done)
        self.assertEqual(findings.status, "completed")
        self.assertIsNone(findings.failure)

    def test_reasoningFields(self) -> None:
        body = sse(reasoning("a", "reasoning"),
                   chunk({"reasoning_details": [{"type": "reasoning.text", "text": "b"}]}),
                   chunk({"content": [{"type": "thinking", "thinking": [{"text": "c"}]}]}),
                   text("<thi"), text("nk>d</think>ok"), finish("stop"))
        findings = streamed(body).findings
        self.assertEqual(findings.reasoningFields, [
            "reasoning", "reasoning_details", "thinking content parts", "<think> in content"])

    def test_thinkTags(self) -> None:
        body = sse(text("<think>hmm</think>ok"), finish("stop"))
        generic = streamed(body).findings
        self.assertEqual(generic.text, "<think>hmm</think>ok")
        check = reasoningCheck([generic], PROFILES["generic"])
        self.assertEqual(check.status, WARN)
        self.assertIn("--profile llama.cpp", check.nextStep)
        split = streamed(body, "llama.cpp").findings
        self.assertEqual((split.text, split.reasoningText), ("ok", "hmm"))
        check = reasoningCheck([split], PROFILES["llama.cpp"])
        self.assertEqual(check.status, OK)
        self.assertIn("split off by the llama.cpp profile", check.detail)

    def test_toolCall(self) -> None:
        findings = tooled(HEALTHY_TOOL).findings
        self.assertEqual(findings.toolCalls,
                         {0: {"id": "call_1", "name": "get_time", "arguments": "{}"}})
        [call] = findings.calls
        self.assertEqual((call["name"], call["call_id"], call["arguments"]),
                         ("get_time", "call_1", "{}"))

    def test_wholeCompletion(self) -> None:
        findings = StreamFindings(buildProbe(streamRequest("model-a"), route(), SETTINGS),
                                  SETTINGS)
        findings.feedCompletion(json.dumps(completion(
            {"role": "assistant", "content": "ok", "reasoning_content": "r"},
            usage=usage(3, 1))).encode())
        findings.close()
        self.assertTrue(findings.whole)
        self.assertEqual((findings.text, findings.reasoningFields), ("ok", ["reasoning_content"]))
        check = streamCheck(Answer(status=200, findings=findings), route().upstream, False,
                            "model-a")
        self.assertEqual(check.status, WARN)
        self.assertIn("not a stream", check.detail)

    def test_brokenOff(self) -> None:
        findings = StreamFindings(buildProbe(streamRequest("model-a"), route(), SETTINGS),
                                  SETTINGS)
        findings.feed(sse(text("o"), done=False))
        findings.close("the connection closed early")
        self.assertEqual(findings.status, "failed")
        check = streamCheck(Answer(status=200, findings=findings), route().upstream, False,
                            "model-a")
        self.assertEqual(check.status, FAIL)
        self.assertIn("broke off", check.detail)

    def test_endsWithoutFinish(self) -> None:
        """
        A stream that stops without a finish_reason or [DONE] is incomplete.
        """
        check = streamCheck(streamed(sse(text("o"), done=False)), route().upstream, False,
                            "model-a")
        self.assertEqual(check.status, FAIL)
        self.assertIn("ended before the response was complete", check.detail)

    def test_midStreamError(self) -> None:
        body = sse(text("o"), {"error": {"message": "model overloaded"}}, done=False)
        check = streamCheck(streamed(body), route().upstream, False, "model-a")
        self.assertEqual(check.status, FAIL)
        self.assertIn("model overloaded", check.detail)


class CheckTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.upstream = route().upstream

    def test_streamOk(self) -> None:
        check = streamCheck(streamed(HEALTHY_STREAM), self.upstream, False, "model-a")
        self.assertEqual(check.status, OK)
        self.assertIn('"ok" (finish_reason stop)', check.detail)

    def test_reasoningOnly(self) -> None:
        body = sse(reasoning("thinking hard"), finish("length"))
        check = streamCheck(streamed(body), self.upstream, False, "model-a")
        self.assertEqual(check.status, OK)
        self.assertIn("reasoning only within 16 tokens", check.detail)

    def test_usage(self) -> None:
        check = usageCheck(streamed(HEALTHY_STREAM).findings, PROFILES["generic"])
        self.assertEqual(check.status, OK)
        self.assertEqual(check.detail, "21 in, 9 out; cached 5 "
                         "(prompt_tokens_details.cached_tokens); reasoning 3 "
                         "(completion_tokens_details.reasoning_tokens)")
        deepseek = sse(text("ok"), finish("stop"),
                       chunk(choices=False, usage=usage(10, 1, deepseekHits=8)))
        check = usageCheck(streamed(deepseek).findings, PROFILES["deepseek"])
        self.assertIn("cached 8 (prompt_cache_hit_tokens)", check.detail)
        self.assertIn("reasoning tokens not reported", check.detail)
        none = usageCheck(streamed(sse(text("ok"), finish("stop"))).findings,
                          PROFILES["generic"])
        self.assertEqual(none.status, WARN)
        self.assertIn("estimates", none.nextStep)

    def test_toolCallOk(self) -> None:
        check = toolCheck(tooled(HEALTHY_TOOL), self.upstream, False, "model-a")
        self.assertEqual((check.status, check.detail),
                         (OK, "get_time({}), a structured tool call"))

    def test_toolCallInText(self) -> None:
        check = toolCheck(tooled(sse(text("It is noon."), finish("stop"))), self.upstream,
                          False, "model-a")
        self.assertEqual(check.status, WARN)
        self.assertIn('answered in text, not a tool call: "It is noon."', check.detail)
        self.assertIn("tool calls", check.nextStep)

    def test_toolCallBadArguments(self) -> None:
        body = sse(toolCall(0, id="c", name="get_time", arguments="{now"), finish("tool_calls"))
        check = toolCheck(tooled(body), self.upstream, False, "model-a")
        self.assertEqual(check.status, WARN)
        self.assertIn("arguments are not JSON", check.detail)

    def test_toolCallHealed(self) -> None:
        """
        A call leaked as DSML markup and healed by the DeepSeek profile
        counts, and says so.
        """
        markup = ('<\uff5cDSML\uff5cfunction_calls>\n<\uff5cDSML\uff5cinvoke name="get_time">\n'
                  '</\uff5cDSML\uff5cinvoke>\n</\uff5cDSML\uff5cfunction_calls>')
        check = toolCheck(tooled(sse(text(markup), finish("stop")), "deepseek"),
                          self.upstream, False, "model-a")
        self.assertEqual(check.status, OK, check)
        self.assertIn("recovered by the relay", check.detail)

    def test_toolsRejected(self) -> None:
        answer = Answer(status=400, body=b'{"error": {"message": "tools are not supported"}}')
        check = toolCheck(answer, self.upstream, False, "model-a")
        self.assertEqual(check.status, FAIL)
        self.assertIn("Codex always sends tools", check.nextStep)

    def test_keySteps(self) -> None:
        config = parseRoutingTable(
            '[upstreams.ds]\nbase_url = "https://api.deepseek.com/v1"\n'
            'api_key_env = "DS_KEY"\n', {"DS_KEY": "sk-x"})
        fromFile = config.upstreams["ds"]
        answer = Answer(status=401, body=b'{"error": {"message": "bad key"}}')
        check = httpCheck("models", answer, fromFile, True)
        self.assertEqual(check.detail, 'HTTP 401: "bad key"')
        self.assertEqual(check.nextStep,
                         "check the API key (api_key_env or api_key of [upstreams.ds])")
        check = keyCheck(self.upstream, False, [answer])
        self.assertEqual(check.status, FAIL)
        self.assertEqual(check.nextStep, "no API key is configured: set one "
                         "(CODEX_RELAY_API_KEY or --api-key)")
        self.assertEqual(keyCheck(fromFile, True, [Answer(status=200)]).detail, "accepted")

    def test_httpSteps(self) -> None:
        def step(status: int, model: str | None = None) -> str:
            return httpCheck("stream", Answer(status=status), self.upstream, False,
                             model).nextStep

        self.assertIn("does not serve 'x'", step(404, "x"))
        self.assertIn("check the base URL", step(404))
        self.assertIn("quota", step(429))
        self.assertIn("drop_params", step(400))
        self.assertIn("read its log", step(502))

    def test_unreachable(self) -> None:
        check = unreachableCheck("models", self.upstream, Unreachable("refused", "refused"))
        self.assertEqual(check.detail, "could not connect to 127.0.0.1:9 (connection refused)")
        self.assertIn("start the upstream server", check.nextStep)
        tls = unreachableCheck("models", self.upstream, Unreachable("tls", "bad cert"))
        self.assertIn("--upstream-ca", tls.nextStep)


class ReportTests(SynchronousTestCase):
    def test_renderAligned(self) -> None:
        good = UpstreamReport("alpha", "http://a/v1", [
            Check("profile", INFO, "generic"), Check("tool call", WARN, "text", "fix tools")],
            tokens=120)
        bad = UpstreamReport("beta", "http://b/v1", [
            Check("models", FAIL, "HTTP 401", "check the key"),
            Check("key", FAIL, "rejected", "check the key")])
        output = renderReport([good, bad])
        self.assertEqual(output, "\n".join([
            "upstream alpha: http://a/v1",
            "  check      result  detail",
            "  profile    info    generic",
            "  tool call  warn    text",
            "",
            "upstream beta: http://b/v1",
            "  check      result  detail",
            "  models     FAIL    HTTP 401",
            "  key        FAIL    rejected",
            "",
            "Next steps:",
            "  - alpha tool call: fix tools",
            "  - beta models: check the key",
            "",
            "Codex cannot work through beta: see the next steps. The probes used 120 tokens.",
            ""]))
        self.assertEqual(exitStatus([good, bad]), 1)
        self.assertEqual(exitStatus([good]), 0)
        self.assertIn("Codex can work through this upstream.", renderReport([good]))

    def test_chatReport(self) -> None:
        chosen = route()
        models = Answer(status=200)
        report = chatReport(chosen.upstream, False, models, ["model-a"], chosen,
                            streamed(HEALTHY_STREAM), tooled(HEALTHY_TOOL))
        self.assertEqual([(c.name, c.status) for c in report.checks], [
            ("profile", INFO), ("models", OK), ("key", OK), ("stream", OK),
            ("reasoning", OK), ("usage", OK), ("tool call", OK)])
        self.assertEqual(report.tokens, 21 + 9 + 80 + 12)
        self.assertFalse(report.failed)

    def test_passthrough(self) -> None:
        table = parseRoutingTable('[upstreams.r]\nbase_url = "http://127.0.0.1:9/v1"\n'
                                  'api = "responses"\n', {})
        report = passthroughReport(table.upstreams["r"], True, Answer(status=200), ["m"])
        self.assertEqual([(c.name, c.status) for c in report.checks],
                         [("profile", INFO), ("models", OK), ("key", OK), ("api", INFO)])
        self.assertIn("pass through", report.checks[-1].detail)


# -- The command -------------------------------------------------------------------------


def runDoctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """
    Run C{python -m codex_relay ARGS} with no C{CODEX_RELAY_*} variables
    but those in C{env}.
    """
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_RELAY_")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "codex_relay", *args], capture_output=True,
                          text=True, timeout=900, env=environ, stdin=subprocess.DEVNULL)


def table(output: str) -> dict[tuple[str, str], tuple[str, str]]:
    """
    The rows of a doctor report: (upstream, check) to (result, detail).
    """
    rows = {}
    upstream = None
    for line in output.splitlines():
        header = re.match(r"upstream (\S+): ", line)
        if header:
            upstream = header.group(1)
        elif line.startswith("  ") and not line.startswith("  - ") and upstream:
            name, result, detail = (re.split(r"\s{2,}", line.strip(), maxsplit=2) + [""])[:3]
            if name != "check":
                rows[(upstream, name)] = (result, detail)
    return rows


def healthy(body: Any, received: ReceivedRequest) -> Stream:
    """
    A model that reasons, reports full usage and calls tools.
    """
    if body.get("tools"):
        return Stream([toolCall(0, id="call_1", name="get_time", arguments=""),
                       toolCall(0, arguments="{}"), finish("tool_calls"),
                       chunk(choices=False, usage=usage(80, 12, cached=0, reasoning=0))])
    return Stream([reasoning("The user wants ok."), text("ok"), finish("stop"),
                   chunk(choices=False, usage=GOOD_USAGE)])


def plain(body: Any, received: ReceivedRequest) -> Stream:
    """
    A model that reports no usage and answers the tool probe in text.
    """
    if body.get("tools"):
        return Stream([text("It is noon."), finish("stop")])
    return Stream([text("ok"), finish("stop")])


class KeyRequired(Resource):
    """
    Answers 401, as OpenAI does, unless the request carries C{key}.
    """

    isLeaf = True

    def __init__(self, inner: Resource, key: str) -> None:
        super().__init__()
        self._inner = inner
        self._key = key

    def render(self, request: Request) -> Any:  # type: ignore[override]
        if request.getHeader(b"authorization") != b"Bearer " + self._key.encode():
            request.setResponseCode(401)
            request.setHeader(b"content-type", b"application/json")
            return json.dumps({"error": {
                "message": "Incorrect API key provided.", "type": "invalid_request_error",
                "param": None, "code": "invalid_api_key"}}).encode()
        return self._inner.render(request)


class DoctorCommandTests(TestCase):
    async def test_healthy(self) -> None:
        """
        A healthy upstream: every row ok, showing the reasoning field, the
        usage fields and the tool call, and the named profile; the probes
        went out the way that profile talks to the provider.
        """
        upstream = ScriptedUpstream(healthy, models=MODELS)
        url = await serveUpstream(self, upstream)
        result = await deferToThread(runDoctor, "--upstream", url, "--api-key", "sk-test",
                                     "--profile", "deepseek", "doctor")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "profile")],
                         ("info", "deepseek (named by --profile)"))
        self.assertEqual(rows[("default", "models")],
                         ("ok", "2 listed (model-a, model-b); probing model-a"))
        self.assertEqual(rows[("default", "key")], ("ok", "accepted"))
        self.assertEqual(rows[("default", "stream")][0], "ok")
        self.assertIn('"ok" (finish_reason stop)', rows[("default", "stream")][1])
        self.assertEqual(rows[("default", "reasoning")], ("ok", "reasoning_content"))
        self.assertEqual(rows[("default", "usage")], ("ok", (
            "21 in, 9 out; cached 5 (prompt_tokens_details.cached_tokens); reasoning 3 "
            "(completion_tokens_details.reasoning_tokens)")))
        self.assertEqual(rows[("default", "tool call")],
                         ("ok", "get_time({}), a structured tool call"))
        self.assertNotIn("Next steps", result.stdout)
        self.assertIn("Codex can work through this upstream. The probes used 122 tokens.",
                      result.stdout)

        models, stream, tool = upstream.requests
        self.assertEqual((models.method, models.path), ("GET", "/v1/models"))
        self.assertEqual(models.headers["authorization"], "Bearer sk-test")
        self.assertEqual(stream.json["messages"], [{"role": "user", "content": STREAM_PROMPT}])
        # The deepseek profile: thinking switched on, no sampling parameters.
        self.assertEqual(stream.json["thinking"], {"type": "enabled"})
        self.assertEqual(stream.json["stream_options"], {"include_usage": True})
        self.assertEqual(stream.json["max_tokens"], STREAM_MAX_TOKENS)
        self.assertEqual(tool.json["tools"][0]["function"]["name"], "get_time")
        self.assertEqual(tool.json["max_tokens"], TOOL_MAX_TOKENS)

    async def test_badKey(self) -> None:
        upstream = ScriptedUpstream(healthy, models=MODELS)
        upstream.resource = KeyRequired(upstream.resource, "sk-right")
        url = await serveUpstream(self, upstream)
        result = await deferToThread(runDoctor, "--upstream", url, "doctor",
                                     env={"CODEX_RELAY_API_KEY": "sk-wrong"})
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "models")],
                         ("FAIL", 'HTTP 401: "Incorrect API key provided."'))
        self.assertEqual(rows[("default", "key")], ("FAIL", "rejected (HTTP 401)"))
        self.assertNotIn(("default", "stream"), rows)
        self.assertIn("Next steps:\n  - models: check the API key "
                      "(CODEX_RELAY_API_KEY or --api-key)\n", result.stdout)
        self.assertIn("Codex cannot work through default", result.stdout)
        self.assertEqual(upstream.requests, [])  # the wrapper answered alone

        fixed = await deferToThread(runDoctor, "--upstream", url, "doctor",
                                    env={"CODEX_RELAY_API_KEY": "sk-right"})
        self.assertEqual(fixed.returncode, 0, fixed.stdout + fixed.stderr)

    async def test_warnings(self) -> None:
        """
        No usage and a text answer to the tool probe: warnings with next
        steps, and still exit 0.
        """
        upstream = ScriptedUpstream(plain)
        url = await serveUpstream(self, upstream)
        result = await deferToThread(runDoctor, "--upstream", url, "doctor")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "profile")][1],
                         "generic (no known provider in the URL; --profile NAME names one)")
        self.assertEqual(rows[("default", "key")], ("ok", "none configured, none asked for"))
        self.assertEqual(rows[("default", "stream")][0], "ok")
        self.assertEqual(rows[("default", "reasoning")],
                         ("info", "none seen (the model did not reason here)"))
        self.assertEqual(rows[("default", "usage")], ("warn", "not reported in the stream"))
        self.assertEqual(rows[("default", "tool call")],
                         ("warn", 'answered in text, not a tool call: "It is noon."'))
        self.assertIn("Next steps:\n  - usage: nothing to fix", result.stdout)
        self.assertIn("  - tool call: Codex works only through tool calls", result.stdout)
        self.assertIn("Codex can work through this upstream.", result.stdout)

    async def test_refused(self) -> None:
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            Site(Resource()))
        number = port.getHost().port
        await port.stopListening()
        result = await deferToThread(runDoctor, "--upstream",
                                     "http://127.0.0.1:{}/v1".format(number), "doctor")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "models")], (
            "FAIL", "could not connect to 127.0.0.1:{} (connection refused)".format(number)))
        self.assertIn("start the upstream server", result.stdout)
        self.assertEqual(result.stderr, "")

    async def test_configFile(self) -> None:
        """
        Every upstream of a --config file is probed and reported, each with
        its profile, key and routes; a rejected parameter is stripped and
        retried as the relay does.
        """
        alpha = ScriptedUpstream(healthy, models=MODELS)
        betaModels = {"object": "list", "data": [{"id": "kimi-k2", "object": "model"}]}

        def beta(body: Any, received: ReceivedRequest) -> Any:
            if "top_k" in body:
                return JSONReply({"error": {"message": "Unrecognized request argument "
                                            "supplied: top_k", "type": "invalid_request_error"}},
                                 status=400)
            return plain(body, received)

        betaUpstream = ScriptedUpstream(beta, models=betaModels)
        alphaURL = await serveUpstream(self, alpha)
        betaURL = await serveUpstream(self, betaUpstream)
        directory = tempfile.mkdtemp()
        path = os.path.join(directory, "relay.toml")
        with open(path, "w") as config:
            config.write(
                '[upstreams.alpha]\nbase_url = "{}"\napi_key_env = "ALPHA_KEY"\n\n'
                '[upstreams.beta]\nbase_url = "{}"\nprofile = "kimi"\n\n'
                '[[routes]]\nprefix = "beta/"\nupstream = "beta"\n'
                'extra_params = {{ top_k = 20 }}\n'.format(alphaURL, betaURL))
        result = await deferToThread(runDoctor, "--config", path, "doctor",
                                     env={"ALPHA_KEY": "sk-alpha"})
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("alpha", "key")], ("ok", "accepted"))
        self.assertEqual(rows[("alpha", "tool call")][0], "ok")
        self.assertEqual(rows[("beta", "profile")], ("info", "kimi (named in the config)"))
        self.assertEqual(rows[("beta", "models")],
                         ("ok", "1 listed (kimi-k2); probing kimi-k2"))
        self.assertIn("rejected 'top_k', left out as the relay will",
                      rows[("beta", "stream")][1])
        self.assertEqual(rows[("beta", "tool call")][0], "warn")
        self.assertIn("  - beta tool call: ", result.stdout)
        self.assertIn("Codex can work through every upstream (2).", result.stdout)
        self.assertEqual(alpha.requests[0].headers["authorization"], "Bearer sk-alpha")
        first, retried = betaUpstream.requests[1:3]
        self.assertEqual(first.json["top_k"], 20)
        self.assertEqual(first.json["max_completion_tokens"], STREAM_MAX_TOKENS)
        self.assertNotIn("top_k", retried.json)

    async def test_unknownModel(self) -> None:
        """
        A --model the upstream does not serve: the stream probe's 404 says
        to pick one it lists; exit 1.
        """
        def respond(body: Any, received: ReceivedRequest) -> Any:
            if body["model"] != "model-a":
                return JSONReply({"error": {"message": "model not found",
                                            "code": "model_not_found"}}, status=404)
            return healthy(body, received)

        url = await serveUpstream(self, ScriptedUpstream(respond))
        result = await deferToThread(runDoctor, "--upstream", url, "doctor", "-m", "nope")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "stream")], ("FAIL", 'HTTP 404: "model not found"'))
        self.assertIn("does not serve 'nope': pass --model", result.stdout)

    async def test_timeout(self) -> None:
        """
        An upstream that never answers costs --timeout seconds, not forever.
        """
        class Silent(Resource):
            isLeaf = True

            def render(self, request: Request) -> Any:  # type: ignore[override]
                from twisted.web.server import NOT_DONE_YET
                return NOT_DONE_YET

        site = Site(Silent())
        trackConnections(self, site)
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(site)
        self.addCleanup(port.stopListening)
        result = await deferToThread(
            runDoctor, "--upstream", "http://127.0.0.1:{}/v1".format(port.getHost().port),
            "doctor", "--timeout", "0.5")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertEqual(table(result.stdout)[("default", "models")],
                         ("FAIL", "no answer: no answer within 0.5s"))


class LlamaCppDoctorTests(TestCase):
    """
    The doctor against the real llama.cpp server (L{tests.harness.llamacpp}):
    skipped loudly without xllamacpp, a failure under CI=true.
    """

    async def test_doctor(self) -> None:
        from tests.harness.llamacpp import MODEL_ALIAS, TOOLS_TEMPLATE, serverFor

        server = await serverFor(self, TOOLS_TEMPLATE)
        # A loaded test machine (trial -j, one server per worker) can make
        # the small model slow: allow what the relay itself allows.
        result = await deferToThread(runDoctor, "--upstream", server.baseURL,
                                     "--profile", "llama.cpp", "doctor", "--timeout", "300")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "profile")], ("info", "llama.cpp (named by --profile)"))
        self.assertEqual(rows[("default", "models")][1],
                         "1 listed ({0}); probing {0}".format(MODEL_ALIAS))
        self.assertEqual(rows[("default", "stream")][0], "ok")
        # llama.cpp reports usage and cached tokens, not reasoning tokens.
        self.assertEqual(rows[("default", "usage")][0], "ok")
        self.assertIn("(prompt_tokens_details.cached_tokens)", rows[("default", "usage")][1])
        # At temperature 0 the model makes the call, through the server's
        # own tool-call parsing.
        self.assertEqual(rows[("default", "tool call")],
                         ("ok", "get_time({}), a structured tool call"))
        spent = re.search(r"The probes used (\d+) tokens", result.stdout)
        self.assertIsNotNone(spent, result.stdout)
        self.assertLess(int(spent.group(1)), 400)
