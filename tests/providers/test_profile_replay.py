"""
Each provider's recorded-style stream (L{tests.harness.providers}) replayed
through the real relay with its profile: the stream passes the oracle, the
items come out in order with the right text, names, arguments and call ids,
the usage numbers are the provider's, and its mid-stream error ends in
C{response.failed} with the right code.
"""

import re
from collections.abc import Callable
from typing import Any

from tests.harness.providercases import ERRORS, EXTRA, FIXTURES
from tests.harness.providers import ErrorFixture, Fixture
from tests.harness.relaycase import Relay, RelayCase, raw, request


class FixtureReplayTests(RelayCase):
    """
    Each provider's stream through the relay with that provider's profile.
    """

    async def replay(self, fixture: Fixture) -> tuple[Relay, dict]:
        relay = await self.relay(lambda body, received: raw(fixture.body), fixture.profile)
        _, response = await relay.stream(request(fixture.model, fixture.question))
        return relay, response

    async def checkItems(self, fixture: Fixture) -> None:
        relay, response = await self.replay(fixture)
        self.assertEqual(response["status"], "completed")
        output = response["output"]
        self.assertEqual([item["type"] for item in output], list(fixture.items))
        for item in output:
            self.assertEqual(item.get("status", "completed"), "completed")
        # Inline <think> blocks keep their newlines: compare without them.
        reasoning = [i for i in output if i["type"] == "reasoning"]
        self.assertEqual(
            "".join(s["text"] for i in reasoning for s in i["summary"]).strip(),
            fixture.reasoning)
        for item in reasoning:
            self.assertTrue(item["encrypted_content"].startswith("crelay1."))
        self.assertEqual(
            "".join(part["text"] for i in output if i["type"] == "message"
                    for part in i["content"]).strip(),
            fixture.text)
        calls = [i for i in output if i["type"] == "function_call"]
        self.assertEqual([(c["name"], c["arguments"]) for c in calls],
                         [(c.name, c.arguments) for c in fixture.calls])
        for call, expected in zip(calls, fixture.calls):
            if expected.callId is None:
                self.assertTrue(call["call_id"].startswith("call_"), call["call_id"])
            else:
                self.assertEqual(call["call_id"], expected.callId)
        self.assertEqual(relay.chat[0]["model"], fixture.model)

    async def checkUsage(self, fixture: Fixture) -> None:
        _, response = await self.replay(fixture)
        u = response["usage"]
        expected = fixture.usage
        self.assertEqual(
            {"input": u["input_tokens"], "output": u["output_tokens"],
             "cached": u["input_tokens_details"]["cached_tokens"],
             "reasoning": u["output_tokens_details"]["reasoning_tokens"],
             "total": u["total_tokens"]},
            {"input": expected.input, "output": expected.output, "cached": expected.cached,
             "reasoning": expected.reasoning, "total": expected.total})

    async def checkError(self, fixture: ErrorFixture) -> None:
        relay = await self.relay(lambda body, received: raw(fixture.body), fixture.profile)
        events, response = await relay.stream(request(fixture.model), allowCodexCodes=True)
        self.assertEqual(events[-1]["type"], "response.failed")
        self.assertEqual(response["status"], "failed")
        self.assertEqual(response["error"]["code"], fixture.code)
        if fixture.message is not None:
            self.assertIn(fixture.message, response["error"]["message"])
        # What had started streaming is kept, marked incomplete.
        self.assertTrue(response["output"])
        self.assertEqual({item["status"] for item in response["output"]}, {"incomplete"})


def _key(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


def _generate() -> None:
    """
    One items test and one usage test per fixture, one test per error
    fixture, named after the provider.
    """
    def make(check: str, fixture: Any, doc: str) -> Callable[[FixtureReplayTests], Any]:
        def test(self: FixtureReplayTests) -> Any:
            return getattr(self, check)(fixture)
        test.__doc__ = doc
        return test

    for fixture in [*FIXTURES.values(), *EXTRA.values()]:
        key = _key(fixture.name)
        test = make("checkItems", fixture, "{} ({}): items, text, calls in order.".format(
            fixture.name, fixture.source))
        test.__name__ = "test_stream_" + key
        setattr(FixtureReplayTests, test.__name__, test)
        test = make("checkUsage", fixture, "{}: usage {}.".format(fixture.name, fixture.usage))
        test.__name__ = "test_usage_" + key
        setattr(FixtureReplayTests, test.__name__, test)
    for error in ERRORS.values():
        test = make("checkError", error, "{} mid-stream error ({}) ends in {}.".format(
            error.name, error.source, error.code))
        test.__name__ = "test_error_" + _key(error.name)
        setattr(FixtureReplayTests, test.__name__, test)


_generate()
