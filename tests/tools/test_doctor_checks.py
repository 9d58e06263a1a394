"""
C{codex-relay doctor}, sans-IO: the checks that turn findings and HTTP
answers into results with next steps (stream, usage, tool call, key,
HTTP status, unreachable upstream).
"""


from twisted.trial.unittest import SynchronousTestCase

from codex_relay._tools.doctor.probes import FAIL, OK, WARN
from codex_relay._tools.doctor.checks import (
    Answer,
    Unreachable,
    httpCheck,
    keyCheck,
    streamCheck,
    toolCheck,
    unreachableCheck,
    usageCheck,
)
from codex_relay._providers.profiles import PROFILES
from codex_relay._providers.config_file import parseRoutingTable
from tests.harness.chunks import chunk, finish, reasoning, sse, text, toolCall, usage
from tests.harness.doctor import HEALTHY_STREAM, HEALTHY_TOOL, route, streamed, tooled


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
