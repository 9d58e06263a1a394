"""
The doctor's checks, without any I/O: each probe's answer judged, one row
(L{Check}) each, with a next step for what fails.  The report that gathers
and prints the rows is L{codex_relay._tools.doctor.report}.
"""

from typing import Any
import json
from dataclasses import dataclass
from urllib.parse import urlsplit


from codex_relay._providers.errors import upstreamMessage
from codex_relay._providers.profiles import Profile, detectProfile
from codex_relay._providers.routes import Route, Upstream

from codex_relay._tools.doctor.probes import (
    FAIL,
    INFO,
    OK,
    SKIP,
    STREAM_MAX_TOKENS,
    StreamFindings,
    TOOL_MAX_TOKENS,
    TOOL_NAME,
    WARN,
    BASE_URL_STEP,
    jsonOrNone,
)

# -- Checks ------------------------------------------------------------------------------


@dataclass
class Check:
    """
    One row of the report.
    """

    name: str
    status: str
    detail: str
    nextStep: str | None = None


@dataclass(frozen=True)
class Unreachable:
    """
    A request that got no HTTP answer.

    @ivar kind: C{refused}, C{dns}, C{tls}, C{timeout}, C{broken} or
        C{other}.
    """

    kind: str
    message: str


@dataclass
class Answer:
    """
    How one request went: an HTTP answer (C{status}, C{body} for errors and
    JSON), the findings of a Chat answer, or no answer at all.

    @ivar stripped: a parameter the upstream rejected, left out for the
        second try.
    """

    status: int | None = None
    body: bytes = b""
    problem: Unreachable | None = None
    findings: StreamFindings | None = None
    stripped: str | None = None
    seconds: float = 0.0

    @property
    def answered(self) -> bool:
        return self.problem is None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.status is not None and self.status < 300


def _quote(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 1] + "\u2026"
    return json.dumps(text, ensure_ascii=False)


def keyStep(upstream: Upstream, fromFile: bool) -> str:
    """
    What to do about a key the upstream rejected (or wants and lacks).
    """
    if fromFile:
        where = "api_key_env or api_key of [upstreams.{}]".format(upstream.name)
    else:
        where = "CODEX_RELAY_API_KEY or --api-key"
    if upstream.apiKey is None:
        return "no API key is configured: set one ({})".format(where)
    return "check the API key ({})".format(where)


def unreachableCheck(name: str, upstream: Upstream, problem: Unreachable) -> Check:
    parts = urlsplit(upstream.baseURL)
    host = parts.hostname or upstream.baseURL
    where = "{}:{}".format(host, parts.port or (443 if parts.scheme == "https" else 80))
    if problem.kind == "refused":
        return Check(name, FAIL, "could not connect to {} (connection refused)".format(where),
                     "start the upstream server, or fix the base URL (--upstream or "
                     "base_url): nothing listens on {}".format(where))
    if problem.kind == "dns":
        return Check(name, FAIL, "could not connect: no address for {}".format(host),
                     "check the host name in the base URL (--upstream or base_url)")
    if problem.kind == "tls":
        return Check(name, FAIL, "could not connect: TLS failed ({})".format(problem.message),
                     "if its certificate comes from a private CA, pass --upstream-ca "
                     "BUNDLE.pem; else check the URL's scheme (http or https) and port")
    if problem.kind == "timeout":
        return Check(name, FAIL, "no answer: {}".format(problem.message),
                     "check that {} is reachable from here (firewall, proxy, VPN); "
                     "for a slow server raise --timeout".format(where))
    if problem.kind == "broken":
        return Check(name, FAIL, "the connection broke off: {}".format(problem.message),
                     "check that the base URL is an OpenAI-compatible API, and the "
                     "upstream's log")
    return Check(name, FAIL, "could not connect: {}".format(problem.message),
                 "check the base URL (--upstream or base_url) and that the server is up")


def _httpDetail(answer: Answer) -> str:
    message = upstreamMessage(answer.body)[0] if answer.body else ""
    detail = "HTTP {}".format(answer.status)
    return "{}: {}".format(detail, _quote(message, 80)) if message else detail


def httpCheck(name: str, answer: Answer, upstream: Upstream, fromFile: bool,
              model: str | None = None) -> Check:
    """
    The row for an HTTP error answer.
    """
    status = answer.status or 0
    detail = _httpDetail(answer)
    if status in (401, 403):
        step = keyStep(upstream, fromFile)
    elif status == 404 and model is not None:
        step = ("the upstream does not serve {!r}: pass --model with a model it lists "
                "(or fix upstream_model), or {}".format(model, BASE_URL_STEP))
    elif status == 404:
        step = BASE_URL_STEP
    elif status in (402, 429):
        step = "the upstream is rate-limiting or out of credit: check the account's quota"
    elif 400 <= status < 500:
        step = ("the upstream rejects the request the relay sends: name the parameter in "
                "drop_params of a route (--config), or try another --profile")
    elif 300 <= status < 400:
        step = "the upstream redirects (not followed): " + BASE_URL_STEP
    else:
        step = "the upstream failed: try again, or read its log"
    return Check(name, FAIL, detail, step)


