"""
C{start()}: run the relay as a child process from Python code.
"""

from typing import IO, Any
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import deque

from codex_relay._run.cli import READY
from codex_relay._web.config import DEFAULT_PORT


class RelayStartError(RuntimeError):
    """
    The relay process exited, or did not listen in time; the message holds
    what it printed.
    """


def _reader(stream: IO[bytes], lines: "queue.Queue[str | None]", tail: deque[Any]) -> None:
    # Keeps draining after start-up, so a chatty relay never blocks on a full pipe.
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        tail.append(line)
        lines.put(line)
    lines.put(None)


def _listening(line: str) -> str | None:
    """
    The address in the relay's line saying it listens: a plain line, or the
    C{log_text} of a JSON one (C{--log-format json}); L{None} for others.
    """
    if line.startswith("{"):
        try:
            text = json.loads(line).get("log_text")
        except (ValueError, AttributeError):
            return None
        line = text if isinstance(text, str) else ""
    return line[len(READY):] if line.startswith(READY) else None


def start(
    port: int = DEFAULT_PORT,
    upstream: str | None = None,
    api_key: str | None = None,
    *,
    bind: str = "127.0.0.1",
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
    **more: object,
) -> "subprocess.Popen[bytes]":
    """
    Start the relay in a child process and return it once it accepts
    connections.  C{port=0} picks a free port.  Further keyword arguments are
    the command's options (C{idle_timeout=60}, C{length_as_completed=True}).

    The returned L{subprocess.Popen} also has C{port} and C{base_url}.

    @raise RelayStartError: if the relay fails to start, with its message.
    """
    args = [sys.executable, "-m", "codex_relay", "--port", str(port), "--bind", bind]
    if upstream is not None:
        args += ["--upstream", upstream]
    for name, value in more.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value not in (None, False):
            args += [flag, str(value)]
    childEnv = dict(os.environ if env is None else env)
    if api_key is not None:
        childEnv["CODEX_RELAY_API_KEY"] = api_key  # not argv: other users can read that
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=childEnv)
    lines: "queue.Queue[str | None]" = queue.Queue()
    tail: deque[Any] = deque(maxlen=50)
    threading.Thread(target=_reader, args=(process.stderr, lines, tail),
                     daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            process.kill()
            process.wait()
            raise RelayStartError("codex-relay did not listen within {:g}s:\n{}".format(
                timeout, "\n".join(tail)))
        if line is None:
            process.wait()
            raise RelayStartError("codex-relay exited with status {}:\n{}".format(
                process.returncode, "\n".join(tail)))
        address = _listening(line)
        if address is not None:
            host, _, listened = address.rpartition(":")
            process.port = int(listened)  # type: ignore[attr-defined]
            process.base_url = "http://{}:{}/v1".format(host, listened)  # type: ignore[attr-defined]
            return process
