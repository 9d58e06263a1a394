"""
The relay onto the real llama.cpp server (see L{tests.harness.llamarelay}),
reasoning: the history's reasoning sent upstream, the server's reasoning
streamed back as a reasoning item and replayed on the next turn, with the
llama.cpp profile and with the generic one.
"""

from typing import Any

from openai.types.responses import ResponseOutputMessage, ResponseReasoningItem

from tests.harness.llamacpp import THINK_TEMPLATE
from tests.harness.llamarelay import LlamaTestCase

THOUGHT = "The user asks for a sum. 2+2 is 4."


class ReasoningTests(LlamaTestCase):
    """
    Reasoning, with the tools+think template: the server streams
    C{reasoning_content} before the content once the history holds an
    earlier assistant turn with reasoning.  With the relay's C{llama.cpp}
    profile.
    """

    template = THINK_TEMPLATE

    async def setUp(self) -> None:
        await super().setUp()
        await self.startRelay(lengthAsCompleted=True)

    async def test_reasoningPassedBack(self) -> None:
        """
        The history's reasoning item (summary only: not this relay's) goes
        upstream as C{reasoning_content}; the server then reasons, and the
        relay streams a reasoning item, with C{encrypted_content} as asked,
        before the message.  Sent back on the next turn, that item puts the
        server's reasoning, exactly, on the assistant message upstream.

        With the llama.cpp profile the answer also ends in a reasoning item
        (the base model writes a C{<think>} tag into its text), which
        nothing follows in the next turn's history: the relay drops it,
        with a logged warning.
        """
        include = ["reasoning.encrypted_content"]
        history = [
            {"role": "user", "content": "What is 2+2?"},
            {"type": "reasoning", "id": "rs_history",
             "summary": [{"type": "summary_text", "text": THOUGHT}]},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "What is 3+3?"},
        ]
        first = await self.finalResponse(input=history, include=include, store=False,
                                         max_output_tokens=48)
        [upstream] = self.proxy.chat()
        self.assertEqual(upstream.json["messages"][1], {
            "role": "assistant", "content": "4", "reasoning_content": THOUGHT})
        thought = upstream.deltas("reasoning_content")
        self.assertNotEqual(thought, "")

        self.assertEqual(first.status, "completed")
        thinking, message = first.output[:2]
        self.assertIsInstance(thinking, ResponseReasoningItem)
        self.assertIsInstance(message, ResponseOutputMessage)
        self.assertTrue(thinking.id.startswith("rs_"))
        self.assertEqual([s.text for s in thinking.summary], [thought])
        self.assertIsInstance(thinking.encrypted_content, str)
        self.assertNotIn(thought.strip(), thinking.encrypted_content)
        self.assertContentSplit(first.output[1:], upstream.deltas("content"))
        self.assertUsageFrom(first.usage, upstream)
        events = self.sdkEvents()
        self.assertEqual(
            [e["type"] for e in events if e["type"].startswith("response.output_item.")],
            ["response.output_item.added", "response.output_item.done"] * len(first.output))

        second = await self.finalResponse(
            input=[*history, *first.output, {"role": "user", "content": "And 4+4?"}],
            include=include, store=False, max_output_tokens=16)
        self.sdkEvents()
        upstream = self.proxy.chat()[1]
        self.assertEqual(upstream.status, 200)
        replayed = upstream.json["messages"][3]
        self.assertEqual(replayed["role"], "assistant")
        self.assertEqual(replayed["reasoning_content"], thought)
        self.assertEqual(replayed["content"], message.content[0].text)
        self.assertEqual(upstream.json["messages"][4], {"role": "user", "content": "And 4+4?"})
        self.assertEqual(second.status, "completed")

    def assertContentSplit(self, items: list[Any], content: str) -> None:
        """
        The llama.cpp profile reads C{<think>} in the content as the start
        of reasoning, and the base model writes such tags as it babbles on:
        the content becomes messages and reasoning items in turn, and no
        message text holds the tag.
        """
        for item in items:
            self.assertIsInstance(item, (ResponseOutputMessage, ResponseReasoningItem))
        texts = [part.text for item in items if isinstance(item, ResponseOutputMessage)
                 for part in item.content]
        self.assertTrue(content.startswith(texts[0]), (texts, content))
        for text in texts:
            self.assertIn(text, content)
            self.assertNotIn("<think>", text)


class GenericProfileReasoningTests(ReasoningTests):
    """
    The same with the relay's generic profile, the one it picks for a
    loopback server not on llama.cpp's default port: the content is text,
    verbatim, tags and all.
    """

    profile = None

    def assertContentSplit(self, items: list[Any], content: str) -> None:
        [message] = items
        self.assertEqual([part.text for part in message.content], [content])
