"""
One stream's Responses events as bytes (SSE) or text (WebSocket frames),
without serialising the same thing twice:

  - the Response members that echo the request, C{instructions} and
    C{tools} (about 20 KB for Codex), are the same objects in
    C{response.created}, C{response.in_progress} and the terminal event:
    they are serialised once per stream and spliced in;
  - a delta event differs from the one before only in its C{delta} and
    C{sequence_number}: the rest comes from a template made once per item.

The output is the JSON of L{codex_relay._core.sse.encodeEvent}, except
that a spliced Response has the echoed members last.
"""

from typing import Any

from codex_relay._core.sse import dumps, frameEvent, wholeText
from codex_relay._core.stream.response import DELTA_EVENTS

_TEMPLATED = DELTA_EVENTS | {"response.refusal.delta"}
# The keys a templated delta may have; the others would need their own check.
_TEMPLATE_KEYS = frozenset((
    "type", "item_id", "output_index", "content_index", "summary_index", "delta",
    "sequence_number", "logprobs"))
# Stand-ins for the two varying values while a template is made.
_DELTA, _SEQUENCE = '"\ue000"', '"\ue001"'


class EventEncoder:
    """
    Encodes the events of one stream.  Values are recognised by identity:
    the echoed members must not change in place during the stream, as
    nothing in the relay changes a request it echoes.
    """

    def __init__(self) -> None:
        self._echo: tuple[Any, Any, str] | None = None
        self._templates: dict[tuple[Any, ...], tuple[str, str, str, bool]] = {}

    def json(self, payload: dict[str, Any]) -> str:
        """
        The event's JSON, as it goes in a WebSocket frame or after C{data:}.
        """
        kind = payload.get("type")
        if kind in _TEMPLATED:
            text = self._delta(payload)
            if text is not None:
                return text
        response = payload.get("response")
        if type(response) is dict and "tools" in response and "instructions" in response:
            return self._withEcho(payload, response)
        return dumps(payload)

    def sse(self, payload: dict[str, Any]) -> bytes:
        """
        The event framed as SSE (as L{codex_relay._core.sse.encodeEvent}).
        """
        return frameEvent(payload["type"], self.json(payload))

    def text(self, payload: dict[str, Any]) -> str:
        """
        The event's JSON as a WebSocket text frame: UTF-8 can carry it.
        """
        return wholeText(self.json(payload))

    def _withEcho(self, payload: dict[str, Any], response: dict[str, Any]) -> str:
        instructions, tools = response["instructions"], response["tools"]
        if not tools and not instructions:
            return dumps(payload)
        echo = self._echo
        if echo is None or echo[0] is not instructions or echo[1] is not tools:
            echo = self._echo = (instructions, tools, '"instructions":{},"tools":{}'.format(
                dumps(instructions), dumps(tools)))
        rest = dumps({k: v for k, v in response.items()
                      if k != "instructions" and k != "tools"})
        outer = dumps({k: v for k, v in payload.items() if k != "response"})
        return '{},"response":{},{}}}}}'.format(outer[:-1], rest[:-1], echo[2])

    def _delta(self, payload: dict[str, Any]) -> str | None:
        delta = payload.get("delta")
        if (type(delta) is not str or not _TEMPLATE_KEYS.issuperset(payload)
                or payload.get("logprobs") or type(payload.get("sequence_number")) is not int):
            return None
        key = (payload.get("item_id"), payload.get("output_index"),
               payload.get("content_index"), payload.get("summary_index"), tuple(payload))
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) > 64:  # items of one stream; bound it anyway
                self._templates.clear()
            template = self._templates[key] = _template(payload)
        head, middle, tail, deltaFirst = template
        sequence = str(payload["sequence_number"])
        if deltaFirst:
            return head + dumps(delta) + middle + sequence + tail
        return head + sequence + middle + dumps(delta) + tail


def _template(payload: dict[str, Any]) -> tuple[str, str, str, bool]:
    """
    The JSON of C{payload} cut around its C{delta} and C{sequence_number}.
    """
    marked = dumps(dict(payload, delta=_DELTA[1:-1], sequence_number=_SEQUENCE[1:-1]))
    deltaFirst = marked.index(_DELTA) < marked.index(_SEQUENCE)
    first, second = (_DELTA, _SEQUENCE) if deltaFirst else (_SEQUENCE, _DELTA)
    head, rest = marked.split(first)
    middle, tail = rest.split(second)
    return head, middle, tail, deltaFirst

