"""
The C{doctor} command: probe each configured upstream the way a user would
before pointing Codex at it, and print a short table of what works, with a
next step for what does not.

For each Chat upstream, three requests and at most a few hundred tokens:

  1. C{GET /models} with the configured key: is it reachable, is the key
     accepted, which model to probe (C{--model}, else the first listed);
  2. a streamed answer to "Reply with the single word: ok" (16 tokens,
     usage asked for, reasoning effort low): which reasoning field appears,
     whether usage (cached and reasoning tokens) is reported;
  3. one call of a trivial tool (C{get_time}, no parameters; 64 tokens):
     does a structured tool call come back.

Each probe is a Responses request, as Codex would send it, put through the
relay's own translation and the route's profile and overrides
(L{translateRequest}, L{adaptRequest}), so a strict provider is probed the
way the relay talks to it; a 400 naming one parameter is stripped and
retried once, as the relay does.  Each answer is read twice: raw, for the
provider's fields, and through the relay's L{StreamTranslator}, for what
Codex would receive.  An upstream with C{api = "responses"} is only listed:
the relay passes Codex's requests through to it.

The exit status is 0 when every upstream can serve Codex (models listed, a
streamed answer translated), else 1.  A model that answers the tool probe
in text, or an upstream that reports no usage, is a warning.

Sans-IO first (the probe requests, L{StreamFindings}, the checks, the
report); the Twisted part that sends the requests is at the end.
"""
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, cast

from twisted.internet.interfaces import IReactorTime
from twisted.python import usage

from codex_relay._web.config import RelayConfig
from codex_relay._providers.rejections import rejectedParameter, withoutParameter
from codex_relay._providers.routes import RESPONSES, RoutingTable, Upstream
from codex_relay._core.settings import TranslationSettings
from codex_relay._core.sse import SSETooLarge
from codex_relay._store.choose import shownSpec

from codex_relay._tools.doctor.probes import (
    Probe,
    StreamFindings,
    buildProbe,
    probeRoute,
    streamRequest,
    toolRequest,
)
from codex_relay._tools.doctor.checks import Answer, Unreachable, parseModelList
from codex_relay._tools.doctor.report import (
    UpstreamReport,
    chatReport,
    exitStatus,
    passthroughReport,
    renderReport,
    storeReport,
)

if TYPE_CHECKING:
    from codex_relay._web.reactor import IRelayReactor

# -- Options ----------------------------------------------------------------------------