def profileCheck(upstream: Upstream, route: Route | None, fromFile: bool) -> Check:
    """
    Which profile applies, and whether it was detected or named.
    """
    profile = route.profile if route is not None else upstream.profile
    detected = detectProfile(upstream.baseURL)
    if upstream.profile == detected:
        how = "detected from the URL" if detected.name != "generic" else (
            "no known provider in the URL; {} names one".format(
                'profile = "NAME"' if fromFile else "--profile NAME"))
    else:
        how = "named in the config" if fromFile else "named by --profile"
    detail = "{} ({})".format(profile.name, how)
    if route is not None and profile != upstream.profile:
        detail += ", with the overrides for {}".format(route.upstreamModel)
    return Check("profile", INFO, detail)


def modelsCheck(answer: Answer, upstream: Upstream, fromFile: bool,
                listed: list[str] | None, route: Route | None) -> Check:
    """
    The row for C{GET /models}; C{listed} is what it listed, if it did.
    """
    if answer.problem is not None:
        return unreachableCheck("models", upstream, answer.problem)
    if not answer.ok:
        return httpCheck("models", answer, upstream, fromFile)
    if listed is None:
        return Check("models", FAIL, "the answer is not a model list",
                     BASE_URL_STEP)
    if not listed and route is None:
        return Check("models", FAIL, "lists no models", "name one with --model")
    shown = ", ".join(listed[:3]) + (", \u2026" if len(listed) > 3 else "")
    detail = "{} listed ({})".format(len(listed), shown) if listed else "none listed"
    if route is not None:
        detail += "; probing {}".format(route.upstreamModel)
    return Check("models", OK, detail)


def keyCheck(upstream: Upstream, fromFile: bool, answers: list[Answer]) -> Check:
    for answer in answers:
        if answer.status in (401, 403):
            return Check("key", FAIL, "rejected (HTTP {})".format(answer.status),
                         keyStep(upstream, fromFile))
    if not any(answer.ok for answer in answers):
        return Check("key", SKIP, "not checked: no answer")
    if upstream.apiKey is None:
        return Check("key", OK, "none configured, none asked for")
    return Check("key", OK, "accepted")


def _stripped(answer: Answer) -> str:
    if answer.stripped is None:
        return ""
    return "; rejected {!r}, left out as the relay will".format(answer.stripped)


def _answerFailure(name: str, answer: Answer, upstream: Upstream, fromFile: bool,
                   model: str) -> Check | None:
    """
    A FAIL row when C{answer} is no usable Chat answer, else L{None}.
    """
    if answer.problem is not None:
        return unreachableCheck(name, upstream, answer.problem)
    if not answer.ok:
        return httpCheck(name, answer, upstream, fromFile, model)
    findings = answer.findings
    assert findings is not None
    if findings.error is not None:
        return Check(name, FAIL, "error in the answer: {}".format(_quote(findings.error, 80)),
                     "the upstream failed mid-answer: try again, or read its log")
    if findings.brokenOff is not None:
        return Check(name, FAIL, "the answer broke off: {}".format(findings.brokenOff),
                     "the upstream closed the connection early: try again, or read its log")
    if findings.chunks == 0:
        return Check(name, FAIL, "no completion in the answer{}".format(
            " (not JSON)" if findings.notJSON else ""),
            "check that the base URL is an OpenAI-compatible Chat Completions API")
    if findings.failure is not None:
        return Check(name, FAIL, findings.failure,
                     "the upstream ended the answer early: try again, or read its log")
    return None


def streamCheck(answer: Answer, upstream: Upstream, fromFile: bool, model: str) -> Check:
    failed = _answerFailure("stream", answer, upstream, fromFile, model)
    if failed is not None:
        return failed
    findings = answer.findings
    assert findings is not None
    finish = "finish_reason {}".format(findings.finishReason or "none")
    seconds = " in {:.1f}s".format(answer.seconds)
    if findings.text:
        detail = "{} ({}){}".format(_quote(findings.text), finish, seconds)
    elif findings.reasoningText:
        detail = "reasoning only within {} tokens ({}){}".format(
            STREAM_MAX_TOKENS, finish, seconds)
    else:
        return Check("stream", WARN, "an empty answer ({}){}".format(finish, _stripped(answer)),
                     "the model said nothing: try another --model")
    detail += _stripped(answer)
    if findings.whole:
        return Check("stream", WARN, "a whole completion, not a stream: " + detail,
                     "the upstream ignores stream: true; Codex works, but sees each "
                     "answer only once it is complete")
    return Check("stream", OK, detail)


