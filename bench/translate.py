"""
The sans-IO hot path, measured against peers in the same run.

    python bench/translate.py [--rounds N]

Figures are ratios, never absolute times:
  - decode: codex_relay's SSEDecoder against the openai SDK's SSEDecoder on
    the same upstream bytes (4 KiB reads);
  - translate: the whole core (decode, translate, encode every Responses
    event) against the floor any relay pays: one json.loads per upstream
    chunk and one json.dumps per output event;
  - healing: the same core with DeepSeek's content healers (inline <think>
    splitting and DSML tool-call healing) against the core without them.
"""

import argparse
import json
import sys
import time

sys.path.insert(0, ".")

from openai._streaming import SSEDecoder as OpenAIDecoder  # noqa: E402

from codex_relay._providers.adapt import contentFilter  # noqa: E402
from codex_relay._providers.profiles import PROFILES  # noqa: E402
from codex_relay._core.request.translate import translateRequest  # noqa: E402
from codex_relay._core.settings import TranslationSettings  # noqa: E402
from codex_relay._core.sse import SSEDecoder, encodeEvent  # noqa: E402
from codex_relay._core.stream.translator import StreamTranslator  # noqa: E402
from codex_relay._web.ids import newId, now  # noqa: E402

SETTINGS = TranslationSettings(secret=b"bench")
REQUEST = {
    "model": "bench", "input": "hi", "stream": True,
    "include": ["reasoning.encrypted_content"],
    "tools": [{"type": "function", "name": "exec_command", "parameters": {}, "strict": False}],
}


def upstreamBody() -> bytes:
    def chunk(delta: dict, finish: str | None = None) -> bytes:
        return b"data: " + json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
            "model": "bench", "choices": [{"index": 0, "delta": delta,
                                           "finish_reason": finish}],
        }).encode() + b"\n\n"

    parts = [chunk({"role": "assistant", "content": ""})]
    parts += [chunk({"reasoning_content": "thinking about it "}) for _ in range(500)]
    parts += [chunk({"content": "Some answer text, é "}) for _ in range(2000)]
    parts.append(chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                         "function": {"name": "exec_command",
                                                      "arguments": ""}}]}))
    parts += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"cmd": "ls"'}}]})
              for _ in range(300)]
    parts.append(chunk({}, "tool_calls"))
    parts.append(b'data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5}}\n\n')
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def reads(body: bytes, size: int = 4096) -> list[bytes]:
    return [body[i:i + size] for i in range(0, len(body), size)]


def relayDecode(pieces: list[bytes]) -> int:
    decoder = SSEDecoder()
    return sum(len(decoder.feed(p)) for p in pieces) + len(decoder.close())


def openaiDecode(pieces: list[bytes]) -> int:
    return sum(1 for _ in OpenAIDecoder().iter_bytes(iter(pieces)))


def relayCore(pieces: list[bytes], healed: bool = False) -> int:
    chat = translateRequest(REQUEST, SETTINGS)
    healer = (contentFilter(PROFILES["llama.cpp"], {"dsml"}, chat.body.get("tools"))
              if healed else None)
    translator = StreamTranslator(REQUEST, chat, SETTINGS, contentFilter=healer,
                                  ids=newId, clock=now)
    decoder = SSEDecoder()
    written = sum(len(encodeEvent(e)) for e in translator.start())
    for piece in pieces:
        for event in decoder.feed(piece):
            for out in translator.feedEvent(event):
                written += len(encodeEvent(out))
    assert translator.finished
    return written


def floor(pieces: list[bytes]) -> int:
    written = 0
    for line in b"".join(pieces).split(b"\n\n"):
        if line.startswith(b"data: {"):
            chunk = json.loads(line[6:])
            written += len(json.dumps({"type": "response.output_text.delta",
                                       "delta": chunk["choices"][0]["delta"] if
                                       chunk["choices"] else None}))
    return written


def best(function, pieces: list[bytes], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function(pieces)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    pieces = reads(upstreamBody())
    assert relayDecode(pieces) == openaiDecode(pieces)
    decode = best(relayDecode, pieces, rounds) / best(openaiDecode, pieces, rounds)
    plain = best(relayCore, pieces, rounds)
    core = plain / best(floor, pieces, rounds)
    healing = best(lambda p: relayCore(p, healed=True), pieces, rounds) / plain
    print("upstream body: {} bytes, {} SSE events".format(
        sum(map(len, pieces)), relayDecode(pieces)))
    print("decode     codex_relay SSEDecoder / openai SDK SSEDecoder: {:.2f}x time".format(decode))
    print("translate  codex_relay core / json floor (loads+dumps per chunk): {:.2f}x time"
          .format(core))
    print("healing    core with <think> and DSML healers / core without: {:.2f}x time"
          .format(healing))


if __name__ == "__main__":
    main()
