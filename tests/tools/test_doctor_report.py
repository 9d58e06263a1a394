"""
C{codex-relay doctor}, sans-IO: the report of each upstream's checks,
rendered aligned with next steps, and the exit status.
"""


from twisted.trial.unittest import SynchronousTestCase

from codex_relay._tools.doctor.probes import FAIL, INFO, OK, WARN
from codex_relay._tools.doctor.checks import Answer, Check
from codex_relay._tools.doctor.report import (
    UpstreamReport,
    chatReport,
    exitStatus,
    passthroughReport,
    renderReport,
)
from codex_relay._providers.config_file import parseRoutingTable
from tests.harness.doctor import HEALTHY_STREAM, HEALTHY_TOOL, route, streamed, tooled


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