def reasoningCheck(findingsList: list[StreamFindings], profile: Profile) -> Check:
    fields: list[str] = []
    for findings in findingsList:
        fields += [f for f in findings.reasoningFields if f not in fields]
    if not fields:
        return Check("reasoning", INFO, "none seen (the model did not reason here)")
    detail = ", ".join(fields)
    if "<think> in content" in fields:
        if not profile.thinkTags:
            return Check("reasoning", WARN, detail + ": Codex would show the tags as text",
                         "name a profile that splits <think> tags (--profile llama.cpp, "
                         "or profile = \"llama.cpp\" in --config)")
        detail += ", split off by the {} profile".format(profile.name)
    return Check("reasoning", OK, detail)


def _reported(usage: dict[str, Any], label: str, where: tuple[tuple[str | None, str], ...]) -> str:
    """
    C{label} and the count from the first place in C{where} (a details
    object's name, or L{None} for the top level, and a field) that has it.
    """
    for detailsName, fieldName in where:
        holder = usage.get(detailsName) if detailsName else usage
        if isinstance(holder, dict) and fieldName in holder:
            return "{} {} ({})".format(label, holder[fieldName], ".".join(
                n for n in (detailsName, fieldName) if n))
    return "{} tokens not reported".format(label)


def _usageNumbers(usage: dict[str, Any]) -> tuple[str, str]:
    return (
        _reported(usage, "cached", (("prompt_tokens_details", "cached_tokens"),
                                    (None, "prompt_cache_hit_tokens"))),
        _reported(usage, "reasoning", (("completion_tokens_details", "reasoning_tokens"),
                                       (None, "reasoning_tokens"))),
    )


def usageCheck(findings: StreamFindings, profile: Profile) -> Check:
    usage = findings.usage
    if not usage:
        step = ("nothing to fix: the relay estimates tokens (4 characters each), so "
                "Codex's context meter is approximate")
        if profile.streamOptions:
            step += "; a newer server may honour stream_options.include_usage"
        return Check("usage", WARN, "not reported in the stream", step)
    cached, reasoning = _usageNumbers(usage)
    return Check("usage", OK, "{} in, {} out; {}; {}".format(
        usage.get("prompt_tokens", "?"), usage.get("completion_tokens", "?"),
        cached, reasoning))


def toolCheck(answer: Answer, upstream: Upstream, fromFile: bool, model: str) -> Check:
    failed = _answerFailure("tool call", answer, upstream, fromFile, model)
    if failed is not None:
        if answer.status is not None and 400 <= answer.status < 500 and \
                answer.status not in (401, 403, 404, 429):
            failed.nextStep = ("the upstream rejects tool definitions, and Codex always "
                               "sends tools: use a model or server with tool calling "
                               "(llama.cpp: start it with --jinja)")
        return failed
    findings = answer.findings
    assert findings is not None
    calls = findings.calls
    if not calls:
        if not findings.text and findings.reasoningText and findings.finishReason == "length":
            return Check("tool call", WARN, "spent its {} tokens reasoning before any "
                         "call".format(TOOL_MAX_TOKENS),
                         "likely fine with Codex's larger budgets; try another --model "
                         "to be sure")
        return Check("tool call", WARN, "answered in text, not a tool call: {}".format(
            _quote(findings.text or "(nothing)")),
            "Codex works only through tool calls: use a model that calls tools (for "
            "llama.cpp, a chat template with tools and --jinja)")
    call = calls[0]
    arguments = call.get("arguments") or ""
    how = "a structured tool call" if findings.toolCalls else (
        "recovered by the relay from markup in the text")
    if call.get("name") != TOOL_NAME:
        return Check("tool call", WARN, "called {!r}, not {}".format(call.get("name"),
                                                                     TOOL_NAME),
                     "the model invents tool names: try another --model")
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return Check("tool call", WARN, "{}({}): arguments are not JSON".format(
            TOOL_NAME, _quote(arguments, 30)),
            "Codex cannot run calls whose arguments are not JSON: try another --model")
    shown = "{}({})".format(TOOL_NAME, json.dumps(parsed, separators=(",", ":"))[:30])
    return Check("tool call", OK, "{}, {}{}".format(shown, how, _stripped(answer)))


def parseModelList(body: bytes) -> list[str] | None:
    """
    The model ids of a C{GET /models} answer, or L{None} if it is not one.
    """
    parsed = jsonOrNone(body.decode("utf-8", "replace"))
    data = parsed.get("data") if isinstance(parsed, dict) else parsed
    if not isinstance(data, list):
        return None
    return [entry["id"] for entry in data
            if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]]

