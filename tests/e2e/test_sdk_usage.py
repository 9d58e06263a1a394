"""
The openai SDK through the relay (see L{tests.harness.sdk}), usage:
cached and reasoning tokens, and DeepSeek's cache hits, in the SDK's
usage details.
"""

from tests.harness.chunks import chunk, completion, finish, reasoning, text, usage
from tests.harness.sdk import MODEL, SDKTestCase
from tests.harness.upstream import JSONReply, Stream


class SDKUsageTests(SDKTestCase):
    """
    The upstream's token counts, as the SDK reads them.
    """

    async def test_usageDetails(self) -> None:
        """
        Cached and reasoning tokens reach the SDK's usage details.
        """
        reply = Stream([reasoning("Hmm."), text("42"), finish("stop"),
                        chunk(choices=False, usage=usage(100, 40, cached=60, reasoning=25))])
        self.upstream.queue(reply, reply)
        final = await self.finalResponse(input="The answer?")
        self.assertEqual(final.output_text, "42")
        u = final.usage
        self.assertEqual(
            (u.input_tokens, u.input_tokens_details.cached_tokens,
             u.input_tokens_details.cache_write_tokens, u.output_tokens,
             u.output_tokens_details.reasoning_tokens, u.total_tokens),
            (100, 60, 0, 40, 25, 140))
        await self.replayRaw()

    async def test_usageDeepSeekCacheHits(self) -> None:
        """
        DeepSeek's C{prompt_cache_hit_tokens} become cached tokens.
        """
        self.upstream.queue(JSONReply(completion("ok", usage=usage(80, 2, deepseekHits=64))))
        response = await self.sdk(lambda c: c.responses.create(model=MODEL, input="hi"))
        self.assertEqual((response.usage.input_tokens,
                          response.usage.input_tokens_details.cached_tokens),
                         (80, 64))
