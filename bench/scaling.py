"""
How the stream path scales with the length of one answer.

    python bench/scaling.py [--rounds N]

Each figure is a ratio, never an absolute time: the time for 4n fragments
over the time for n.  A linear path gives about 4, a quadratic one about 16.
  - translate deltas: n content deltas through the whole core (decode,
    translate, encode);
  - reasoning_details: n OpenRouter C{reasoning_details} fragments of one
    detail, sealed into C{encrypted_content} at the end;
  - passthrough deltas: n argument deltas of one open call, watched by
    L{PassthroughStream} and closed by its C{fail};
  - endless line: an n x 4 KiB line in 4 KiB reads, until the decoder
    refuses it (the limit is raised out of the way).
"""

import argparse
import json
import sys

sys.path.insert(0, ".")

from translate import best  # noqa: E402  (bench/ is on the path when run as a script)

from codex_relay._core.stream.passthrough import PassthroughStream  # noqa: E402
from codex_relay._core.request.translate import translateRequest  # noqa: E402
from codex_relay._core.settings import TranslationSettings  # noqa: E402
from codex_relay._core.sse import SSEDecoder, SSETooLarge, encodeEvent  # noqa: E402
from codex_relay._core.stream.translator import StreamTranslator  # noqa: E402
from codex_relay._web.ids import newId, now  # noqa: E402

SETTINGS = TranslationSettings(secret=b"bench")
REQUEST = {"model": "bench", "input": "hi", "stream": True,
           "include": ["reasoning.encrypted_content"]}


def sse(delta: dict) -> bytes:
    return b"data: " + json.dumps({"choices": [{"index": 0, "delta": delta}]}).encode() + b"\n\n"


def reads(body: bytes, size: int = 4096) -> list[bytes]:
    return [body[i:i + size] for i in range(0, len(body), size)]


def translated(pieces: list[bytes]) -> None:
    translator = StreamTranslator(REQUEST, translateRequest(REQUEST, SETTINGS), SETTINGS,
                                  ids=newId, clock=now)
    decoder = SSEDecoder()
    for event in translator.start():
        encodeEvent(event)
    for piece in pieces:
        for event in decoder.feed(piece):
            for out in translator.feedEvent(event):
                encodeEvent(out)
    for out in translator.finish():
        encodeEvent(out)


def deltas(n: int) -> list[bytes]:
    return reads(sse({"content": "Some text, "}) * n + b"data: [DONE]\n\n")


def details(n: int) -> list[bytes]:
    fragment = sse({"reasoning_details": [{"type": "reasoning.text", "text": "thinking ",
                                           "index": 0}]})
    return reads(fragment * n + b"data: [DONE]\n\n")


def passthrough(n: int) -> list[bytes]:
    def frame(event: dict) -> bytes:
        return "event: {}\ndata: {}\n\n".format(event["type"], json.dumps(event)).encode()

    head = frame({"type": "response.created", "sequence_number": 0,
                  "response": {"id": "resp_1", "status": "in_progress", "output": []}})
    head += frame({"type": "response.output_item.added", "sequence_number": 1,
                   "output_index": 0, "item": {"id": "fc_1", "type": "function_call",
                                               "call_id": "call_1", "name": "f",
                                               "arguments": ""}})
    delta = frame({"type": "response.function_call_arguments.delta", "item_id": "fc_1",
                   "output_index": 0, "delta": '{"path": "src/'})
    return reads(head + delta * n)


def watched(pieces: list[bytes]) -> None:
    stream = PassthroughStream(REQUEST, ids=newId, clock=now)
    for piece in pieces:
        stream.feed(piece)
    for event in stream.fail("server_error", "cut"):
        encodeEvent(event)


def line(n: int) -> list[bytes]:
    return [b"data: "] + [b"x" * 4096 for _ in range(n)]


def decoded(pieces: list[bytes]) -> None:
    decoder = SSEDecoder(maxEventBytes=sum(map(len, pieces)) - 1)
    try:
        for piece in pieces:
            decoder.feed(piece)
    except SSETooLarge:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    cases = [
        ("translate deltas", translated, deltas, 8000),
        ("reasoning_details", translated, details, 16000),
        ("passthrough deltas", watched, passthrough, 32000),
        ("endless line", decoded, line, 4000),
    ]
    for name, function, build, n in cases:
        ratio = best(function, build(4 * n), rounds) / best(function, build(n), rounds)
        print("{:<20} {} -> {} fragments: {:.1f}x time (4 linear, 16 quadratic)".format(
            name, n, 4 * n, ratio))


if __name__ == "__main__":
    main()
