"""
What the relay keeps of one response, and how a conversation is rebuilt
from it: plain data, no Twisted, no clock (times are passed in).

A record holds the Response object as sent, its input items exactly as
received, and the id of the response it continued; its output items are
the Response's C{output}.  Walking the C{previous} links back to the first
response and concatenating each one's input and output rebuilds the whole
conversation.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from codex_relay._core.errors import invalidRequest

# A chain longer than this is refused rather than walked.
MAX_CHAIN = 10000


@dataclass(frozen=True)
class StoredResponse:
    """
    @ivar owner: L{ownerOf} the credential that created the response.
    @ivar response: the Response object as sent in its terminal event.
    @ivar input: the request's input items, exactly as received (only the
        new ones when it continued C{previous}).
    @ivar previous: the C{previous_response_id} it continued, if any.
    @ivar createdAt: when it was stored, in seconds.
    @ivar expiresAt: when it is forgotten, in seconds.
    """

    id: str
    owner: str
    response: dict[str, Any]
    input: list[dict[str, Any]]
    previous: str | None
    createdAt: float
    expiresAt: float

    @property
    def output(self) -> list[dict[str, Any]]:
        output = self.response.get("output")
        return output if isinstance(output, list) else []

    def itemIds(self) -> list[str]:
        """
        The ids an C{item_reference} may name: every output item's, and
        those of the input items that carry one (references themselves
        excepted: they name another item).
        """
        return [item["id"] for item in (*self.input, *self.output)
                if isinstance(item, dict) and isinstance(item.get("id"), str)
                and not _isReference(item)]

    def item(self, itemId: str) -> dict[str, Any] | None:
        for item in (*self.output, *self.input):
            if isinstance(item, dict) and item.get("id") == itemId and not _isReference(item):
                return item
        return None

    def toJSON(self) -> bytes:
        return json.dumps({
            "id": self.id, "owner": self.owner, "response": self.response,
            "input": self.input, "previous": self.previous,
            "created_at": self.createdAt, "expires_at": self.expiresAt,
        }, separators=(",", ":")).encode("utf-8")

    @classmethod
    def fromJSON(cls, data: bytes | str) -> "StoredResponse":
        raw = json.loads(data)
        return cls(raw["id"], raw["owner"], raw["response"], raw["input"],
                   raw["previous"], raw["created_at"], raw["expires_at"])


def ownerOf(secret: bytes, authorization: str | None) -> str:
    """
    A keyed hash of the client's credential, never the credential itself:
    what a stored response belongs to.  Without a credential, every
    anonymous client is one owner.
    """
    token = (authorization or "").strip()
    return hmac.new(secret, token.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def conversation(chain: list[StoredResponse]) -> list[dict[str, Any]]:
    """
    The items of C{chain} (oldest first), in order: each response's input,
    then its output.
    """
    items: list[dict[str, Any]] = []
    for record in chain:
        items.extend(record.input)
        items.extend(record.output)
    return items


def inputItems(value: object) -> list[dict[str, Any]]:
    """
    A request's C{input} as a list of items: a string is one user message.
    Anything else is returned for the translator to judge.
    """
    if isinstance(value, str):
        return [{"type": "message", "role": "user",
                 "content": [{"type": "input_text", "text": value}]}]
    if isinstance(value, list):
        return value
    return []


def referencedIds(items: list[Any]) -> list[str]:
    """
    The ids named by the C{item_reference} items among C{items}.
    """
    return [item["id"] for item in items if _isReference(item)]


def resolveReferences(items: list[Any], found: dict[str, dict[str, Any]]) -> list[Any]:
    """
    C{items} with each C{item_reference} replaced by the item it names.

    @raise invalidRequest: naming the first reference not in C{found}.
    """
    resolved = []
    for index, item in enumerate(items):
        if _isReference(item):
            if item["id"] not in found:
                raise invalidRequest(
                    "Item with id '{}' not found.".format(item["id"]),
                    "input[{}]".format(index), "item_not_found")
            item = found[item["id"]]
        resolved.append(item)
    return resolved


def previousResponseId(body: dict[str, Any]) -> str | None:
    """
    The request's C{previous_response_id}, checked.
    """
    previous = body.get("previous_response_id")
    if previous is None:
        return None
    if not isinstance(previous, str) or not previous:
        raise invalidRequest("'previous_response_id' must be a non-empty string.",
                             "previous_response_id", "invalid_type")
    return previous


def notFound(previous: str) -> Exception:
    return invalidRequest(
        "Previous response with id '{}' not found.".format(previous),
        "previous_response_id", "previous_response_not_found")


def withHistory(body: dict[str, Any], history: list[dict[str, Any]],
                newInput: list[Any]) -> dict[str, Any]:
    """
    The request C{body} as if it had been sent whole: C{history}, then its
    own (resolved) input, and no C{previous_response_id}.  Only the new
    request's instructions apply, as at OpenAI: they are in C{body}.
    """
    expanded = dict(body)
    expanded.pop("previous_response_id", None)
    expanded["input"] = [*history, *newInput]
    return expanded


def wantsStore(body: dict[str, Any]) -> bool:
    """
    Whether to keep the response: C{store} defaults to true, as at OpenAI.
    """
    return body.get("store") is not False


def listedItems(record: StoredResponse,
                found: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """
    The record's input items as C{GET .../input_items} lists them: each with
    an id (a stable one derived from the response id when the client sent
    none) and messages with their content as a list of parts.

    @param found: the stored items its C{item_reference}s name, listed in
        their place; a reference to an item gone meanwhile is left out.
    """
    listed = []
    for index, sent in enumerate(record.input):
        named = (found or {}).get(sent["id"]) if _isReference(sent) else sent
        if not isinstance(named, dict):
            continue
        item = dict(named)
        if "type" not in item and "role" in item:
            item["type"] = "message"
        if item.get("type") == "message" and isinstance(item.get("content"), str):
            part = "output_text" if item.get("role") == "assistant" else "input_text"
            item["content"] = [{"type": part, "text": item["content"]}]
        if not isinstance(item.get("id"), str):
            digest = hashlib.sha256("{}:{}".format(record.id, index).encode()).hexdigest()
            item["id"] = "item_" + digest[:32]
        # The SDK's item types require a status.
        item.setdefault("status", "completed")
        listed.append(item)
    return listed


def _isReference(item: object) -> bool:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return False
    kind = item.get("type")
    # EasyInputMessage omits the type; a bare id is an item_reference.
    return kind == "item_reference" or (kind is None and "role" not in item)
