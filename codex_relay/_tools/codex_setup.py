"""
Codex setup commands: C{print-config} prints a working C{config.toml}
snippet, and C{model-catalog} writes a Codex model catalog for the
upstream's models.
"""

import json
import shutil
import subprocess
import sys
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python import usage


from codex_relay._tools.catalog import DEFAULT_TEMPLATE, UnknownTemplate, buildCatalog
from codex_relay._web.config import RelayConfig
from codex_relay._web.reactor import IRelayReactor
from codex_relay._providers.routes import Upstream
from codex_relay._web.upstream import UpstreamClient

PROVIDER = "codex-relay"
# The variable the relay reads its own key from: one export serves both.
KEY_VARIABLE = "CODEX_RELAY_API_KEY"


class SetupError(Exception):
    """
    A setup command cannot go on; the message says why and what to do.
    """


def _tomlString(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def configSnippet(baseURL: str, model: str, catalogPath: str | None = None,
                  websocket: bool = True) -> str:
    """
    The C{config.toml} lines that point Codex at the relay at C{baseURL}.
    """
    lines = [
        "# Codex through codex-relay: paste into ~/.codex/config.toml",
        "model = {}".format(_tomlString(model)),
        "model_provider = {}".format(_tomlString(PROVIDER)),
    ]
    if catalogPath is not None:
        lines.append("model_catalog_json = {}".format(_tomlString(catalogPath)))
    lines += [
        "",
        "[model_providers.{}]".format(PROVIDER),
        'name = "codex-relay"',
        "base_url = {}".format(_tomlString(baseURL)),
        'wire_api = "responses"',
        "# Codex sends this key to the relay; the relay forwards it upstream only",
        "# when it runs without a key of its own.",
        "env_key = {}".format(_tomlString(KEY_VARIABLE)),
    ]
    if websocket:
        lines += ["# Responses over WebSocket: each turn sends only what is new.",
                  "supports_websockets = true"]
    else:
        lines += ["# The relay runs with --websocket off: HTTP streaming only.",
                  "supports_websockets = false"]
    return "\n".join(lines) + "\n"


async def upstreamModels(reactor: IRelayReactor, config: RelayConfig) -> list[str]:
    """
    The model names a client should use, from every upstream's list.
    """
    table = config.routingTable()
    client = UpstreamClient.fromConfig(reactor, config)
    names: list[str] = []
    try:
        for upstream in table.upstreams.values():
            names += table.listedModels(upstream.name, await _listModels(client, upstream))
    finally:
        closing = client.close()
        if closing is not None:
            await closing
    if not names:
        raise SetupError("the upstream lists no models; name one with --model")
    return names


async def _listModels(client: UpstreamClient, upstream: Upstream) -> list[str]:
    where = upstream.baseURL + "/models"
    try:
        response = await client.getModels(upstream, None)
        body = await client.content(response)
    except Exception as error:
        raise SetupError("could not reach {}: {}".format(where, error)) from error
    if response.code >= 400:
        raise SetupError("{} answered HTTP {}: {}".format(
            where, response.code, body[:300].decode("utf-8", "replace")))
    try:
        return [m["id"] for m in json.loads(body)["data"]]
    except (ValueError, KeyError, TypeError) as error:
        raise SetupError("{} did not return a model list".format(where)) from error


def bundledCatalog(codex: str | None) -> dict[str, Any]:
    """
    Codex's own catalog, from C{codex debug models --bundled}.
    """
    binary = codex or shutil.which("codex")
    if binary is None:
        raise SetupError("Codex is not installed (no `codex` on PATH); install it with "
                         "`npm install -g @openai/codex` or pass --codex PATH")
    try:
        result = subprocess.run([binary, "debug", "models", "--bundled"], capture_output=True,
                                timeout=60, stdin=subprocess.DEVNULL)
    except OSError as error:
        raise SetupError("could not run {}: {}".format(binary, error)) from error
    if result.returncode != 0:
        raise SetupError("`{} debug models --bundled` failed: {}".format(
            binary, result.stderr.decode("utf-8", "replace").strip()))
    catalog: dict[str, Any] = json.loads(result.stdout)
    return catalog


def writeCatalog(path: str, codex: str | None, models: list[str], template: str,
                 contextWindow: int | None, config: RelayConfig) -> None:
    """
    Write a catalog for C{models}: each gets C{contextWindow}, or else the
    context window of the profile its route leads to.
    """
    table = config.routingTable()
    windows = {}
    for model in models:
        route = table.route(model)
        windows[model] = contextWindow or (route.profile.contextWindow if route else None)
    try:
        catalog = buildCatalog(bundledCatalog(codex), models, template, windows)
    except UnknownTemplate as error:
        raise SetupError(str(error)) from error
    with open(path, "w", encoding="utf-8") as output:
        json.dump(catalog, output, indent=1)


class _CatalogParameters(usage.Options):
    optParameters = [
        ["template", "t", DEFAULT_TEMPLATE, "bundled Codex model whose tools to inherit"],
        ["context-window", None, None, "context window of the upstream models", int],
        ["codex", None, None, "path to the codex binary (default: codex on PATH)"],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["models"] = []

    def opt_model(self, model: str) -> None:
        """
        Model to configure (repeatable; default: the upstream's models).
        """
        self["models"].append(model)

    opt_m = opt_model


class CatalogOptions(_CatalogParameters):
    synopsis = "[--out PATH] [--template SLUG] [--context-window N] [--model M]..."
    longdesc = ("Write a Codex model catalog with one entry per upstream model, each "
                "inheriting the template's tool protocol (freeform apply_patch, shell).")
    optParameters = [["out", "o", "codex-relay-models.json", "where to write the catalog"]]


class PrintConfigOptions(_CatalogParameters):
    synopsis = "[--model M] [--catalog PATH [--template SLUG] [--context-window N]]"
    longdesc = ("Print a config.toml snippet that points Codex at this relay. With "
                "--catalog, also write a model catalog there and reference it.")
    optParameters = [["catalog", "c", None, "write a model catalog to PATH and use it"]]


async def runSetup(reactor: IRelayReactor, command: str, options: usage.Options,
                   config: RelayConfig, baseURL: str) -> None:
    models = options["models"] or await upstreamModels(reactor, config)
    if command == "model-catalog":
        writeCatalog(options["out"], options["codex"], models, options["template"],
                     options["context-window"], config)
        print("wrote a catalog for {} model(s) to {}".format(len(models), options["out"]),
              file=sys.stderr)
        return
    catalog = options["catalog"]
    if catalog is not None:
        writeCatalog(catalog, options["codex"], models, options["template"],
                     options["context-window"], config)
    sys.stdout.write(configSnippet(baseURL, models[0], catalog, config.websocket))


def setupCommand(command: str, options: usage.Options, config: RelayConfig,
                 baseURL: str) -> int:
    """
    Run a setup command to completion on the global reactor; the exit status.
    """
    from twisted.internet import task

    outcome = {"code": 0}

    async def main(reactor: IRelayReactor) -> None:
        try:
            await runSetup(reactor, command, options, config, baseURL)
        except SetupError as error:
            print("codex-relay {}: {}".format(command, error), file=sys.stderr)
            outcome["code"] = 1

    try:
        task.react(lambda reactor: Deferred.fromCoroutine(main(reactor)))
    except SystemExit as exit:
        return outcome["code"] or int(exit.code or 0)
    return outcome["code"]