def _positiveFloat(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError("must be positive")
    return value


class DoctorOptions(usage.Options):
    synopsis = "[--model M] [--timeout SECONDS]"
    longdesc = ("Probe each configured upstream as Codex will use it: list its models "
                "with the key, stream a short answer, make one tool call. Prints what "
                "works and what to fix; exits 1 if Codex could not work through an "
                "upstream. Costs a few hundred tokens per upstream.")
    optParameters = [
        ["model", "m", None, "model to probe (default: the first each upstream lists)"],
        ["timeout", "t", 60.0, "seconds each probe may take", _positiveFloat],
    ]


# -- The Twisted part -----------------------------------------------------------------------


def classifyProblem(error: BaseException, timeout: float) -> Unreachable:
    """
    What kind of no-answer C{error} is.
    """
    from twisted.internet import defer, error as neterror
    from twisted.web.client import ResponseFailed, ResponseNeverReceived
    from twisted.web._newclient import RequestTransmissionFailed

    if isinstance(error, neterror.ConnectionRefusedError):
        return Unreachable("refused", "connection refused")
    if isinstance(error, neterror.DNSLookupError):
        return Unreachable("dns", str(error))
    if isinstance(error, (defer.TimeoutError, defer.CancelledError)):
        return Unreachable("timeout", "no answer within {:g}s".format(timeout))
    if isinstance(error, (neterror.TimeoutError, neterror.TCPTimedOutError)):
        return Unreachable("timeout", "timed out connecting")
    if isinstance(error, neterror.ConnectError):
        return Unreachable("other", str(error) or type(error).__name__)
    if isinstance(error, (ResponseNeverReceived, ResponseFailed, RequestTransmissionFailed)):
        reasons = getattr(error, "reasons", []) or []
        for reason in reasons:
            kind = reason.type
            if "SSL" in kind.__module__ or "ssl" in kind.__module__ or \
                    "Verification" in kind.__name__:
                return Unreachable("tls", reason.getErrorMessage() or kind.__name__)
        messages = [r.getErrorMessage() or r.type.__name__ for r in reasons]
        return Unreachable("broken", "; ".join(messages) or type(error).__name__)
    return Unreachable("other", "{}: {}".format(type(error).__name__, error))


async def _within(clock: IReactorTime, timeout: float, work: Any) -> Any:
    """
    Await the coroutine C{work}, cancelled after C{timeout} seconds.

    @raise twisted.internet.defer.TimeoutError: if it was, whatever the
        cancellation raised inside (treq: C{ResponseNeverReceived}).
    """
    from twisted.internet.defer import Deferred, TimeoutError

    def timedOut(result: object, timeout: float) -> None:
        raise TimeoutError(timeout)

    return await Deferred.fromCoroutine(work).addTimeout(
        timeout, clock, onTimeoutCancel=timedOut)


async def _getModels(client: Any, upstream: Upstream) -> Answer:
    response = await client.getModels(upstream, None)
    return Answer(status=response.code, body=await client.content(response))


async def _chat(client: Any, upstream: Upstream, probe: Probe,
                settings: TranslationSettings) -> Answer:
    import treq
    from twisted.web.client import ResponseFailed

    stripped = None
    for attempt in range(2):
        response = await client.post(upstream, "/chat/completions", probe.body, True, None)
        if response.code >= 300:
            body = await client.content(response)
            rejected = rejectedParameter(response.code, body) if attempt == 0 else None
            if rejected is not None and withoutParameter(probe.chat.body, rejected):
                stripped = rejected
                continue
            return Answer(status=response.code, body=body, stripped=stripped)
        findings = StreamFindings(probe, settings)
        contentType = response.headers.getRawHeaders(b"content-type", [b""])[0]
        if b"event-stream" in contentType:
            try:
                await treq.collect(response, findings.feed)
            except ResponseFailed as error:
                findings.close("the connection closed early ({})".format(
                    "; ".join(r.getErrorMessage() for r in error.reasons) or "ResponseFailed"))
            except SSETooLarge as error:
                findings.close(str(error))
            else:
                findings.close()
        else:
            findings.feedCompletion(await client.content(response))
            findings.close()
        return Answer(status=response.code, findings=findings, stripped=stripped)
    raise AssertionError("unreachable")  # pragma: no cover


async def _fresh(client: Any) -> None:
    # Each probe on a new connection: some servers (llama.cpp) close a
    # connection after a streamed answer while announcing keep-alive, and a
    # probe sent at once would go out on the dying one.
    closing = client.close()
    if closing is not None:
        await closing


async def _attempt(reactor: IReactorTime, timeout: float, work: Callable[[], Any]) -> Answer:
    started = time.monotonic()
    try:
        answer = cast(Answer, await _within(reactor, timeout, work()))
    except Exception as error:
        answer = Answer(problem=classifyProblem(error, timeout))
    answer.seconds = time.monotonic() - started
    return answer


async def probeUpstream(reactor: IReactorTime, client: Any, table: RoutingTable,
                        upstream: Upstream, settings: TranslationSettings, fromFile: bool,
                        model: str | None, timeout: float) -> UpstreamReport:
    """
    Probe one upstream; never raises.
    """
    models = await _attempt(reactor, timeout, lambda: _getModels(client, upstream))
    listed = parseModelList(models.body) if models.ok else None
    if upstream.api == RESPONSES:
        return passthroughReport(upstream, fromFile, models, listed)
    route = probeRoute(table, upstream, listed or [], model)
    worthTrying = models.ok or (model is not None and models.problem is None
                                and models.status not in (401, 403))
    if route is None or route.api == RESPONSES or not worthTrying:
        return chatReport(upstream, fromFile, models, listed, route, None, None)
    streamProbe = buildProbe(streamRequest(route.upstreamModel), route, settings)
    await _fresh(client)
    stream = await _attempt(reactor, timeout,
                            lambda: _chat(client, upstream, streamProbe, settings))
    tool = None
    if stream.answered and stream.status not in (401, 403):
        toolProbe = buildProbe(toolRequest(route.upstreamModel), route, settings)
        await _fresh(client)
        tool = await _attempt(reactor, timeout,
                              lambda: _chat(client, upstream, toolProbe, settings))
    return chatReport(upstream, fromFile, models, listed, route, stream, tool)


async def runDoctor(reactor: "IRelayReactor", config: RelayConfig, model: str | None,
                    timeout: float) -> list[UpstreamReport]:
    """
    Probe every upstream of C{config}, one after another.
    """
    from codex_relay._web.upstream import UpstreamClient

    table = config.routingTable()
    client = UpstreamClient.fromConfig(reactor, config)
    reports = []
    try:
        for upstream in table.upstreams.values():
            reports.append(await probeUpstream(
                reactor, client, table, upstream, config.translation,
                config.routes is not None, model, timeout))
    finally:
        closing = client.close()
        if closing is not None:
            await closing
    return reports


def doctorCommand(options: usage.Options, config: RelayConfig,
                  sharedWithoutSecret: bool = False) -> int:
    """
    Run C{codex-relay doctor} to completion on the global reactor; the exit
    status.
    """
    from twisted.internet import task
    from twisted.internet.defer import Deferred

    outcome: dict[str, int] = {}

    async def main(reactor: "IRelayReactor") -> None:
        reports = await runDoctor(reactor, config, options["model"], options["timeout"])
        store = storeReport(shownSpec(config.store), sharedWithoutSecret)
        sys.stdout.write(renderReport(reports, [store]))
        sys.stdout.flush()
        outcome["code"] = exitStatus(reports)

    try:
        task.react(lambda reactor: Deferred.fromCoroutine(main(reactor)))
    except SystemExit as exit:
        if "code" in outcome:
            return outcome["code"]
        return int(exit.code or 1)
    return outcome.get("code", 1)
