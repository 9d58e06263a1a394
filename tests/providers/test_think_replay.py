"""
Reasoning a client sends back as C{<think>} text before its tool calls
(L{codex_relay._core.request.messages}): it goes upstream as the reasoning of the
assistant message that carries the calls, in the profile's field, and the
rest of the text stays the content.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.adapt import adaptRequest
from codex_relay._providers.profiles import PROFILES
from codex_relay._core.settings import TranslationSettings
from tests.harness.rules import deepseekThinking, kimiThinking
from tests.harness.requests import SETTINGS, assistantItem, call, chatCall, messagesOf, output, seal, tool, translate, user

THOUGHT = "The user wants the files. I will list them."


def loop(text: str, *callIds: str) -> list:
    """
    A tool loop's history: the question, the assistant's text, its calls
    and their outputs.
    """
    calls = callIds or ("c1",)
    return ([user("List the files."), assistantItem(text)] + [call(c) for c in calls]
            + [output(c) for c in calls])


class MessageTests(SynchronousTestCase):
    """
    The Chat messages: think text lifted into reasoning.
    """

    def assertAssistant(self, items: list, expected: dict,
                        settings: TranslationSettings = SETTINGS) -> None:
        messages = messagesOf(items, settings)
        self.assertEqual(messages[1], expected)

    def test_thinkBeforeCalls(self) -> None:
        """
        C{<think>...</think>} opening the text of a tool-call turn becomes
        its C{reasoning_content}; the text after it is the content.
        """
        self.assertAssistant(
            loop("<think>\n" + THOUGHT + "\n</think>\n\nListing them now."),
            {"role": "assistant", "content": "Listing them now.",
             "reasoning_content": THOUGHT, "tool_calls": [chatCall("c1")]})
        self.assertEqual(messagesOf(loop("<think>" + THOUGHT + "</think>Now."))[2],
                         tool("c1"))

    def test_thinkOnly(self) -> None:
        """
        Nothing but a think block: the content is null, as for any call
        without text.
        """
        self.assertAssistant(
            loop("<think>" + THOUGHT + "</think>\n"),
            {"role": "assistant", "content": None, "reasoning_content": THOUGHT,
             "tool_calls": [chatCall("c1")]})

    def test_parallelCalls(self) -> None:
        """
        Calls merged into one assistant message share the reasoning.
        """
        self.assertAssistant(
            loop("<think>" + THOUGHT + "</think>", "c1", "c2"),
            {"role": "assistant", "content": None, "reasoning_content": THOUGHT,
             "tool_calls": [chatCall("c1"), chatCall("c2")]})

    def test_blocksAndDialects(self) -> None:
        """
        Several leading blocks are joined; the
        C{\u25c1think\u25b7...\u25c1/think\u25b7} dialect counts too;
        empty blocks are dropped.
        """
        self.assertAssistant(
            loop(" <think>one</think>\n\u25c1think\u25b7two\u25c1/think\u25b7<think> </think>rest"),
            {"role": "assistant", "content": "rest", "reasoning_content": "one\n\ntwo",
             "tool_calls": [chatCall("c1")]})

    def test_textItemsMerged(self) -> None:
        """
        A think-only text item followed by another text item, then the calls:
        the think block still opens the merged content.
        """
        items = [user("x"), assistantItem("<think>" + THOUGHT + "</think>"),
                 assistantItem("Listing."), call("c1"), output("c1")]
        self.assertAssistant(items, {
            "role": "assistant", "content": "Listing.", "reasoning_content": THOUGHT,
            "tool_calls": [chatCall("c1")]})

    def test_afterReasoningItem(self) -> None:
        """
        Reasoning replayed from a reasoning item comes first; think text
        that repeats it is not added twice.
        """
        sealed = {"type": "reasoning", "summary": [],
                  "encrypted_content": seal({"text": "Earlier.", "field": "reasoning_content"})}
        self.assertAssistant(
            [user("x"), sealed] + loop("<think>" + THOUGHT + "</think>Now.")[1:],
            {"role": "assistant", "content": "Now.",
             "reasoning_content": "Earlier.\n\n" + THOUGHT, "tool_calls": [chatCall("c1")]})
        same = {"type": "reasoning", "summary": [],
                "encrypted_content": seal({"text": THOUGHT, "field": "reasoning_content"})}
        self.assertAssistant(
            [user("x"), same] + loop("<think>" + THOUGHT + "</think>Now.")[1:],
            {"role": "assistant", "content": "Now.", "reasoning_content": THOUGHT,
             "tool_calls": [chatCall("c1")]})

    def test_reasoningFieldSetting(self) -> None:
        """
        Translation carries it in the neutral field whatever
        C{reasoningField} says: adaptRequest alone applies that option.
        """
        self.assertAssistant(
            loop("<think>" + THOUGHT + "</think>Now."),
            {"role": "assistant", "content": "Now.", "reasoning_content": THOUGHT,
             "tool_calls": [chatCall("c1")]},
            TranslationSettings(secret=b"s", reasoningField="reasoning"))

    def test_left(self) -> None:
        """
        Text is left as it is when the think block does not open it, is not
        closed, or the turn makes no tool call.
        """
        for text in ("Intro. <think>" + THOUGHT + "</think>", "<think>" + THOUGHT,
                     "</think>" + THOUGHT):
            self.assertAssistant(loop(text), {
                "role": "assistant", "content": text, "tool_calls": [chatCall("c1")]})
        text = "<think>" + THOUGHT + "</think>Done."
        self.assertEqual(messagesOf([user("x"), assistantItem(text)])[1],
                         {"role": "assistant", "content": text})


class ProfileTests(SynchronousTestCase):
    """
    Through L{adaptRequest}: the reasoning reaches each profile's replay
    field, and the providers that require it accept the turn.
    """

    def adapted(self, profileName: str) -> dict:
        body = translate({"model": "m", "input": loop(
            "<think>" + THOUGHT + "</think>Listing them.")}).body
        adaptRequest(body, PROFILES[profileName], "m")
        return body

    def assistant(self, profileName: str) -> dict:
        return self.adapted(profileName)["messages"][1]

    def test_required(self) -> None:
        """
        DeepSeek and Kimi get the thought itself, not the empty
        placeholder, in C{reasoning_content}; their strict fakes accept it.
        """
        for name, rule in (("deepseek", deepseekThinking), ("kimi", kimiThinking)):
            body = self.adapted(name)
            self.assertIsNone(rule(body, b""), name)
            self.assertEqual(body["messages"][1]["reasoning_content"], THOUGHT, name)
            self.assertEqual(body["messages"][1]["content"], "Listing them.", name)

    def test_otherFields(self) -> None:
        """
        vLLM and Ollama take C{reasoning}; OpenRouter the text as
        C{reasoning}; Mistral a thinking chunk before the text; Groq and
        xAI none, and the tags are gone from the content all the same.
        """
        for name in ("vllm", "ollama", "openrouter"):
            assistant = self.assistant(name)
            self.assertEqual((assistant.get("reasoning"), assistant["content"]),
                             (THOUGHT, "Listing them."), name)
        self.assertEqual(self.assistant("mistral")["content"], [
            {"type": "thinking", "thinking": [{"type": "text", "text": THOUGHT}]},
            {"type": "text", "text": "Listing them."}])
        for name in ("groq", "xai"):
            assistant = self.assistant(name)
            self.assertNotIn("reasoning_content", assistant)
            self.assertNotIn("reasoning", assistant)
            self.assertEqual(assistant["content"], "Listing them.", name)
