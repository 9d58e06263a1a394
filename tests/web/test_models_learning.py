"""
A llama.cpp server recognised on any port by its model list, on real
sockets: the relay learns its profile from a client's C{GET /v1/models} or
at start, never where a profile was named; and the real llama.cpp server.
"""

from twisted.internet import reactor

from codex_relay import RelayConfig, RelayService, TranslationSettings
from tests.harness.llamacpp import MODEL_ALIAS, TOOLS_TEMPLATE, serverFor
from tests.harness.modelsupstream import LLAMACPP_MODELS, ModelsCase, answering, deferLater


class ModelsLearningTests(ModelsCase):
    """
    A relay in front of scripted upstreams, on loopback, that learns
    llama.cpp's profile from the model list.
    """

    timeout = 30

    async def test_llamacppLearned(self) -> None:
        """
        A llama.cpp model list on a port that is not 8080 gives the upstream
        llama.cpp's profile (inline reasoning is split off), logged once.
        """
        upstream = answering(LLAMACPP_MODELS)
        await self.relay({"only": upstream})
        before = await self.ask()
        self.assertEqual([item["type"] for item in before["output"]], ["message"])
        await self.models()
        await self.models()
        after = await self.ask()
        self.assertEqual([item["type"] for item in after["output"]], ["reasoning", "message"])
        self.assertEqual(after["output"][1]["content"][0]["text"], "Four.")
        [note] = self.logged("info")
        self.assertIn("is llama.cpp by its model list", note)

    async def test_llamacppLearnedAtStart(self) -> None:
        """
        With C{learnProfiles}, the service asks at start, so the first
        request already has the profile.
        """
        learned = answering(LLAMACPP_MODELS)
        await self.relay({"learned": learned}, learnProfiles=True)
        while not self.logged("info"):
            await deferLater(0.01)
        response = await self.ask()
        self.assertEqual([item["type"] for item in response["output"]],
                         ["reasoning", "message"])
        self.assertEqual([(r.method, r.path) for r in learned.requests],
                         [("GET", "/v1/models"), ("POST", "/v1/chat/completions")])

    async def test_namedNotLearned(self) -> None:
        """
        A profile named in the routing file is kept, even C{generic}, and
        the service does not ask that upstream at start.
        """
        named = answering(LLAMACPP_MODELS)
        await self.relay({"named": named, "other": answering()},
                         extra='profile = "generic"', learnProfiles=True)
        code, body, _ = await self.models()
        self.assertEqual(code, 200, body)
        response = await self.ask()
        self.assertEqual([item["type"] for item in response["output"]], ["message"])
        # Only the client's GET, none at start.
        self.assertEqual([r.method for r in named.requests], ["GET", "POST"])
        self.assertEqual(self.logged("info"), [])

    async def test_learningFailsQuietly(self) -> None:
        """
        An upstream that is down at start is noted at debug level only.
        """
        config = RelayConfig(upstream="http://127.0.0.1:1/v1",
                             translation=TranslationSettings(secret=b"m"))
        service = RelayService(config, reactor, learnProfiles=True)
        service.startService()
        self.addCleanup(service.stopService)
        while not self.logged("debug"):
            await deferLater(0.01)
        [note] = self.logged("debug")
        self.assertIn("no model list from upstream 'default'", note)


class RealLlamaCppTests(ModelsCase):
    """
    The real llama.cpp server (L{tests.harness.llamacpp}) on its own port, not 8080.
    """

    timeout = 120

    async def test_recognised(self) -> None:
        """
        The service recognises it at start from its model list.
        """
        server = await serverFor(self, TOOLS_TEMPLATE)
        await self.serve(RelayConfig(upstream=server.baseURL,
                                     translation=TranslationSettings(secret=b"m")), True)
        while not self.logged("info"):
            await deferLater(0.01)
        [note] = self.logged("info")
        self.assertIn("is llama.cpp by its model list", note)
        code, body, _ = await self.models()
        self.assertEqual(code, 200, body)
        self.assertEqual([m["id"] for m in body["data"]], [MODEL_ALIAS])
