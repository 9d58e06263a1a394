"""
The doctor's report, without any I/O: the checks of each upstream gathered
from its answers (a Chat upstream probed, a passthrough one only listed),
and printed as an aligned table with the next steps, the verdict and the
exit status.
"""

from dataclasses import dataclass, field

from codex_relay._providers.routes import RESPONSES, Route, Upstream

from codex_relay._tools.doctor.checks import (
    Answer,
    Check,
    keyCheck,
    modelsCheck,
    profileCheck,
    reasoningCheck,
    streamCheck,
    toolCheck,
    usageCheck,
)
from codex_relay._tools.doctor.probes import FAIL, INFO, WARN


@dataclass
class UpstreamReport:
    """
    The rows of one upstream, and the tokens its probes used.
    """

    name: str
    baseURL: str
    checks: list[Check] = field(default_factory=list)
    tokens: int = 0
    kind: str = "upstream"

    @property
    def failed(self) -> bool:
        return any(check.status == FAIL for check in self.checks)


def usedTokens(answers: list[Answer]) -> int:
    total = 0
    for answer in answers:
        usage = answer.findings.usage if answer.findings is not None else None
        if usage:
            for key in ("prompt_tokens", "completion_tokens"):
                value = usage.get(key)
                total += value if isinstance(value, int) else 0
    return total


def chatReport(upstream: Upstream, fromFile: bool, models: Answer, listed: list[str] | None,
               route: Route | None, stream: Answer | None, tool: Answer | None
               ) -> UpstreamReport:
    """
    The report of a Chat upstream from its answers; C{stream} and C{tool}
    are L{None} when they were not sent.
    """
    report = UpstreamReport(upstream.name, upstream.baseURL)
    checks = report.checks
    checks.append(profileCheck(upstream, route, fromFile))
    checks.append(modelsCheck(models, upstream, fromFile, listed, route))
    answers = [a for a in (models, stream, tool) if a is not None]
    if not (models.problem is not None and stream is None):
        checks.append(keyCheck(upstream, fromFile, answers))
    if route is not None and route.api == RESPONSES:
        checks.append(Check("api", INFO, "responses: Codex's requests pass through to "
                            "{}/responses; no Chat probes".format(upstream.baseURL)))
        return report
    if stream is None or route is None:
        return report
    model = route.upstreamModel
    streamed = streamCheck(stream, upstream, fromFile, model)
    checks.append(streamed)
    if streamed.status != FAIL:
        assert stream.findings is not None
        found = [stream.findings] + ([tool.findings] if tool and tool.findings else [])
        checks.append(reasoningCheck(found, route.profile))
        checks.append(usageCheck(stream.findings, route.profile))
    if tool is not None:
        checks.append(toolCheck(tool, upstream, fromFile, model))
    report.tokens = usedTokens(answers)
    return report


def passthroughReport(upstream: Upstream, fromFile: bool, models: Answer,
                      listed: list[str] | None) -> UpstreamReport:
    """
    The report of an C{api = "responses"} upstream: listed, not probed.
    """
    report = UpstreamReport(upstream.name, upstream.baseURL)
    report.checks.append(profileCheck(upstream, None, fromFile))
    check = modelsCheck(models, upstream, fromFile, listed, None)
    if check.status == FAIL and listed == []:
        check = Check("models", WARN, "lists no models", "name one with --model")
    report.checks.append(check)
    if models.problem is None:
        report.checks.append(keyCheck(upstream, fromFile, [models]))
    report.checks.append(Check("api", INFO, "responses: Codex's requests pass through to "
                               "{}/responses; no Chat probes".format(upstream.baseURL)))
    return report


def renderReport(reports: list[UpstreamReport],
                 relay: list[UpstreamReport] | None = None) -> str:
    """
    The table, the next steps and the verdict.

    @param relay: sections about the relay itself (its store): shown and
        given next steps, but not counted among the upstreams.
    """
    upstreams = reports
    reports = [*reports, *(relay or [])]
    rows = [("check", "result", "detail")]
    for report in reports:
        rows += [(c.name, c.status, c.detail) for c in report.checks]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]

    def line(cells: tuple[str, str, str]) -> str:
        return "  {}  {}  {}".format(cells[0].ljust(widths[0]), cells[1].ljust(widths[1]),
                                     cells[2]).rstrip()

    lines: list[str] = []
    steps: list[str] = []
    for report in reports:
        if lines:
            lines.append("")
        lines.append("{} {}: {}".format(report.kind, report.name, report.baseURL))
        lines.append(line(rows[0]))
        seen: set[str] = set()
        for check in report.checks:
            lines.append(line((check.name, check.status, check.detail)))
            if check.nextStep and check.status in (FAIL, WARN) and check.nextStep not in seen:
                seen.add(check.nextStep)
                prefix = "{} {}".format(report.name, check.name) if (
                    len(upstreams) > 1 and report.kind == "upstream") else check.name
                steps.append("  - {}: {}".format(prefix, check.nextStep))
    if steps:
        lines += ["", "Next steps:"] + steps
    lines.append("")
    reports = upstreams
    tokens = sum(report.tokens for report in reports)
    spent = " The probes used {} tokens.".format(tokens) if tokens else ""
    failed = [report.name for report in reports if report.failed]
    if failed:
        lines.append("Codex cannot work through {}: see the next steps.{}".format(
            ", ".join(failed), spent))
    else:
        lines.append("Codex can work through {}.{}".format(
            "this upstream" if len(reports) == 1 else
            "every upstream ({})".format(len(reports)), spent))
    return "\n".join(lines) + "\n"


def storeReport(store: str, sharedWithoutSecret: bool) -> UpstreamReport:
    """
    Where the relay keeps responses, and a warning when other relays may
    share the store but this one's secret is random.
    """
    report = UpstreamReport("store", store, kind="relay")
    if store == "none":
        report.checks.append(Check("store", INFO, "no responses kept: previous_response_id "
                                   "works only within one WebSocket connection"))
    elif sharedWithoutSecret:
        report.checks.append(Check(
            "store", WARN, "shared (Redis), but --secret is random",
            "give every relay that shares {} the same --secret (or "
            "CODEX_RELAY_SECRET); with a random one, no other relay, nor this one after a "
            "restart, can continue its responses".format(store)))
    else:
        report.checks.append(Check("store", INFO, "responses kept in " + store))
    return report


def exitStatus(reports: list[UpstreamReport]) -> int:
    return 1 if any(report.failed for report in reports) else 0
