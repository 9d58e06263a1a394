"""
The harness of the C{codex-relay doctor} tests: probe routes, Chat answers
read through the doctor's L{StreamFindings} (L{streamed}, L{tooled}), and
the real command run as a subprocess (L{runDoctor}) with its report read
back as a table (L{table}).
"""

import os
import re
import subprocess
import sys
from typing import Any

from codex_relay._core.settings import TranslationSettings
from codex_relay._providers.config_file import singleUpstream
from codex_relay._tools.doctor.checks import Answer
from codex_relay._tools.doctor.probes import StreamFindings, buildProbe, streamRequest, toolRequest
from tests.harness.chunks import chunk, finish, reasoning, sse, text, toolCall, usage
from tests.harness.upstream import Stream

SETTINGS = TranslationSettings(secret=b"doctor-tests")
MODELS = {"object": "list", "data": [
    {"id": "model-a", "object": "model", "created": 0, "owned_by": "test"},
    {"id": "model-b", "object": "model", "created": 0, "owned_by": "test"}]}

GOOD_USAGE = usage(21, 9, cached=5, reasoning=3)


def healthy(body: Any, received: Any) -> Stream:
    """
    A model that reasons, reports full usage and calls tools: every row of
    a doctor report on it is fine.
    """
    if body.get("tools"):
        return Stream([toolCall(0, id="call_1", name="get_time", arguments=""),
                       toolCall(0, arguments="{}"), finish("tool_calls"),
                       chunk(choices=False, usage=usage(80, 12, cached=0, reasoning=0))])
    return Stream([reasoning("The user wants ok."), text("ok"), finish("stop"),
                   chunk(choices=False, usage=GOOD_USAGE)])


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
