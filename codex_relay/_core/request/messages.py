"""
Responses input items translated to Chat Completions messages, in order,
with the tool-call invariants Chat demands.  No Twisted here.
"""

from typing import Any
import json
import re

from codex_relay._core.carrier import ReasoningCarrier
from codex_relay._core.errors import invalidRequest
from codex_relay._core.request.content import contentParts, joinedText, stringField, typeError
from codex_relay._core.settings import NEUTRAL_REASONING, TranslationSettings
from codex_relay._core.request.toolmap import ToolMap

_CALLS = ("function_call", "custom_tool_call", "local_shell_call")
_OUTPUTS = ("function_call_output", "custom_tool_call_output", "local_shell_call_output")
_CARRIED_FIELDS = ("reasoning_content", "reasoning", "reasoning_details")
# One think block at the start of assistant text, in either dialect.
_LEADING_THINK = re.compile(
    r"\s*(?:<think>(.*?)</think>|\u25c1think\u25b7(.*?)\u25c1/think\u25b7)\s*", re.DOTALL)
NO_OUTPUT = "(no output)"


def _reasoningFields(item: dict[str, Any], settings: TranslationSettings,
                     carrier: ReasoningCarrier) -> dict[str, Any]:
    """
    The assistant-message fields that replay one reasoning item upstream;
    empty when it carries nothing.
    """
    payload = carrier.unseal(item.get("encrypted_content"))
    if payload is not None:
        text = payload.get("text")
        field = payload.get("field")
        details = payload.get("details")
        if (isinstance(text, str) and field in _CARRIED_FIELDS
                and (details is None or isinstance(details, list))):
            target = field if field != "reasoning_details" else NEUTRAL_REASONING
            fields: dict[str, Any] = {target: text}
            origin = payload.get("origin")
            # Signed provider data goes back only where it came from; text is neutral.
            if details and (not origin or not settings.origin or origin == settings.origin):
                fields["reasoning_details"] = details
            return fields
    # A foreign or tampered blob: the visible text is all there is.
    for key, partKey in (("content", "text"), ("summary", "text")):
        parts = item.get(key)
        text = joinedText(parts, partKey, "\n\n") if isinstance(parts, list) else ""
        if text:
            return {NEUTRAL_REASONING: text}
    return {}


def _liftThinking(message: dict[str, Any]) -> None:
    """
    Move the C{<think>} blocks that open an assistant message with tool
    calls into its reasoning: some clients' tool loops send reasoning back
    so, and DeepSeek and Kimi want it in their reasoning field on such
    turns, not as text.  The rest of the text stays the content.
    """
    content = message["content"]
    if not content or not isinstance(content, str):
        return
    thoughts = []
    pos = 0
    while (match := _LEADING_THINK.match(content, pos)) is not None:
        thought = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
        if thought:
            thoughts.append(thought)
        pos = match.end()
    if pos == 0:
        return
    message["content"] = content[pos:] or None
    if not thoughts:
        return
    thought = "\n\n".join(thoughts)
    field = next((key for key in ("reasoning_content", "reasoning") if key in message),
                 NEUTRAL_REASONING)
    previous = message.get(field)
    if not previous:
        message[field] = thought
    elif previous != thought:
        message[field] = previous + "\n\n" + thought


def _failedTail(items: list[Any]) -> int:
    """
    Where the trailing model output left incomplete by a failed response
    begins.  Codex keeps such partial items and resends them when it
    retries; sent upstream, they would ask the model to carry on after its
    own broken answer, one more copy per retry.
    """
    end = len(items)
    while end > 0:
        item = items[end - 1]
        if not (isinstance(item, dict) and item.get("status") == "incomplete"
                and (item.get("type") in ("reasoning",) + _CALLS
                     or item.get("role") == "assistant")):
            break
        end -= 1
    return end


