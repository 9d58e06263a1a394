"""
llama.cpp recognised by its model list (L{detectProfileFromModels}), and
the profile learned by a routing table only where none was named.
"""

from twisted.trial.unittest import TestCase

from codex_relay._providers.profiles import GENERIC, detectProfileFromModels
from codex_relay._providers.config_file import parseRoutingTable, singleUpstream
from tests.harness.modelsupstream import LLAMACPP, LLAMACPP_MODELS, modelList


class DetectionTests(TestCase):
    """
    L{detectProfileFromModels}: llama.cpp from its model list, nothing else.
    """

    def test_llamacpp(self) -> None:
        self.assertIs(detectProfileFromModels(LLAMACPP_MODELS), LLAMACPP)

    def test_anySignAlone(self) -> None:
        """
        The owner, the GGUF facts under C{meta}, or the C{Server} header is
        enough by itself: older and newer servers differ in the rest.
        """
        owner = {"data": [{"id": "m", "object": "model", "owned_by": "llamacpp"}]}
        meta = {"data": [{"id": "m", "meta": {"n_vocab": 1, "n_ctx_train": 2}}]}
        self.assertIs(detectProfileFromModels(owner), LLAMACPP)
        self.assertIs(detectProfileFromModels(meta), LLAMACPP)
        self.assertIs(detectProfileFromModels(modelList("m"), "llama.cpp"), LLAMACPP)
        self.assertIs(detectProfileFromModels(None, " Llama.cpp "), LLAMACPP)

    def test_others(self) -> None:
        """
        Other servers' lists, and bodies of any other shape, say nothing.
        """
        for answer, server in [
            (modelList("gpt-4o"), None),
            ({"object": "list", "data": [{"id": "m", "owned_by": "vllm", "root": "m",
                                          "max_model_len": 4096}]}, "uvicorn"),
            ({"object": "list", "data": [{"id": "qwen3:8b", "owned_by": "library"}]}, None),
            ({"data": [{"id": "m", "meta": {"n_vocab": 1}}]}, None),
            ({"data": [{"id": "m", "meta": "n_vocab n_ctx_train"}]}, None),
            ({"data": {"owned_by": "llamacpp"}}, None),
            ({"data": ["llamacpp", None, 3]}, None),
            ([{"owned_by": "llamacpp"}], None),
            ("llamacpp", "TwistedWeb/26.10.0"),
            (None, None),
        ]:
            self.assertIsNone(detectProfileFromModels(answer, server), (answer, server))


class LearningTests(TestCase):
    """
    L{RoutingTable.learnProfile}: only a detected generic profile is replaced,
    once.
    """

    def test_detectedGeneric(self) -> None:
        table = singleUpstream("http://127.0.0.1:9999/v1", None)
        [upstream] = table.upstreams.values()
        self.assertIs(table.route("m").profile, GENERIC)
        self.assertTrue(table.learnProfile(upstream, LLAMACPP))
        self.assertEqual(table.route("m").profile.name, "llama.cpp")
        self.assertIs(table.route("m").upstream, upstream)
        self.assertIs(upstream.profile, GENERIC)  # the upstream itself is unchanged
        self.assertFalse(table.mayLearnProfile(upstream))
        self.assertFalse(table.learnProfile(upstream, LLAMACPP))

    def test_named(self) -> None:
        """
        A profile named by C{--profile} or C{profile =} is never replaced,
        not even C{generic}.
        """
        table = singleUpstream("http://127.0.0.1:9999/v1", None, "generic")
        [upstream] = table.upstreams.values()
        self.assertFalse(table.learnProfile(upstream, LLAMACPP))
        table = parseRoutingTable(
            '[upstreams.a]\nbase_url = "http://127.0.0.1:9999/v1"\nprofile = "generic"\n'
            '[upstreams.b]\nbase_url = "http://127.0.0.1:9998/v1"\n', {})
        self.assertFalse(table.learnProfile(table.upstreams["a"], LLAMACPP))
        self.assertTrue(table.learnProfile(table.upstreams["b"], LLAMACPP))
        self.assertEqual(table.profileOf(table.upstreams["a"]).name, "generic")
        self.assertEqual(table.profileOf(table.upstreams["b"]).name, "llama.cpp")

    def test_detectedOther(self) -> None:
        """
        A profile detected as something else than generic stays: on 8080
        llama.cpp is still assumed from the port alone.
        """
        table = singleUpstream("http://127.0.0.1:11434/v1", None)
        [upstream] = table.upstreams.values()
        self.assertFalse(table.learnProfile(upstream, LLAMACPP))
        self.assertEqual(table.route("m").profile.name, "ollama")
        table = singleUpstream("http://127.0.0.1:8080/v1", None)
        self.assertEqual(table.route("m").profile.name, "llama.cpp")

    def test_foreignUpstream(self) -> None:
        """
        Only the table's own upstream objects learn.
        """
        table = singleUpstream("http://127.0.0.1:9999/v1", None)
        other = singleUpstream("http://127.0.0.1:9999/v1", None)
        [upstream] = other.upstreams.values()
        self.assertFalse(table.learnProfile(upstream, LLAMACPP))
        self.assertIs(table.route("m").profile, GENERIC)
