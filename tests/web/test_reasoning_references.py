"""
A stored reasoning item named by an C{item_reference} goes upstream as
reasoning, in each profile's own form, on the assistant message the next
input items make: a tool call (with its output after it) or a message.
The reasoning came from the upstream's C{reasoning_content}; with
C{reasoning.encrypted_content} asked for, the sealed copy in the stored
item carries what the summary cannot (signed C{reasoning_details}).
"""

from typing import Any

from codex_relay._providers.profiles import PROFILES
from tests.harness.chunks import chunk, finish, reasoning, text, toolCall
from tests.harness.memory import RelayTestCase, streamRequest
from tests.harness.replies import Stream

THOUGHT = "The user wants the files: run ls."
TOOLS = [{"type": "function", "name": "shell", "parameters": {"type": "object"}}]
ARGUMENTS = '{"cmd":"ls"}'
CALLING = [reasoning(THOUGHT), toolCall(0, "call_1", "shell", ARGUMENTS), finish("tool_calls")]
ANSWERING = [reasoning(THOUGHT), text("Hello"), finish("stop")]
LATER = [text("Done."), finish("stop")]
REASONING_KEYS = ("reasoning_content", "reasoning", "reasoning_details")
INCLUDE = ["reasoning.encrypted_content"]

# How each profile carries reasoning back on an assistant message: the
# field the text goes in, "thinking" (Mistral: a content part), or None
# (it takes none back).  Written out, not read from the profiles, so that
# a change to a profile shows here.
CARRIED = {
    "generic": "reasoning_content",
    "deepseek": "reasoning_content",
    "kimi": "reasoning_content",
    "glm": "reasoning_content",
    "qwen": "reasoning_content",
    "llama.cpp": "reasoning_content",
    "vllm": "reasoning",
    "ollama": "reasoning",
    "openrouter": "reasoning",
    "mistral": "thinking",
    "groq": None,
    "xai": None,
}


def expectedAssistant(profile: str, content: str | None) -> dict[str, Any]:
    """
    The assistant message, its C{tool_calls} aside, that C{profile}'s
    upstream should get for reasoning L{THOUGHT} before C{content}.
    """
    field = CARRIED[profile]
    if field is None:
        return {"role": "assistant", "content": content}
    if field == "thinking":
        parts: list[dict[str, Any]] = [
            {"type": "thinking", "thinking": [{"type": "text", "text": THOUGHT}]}]
        if content:
            parts.append({"type": "text", "text": content})
        return {"role": "assistant", "content": parts}
    return {"role": "assistant", "content": content, field: THOUGHT}


def reference(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "item_reference", "id": item["id"]}


class ReasoningReferenceCase(RelayTestCase):
    def turn(self, chunks: list[Any], **fields: Any) -> dict[str, Any]:
        """
        One streamed turn answered with C{chunks}; its terminal response,
        which must be completed.
        """
        self.upstream.queue(Stream(chunks))
        events = self.assertStream(self.post(streamRequest(**fields)))
        self.assertEqual(events[-1]["type"], "response.completed", events[-1])
        return events[-1]["response"]

    def outputOf(self, response: dict[str, Any], *kinds: str) -> list[dict[str, Any]]:
        """
        The response's output items, which must be of C{kinds}, in order.
        """
        output = response["output"]
        self.assertEqual([item["type"] for item in output], list(kinds))
        return output

    def lastMessages(self) -> list[dict[str, Any]]:
        return self.upstream.requests[-1].json["messages"]

    def referencedToolCall(self, profile: str) -> None:
        """
        A stored reasoning item named by reference, then the tool call it
        led to and the call's output, sent as items: the upstream gets one
        assistant message with the reasoning and the call, then the tool
        message.
        """
        self.makeRelay(profile=profile)
        first = self.turn(CALLING, input="list the files", tools=TOOLS)
        thought, call = self.outputOf(first, "reasoning", "function_call")
        self.assertEqual(thought["summary"], [{"type": "summary_text", "text": THOUGHT}])
        self.turn(LATER, tools=TOOLS, input=[
            {"role": "user", "content": "list the files"}, reference(thought), call,
            {"type": "function_call_output", "call_id": call["call_id"], "output": "a b"}])
        user, assistant, tool = self.lastMessages()
        self.assertEqual(user, {"role": "user", "content": "list the files"})
        [sent] = assistant.pop("tool_calls")
        self.assertEqual(sent["function"], {"name": "shell", "arguments": ARGUMENTS})
        self.assertEqual(assistant, expectedAssistant(profile, None))
        self.assertEqual((tool["role"], tool["tool_call_id"], tool["content"]),
                         ("tool", sent["id"], "a b"))

    def referencedMessage(self, profile: str) -> None:
        """
        A stored reasoning item and the message it led to, both named by
        reference, then a new user message: the reasoning rides on that
        assistant message.
        """
        self.makeRelay(profile=profile)
        first = self.turn(ANSWERING, input="hi")
        thought, message = self.outputOf(first, "reasoning", "message")
        self.turn(LATER, input=[{"role": "user", "content": "hi"}, reference(thought),
                                reference(message), {"role": "user", "content": "again"}])
        self.assertEqual(self.lastMessages(), [
            {"role": "user", "content": "hi"}, expectedAssistant(profile, "Hello"),
            {"role": "user", "content": "again"}])


