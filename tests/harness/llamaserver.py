"""
One llama.cpp server process, both sides of it.  The test side
(L{startServer}) starts C{python -m tests.harness.llamaserver serve ...}
with a GGUF and a chat template, reads the address the child prints (it
binds port 0), waits until C{GET /health} answers 200, and stops it
(terminate, then kill).  The child side (L{serve}) runs xllamacpp's server
until SIGTERM, SIGINT or the end of its standard input, so it never
outlives the test process; a crash or a hang of the C++ code never takes
the test process down.  L{tests.harness.llamacpp} is what tests use.
"""

import argparse
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

READY = "llamacpp-listening "
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


class LlamaUnavailable(Exception):
    """
    The llama.cpp server could not be started; the message says why.
    """


@dataclass
class LlamaServer:
    """
    A running llama.cpp server child process.

    @ivar address: C{http://127.0.0.1:PORT}.
    @ivar logPath: the file the server's own log (its stderr) goes to.
    """

    process: subprocess.Popen
    address: str
    template: str
    logPath: str
    _logDirectory: str = field(repr=False, default="")

    @property
    def baseURL(self) -> str:
        """
        The OpenAI-compatible base URL, ending in C{/v1}.
        """
        return self.address + "/v1"

    def logTail(self, size: int = 4000) -> str:
        return _tail(self.logPath, size)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """
        Terminate the server, kill it if it has not exited after
        C{timeout} seconds, and remove its log.  Blocking; idempotent.
        """
        _stopProcess(self.process, timeout)
        if self._logDirectory:
            shutil.rmtree(self._logDirectory, ignore_errors=True)


def _stopProcess(process: subprocess.Popen, timeout: float) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


def _tail(path: str, size: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", "replace")
    except OSError as error:
        return "(no log: {})".format(error)


def _healthy(address: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(address + "/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False  # 503 while the model loads, or not listening yet


def startServer(
    template: str,
    *,
    model: str,
    alias: str,
    ctx: int = 16384,
    threads: int = 2,
    maxTokens: int = 64,
    timeout: float = START_TIMEOUT,
) -> LlamaServer:
    """
    Start a llama.cpp server for the GGUF file C{model}, named C{alias},
    with the chat template file C{template} on a free loopback port, and return it once C{GET /health} answers 200.
    Blocking: call it in a thread from a test.

    Its defaults, for requests that do not say: temperature 0 and
    C{maxTokens} tokens per answer, so a client that sets neither (Codex)
    still gets a short, repeatable answer.  The context, C{ctx} tokens,
    holds Codex's own prompt (about 8,700 tokens in full).  Prompt caching
    is off, so an answer does not depend on what earlier tests asked the
    shared server.

    @raise LlamaUnavailable: if it exits or is not healthy within
        C{timeout} seconds, with the end of its log.
    """
    logDirectory = tempfile.mkdtemp(prefix="codex-relay-llamacpp-")
    logPath = os.path.join(logDirectory, "server.log")
    args = [sys.executable, "-m", "tests.harness.llamaserver", "serve", "--model", model,
            "--template", template, "--alias", alias, "--ctx", str(ctx),
            "--threads", str(threads), "--max-tokens", str(maxTokens)]
    with open(logPath, "wb") as log:
        process = subprocess.Popen(
            args, cwd=_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                [_ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p])))
    deadline = time.monotonic() + timeout
    try:
        address = _readAddress(process, deadline)
        while not _healthy(address):
            if process.poll() is not None:
                raise LlamaUnavailable("exited with status {}".format(process.returncode))
            if time.monotonic() > deadline:
                raise LlamaUnavailable("GET /health did not answer 200")
            time.sleep(0.05)
    except BaseException as error:
        _stopProcess(process, STOP_TIMEOUT)
        message = "llama.cpp server ({}) did not start within {:g}s: {}\n{}".format(
            os.path.basename(template), timeout, error, _tail(logPath, 4000))
        shutil.rmtree(logDirectory, ignore_errors=True)
        if isinstance(error, LlamaUnavailable):
            raise LlamaUnavailable(message) from None
        raise
    return LlamaServer(process, address, template, logPath, logDirectory)


def _readAddress(process: subprocess.Popen, deadline: float) -> str:
    """
    The address in the child's L{READY} line on its stdout.
    """
    assert process.stdout is not None
    fd = process.stdout.fileno()
    received = b""
    while True:
        lines = received.split(b"\n")
        for line in lines[:-1]:
            text = line.decode("utf-8", "replace")
            if text.startswith(READY):
                return text[len(READY):].strip()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LlamaUnavailable("it printed no address")
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if ready:
            data = os.read(fd, 4096)
            if not data:
                process.wait()
                raise LlamaUnavailable("exited with status {} before listening".format(
                    process.returncode))
            received += data


def serve(argv: list[str]) -> None:
    """
    The child process: run llama.cpp's server until SIGTERM, SIGINT or the
    end of standard input.  Prints L{READY} and the address once listening.
    """
    parser = argparse.ArgumentParser(prog="python -m tests.harness.llamaserver serve")
    parser.add_argument("--model", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--ctx", type=int, default=16384)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    options = parser.parse_args(argv)

    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())

    def watchStdin() -> None:
        # EOF: the test process is gone (or closed the pipe), so go too.
        while os.read(0, 4096):
            pass
        stop.set()

    threading.Thread(target=watchStdin, daemon=True).start()

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = options.model
    params.model_alias = {options.alias}
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the server binds a free port; listening_address tells which
    params.n_ctx = options.ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = options.threads
    params.cpuparams_batch.n_threads = options.threads
    # Sleep rather than spin between work: on a busy two-core machine
    # spinning threads slow everything down, this server included.
    params.cpuparams.poll = 0
    params.cpuparams_batch.poll = 0
    params.n_predict = options.max_tokens
    params.sampling.temp = 0.0
    params.sampling.seed = 1
    params.cache_prompt = False
    params.use_jinja = True
    params.ui = False
    with open(options.template, encoding="utf-8") as f:
        params.chat_template = f.read()

    server = xllamacpp.Server(params)  # loads the model, then listens
    sys.stdout.write("{}{}\n".format(READY, server.listening_address))
    sys.stdout.flush()
    os.dup2(2, 1)  # nothing else goes to the pipe nobody reads any more
    stop.wait()
    del server
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2:])
    else:
        sys.exit("usage: python -m tests.harness.llamaserver serve --model GGUF --template JINJA ...")
