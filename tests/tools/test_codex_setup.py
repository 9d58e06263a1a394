"""
The Codex setup commands (print-config, model-catalog), the catalog builder,
and the transport details Codex depends on.
"""

import json
import os
import subprocess
import sys
import tempfile
import tomllib

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SynchronousTestCase, TestCase

from codex_relay._tools.catalog import UnknownTemplate, buildCatalog
from codex_relay._run.cli import relayBaseURL
from codex_relay._tools.codex_setup import configSnippet
from tests.harness.sockets import serveUpstream
from tests.harness.upstream import ScriptedUpstream

TEMPLATE = {
    "slug": "gpt-5.5", "display_name": "GPT-5.5", "apply_patch_tool_type": "freeform",
    "shell_type": "unified_exec", "additional_speed_tiers": ["fast"],
    "service_tiers": [{"id": "priority"}], "supports_search_tool": True,
    "context_window": 272000, "max_context_window": 272000,
    "upgrade": {"model": "gpt-6-sol"}, "visibility": "list",
}
BUNDLED = {"models": [TEMPLATE, dict(TEMPLATE, slug="codex-auto-review")]}


class CatalogTests(SynchronousTestCase):
    def test_entryInheritsToolProtocol(self) -> None:
        catalog = buildCatalog(BUNDLED, ["deepseek-chat"], contextWindow=128000)
        entry = catalog["models"][0]
        self.assertEqual(entry["slug"], "deepseek-chat")
        self.assertEqual(entry["apply_patch_tool_type"], "freeform")
        self.assertEqual(entry["shell_type"], "unified_exec")
        self.assertEqual(entry["context_window"], 128000)
        self.assertEqual(entry["max_context_window"], 128000)
        self.assertEqual(entry["additional_speed_tiers"], [])
        self.assertEqual(entry["service_tiers"], [])
        self.assertFalse(entry["supports_search_tool"])
        self.assertIsNone(entry["upgrade"])
        # The bundled entries stay, untouched.
        self.assertEqual([m["slug"] for m in catalog["models"]],
                         ["deepseek-chat", "gpt-5.5", "codex-auto-review"])
        self.assertEqual(catalog["models"][1], TEMPLATE)

    def test_unknownTemplateListsKnown(self) -> None:
        error = self.assertRaises(UnknownTemplate, buildCatalog, BUNDLED, ["m"], "gpt-9")
        self.assertIn("gpt-5.5, codex-auto-review", str(error))


class ConfigSnippetTests(SynchronousTestCase):
    def test_pointsAtTheRelay(self) -> None:
        config = tomllib.loads(configSnippet("http://127.0.0.1:4444/v1", "deepseek-chat",
                                             "/home/u/models.json"))
        self.assertEqual(config["model"], "deepseek-chat")
        self.assertEqual(config["model_catalog_json"], "/home/u/models.json")
        provider = config["model_providers"][config["model_provider"]]
        self.assertEqual(provider["base_url"], "http://127.0.0.1:4444/v1")
        self.assertEqual(provider["wire_api"], "responses")
        self.assertTrue(provider["env_key"])
        self.assertTrue(provider["supports_websockets"])
        off = tomllib.loads(configSnippet("http://127.0.0.1:4444/v1", "m", websocket=False))
        self.assertFalse(off["model_providers"][off["model_provider"]]["supports_websockets"])

    def test_baseURL(self) -> None:
        self.assertEqual(relayBaseURL(["unix:/x", "tcp:5555:interface=0.0.0.0"]),
                         "http://127.0.0.1:5555/v1")
        self.assertEqual(relayBaseURL(["tcp:80:interface=\\:\\:1"]), "http://[::1]:80/v1")
        self.assertEqual(relayBaseURL(["tcp:81"]), "http://127.0.0.1:81/v1")


def runCommand(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codex_relay", *args], capture_output=True,
                          text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)


def fakeCodex(directory: str) -> str:
    """
    A stand-in codex whose `debug models --bundled` prints L{BUNDLED}.
    """
    path = os.path.join(directory, "codex")
    with open(path, "w") as script:
        script.write("#!{}\nimport json, sys\nassert sys.argv[1:] == "
                     "['debug', 'models', '--bundled']\nprint(json.dumps({!r}))\n".format(
                         sys.executable, BUNDLED))
    os.chmod(path, 0o755)
    return path


class SetupCommandTests(TestCase):
    async def serve(self) -> str:
        upstream = ScriptedUpstream(models={"object": "list", "data": [
            {"id": "deepseek-chat", "object": "model", "created": 0, "owned_by": "x"},
            {"id": "deepseek-reasoner", "object": "model", "created": 0, "owned_by": "x"}]})
        return await serveUpstream(self, upstream)

    async def test_printConfigWithCatalog(self) -> None:
        upstream = await self.serve()
        directory = tempfile.mkdtemp()
        catalog = os.path.join(directory, "models.json")
        result = await deferToThread(
            runCommand, "--upstream", upstream, "--port", "4545", "print-config",
            "--catalog", catalog, "--codex", fakeCodex(directory), "--context-window", "65536")
        self.assertEqual(result.returncode, 0, result.stderr)
        config = tomllib.loads(result.stdout)
        self.assertEqual(config["model"], "deepseek-chat")
        self.assertEqual(config["model_catalog_json"], catalog)
        self.assertEqual(config["model_providers"]["codex-relay"]["base_url"],
                         "http://127.0.0.1:4545/v1")
        with open(catalog) as written:
            models = json.load(written)["models"]
        self.assertEqual([m["slug"] for m in models[:2]], ["deepseek-chat", "deepseek-reasoner"])
        self.assertEqual(models[0]["context_window"], 65536)

    async def test_catalogFailures(self) -> None:
        upstream = await self.serve()
        directory = tempfile.mkdtemp()
        env = dict(os.environ, PATH=directory)  # no codex anywhere
        missing = await deferToThread(runCommand, "--upstream", upstream, "model-catalog",
                                      "--out", os.path.join(directory, "c.json"), env=env)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("Codex is not installed", missing.stderr)
        unknown = await deferToThread(
            runCommand, "--upstream", upstream, "model-catalog", "--template", "gpt-9",
            "--codex", fakeCodex(directory), "--out", os.path.join(directory, "c.json"))
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("unknown template 'gpt-9'", unknown.stderr)
        self.assertIn("gpt-5.5", unknown.stderr)

    async def test_catalogUsesProfileContextWindow(self) -> None:
        """
        Without --context-window, each entry takes the context window of the
        profile its route leads to.
        """
        upstream = await self.serve()
        directory = tempfile.mkdtemp()
        out = os.path.join(directory, "models.json")
        result = await deferToThread(
            runCommand, "--upstream", upstream, "--profile", "deepseek", "model-catalog",
            "--out", out, "--codex", fakeCodex(directory))
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out) as written:
            models = json.load(written)["models"]
        self.assertEqual([(m["slug"], m["context_window"]) for m in models[:2]],
                         [("deepseek-chat", 128000), ("deepseek-reasoner", 128000)])
