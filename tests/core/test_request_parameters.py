"""
Tests for L{codex_relay._core.request.translate}: Responses request
parameters mapped onto the Chat Completions body.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._core.settings import TranslationSettings
from tests.harness.requests import translate


class ParameterTests(SynchronousTestCase):
    """
    Top-level parameters reach the Chat body, or are deliberately not sent.
    """

    def test_minimal(self) -> None:
        """
        A bare request gives a bare, non-streaming Chat body.
        """
        result = translate({"model": "gpt-x", "input": "hello"})
        self.assertEqual(result.body, {"model": "gpt-x",
                                       "messages": [{"role": "user", "content": "hello"}],
                                       "stream": False})
        self.assertEqual((result.stream, result.includeEncryptedReasoning, result.warnings),
                         (False, False, []))

    def test_stream(self) -> None:
        """
        A stream asks the upstream for usage too.
        """
        result = translate({"model": "m", "input": "x", "stream": True})
        self.assertEqual(result.body, {"model": "m",
                                       "messages": [{"role": "user", "content": "x"}],
                                       "stream": True,
                                       "stream_options": {"include_usage": True}})
        self.assertTrue(result.stream)

    def test_sampling(self) -> None:
        """
        Sampling parameters pass when set, and are omitted when null.
        """
        body = translate({"model": "m", "input": "x", "temperature": 0.2, "top_p": 1,
                          "max_output_tokens": 300}).body
        self.assertEqual((body["temperature"], body["top_p"], body["max_tokens"]), (0.2, 1, 300))
        body = translate({"model": "m", "input": "x", "temperature": None, "top_p": None,
                          "max_output_tokens": None}).body
        self.assertEqual(body, translate({"model": "m", "input": "x"}).body)

    def test_maxTokensNeutral(self) -> None:
        """
        C{max_output_tokens} is carried as C{max_tokens} whatever the
        settings: adaptRequest alone names it for the upstream (the tests of
        that are in test_adapt).
        """
        body = translate({"model": "m", "input": "x", "max_output_tokens": 9},
                         TranslationSettings(maxTokensField="max_completion_tokens")).body
        self.assertEqual(body["max_tokens"], 9)
        self.assertNotIn("max_completion_tokens", body)

    def test_jsonSchema(self) -> None:
        """
        A json_schema format becomes C{response_format}; verbosity stays.
        """
        schema = {"type": "object", "properties": {"a": {"type": "string"}}}
        body = translate({"model": "m", "input": "x", "text": {
            "verbosity": "low",
            "format": {"type": "json_schema", "name": "out", "schema": schema, "strict": True,
                       "description": "The answer."}}}).body
        self.assertEqual(body["response_format"], {
            "type": "json_schema",
            "json_schema": {"name": "out", "schema": schema, "strict": True,
                            "description": "The answer."}})
        self.assertNotIn("verbosity", body)
        body = translate({"model": "m", "input": "x", "text": {
            "format": {"type": "json_schema", "name": "out", "schema": schema}}}).body
        self.assertEqual(body["response_format"], {
            "type": "json_schema", "json_schema": {"name": "out", "schema": schema}})

    def test_jsonObjectAndText(self) -> None:
        """
        json_object maps; text and no format send nothing.
        """
        body = translate({"model": "m", "input": "x",
                          "text": {"format": {"type": "json_object"}}}).body
        self.assertEqual(body["response_format"], {"type": "json_object"})
        for text in ({"format": {"type": "text"}}, {"verbosity": "high"}, {}):
            body = translate({"model": "m", "input": "x", "text": text}).body
            self.assertNotIn("response_format", body)

    def test_reasoningEffort(self) -> None:
        """
        Only the effort of C{reasoning} is forwarded.
        """
        body = translate({"model": "m", "input": "x",
                          "reasoning": {"effort": "high", "summary": "detailed",
                                        "context": "all_turns", "mode": "pro"}}).body
        self.assertEqual(body["reasoning_effort"], "high")
        self.assertEqual(set(body), {"model", "messages", "stream", "reasoning_effort"})
        body = translate({"model": "m", "input": "x", "reasoning": {"summary": "auto"}}).body
        self.assertNotIn("reasoning_effort", body)

    def test_notForwarded(self) -> None:
        """
        Fields for the response or for OpenAI's platform are not sent.
        """
        request = {"model": "m", "input": "x", "store": False,
                   "include": ["reasoning.encrypted_content", "message.output_text.logprobs"],
                   "metadata": {"k": "v"}, "prompt_cache_key": "uuid", "truncation": "auto",
                   "max_tool_calls": 3, "service_tier": "priority", "user": "u",
                   "safety_identifier": "s", "text": {"verbosity": "low"},
                   "stream_options": {"include_obfuscation": False}, "top_logprobs": 2,
                   "client_metadata": {"thread": "t"}, "previous_response_id": None}
        result = translate(request)
        self.assertEqual(result.body, translate({"model": "m", "input": "x"}).body)
        self.assertTrue(result.includeEncryptedReasoning)

    def test_includeWithoutEncrypted(self) -> None:
        """
        Other include values do not ask for encrypted reasoning.
        """
        result = translate({"model": "m", "input": "x",
                            "include": ["message.output_text.logprobs"]})
        self.assertFalse(result.includeEncryptedReasoning)
