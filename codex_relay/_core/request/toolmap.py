"""
The names of the client's tools on the Chat side: a Responses tool (its
kind, name and namespace, a L{ToolRef}) gets a valid Chat function name,
namespaced tools flattened (hashed when too long), and L{ToolMap} turns Chat
names back into the Responses tools the answer calls.  No Twisted here.
"""

import hashlib
import re
from dataclasses import dataclass

# Chat providers accept at most 64 characters of this set in a tool name.
_CHAT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NOT_CHAT_NAME_CHAR = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class ToolRef:
    """
    A tool as the client named it.

    @ivar kind: C{"function"}, C{"custom"} or C{"local_shell"}: the kind of
        call item the relay answers with.
    @ivar name: the Responses-side tool name.
    @ivar namespace: the namespace tool this one came from, if any.
    """

    kind: str
    name: str
    namespace: str | None = None


def _flatName(name: str, namespace: str | None) -> str:
    """
    The Chat name for C{name} in C{namespace}: C{"{ns}__{name}"} when that
    is a valid Chat name, else a sanitised prefix plus a short hash.
    """
    if namespace is None:
        return name
    flat = "{}__{}".format(namespace, name)
    if _CHAT_NAME.fullmatch(flat):
        return flat
    return _hashedName(flat, namespace, name, 0)


def _hashedName(flat: str, namespace: str, name: str, salt: int) -> str:
    # Hash the parts, not the joined name, so "a__b"/"c" and "a"/"b__c" differ.
    digest = hashlib.sha256(
        "{}\x00{}\x00{}".format(namespace, name, salt).encode("utf-8")
    ).hexdigest()[:8]
    return "{}_{}".format(_NOT_CHAT_NAME_CHAR.sub("_", flat)[:55], digest)


class ToolMap:
    """
    Both directions between Responses tools and the Chat names the relay
    gave them.
    """

    def __init__(self) -> None:
        self._byChatName: dict[str, ToolRef] = {}
        self._byKey: dict[tuple[str | None, str], str] = {}

    def register(self, ref: ToolRef) -> str | None:
        """
        Give C{ref} a Chat name.

        @return: that name, or L{None} if a tool with the same name (and
            namespace) is already registered.
        """
        key = (ref.namespace, ref.name)
        if key in self._byKey:
            return None
        chatName = _flatName(ref.name, ref.namespace)
        salt = 0
        while chatName in self._byChatName:
            if ref.namespace is None:
                return None
            chatName = _hashedName(
                "{}__{}".format(ref.namespace, ref.name), ref.namespace, ref.name, salt
            )
            salt += 1
        self._byChatName[chatName] = ref
        self._byKey[key] = chatName
        return chatName

    def isRegistered(self, name: str, namespace: str | None = None) -> bool:
        return (namespace, name) in self._byKey

    def chatNamesIn(self, namespace: str) -> set[str]:
        """
        The Chat names of every registered tool of C{namespace}.
        """
        return {
            chatName for chatName, ref in self._byChatName.items() if ref.namespace == namespace
        }

    def lookup(self, chatName: str) -> ToolRef:
        """
        The Responses tool behind a Chat tool name; a plain function of that
        name if the relay did not offer it.
        """
        ref = self._byChatName.get(chatName)
        return ref if ref is not None else ToolRef("function", chatName)

    def chatName(self, name: str, namespace: str | None = None) -> str:
        """
        The Chat name for a Responses tool, for calls in the history; tools
        not offered in this request get the same deterministic name.
        """
        known = self._byKey.get((namespace, name))
        return known if known is not None else _flatName(name, namespace)
