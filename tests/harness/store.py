"""
What every response store must do (L{StoreContract}, a mixin for one test
case per backend), records to store (L{record}), and a real C{redis-server}
for the Redis backend's tests (L{startRedis}).

    class MemoryContractTests(StoreContract, TestCase):
        async def makeStore(self) -> ResponseStore:
            return MemoryStore(self.clock)

Times are on C{self.clock}, a L{Clock} at 0 when each test starts.

L{startRedis} skips a test, loudly, when C{redis-server} is not on the
PATH, except under CI (C{CI=true}), where that is a failure: the same
policy as L{tests.harness.codex.requireCodex}.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock, deferLater

from codex_relay._core.stored import StoredResponse
from codex_relay._store.interface import ResponseStore
from tests.harness.missing import missing

if TYPE_CHECKING:
    from twisted.trial.unittest import TestCase as _Base
else:
    _Base = object

OWNER = "owner-a"
OTHER = "owner-b"
TTL = 100.0


def record(responseId: str, owner: str = OWNER, createdAt: float = 0.0, ttl: float = TTL,
           input: list[dict[str, Any]] | None = None,
           output: list[dict[str, Any]] | None = None,
           previous: str | None = None) -> StoredResponse:
    """
    A stored response: by default one input message without an id, one
    output message C{msg_<responseId>}.
    """
    if input is None:
        input = [{"type": "message", "role": "user", "content": "hi ü"}]
    if output is None:
        output = [message("msg_" + responseId, "hello " + responseId)]
    response = {"id": responseId, "object": "response", "status": "completed",
                "output": output}
    return StoredResponse(responseId, owner, response, input, previous, createdAt,
                          createdAt + ttl)


def message(itemId: str, text: str, role: str = "assistant") -> dict[str, Any]:
    return {"type": "message", "id": itemId, "role": role,
            "content": [{"type": "output_text", "text": text}]}


class StoreContract(_Base):
    """
    The contract of L{ResponseStore}, for a store from L{makeStore}: opened
    before each test, closed after it.
    """

    clock: Clock
    store: ResponseStore

    async def makeStore(self) -> ResponseStore:
        """
        A new, empty store on C{self.clock}, not yet open.
        """
        raise NotImplementedError()

    def setUp(self) -> Any:
        self.clock = Clock()

        async def opened() -> None:
            self.store = await self.makeStore()
            await self.store.open()
            self.addCleanup(self.store.close)

        return ensureDeferred(opened())

    async def test_roundtrip(self) -> None:
        kept = record("resp_1", input=[{"type": "message", "role": "user",
                                        "content": "√ 𝄞 \u2028"}], previous="resp_0")
        await self.store.put(kept)
        self.assertEqual(await self.store.get(OWNER, "resp_1"), kept)

    async def test_unknown(self) -> None:
        await self.store.put(record("resp_1"))
        self.assertIsNone(await self.store.get(OWNER, "resp_2"))

    async def test_anotherOwner(self) -> None:
        await self.store.put(record("resp_1"))
        self.assertIsNone(await self.store.get(OTHER, "resp_1"))
        self.assertFalse(await self.store.delete(OTHER, "resp_1"))
        self.assertIsNotNone(await self.store.get(OWNER, "resp_1"))

    async def test_sameIdTwoOwners(self) -> None:
        mine, theirs = record("resp_1"), record("resp_1", owner=OTHER, createdAt=1.0)
        await self.store.put(mine)
        await self.store.put(theirs)
        self.assertEqual(await self.store.get(OWNER, "resp_1"), mine)
        self.assertEqual(await self.store.get(OTHER, "resp_1"), theirs)

    async def test_delete(self) -> None:
        await self.store.put(record("resp_1"))
        self.assertTrue(await self.store.delete(OWNER, "resp_1"))
        self.assertIsNone(await self.store.get(OWNER, "resp_1"))
        self.assertEqual(await self.store.items(OWNER, ["msg_resp_1"]), {})
        self.assertFalse(await self.store.delete(OWNER, "resp_1"))

    async def test_deleteUnknown(self) -> None:
        self.assertFalse(await self.store.delete(OWNER, "resp_9"))

    async def test_itemsFromOutput(self) -> None:
        await self.store.put(record("resp_1"))
        await self.store.put(record("resp_2"))
        self.assertEqual(
            await self.store.items(OWNER, ["msg_resp_1", "msg_resp_2", "msg_unknown"]),
            {"msg_resp_1": message("msg_resp_1", "hello resp_1"),
             "msg_resp_2": message("msg_resp_2", "hello resp_2")})

    async def test_itemsFromInput(self) -> None:
        call = {"type": "function_call_output", "id": "fco_1", "call_id": "c1",
                "output": "42"}
        await self.store.put(record("resp_1", input=[
            {"type": "message", "role": "user", "content": "no id"}, call]))
        self.assertEqual(await self.store.items(OWNER, ["fco_1"]), {"fco_1": call})

    async def test_itemsNone(self) -> None:
        await self.store.put(record("resp_1"))
        self.assertEqual(await self.store.items(OWNER, []), {})

    async def test_itemsAnotherOwner(self) -> None:
        await self.store.put(record("resp_1"))
        self.assertEqual(await self.store.items(OTHER, ["msg_resp_1"]), {})

    async def test_itemLatest(self) -> None:
        """
        An item in two responses is found (in the latest).
        """
        shared = message("msg_shared", "same")
        await self.store.put(record("resp_1", output=[shared]))
        await self.store.put(record("resp_2", createdAt=1.0, input=[shared]))
        self.assertEqual(await self.store.items(OWNER, ["msg_shared"]),
                         {"msg_shared": shared})

    async def test_itemInOlderAfterDelete(self) -> None:
        """
        Deleting the latest response holding an item leaves it found in an
        older one: a reference to it still resolves.
        """
        shared = message("msg_shared", "same")
        await self.store.put(record("resp_1", output=[shared]))
        await self.store.put(record("resp_2", createdAt=1.0, input=[shared]))
        self.assertTrue(await self.store.delete(OWNER, "resp_2"))
        self.assertEqual(await self.store.items(OWNER, ["msg_shared"]),
                         {"msg_shared": shared})
        self.assertTrue(await self.store.delete(OWNER, "resp_1"))
        self.assertEqual(await self.store.items(OWNER, ["msg_shared"]), {})

    async def test_itemInOlderAfterExpiry(self) -> None:
        """
        Or when the latest expired first (its retention was shorter).
        """
        shared = message("msg_shared", "same")
        await self.store.put(record("resp_1", output=[shared]))
        await self.store.put(record("resp_2", createdAt=1.0, ttl=10.0, input=[shared]))
        self.clock.advance(20)
        self.assertEqual(await self.store.items(OWNER, ["msg_shared"]),
                         {"msg_shared": shared})

    async def test_itemLatestVersion(self) -> None:
        """
        Two responses holding different items under one id: the latest's
        is found.
        """
        await self.store.put(record("resp_1", output=[message("msg_x", "old")]))
        await self.store.put(record("resp_2", createdAt=1.0, output=[message("msg_x", "new")]))
        self.assertEqual(await self.store.items(OWNER, ["msg_x", "msg_x"]),
                         {"msg_x": message("msg_x", "new")})

    async def test_surrogateIds(self) -> None:
        """
        An id that is not valid UTF-8 (a lone surrogate, from a JSON escape)
        is an id like any other.
        """
        item = {"type": "message", "id": "msg_\ud800", "role": "user", "content": "x"}
        await self.store.put(record("resp_\udfff", input=[item]))
        self.assertEqual(await self.store.items(OWNER, ["msg_\ud800", "msg_\\ud800"]),
                         {"msg_\ud800": item})
        self.assertIsNotNone(await self.store.get(OWNER, "resp_\udfff"))
        self.assertIsNone(await self.store.get(OWNER, "resp_\ud800"))
        self.assertTrue(await self.store.delete(OWNER, "resp_\udfff"))

    async def test_expiry(self) -> None:
        await self.store.put(record("resp_1"))
        self.clock.advance(TTL - 1)
        self.assertIsNotNone(await self.store.get(OWNER, "resp_1"))
        self.clock.advance(2)
        self.assertIsNone(await self.store.get(OWNER, "resp_1"))
        self.assertEqual(await self.store.items(OWNER, ["msg_resp_1"]), {})

    async def test_expiryOfOneOnly(self) -> None:
        await self.store.put(record("resp_1"))
        await self.store.put(record("resp_2", createdAt=50.0))
        self.clock.advance(TTL + 1)
        self.assertIsNone(await self.store.get(OWNER, "resp_1"))
        self.assertIsNotNone(await self.store.get(OWNER, "resp_2"))
        self.assertEqual(list(await self.store.items(OWNER, ["msg_resp_1", "msg_resp_2"])),
                         ["msg_resp_2"])

    async def test_replace(self) -> None:
        await self.store.put(record("resp_1"))
        again = record("resp_1", createdAt=1.0, output=[message("msg_new", "again")])
        await self.store.put(again)
        self.assertEqual(await self.store.get(OWNER, "resp_1"), again)
        self.assertEqual(await self.store.items(OWNER, ["msg_resp_1", "msg_new"]),
                         {"msg_new": message("msg_new", "again")})

    async def test_nameAndShared(self) -> None:
        self.assertIsInstance(self.store.name, str)
        self.assertIsInstance(self.store.shared, bool)


# -- A real redis-server ---------------------------------------------------------

REDIS_SERVER = "redis-server"
START_TIMEOUT = 10.0

_MISSING = """
******************************************************************************
* Redis store tests SKIPPED: {binary} is not on the PATH.
* Install Redis (e.g. apt-get install redis-server); the tests start their own
* server on a free loopback port and stop it afterwards.
* (With CI=true a missing redis-server fails these tests instead.)
******************************************************************************
"""



@dataclass
class RedisServer:
    host: str
    port: int
    password: str | None
    process: subprocess.Popen[bytes]
    directory: str

    def log(self) -> str:
        with open(os.path.join(self.directory, "redis.log"), errors="replace") as f:
            return f.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def requireRedis(case: Any) -> str:
    """
    The path of C{redis-server}, or skip C{case} (loudly), or fail it under
    CI.
    """
    binary = shutil.which(REDIS_SERVER)
    if binary is not None:
        return binary
    missing(case, "Redis store", "{} is not on the PATH".format(REDIS_SERVER),
            _MISSING.format(binary=REDIS_SERVER),
            "{} is not on the PATH: install Redis".format(REDIS_SERVER))


def freePort() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pong(port: int, password: str | None) -> bool:
    """
    Whether a server on C{port} answers PING (after AUTH), at once.
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            if password is not None:
                s.sendall("AUTH {}\r\n".format(password).encode())
                s.recv(64)
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


async def startRedis(case: Any, password: str | None = None) -> RedisServer:
    """
    A new C{redis-server} on a free loopback port, answering PING, with no
    persistence, in a temporary directory; stopped when C{case} is cleaned
    up.
    """
    binary = requireRedis(case)
    for attempt in range(3):
        directory = tempfile.mkdtemp(prefix="codex-relay-redis-")
        port = freePort()
        arguments = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", directory, "--daemonize", "no",
                     "--logfile", os.path.join(directory, "redis.log")]
        if password is not None:
            arguments += ["--requirepass", password]
        process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = RedisServer("127.0.0.1", port, password, process, directory)
        deadline = time.monotonic() + START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            if _pong(port, password):
                case.addCleanup(server.stop)
                return server
            await deferLater(reactor, 0.02, lambda: None)
        hung = process.poll() is None
        log = server.log() if os.path.exists(os.path.join(directory, "redis.log")) else ""
        server.stop()
        # One that exited may have lost its port to another process: again.
        if hung or attempt == 2:
            case.fail("redis-server did not answer PING on port {}:\n{}".format(port, log))
    raise AssertionError("unreachable")
