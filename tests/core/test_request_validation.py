"""
Tests for the validation in L{codex_relay._core.request.translate}:
malformed or unsupported Responses requests are 400 errors.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from tests.harness.requests import call, output, translate, user
from tests.harness.translation import BadRequestMixin


class ValidationTests(BadRequestMixin, SynchronousTestCase):
    """
    Malformed requests are answered with a 400 naming the bad parameter.
    """

    def test_bodyNotObject(self) -> None:
        """
        A body that is not a JSON object is a 400 with no param.
        """
        for body in ([], "hi", None, 3):
            self.assertBadRequest(body, None, None)

    def test_model(self) -> None:
        """
        C{model} must be a non-empty string.
        """
        self.assertBadRequest({"input": "hi"}, "model", "missing_required_parameter")
        self.assertBadRequest({"model": "", "input": "hi"}, "model", "invalid_type")
        self.assertBadRequest({"model": 3, "input": "hi"}, "model", "invalid_type")

    def test_input(self) -> None:
        """
        C{input} is required, and a string or a list.
        """
        self.assertBadRequest({"model": "m"}, "input", "missing_required_parameter")
        self.assertBadRequest({"model": "m", "input": 5}, "input", "invalid_type")
        self.assertBadRequest({"model": "m", "input": {"role": "user"}}, "input", "invalid_type")

    def test_itemNotObject(self) -> None:
        """
        Every input item is an object.
        """
        self.assertBadRequest({"model": "m", "input": [user("a"), "b"]}, "input[1]",
                              "invalid_type")

    def test_itemTypeNotString(self) -> None:
        """
        An item's C{type} is a string.
        """
        self.assertBadRequest({"model": "m", "input": [{"type": 3}]}, "input[0].type",
                              "invalid_type")

    def test_content(self) -> None:
        """
        Message content is a string or a list of part objects.
        """
        self.assertBadRequest({"model": "m", "input": [user(None)]}, "input[0].content",
                              "invalid_type")
        self.assertBadRequest({"model": "m", "input": [user({"text": "a"})]},
                              "input[0].content", "invalid_type")
        self.assertBadRequest({"model": "m", "input": [user(["a"])]}, "input[0].content[0]",
                              "invalid_type")
        self.assertBadRequest(
            {"model": "m", "input": [user([{"type": "input_text", "text": 3}])]},
            "input[0].content[0].text", "invalid_type")

    def test_role(self) -> None:
        """
        Roles outside user/system/developer/assistant are refused.
        """
        self.assertBadRequest({"model": "m", "input": [{"role": "tool", "content": "x"}]},
                              "input[0].role", "invalid_value")

    def test_instructions(self) -> None:
        """
        C{instructions} is a string or a list of items.
        """
        self.assertBadRequest({"model": "m", "input": "x", "instructions": 3}, "instructions",
                              "invalid_type")
        self.assertBadRequest({"model": "m", "input": "x", "instructions": [3]},
                              "instructions[0]", "invalid_type")

    def test_tools(self) -> None:
        """
        C{tools} is a list.
        """
        self.assertBadRequest({"model": "m", "input": "x", "tools": {}}, "tools", "invalid_type")

    def test_numbers(self) -> None:
        """
        C{temperature} and C{top_p} are numbers, not booleans.
        """
        for key in ("temperature", "top_p"):
            for value in ("hot", True, [1]):
                self.assertBadRequest({"model": "m", "input": "x", key: value}, key,
                                      "invalid_type")

    def test_maxOutputTokens(self) -> None:
        """
        C{max_output_tokens} is a positive integer.
        """
        for value in (1.5, True, "10"):
            self.assertBadRequest({"model": "m", "input": "x", "max_output_tokens": value},
                                  "max_output_tokens", "invalid_type")
        for value in (0, -3):
            self.assertBadRequest({"model": "m", "input": "x", "max_output_tokens": value},
                                  "max_output_tokens", "invalid_value")

    def test_otherTypes(self) -> None:
        """
        Wrongly typed optional fields are refused.
        """
        for key, value in (("stream", "yes"), ("metadata", ["a"]), ("include", "x"),
                           ("include", [3]), ("reasoning", "high"), ("text", "json"),
                           ("parallel_tool_calls", "yes"), ("background", "no")):
            self.assertBadRequest({"model": "m", "input": "x", key: value}, key,
                                  "invalid_type")
        self.assertBadRequest({"model": "m", "input": "x", "reasoning": {"effort": 3}},
                              "reasoning.effort", "invalid_type")

    def test_textFormat(self) -> None:
        """
        C{text.format} is checked field by field.
        """
        def bad(textFormat, param, code):
            self.assertBadRequest({"model": "m", "input": "x", "text": {"format": textFormat}},
                                  param, code)
        bad("json", "text.format", "invalid_type")
        bad({"type": "xml"}, "text.format.type", "invalid_value")
        bad({"type": "json_schema", "schema": {}}, "text.format.name",
            "missing_required_parameter")
        bad({"type": "json_schema", "name": "n"}, "text.format.schema",
            "missing_required_parameter")
        bad({"type": "json_schema", "name": "n", "schema": []}, "text.format.schema",
            "invalid_type")
        bad({"type": "json_schema", "name": "n", "schema": {}, "strict": "yes"},
            "text.format.strict", "invalid_type")

    def test_previousResponseIdNotForwarded(self) -> None:
        """
        The shell expands C{previous_response_id} before translation
        (L{codex_relay._web.conversations}); the Chat body never carries it.
        """
        chat = translate({"model": "m", "input": "x", "previous_response_id": "resp_1"})
        self.assertNotIn("previous_response_id", chat.body)

    def test_statefulFeatures(self) -> None:
        """
        Features that need server-side state are unsupported.
        """
        for key, value in (("conversation", "conv_1"), ("conversation", {"id": "c"}),
                           ("prompt", {"id": "p"}), ("background", True)):
            self.assertBadRequest({"model": "m", "input": "x", key: value}, key,
                                  "unsupported_parameter")

    def test_backgroundFalse(self) -> None:
        """
        C{background: false} is harmless.
        """
        self.assertEqual(translate({"model": "m", "input": "x", "background": False}).body,
                         translate({"model": "m", "input": "x"}).body)

    def test_itemReference(self) -> None:
        """
        Item references, typed or bare, are unsupported.
        """
        self.assertBadRequest(
            {"model": "m", "input": [user("a"), {"type": "item_reference", "id": "msg_1"}]},
            "input[1]", "unsupported_parameter")
        self.assertBadRequest({"model": "m", "input": [{"id": "msg_1"}]}, "input[0]",
                              "unsupported_parameter")

    def test_imageFileId(self) -> None:
        """
        An image needs an image_url; a file_id alone is refused.
        """
        self.assertBadRequest(
            {"model": "m", "input": [user([{"type": "input_text", "text": "see"},
                                          {"type": "input_image", "file_id": "file_1"}])]},
            "input[0].content[1].file_id", "unsupported_parameter")
        self.assertBadRequest({"model": "m", "input": [user([{"type": "input_image"}])]},
                              "input[0].content[0].image_url", "missing_required_parameter")

    def test_calls(self) -> None:
        """
        Call items need their call id, name, arguments or input.
        """
        self.assertBadRequest({"model": "m", "input": [{"type": "function_call", "name": "f",
                                                        "arguments": "{}"}]},
                              "input[0].call_id", "missing_required_parameter")
        self.assertBadRequest({"model": "m", "input": [call("c", name=None)]}, "input[0].name",
                              "missing_required_parameter")
        self.assertBadRequest({"model": "m", "input": [call("c", arguments=3)]},
                              "input[0].arguments", "invalid_type")
        self.assertBadRequest(
            {"model": "m", "input": [{"type": "custom_tool_call", "call_id": "c", "name": "p"}]},
            "input[0].input", "missing_required_parameter")
        self.assertBadRequest(
            {"model": "m", "input": [{"type": "local_shell_call", "call_id": "c",
                                      "action": {"command": "ls"}}]},
            "input[0].action.command", "invalid_type")

    def test_outputs(self) -> None:
        """
        Outputs need a call id and a string or list output.
        """
        self.assertBadRequest({"model": "m", "input": [call("c"), output("c", None)]},
                              "input[1].output", "invalid_type")
        self.assertBadRequest({"model": "m", "input": [call("c"), output("c", [1])]},
                              "input[1].output[0]", "invalid_type")
        self.assertBadRequest({"model": "m", "input": [{"type": "function_call_output",
                                                        "output": "x"}]},
                              "input[0].call_id", "missing_required_parameter")

    def test_errorEnvelope(self) -> None:
        """
        The error renders as an OpenAI envelope.
        """
        error = self.assertBadRequest({"model": "m", "input": 5}, "input", "invalid_type")
        envelope = json.loads(error.body())
        self.assertEqual(envelope["error"]["param"], "input")
        self.assertEqual(envelope["error"]["type"], "invalid_request_error")
