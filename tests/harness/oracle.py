"""
An independent checker for what codex-relay sends to its clients.

It implements PROTOCOL.md §5 ("Output rules") without sharing any code with
the relay, so every test layer (translator units, resource tests, loopback
tests) can hold the relay's output to the same standard:

    parseSSE(body) -> [(eventName, data), ...]   SSE framing (rules 2, 3)
    checkStream(body) -> [data, ...]             parseSSE + checkEvents
    checkEvents(events) -> terminal response     the event stream (rules 4-19)
    checkResponse(response)                      one finished Response object

Failures raise L{AssertionError} (never a bare C{assert}, so C{-O} cannot
switch the oracle off); event messages name the event's position and
C{sequence_number}.

C{allowCodexCodes=True} additionally accepts the Codex-meaningful codes
L{CODEX_CODES}: the rest of the object is still validated strictly, by
substituting an in-enum code for validation only.

The checks live in modules of their own, by job:
L{tests.harness.oracleschema} (strict SDK validation),
L{tests.harness.oracleresponse} (Response objects and output items),
L{tests.harness.oracleevents} (the order of a stream's events and its
lifecycle) and L{tests.harness.oracleparts} (the parts, text and tool-call
input inside an open item).  This module frames SSE and is the one to
import from.
"""

import json
from typing import Any

from tests.harness.oracleevents import checkEvents, position
from tests.harness.oracleresponse import checkResponse
from tests.harness.oracleschema import CODEX_CODES, SDK_ERROR_CODES, fail

__all__ = [
    "CODEX_CODES",
    "SDK_ERROR_CODES",
    "parseSSE",
    "checkStream",
    "checkEvents",
    "checkResponse",
]


def parseSSE(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    """
    Parse the relay's SSE output strictly (PROTOCOL.md §5 rules 2 and 3).

    Accepted: blocks of exactly one C{event:} line and one single-line
    C{data:} line holding a JSON object, separated by blank lines, and
    comment-only blocks (C{: ...}).  Rejected: C{id:} or C{retry:} lines,
    other fields, blocks without data, empty data, multi-line data,
    invalid JSON, C{[DONE]}, a BOM, CR line ends, and an unterminated last
    block.

    @return: C{(event name, parsed data)} per event.
    """
    if not isinstance(body, bytes):
        raise AssertionError(f"SSE body must be bytes, not {type(body).__name__}")
    if body.startswith(b"\xef\xbb\xbf"):
        raise AssertionError("SSE body starts with a BOM")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError(f"SSE body is not UTF-8: {e}") from None
    if "\r" in text:
        raise AssertionError("SSE body has CR line ends; the relay emits LF only")
    if text and not text.endswith("\n\n"):
        raise AssertionError(
            f"last SSE block is not terminated by a blank line: {text[-80:]!r}"
        )
    events = []
    block: list[str] = []
    for line in text.split("\n"):
        if line:
            block.append(line)
            continue
        if block:
            parsed = _parseBlock(block, len(events))
            if parsed is not None:
                events.append(parsed)
            block = []
    return events


def _parseBlock(lines: list[str], number: int) -> tuple[str, dict[str, Any]] | None:
    where = f"SSE block after event {number}"
    if all(line.startswith(":") for line in lines):
        return None
    fields: dict[str, list[str]] = {"event": [], "data": []}
    for line in lines:
        if line.startswith(":"):
            fail(
                where, f"comment inside an event block (comments go alone): {lines!r}"
            )
        name, colon, value = line.partition(":")
        if not colon:
            fail(where, f"line without a colon: {line!r}")
        if name == "id":
            fail(where, f"id: line (never send id:): {line!r}")
        if name == "retry":
            fail(where, f"retry: line (never send retry:): {line!r}")
        if name not in fields:
            fail(where, f"unknown SSE field {name!r}: {line!r}")
        fields[name].append(value[1:] if value.startswith(" ") else value)
    if not fields["data"]:
        fail(where, f"block without data: {lines!r}")
    if len(fields["data"]) > 1:
        fail(where, f"multi-line data (keep JSON on one line): {lines!r}")
    if len(fields["event"]) != 1:
        fail(where, f"expected exactly one event: line: {lines!r}")
    data = fields["data"][0]
    if data == "":
        fail(where, "empty data:")
    if data.strip() == "[DONE]":
        fail(where, "data: [DONE] (Chat-only; never in a Responses stream)")
    try:
        parsed = json.loads(data)
    except ValueError as e:
        raise AssertionError(f"{where}: invalid JSON ({e}): {data[:200]!r}") from None
    if not isinstance(parsed, dict):
        fail(where, f"data is not a JSON object: {data[:200]!r}")
    return fields["event"][0], parsed


def checkStream(body: bytes, allowCodexCodes: bool = False) -> list[dict[str, Any]]:
    """
    Check a whole SSE body from the relay: framing, C{event:} name equal to
    C{data.type}, then L{checkEvents}.

    @return: the events' data dicts, in order.
    """
    parsed = parseSSE(body)
    for i, (name, data) in enumerate(parsed):
        if name != data.get("type"):
            fail(
                position(i, data),
                f"event: name {name!r} differs from data.type {data.get('type')!r}",
            )
    events = [data for _, data in parsed]
    checkEvents(events, allowCodexCodes=allowCodexCodes)
    return events
