"""
Shared test harness.
"""

from codex_relay._core.carrier import ReasoningCarrier
from codex_relay._core.request.translate import ChatRequest, translateRequest
from codex_relay._core.settings import TranslationSettings


SECRET = b"test-secret"


SETTINGS = TranslationSettings(secret=SECRET)


def seal(payload: dict) -> str:
    return ReasoningCarrier(SECRET).seal(payload)


def translate(request: dict, settings: TranslationSettings = SETTINGS) -> ChatRequest:
    return translateRequest(request, settings)


def messagesOf(items: list, settings: TranslationSettings = SETTINGS, **fields) -> list:
    return translate(dict({"model": "m", "input": items}, **fields), settings).body["messages"]


def user(content) -> dict:
    return {"type": "message", "role": "user", "content": content}


def assistantItem(text: str) -> dict:
    return {"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def call(callId: str, name: str = "f", arguments: str = "{}", **extra) -> dict:
    return dict({"type": "function_call", "call_id": callId, "name": name,
                 "arguments": arguments}, **extra)


def output(callId: str, result="ok") -> dict:
    return {"type": "function_call_output", "call_id": callId, "output": result}


def chatCall(callId: str, name: str = "f", arguments: str = "{}") -> dict:
    return {"id": callId, "type": "function",
            "function": {"name": name, "arguments": arguments}}


def tool(callId: str, content: str = "ok") -> dict:
    return {"role": "tool", "tool_call_id": callId, "content": content}
