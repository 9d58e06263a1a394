"""
Running the real Codex CLI (pinned: L{CODEX_VERSION}) in tests, offline.

The binary comes from the environment variable C{CODEX_RELAY_CODEX_BIN}
(install it with C{npm install --prefix DIR @openai/codex@VERSION} and
point the variable at C{DIR/node_modules/.bin/codex}).  L{requireCodex}
skips, loudly, when the variable is absent, except under CI
(C{CI=true}), where a missing Codex is a failure.

One L{CodexEnvironment} is a temporary C{CODEX_HOME} (with a
C{config.toml} for a custom provider, see L{configTOML}), a work directory
and a C{TMPDIR}.  L{CodexEnvironment.run} runs
C{codex exec --skip-git-repo-check --ephemeral
--dangerously-bypass-approvals-and-sandbox -C WORK -o ANSWER PROMPT
</dev/null} under a timeout and returns a L{CodexRun}.  It blocks: run it
in a thread (C{deferToThread}) while the test's reactor serves the fakes.

What Codex needs offline (measured, see CODEX.md §2 and §6.4):
C{analytics.enabled = false}, C{features.plugins = false} and
C{features.unbounded_connection_retries = false}; and, as a second guard,
every proxy variable points at the closed port 127.0.0.1:9 with loopback
exempt.  Codex exits 0 with an empty answer when it drops items it cannot
parse, so runs use C{RUST_LOG=codex_api=debug} and
L{CodexRun.parseFailures} finds the parser's complaints.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from tests.harness.missing import missing

CODEX_VERSION = "0.171.0"
BIN_VARIABLE = "CODEX_RELAY_CODEX_BIN"
PROVIDER = "relay"
CLIENT_KEY_VARIABLE = "CODEX_RELAY_TEST_API_KEY"
# What Codex sends the relay as "Authorization: Bearer"; the relay has its
# own upstream key, so this one goes nowhere.  Not a secret.
CLIENT_KEY = "codex-client-key"
CLOSED_PROXY = "http://127.0.0.1:9"
PARSE_FAILURE = "failed to parse"
DEFAULT_TIMEOUT = 45.0

_MISSING = """
******************************************************************************
* Codex end-to-end tests SKIPPED: {variable} is not set.
* Install the pinned Codex and point the variable at it:
*   npm install --prefix DIR @openai/codex@{version}
*   {variable}=DIR/node_modules/.bin/codex python -m twisted.trial tests
* (With CI=true a missing Codex fails these tests instead.)
******************************************************************************
"""


class CodexUnavailable(Exception):
    """The Codex binary is not usable; the message says why."""


_versionChecked: dict[str, str] = {}
_versionLock = threading.Lock()


def codexBinary() -> str | None:
    """The path in C{CODEX_RELAY_CODEX_BIN}, or L{None} when unset or empty."""
    return os.environ.get(BIN_VARIABLE) or None


def checkBinary(path: str) -> None:
    """
    Check that C{path} runs and is the pinned version.

    @raise CodexUnavailable: if not.
    """
    with _versionLock:
        if path in _versionChecked:
            version = _versionChecked[path]
        else:
            try:
                result = subprocess.run(
                    [path, "--version"], stdin=subprocess.DEVNULL, capture_output=True,
                    timeout=30, text=True)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise CodexUnavailable("{}={!r} does not run: {}".format(
                    BIN_VARIABLE, path, error)) from error
            version = result.stdout.strip()
            _versionChecked[path] = version
    if version != "codex-cli " + CODEX_VERSION:
        raise CodexUnavailable(
            "{}={!r} is {!r}; these tests pin codex-cli {} (npm install "
            "@openai/codex@{})".format(BIN_VARIABLE, path, version, CODEX_VERSION,
                                       CODEX_VERSION))


def requireCodex(case: Any) -> str:
    """
    The Codex binary for test C{case}.  Skips the test, with a loud message
    on stderr, when C{CODEX_RELAY_CODEX_BIN} is absent outside CI; fails it
    under CI (C{CI=true}) or when the variable names something that is not
    the pinned Codex.
    """
    path = codexBinary()
    if path is None:
        missing(case, "Codex end-to-end", "{} is not set".format(BIN_VARIABLE),
                _MISSING.format(variable=BIN_VARIABLE, version=CODEX_VERSION),
                "{} is not set: install @openai/codex@{} with npm and point the "
                "variable at its bin/codex".format(BIN_VARIABLE, CODEX_VERSION))
    try:
        checkBinary(path)
    except CodexUnavailable as error:
        case.fail(str(error))
    return path


def bundledModels(binary: str) -> dict:
    """The output of C{codex debug models --bundled}."""
    home = tempfile.mkdtemp(prefix="codex-relay-models-")
    try:
        result = subprocess.run(
            [binary, "debug", "models", "--bundled"], stdin=subprocess.DEVNULL,
            capture_output=True, timeout=30, env=dict(os.environ, CODEX_HOME=home))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if result.returncode != 0:
        raise CodexUnavailable("codex debug models --bundled failed: {}".format(
            result.stderr.decode("utf-8", "replace")))
    return json.loads(result.stdout)


def _tomlValue(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, dict):
        return "{" + ", ".join("{} = {}".format(json.dumps(k), _tomlValue(v))
                               for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_tomlValue(v) for v in value) + "]"
    raise TypeError("no TOML for {!r}".format(value))


def configTOML(
    baseURL: str,
    model: str,
    catalogPath: str | None = None,
    provider: dict[str, object] | None = None,
    top: dict[str, object] | None = None,
    websockets: bool = False,
) -> str:
    """
    A C{config.toml} for Codex talking to C{baseURL} (the relay's C{/v1})
    as the custom provider L{PROVIDER}, with the offline settings.

    @param provider: more keys of the provider table
        (C{stream_max_retries}, C{request_max_retries}, ...).
    @param top: more top-level keys.
    @param websockets: C{supports_websockets}: Responses over WebSocket
        first (CODEX.md §9), else HTTP only.
    """
    lines = [
        "model = {}".format(_tomlValue(model)),
        "model_provider = {}".format(_tomlValue(PROVIDER)),
    ]
    if catalogPath is not None:
        lines.append("model_catalog_json = {}".format(_tomlValue(catalogPath)))
    for key, value in (top or {}).items():
        lines.append("{} = {}".format(key, _tomlValue(value)))
    lines += [
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[features]",
        "plugins = false",
        "unbounded_connection_retries = false",
        "",
        "[model_providers.{}]".format(PROVIDER),
        'name = "codex-relay"',
        "base_url = {}".format(_tomlValue(baseURL)),
        "env_key = {}".format(_tomlValue(CLIENT_KEY_VARIABLE)),
        'wire_api = "responses"',
    ]
    for key, value in {"supports_websockets": websockets, **(provider or {})}.items():
        lines.append("{} = {}".format(key, _tomlValue(value)))
    return "\n".join(lines) + "\n"


@dataclass
class CodexRun:
    """
    The outcome of one C{codex exec}.

    @ivar returncode: the exit status; L{None} if it was killed on timeout.
    @ivar answer: the content of the C{-o} file (the last agent message), or
        L{None} when Codex did not write it.
    """

    args: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    answer: str | None
    elapsed: float
    timedOut: bool = False

    @property
    def parseFailures(self) -> list[str]:
        """
        Codex's debug-log lines about output it could not parse (and so
        silently dropped).
        """
        return [line for line in self.stderr.splitlines() if PARSE_FAILURE in line]

    def describe(self, tail: int = 4000) -> str:
        """
        A summary for assertion messages.
        """
        stderr = self.stderr if len(self.stderr) <= tail else "...\n" + self.stderr[-tail:]
        return ("codex exit status {} after {:.1f}s{}\nanswer: {!r}\nstdout: {!r}\n"
                "stderr:\n{}".format(
                    self.returncode, self.elapsed, " (TIMED OUT, killed)" if self.timedOut
                    else "", self.answer, self.stdout[-2000:], stderr))


def _daemonDirectory() -> str:
    # Codex puts it in the system temp directory whatever TMPDIR says.
    return os.path.join("/tmp", "codex-daemon-{}".format(os.getuid()))


@dataclass
class CodexEnvironment:
    """
    A temporary C{CODEX_HOME}, work directory and C{TMPDIR} for C{codex
    exec} runs against C{baseURL}.  Call L{cleanup} when done.

    @ivar catalog: a model catalog (C{{"models": [...]}}) written next to
        the config and named by C{model_catalog_json}, or L{None}.
    @ivar ephemeral: run with C{--ephemeral}; without it Codex keeps its
        sessions in C{CODEX_HOME}, for C{exec resume}.
    """

    binary: str
    baseURL: str
    model: str = "gpt-5.5"
    catalog: dict | None = None
    provider: dict[str, object] = field(default_factory=dict)
    top: dict[str, object] = field(default_factory=dict)
    extraEnv: dict[str, str] = field(default_factory=dict)
    websockets: bool = False
    ephemeral: bool = True
    root: str = ""

    def __post_init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="codex-relay-e2e-")
        self.home = os.path.join(self.root, "home")
        self.workdir = os.path.join(self.root, "work")
        self.tmpdir = os.path.join(self.root, "tmp")
        for path in (self.home, self.workdir, self.tmpdir):
            os.mkdir(path)
        self._daemonExisted = os.path.exists(_daemonDirectory())
        catalogPath = None
        if self.catalog is not None:
            catalogPath = os.path.join(self.home, "catalog.json")
            with open(catalogPath, "w") as f:
                json.dump(self.catalog, f)
        with open(os.path.join(self.home, "config.toml"), "w") as f:
            f.write(configTOML(self.baseURL, self.model, catalogPath, self.provider, self.top,
                               self.websockets))

    def environ(self) -> dict[str, str]:
        """
        The environment of a Codex run: the test's own, with Codex's home,
        temp directory, debug logging, client key and closed proxies.
        """
        env = {key: value for key, value in os.environ.items()
               if not key.upper().endswith("_PROXY") and not key.startswith("CODEX_")
               and not key.startswith("OPENAI_")}
        env.update({
            "HOME": self.root,
            "CODEX_HOME": self.home,
            "TMPDIR": self.tmpdir,
            "RUST_LOG": "codex_api=debug",
            "NO_COLOR": "1",
            CLIENT_KEY_VARIABLE: CLIENT_KEY,
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        })
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
            env[name] = env[name.lower()] = CLOSED_PROXY
        env.update(self.extraEnv)
        return env

    def run(self, prompt: str, timeout: float = DEFAULT_TIMEOUT,
            extraArgs: tuple[str, ...] = (), resume: bool = False) -> CodexRun:
        """
        Run C{codex exec PROMPT} (C{codex exec resume --last PROMPT} with
        C{resume}) to the end, or kill it (its whole process group) after
        C{timeout} seconds.  Blocking.
        """
        answerPath = os.path.join(self.root, "answer-{}.txt".format(time.monotonic_ns()))
        args = [self.binary, "exec", "--skip-git-repo-check",
                *(("--ephemeral",) if self.ephemeral else ()),
                "--dangerously-bypass-approvals-and-sandbox", "-C", self.workdir,
                "-o", answerPath, *extraArgs, *(("resume", "--last") if resume else ()),
                prompt]
        started = time.monotonic()
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=self.environ(), cwd=self.workdir, start_new_session=True)
        timedOut = False
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timedOut = True
            _killGroup(process.pid)
            stdout, stderr = process.communicate()
        finally:
            # Whatever Codex left running in its session (shell commands).
            _killGroup(process.pid)
        elapsed = time.monotonic() - started
        answer = None
        if os.path.exists(answerPath):
            with open(answerPath, encoding="utf-8") as f:
                answer = f.read()
            os.unlink(answerPath)
        return CodexRun(args, None if timedOut else process.returncode,
                        stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"),
                        answer, elapsed, timedOut)

    def cleanup(self) -> None:
        """
        Remove the temporary directories, and Codex's daemon directory in
        the system temp directory if it was not there before.
        """
        shutil.rmtree(self.root, ignore_errors=True)
        if not self._daemonExisted:
            shutil.rmtree(_daemonDirectory(), ignore_errors=True)


def stopProcess(process: subprocess.Popen) -> None:
    """Stop a child (SIGTERM, then SIGKILL after 10 s) and collect it.  Blocking."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _killGroup(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def trackingFactory(factory: Any) -> Any:
    """
    C{factory} (e.g. a C{Site}) wrapped so that the test can close the
    connections still open once Codex or the relay is gone:
    C{await wrapped.closeAll(reactor)}.  Keeps trial's reactor clean.
    """
    from twisted.internet.task import deferLater
    from twisted.protocols.policies import WrappingFactory

    class TrackingFactory(WrappingFactory):
        async def closeAll(self, reactor: Any) -> None:
            for _ in range(200):
                if not self.protocols:
                    return
                for protocol in list(self.protocols):
                    protocol.transport.loseConnection()
                await deferLater(reactor, 0.01)
            for protocol in list(self.protocols):
                protocol.transport.abortConnection()

    return TrackingFactory(factory)
