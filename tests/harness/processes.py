"""
Relay child processes for the tests: a clean environment, a free port, a
child whose output goes to files, and stopping or reaping it.
"""

import os
import socket
import subprocess
import sys

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

BIN = os.path.dirname(sys.executable)
STARTUP = 15.0
EXIT = 10.0


def freePort() -> int:
    """
    A TCP port on 127.0.0.1 that was free a moment ago.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cleanEnvironment(**variables: str) -> dict[str, str]:
    """
    This process's environment without any C{CODEX_RELAY_*} variable, plus
    C{variables}.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_RELAY_")}
    env.update(variables)
    return env


class Child:
    """
    A child process whose stdout and stderr go to files.
    """

    def __init__(self, case: TestCase, args: list[str], env: dict[str, str],
                 cwd: str | None = None) -> None:
        base = case.mktemp()
        self._stdout, self._stderr = base + ".stdout", base + ".stderr"
        with open(self._stdout, "wb") as out, open(self._stderr, "wb") as err:
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=err, env=env, cwd=cwd)
        case.addCleanup(reap, self.process)

    def stdout(self) -> str:
        with open(self._stdout, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stderr(self) -> str:
        with open(self._stderr, encoding="utf-8", errors="replace") as f:
            return f.read()

    def output(self) -> str:
        return "--- stdout:\n{}--- stderr:\n{}".format(self.stdout(), self.stderr())


async def reap(process: subprocess.Popen) -> None:
    """
    Kill C{process} if it still runs, and collect it.
    """
    if process.poll() is None:
        process.kill()
    await deferToThread(process.wait, EXIT)


async def terminate(process: subprocess.Popen) -> int:
    """
    Ask C{process} to stop (SIGTERM) and wait for its exit status.
    """
    process.terminate()
    return await deferToThread(process.wait, EXIT)
