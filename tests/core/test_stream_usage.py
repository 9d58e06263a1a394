"""
Tests for L{codex_relay._core.stream.translator}: Chat usage mapped onto
Responses usage, or estimated without it.
"""

from twisted.trial.unittest import SynchronousTestCase


from tests.harness import chunks as C
from tests.harness.stream import TranslatorMixin, terminal


class UsageTests(TranslatorMixin, SynchronousTestCase):
    """
    Chat usage mapped onto Responses usage (PROTOCOL.md §4.6).
    """

    def usageOf(self, usage: dict | None) -> dict:
        chunks = [C.text("Hello there"), C.finish("stop")]
        if usage is not None:
            chunks.append(C.chunk(choices=False, usage=usage))
        events = self.translate(chunks)
        self.oracle(events)
        return terminal(events)["usage"]

    def test_oddDetails(self) -> None:
        """
        Details that are not objects count as absent, rather than breaking
        the terminal event.
        """
        usage = C.usage(100, 20)
        usage["prompt_tokens_details"] = "none"
        usage["completion_tokens_details"] = [1]
        self.assertEqual(self.usageOf(usage)["input_tokens_details"],
                         {"cached_tokens": 0, "cache_write_tokens": 0})

    def test_cachedTokens(self) -> None:
        """
        C{prompt_tokens_details.cached_tokens} and C{cache_write_tokens}.
        """
        usage = C.usage(100, 20, cached=30)
        usage["prompt_tokens_details"]["cache_write_tokens"] = 10
        self.assertEqual(self.usageOf(usage), {
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 10},
            "output_tokens": 20,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 120,
        })

    def test_deepSeekCacheHits(self) -> None:
        """
        DeepSeek's C{prompt_cache_hit_tokens} are cached tokens.
        """
        usage = self.usageOf(C.usage(100, 20, deepseekHits=40))
        self.assertEqual(usage["input_tokens_details"]["cached_tokens"], 40)

    def test_reasoningTokens(self) -> None:
        """
        C{completion_tokens_details.reasoning_tokens} pass through.
        """
        usage = self.usageOf(C.usage(100, 20, reasoning=15))
        self.assertEqual(usage["output_tokens_details"], {"reasoning_tokens": 15})

    def test_totalRecomputed(self) -> None:
        """
        A wrong upstream total is replaced by input + output.
        """
        usage = C.usage(10, 5)
        usage["total_tokens"] = 99
        self.assertEqual(self.usageOf(usage)["total_tokens"], 15)

    def test_clamped(self) -> None:
        """
        Cached tokens are clamped to the input, reasoning tokens to the
        output.
        """
        usage = self.usageOf(C.usage(100, 20, cached=500, reasoning=50))
        self.assertEqual((usage["input_tokens_details"]["cached_tokens"],
                          usage["output_tokens_details"]["reasoning_tokens"]), (100, 20))

    def test_estimate(self) -> None:
        """
        Without any upstream usage, usage is a non-zero integer estimate that
        grows with the output.
        """
        short = self.usageOf(None)
        events = self.translate([C.text("Hello there" * 40), C.finish("stop")])
        self.oracle(events)
        long = terminal(events)["usage"]
        for usage in (short, long):
            for key in ("input_tokens", "output_tokens", "total_tokens"):
                self.assertIs(type(usage[key]), int)
                self.assertGreater(usage[key], 0)
            self.assertEqual(usage["total_tokens"],
                             usage["input_tokens"] + usage["output_tokens"])
        self.assertEqual(short["input_tokens"], long["input_tokens"])
        self.assertGreater(long["output_tokens"], short["output_tokens"])

    def test_lastUsageWins(self) -> None:
        """
        With usage on several chunks (continuous usage stats), the last one
        counts.
        """
        events = self.translate([C.chunk({"content": "a"}, usage=C.usage(5, 1)),
                                 C.chunk({"content": "b"}, usage=C.usage(5, 2)),
                                 C.chunk({}, finish="stop", usage=C.usage(5, 3))])
        self.assertEqual(terminal(events)["usage"]["output_tokens"], 3)
        self.oracle(events)