class MessageBuilder:
    """
    Walks Responses input items in order and collects Chat messages; call
    L{messages} once at the end.
    """

    def __init__(self, toolMap: ToolMap, settings: TranslationSettings,
                 warnings: list[str]) -> None:
        self._toolMap = toolMap
        self._settings = settings
        self._carrier = ReasoningCarrier(settings.secret)
        self._warnings = warnings
        self._messages: list[dict[str, Any]] = []
        # Extra user messages (tool-output images) keyed by tool message id().
        self._followups: dict[int, dict[str, Any]] = {}
        self._assistant: dict[str, Any] | None = None
        self._reasoning: dict[str, Any] = {}

    def addMessage(self, role: str, content: str | list[Any]) -> None:
        self._assistant = None
        if self._reasoning:
            self._warnings.append("dropped reasoning not followed by an assistant message")
            self._reasoning = {}
        self._messages.append({"role": role, "content": content})

    def addItems(self, items: list[Any], prefix: str) -> None:
        end = _failedTail(items)
        if end < len(items):
            self._warnings.append(
                "dropped {} incomplete item(s) left at the end of {} by a failed "
                "response".format(len(items) - end, prefix))
        for index, item in enumerate(items[:end]):
            param = "{}[{}]".format(prefix, index)
            if not isinstance(item, dict):
                raise typeError("Each input item must be an object.", param)
            kind = item.get("type")
            if kind is None:
                # EasyInputMessage omits the type; a bare id is an item_reference.
                kind = "message" if "role" in item or "id" not in item else "item_reference"
            if not isinstance(kind, str):
                raise typeError("Item type must be a string.", param + ".type")
            if kind == "message":
                self._message(item, param)
            elif kind == "reasoning":
                self._addReasoning(item)
            elif kind in _CALLS:
                self._call(kind, item, param)
            elif kind in _OUTPUTS:
                self._output(item, param)
            elif kind == "item_reference":
                raise invalidRequest(
                    "item_reference is not supported: this relay keeps no stored items; "
                    "send the items themselves.", param, "unsupported_parameter",
                )
            else:
                # Hosted-tool items and types newer than this relay.
                self._warnings.append("dropped input item of type {!r} ({})".format(kind, param))

    def _message(self, item: dict[str, Any], param: str) -> None:
        role = item.get("role")
        if role not in ("user", "system", "developer", "assistant"):
            raise invalidRequest(
                "Message role must be user, system, developer or assistant.",
                param + ".role", "invalid_value",
            )
        content = item.get("content")
        if not isinstance(content, (str, list)):
            raise typeError("Message content must be a string or a list.", param + ".content")
        if role == "assistant":
            if isinstance(content, list):
                parts = contentParts(content, param + ".content", self._warnings)
                if any(part["type"] != "text" for part in parts):
                    self._warnings.append("dropped non-text parts of an assistant message "
                                          "({})".format(param))
                content = "".join(part["text"] for part in parts if part["type"] == "text")
            self._assistantText(content)
            return
        if isinstance(content, list):
            content = contentParts(content, param + ".content", self._warnings)
            if all(part["type"] == "text" for part in content):
                content = "\n".join(part["text"] for part in content)
        self.addMessage(self._settings.developerRole if role == "developer" else role, content)

    def _addReasoning(self, item: dict[str, Any]) -> None:
        fields = _reasoningFields(item, self._settings, self._carrier)
        if not fields:
            return
        # It belongs to the assistant message that follows, not to this one.
        self._assistant = None
        for key, value in fields.items():
            previous = self._reasoning.get(key)
            if previous is None:
                self._reasoning[key] = value
            elif key == "reasoning_details":
                self._reasoning[key] = previous + value
            else:
                self._reasoning[key] = previous + "\n\n" + value

    def _openAssistant(self, forText: bool) -> dict[str, Any]:
        assistant = self._assistant
        # Text after tool calls is a later message: Chat puts content first.
        if assistant is None or (forText and "tool_calls" in assistant):
            assistant = {"role": "assistant", "content": None}
            assistant.update(self._reasoning)
            self._reasoning = {}
            self._messages.append(assistant)
            self._assistant = assistant
        return assistant

    def _assistantText(self, text: str) -> None:
        assistant = self._openAssistant(forText=True)
        previous = assistant["content"]
        assistant["content"] = text if not previous else previous + "\n\n" + text

    def _call(self, kind: str, item: dict[str, Any], param: str) -> None:
        callId = item.get("call_id") or item.get("id")
        if not isinstance(callId, str) or not callId:
            raise invalidRequest(
                "A tool call needs a call_id.", param + ".call_id", "missing_required_parameter"
            )
        if kind == "local_shell_call":
            name, arguments = "local_shell", self._shellArguments(item, param)
        else:
            namespace = item.get("namespace")
            if namespace is not None and not isinstance(namespace, str):
                raise typeError("'namespace' must be a string.", param + ".namespace")
            name = self._toolMap.chatName(stringField(item, "name", param), namespace)
            if kind == "custom_tool_call":
                arguments = json.dumps({"input": stringField(item, "input", param)})
            else:
                given = item.get("arguments")
                if isinstance(given, dict):
                    arguments = json.dumps(given)
                elif isinstance(given, str):
                    arguments = given
                else:
                    arguments = stringField(item, "arguments", param)
        assistant = self._openAssistant(forText=False)
        calls = assistant.setdefault("tool_calls", [])
        if any(call["id"] == callId for call in calls):
            self._warnings.append("dropped repeated tool call {!r} ({})".format(callId, param))
            return
        calls.append({"id": callId, "type": "function",
                      "function": {"name": name, "arguments": arguments}})

    def _shellArguments(self, item: dict[str, Any], param: str) -> str:
        action = item.get("action")
        if not isinstance(action, dict):
            raise typeError("local_shell_call needs an action object.", param + ".action")
        command = action.get("command")
        if not isinstance(command, list) or not all(isinstance(c, str) for c in command):
            raise typeError("The command must be a list of strings.", param + ".action.command")
        arguments: dict[str, Any] = {"command": command}
        if action.get("working_directory") is not None:
            arguments["workdir"] = action["working_directory"]
        if action.get("timeout_ms") is not None:
            arguments["timeout_ms"] = action["timeout_ms"]
        return json.dumps(arguments)

    def _output(self, item: dict[str, Any], param: str) -> None:
        callId = item.get("call_id") or item.get("id")
        if not isinstance(callId, str):
            raise invalidRequest(
                "A tool output needs a call_id.", param + ".call_id", "missing_required_parameter"
            )
        output = item.get("output")
        extra: list[dict[str, Any]] = []
        if isinstance(output, list):
            parts = contentParts(output, param + ".output", self._warnings)
            text = "\n".join(part["text"] for part in parts if part["type"] == "text")
            extra = [part for part in parts if part["type"] != "text"]
            if extra and not text:
                text = "(image output follows)"
        elif isinstance(output, str):
            text = output
        else:
            raise typeError("A tool output must be a string or a list.", param + ".output")
        self._assistant = None
        message = {"role": "tool", "tool_call_id": callId, "content": text}
        self._messages.append(message)
        if extra:
            label = {"type": "text", "text": "[image output of call {}]".format(callId)}
            self._followups[id(message)] = {"role": "user", "content": [label] + extra}

    def messages(self) -> list[dict[str, Any]]:
        """
        The messages, with every tool call answered right after its
        assistant message and orphaned tool messages dropped.
        """
        if self._reasoning:
            self._warnings.append("dropped reasoning at the end of the input")
            self._reasoning = {}
        # Each tool message answers the nearest earlier assistant holding its id.
        owner: dict[str, int] = {}
        answers: dict[int, dict[str, dict[str, Any]]] = {}
        for message in self._messages:
            if message["role"] == "assistant":
                for call in message.get("tool_calls", ()):
                    owner[call["id"]] = id(message)
            elif message["role"] == "tool":
                callId = message["tool_call_id"]
                holder = owner.get(callId)
                if holder is None:
                    self._warnings.append(
                        "dropped tool output for call {!r}: no call before it".format(callId))
                    continue
                found = answers.setdefault(holder, {})
                if callId in found:
                    self._warnings.append(
                        "dropped repeated tool output for call {!r}".format(callId))
                    continue
                found[callId] = message
        result = []
        for message in self._messages:
            if message["role"] == "tool":
                continue
            result.append(message)
            calls = message.get("tool_calls")
            if message["role"] != "assistant" or not calls:
                continue
            _liftThinking(message)
            if message["content"] == "":
                message["content"] = None
            found = answers.get(id(message), {})
            placed = [found.get(call["id"]) or {"role": "tool", "tool_call_id": call["id"],
                                                 "content": NO_OUTPUT} for call in calls]
            result.extend(placed)
            result.extend(self._followups[id(tool)] for tool in placed
                          if id(tool) in self._followups)
        return result
