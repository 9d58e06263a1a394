"""
The model list (L{codex_relay._providers.routes}): the names each
upstream's models are listed under, and the merged list of every upstream's
models with a warning for each upstream left out.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.config_file import singleUpstream
from codex_relay._providers.routes import mergeModelLists
from tests.harness.routes import README, TWO, parse


class ListedModelsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.table = parse(README)

    def test_prefixed(self) -> None:
        self.assertEqual(self.table.listedModels("local", ["qwen3:8b", "llama3", "qwen3:8b"]),
                         ["ollama/qwen3:8b", "ollama/llama3"])

    def test_defaultUnchanged(self) -> None:
        """
        The default upstream's ids are listed as they are, except those a
        client could not reach under that name; its exact routes are
        listed even when it does not list them.
        """
        self.assertEqual(
            self.table.listedModels("deepseek", ["deepseek-reasoner", "kimi", "ollama/x"]),
            ["deepseek-reasoner", "deepseek-chat"])
        self.assertEqual(
            self.table.listedModels("deepseek", ["deepseek-reasoner", "deepseek-chat"]),
            ["deepseek-reasoner", "deepseek-chat"])

    def test_aliasAlways(self) -> None:
        self.assertEqual(self.table.listedModels("kimi", ["moonshot-v1", "kimi-k2-thinking"]),
                         ["kimi"])
        self.assertEqual(self.table.listedModels("kimi", []), ["kimi"])

    def test_aliasesInUpstreamOrder(self) -> None:
        table = parse(TWO + """
[[routes]]
model = "alias-y"
upstream = "a"
upstream_model = "y"

[[routes]]
model = "alias-x"
upstream = "a"
upstream_model = "x"

[[routes]]
model = "other-x"
upstream = "a"
upstream_model = "x"

[[routes]]
prefix = "a/"
upstream = "a"

[[routes]]
prefix = "fixed/"
upstream = "a"
upstream_model = "x"

[[routes]]
model = "late"
upstream = "a"
upstream_model = "z"
""")
        self.assertEqual(table.listedModels("a", ["x", "y"]),
                         ["alias-x", "other-x", "a/x", "alias-y", "a/y", "late"])
        self.assertEqual(table.listedModels("b", ["x"]), [])

    def test_nameRoutesBack(self) -> None:
        """
        A name is listed for an id only when it routes to that very model:
        "p/m" is an alias of "z", so it is listed (and dated) with "z".
        """
        table = parse(TWO + """
[[routes]]
prefix = "p/"
upstream = "a"

[[routes]]
model = "p/m"
upstream = "a"
upstream_model = "z"
""")
        self.assertEqual(table.listedModels("a", ["m", "n", "z"]), ["p/n", "p/m", "p/z"])
        merged, _ = mergeModelLists(table, {"a": [
            {"id": "m", "created": 1}, {"id": "n", "created": 2}, {"id": "z", "created": 3}]})
        self.assertEqual([(m["id"], m["created"]) for m in merged],
                         [("p/n", 2), ("p/m", 3), ("p/z", 3)])

    def test_onlyUpstreamWithPrefix(self) -> None:
        table = parse('[upstreams.a]\nbase_url = "https://a"\n'
                      '[[routes]]\nprefix = "a/"\nupstream = "a"\n')
        self.assertEqual(table.listedModels("a", ["m"]), ["m", "a/m"])

    def test_unknownUpstream(self) -> None:
        self.assertRaises(KeyError, self.table.listedModels, "nope", [])


class MergeModelListsTests(SynchronousTestCase):
    def test_merge(self) -> None:
        table = parse(README)
        merged, warnings = mergeModelLists(table, {
            "deepseek": [
                {"id": "deepseek-chat", "object": "model", "created": 1700000000,
                 "owned_by": "deepseek"},
                {"id": "deepseek-reasoner", "object": "model", "owned_by": "deepseek"},
            ],
            "kimi": ConnectionRefusedError("Connection was refused by other side"),
            "local": [
                {"id": "qwen3:8b", "created": 1710000000, "owned_by": "library"},
                {"id": "qwen3:8b", "created": 1, "owned_by": "library"},
                {"id": "llama3", "created": True},
                {"object": "model"},
                "junk",
                {"id": 7},
            ],
            "elsewhere": [{"id": "ignored"}],
        })
        self.assertEqual(merged, [
            {"id": "deepseek-chat", "object": "model", "created": 1700000000,
             "owned_by": "deepseek"},
            {"id": "deepseek-reasoner", "object": "model", "created": 0,
             "owned_by": "deepseek"},
            {"id": "ollama/qwen3:8b", "object": "model", "created": 1710000000,
             "owned_by": "local"},
            {"id": "ollama/llama3", "object": "model", "created": 0, "owned_by": "local"},
        ])
        self.assertEqual(warnings, [
            "upstream 'kimi' left out of the model list: ConnectionRefusedError: "
            "Connection was refused by other side"])

    def test_aliasesOfWorkingUpstream(self) -> None:
        table = parse(README)
        merged, warnings = mergeModelLists(table, {
            "kimi": [{"id": "kimi-k2-thinking", "created": 5}],
            "deepseek": ValueError(),
            "local": {"data": []},
        })
        self.assertEqual(merged, [
            {"id": "kimi", "object": "model", "created": 5, "owned_by": "kimi"}])
        self.assertEqual(warnings, [
            "upstream 'deepseek' left out of the model list: ValueError",
            "upstream 'local' left out of the model list: its model list is a table, "
            "not an array"])

    def test_missingUpstream(self) -> None:
        """
        An upstream with no result lists nothing and warns of nothing.
        """
        merged, warnings = mergeModelLists(parse(README), {})
        self.assertEqual((merged, warnings), ([], []))

    def test_singleUpstream(self) -> None:
        table = singleUpstream("https://openrouter.ai/api/v1", None)
        merged, warnings = mergeModelLists(table, {"default": [
            {"id": "a/b", "created": 3}, {"id": "a/b"}, {"id": "c/d"}]})
        self.assertEqual([(m["id"], m["created"], m["owned_by"]) for m in merged],
                         [("a/b", 3, "default"), ("c/d", 0, "default")])
        self.assertEqual(warnings, [])