def _addProfileTests(case: type) -> None:
    # One test per profile and shape, so each failure names its profile.
    for profile in CARRIED:
        suffix = profile.replace(".", "")

        def toolCallTest(self: ReasoningReferenceCase, profile: str = profile) -> None:
            self.referencedToolCall(profile)

        def messageTest(self: ReasoningReferenceCase, profile: str = profile) -> None:
            self.referencedMessage(profile)

        for shape, test in (("toolCall", toolCallTest), ("message", messageTest)):
            test.__name__ = "test_{}_{}".format(shape, suffix)
            test.__doc__ = "The {} profile: a referenced reasoning item before a {}.".format(
                profile, "tool call" if shape == "toolCall" else "message")
            setattr(case, test.__name__, test)


class ReasoningReferenceTests(ReasoningReferenceCase):
    def test_everyProfileCovered(self) -> None:
        self.assertEqual(sorted(CARRIED), sorted(PROFILES))

    def test_sealedReasoningDetails(self) -> None:
        """
        With C{reasoning.encrypted_content} asked for, the stored reasoning
        item is sealed; referenced, it gives OpenRouter back its signed
        C{reasoning_details} unchanged, which its summary alone could not.
        """
        self.makeRelay(profile="openrouter")
        details = [{"type": "reasoning.text", "text": THOUGHT, "signature": "sig-1",
                    "format": "anthropic-claude-v1", "index": 0}]
        first = self.turn([chunk({"reasoning": THOUGHT, "reasoning_details": details}),
                           toolCall(0, "call_1", "shell", ARGUMENTS), finish("tool_calls")],
                          input="list the files", tools=TOOLS, include=INCLUDE)
        thought, call = self.outputOf(first, "reasoning", "function_call")
        self.assertTrue(thought["encrypted_content"].startswith("crelay1."))
        self.turn(LATER, tools=TOOLS, include=INCLUDE, input=[
            {"role": "user", "content": "list the files"}, reference(thought), call,
            {"type": "function_call_output", "call_id": call["call_id"], "output": "a b"}])
        _, assistant, _ = self.lastMessages()
        self.assertEqual(assistant["reasoning_details"], details)
        self.assertEqual([key for key in REASONING_KEYS if key in assistant],
                         ["reasoning_details"])

    def test_sealedReasoningDeepSeek(self) -> None:
        """
        Sealed reasoning named by reference goes to DeepSeek as
        C{reasoning_content}, on the tool call turn that requires it.
        """
        self.makeRelay(profile="deepseek")
        first = self.turn(CALLING, input="list the files", tools=TOOLS, include=INCLUDE)
        thought, call = self.outputOf(first, "reasoning", "function_call")
        self.assertIn("encrypted_content", thought)
        self.turn(LATER, tools=TOOLS, include=INCLUDE, input=[
            {"role": "user", "content": "list the files"}, reference(thought), call,
            {"type": "function_call_output", "call_id": call["call_id"], "output": "a b"}])
        _, assistant, _ = self.lastMessages()
        self.assertEqual(assistant["reasoning_content"], THOUGHT)

    def test_unknownReasoningReference(self) -> None:
        """
        A reference to a reasoning item never stored is refused, naming
        it, and nothing goes upstream.
        """
        error = self.assertError(self.post(streamRequest(input=[
            {"role": "user", "content": "hi"}, {"type": "item_reference", "id": "rs_nope"},
            {"role": "assistant", "content": "Hello"}])), 400, "item_not_found")
        self.assertEqual(error["param"], "input[1]")
        self.assertEqual(self.upstream.requests, [])


_addProfileTests(ReasoningReferenceTests)
