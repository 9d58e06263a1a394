"""
C{codex-relay doctor}, sans-IO: what the doctor finds in a Chat answer
read raw and through the relay's translator (reasoning fields, think
tags, tool calls, whole completions, streams that break off).
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._tools.doctor.probes import (
    FAIL,
    OK,
    WARN,
    StreamFindings,
    buildProbe,
    streamRequest,
)
from codex_relay._tools.doctor.checks import Answer, reasoningCheck, streamCheck
from codex_relay._providers.profiles import PROFILES
from tests.harness.chunks import chunk, completion, finish, reasoning, sse, text, usage
from tests.harness.doctor import (
    GOOD_USAGE,
    HEALTHY_STREAM,
    HEALTHY_TOOL,
    SETTINGS,
    route,
    streamed,
    tooled,
)


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
