"""
The twistd plugin's Options and makeService.  Every option falls back to a
C{CODEX_RELAY_*} environment variable, then to its default.
"""

import os
import signal
import sys
from typing import Any, cast

from twisted.application.service import IService
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.python import usage

from codex_relay._web.config import DEFAULT_MAX_BODY, DEFAULT_PORT, DEFAULT_UPSTREAM, RelayConfig
from codex_relay._web.reactor import IRelayReactor
from codex_relay._core.errors import DEFAULT_RETRY_AFTER
from codex_relay._run.logs import FORMATS, LEVELS
from codex_relay._providers.config_file import loadRoutingTable, singleUpstream
from codex_relay._providers.tomlfile import ConfigError
from codex_relay._providers.client_keys import ClientKeys, loadClientKeys
from codex_relay._run.secret import relaySecret
from codex_relay._run.drain import DEFAULT_DRAIN_TIMEOUT
from codex_relay._run.service import RelayService
from codex_relay._run.workers import WorkerSupervisor, workerCount
from codex_relay._store.choose import storeFromSpec
from codex_relay._core.settings import REASONING_RAW, REASONING_SUMMARY, TranslationSettings
from codex_relay._core.sse import MAX_EVENT_BYTES
from codex_relay._version import __version__

log = Logger()

_CHOICES = {
    "reasoning": (REASONING_SUMMARY, REASONING_RAW),
    "content-filter": ("failed", "incomplete"),
    "developer-role": ("system", "developer", "user"),
    "max-tokens-field": ("max_tokens", "max_completion_tokens"),
    "log-level": LEVELS,
    "log-format": FORMATS,
    "websocket": ("on", "off"),
}


def _positive(kind: type) -> Any:
    def convert(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise ValueError("must be positive")
        return value
    convert.__name__ = kind.__name__
    return convert


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("not a port number")
    return value


class Options(usage.Options):
    synopsis = "[options]"
    longdesc = (
        "Relay the OpenAI Responses API (Codex CLI, the openai SDK) onto a Chat "
        "Completions upstream. Each option falls back to the environment variable "
        "named in its help, then to its default."
    )
    def opt_version(self) -> None:
        """
        Print codex-relay's version and exit.
        """
        print("codex-relay", __version__)
        sys.exit(0)

    optFlags = [
        ["length-as-completed", None,
         "Report finish_reason 'length' as a completed response whose last item is "
         "marked incomplete, instead of response.incomplete [CODEX_RELAY_LENGTH_AS_COMPLETED]"],
    ]
    optParameters = [
        ["upstream", "u", None,
         "Chat Completions base URL [CODEX_RELAY_UPSTREAM; default {}]".format(
             DEFAULT_UPSTREAM)],
        ["api-key", "k", None,
         "upstream API key; without one the client's Authorization header is "
         "forwarded [CODEX_RELAY_API_KEY]"],
        ["port", "p", None,
         "TCP port when no --listen is given [CODEX_RELAY_PORT; default {}]".format(
             DEFAULT_PORT), _port],
        ["bind", "b", None,
         "interface for --port [CODEX_RELAY_BIND; default 127.0.0.1]"],
        ["config", "c", None,
         "TOML file of upstreams and routes; replaces --upstream, --api-key and --profile "
         "[CODEX_RELAY_CONFIG]"],
        ["client-keys", None, None,
         "TOML file of the client tokens the relay admits (as SHA-256: codex-relay "
         "hash-key), with their models and limits; without it anyone who reaches the "
         "relay may use it [CODEX_RELAY_CLIENT_KEYS]"],
        ["profile", None, None,
         "provider profile of --upstream (deepseek, kimi, glm, qwen, mistral, groq, xai, "
         "openrouter, vllm, llama.cpp, ollama, generic); detected from the host when unset "
         "[CODEX_RELAY_PROFILE]"],
        ["upstream-ca", None, None,
         "PEM bundle that replaces the platform trust store [CODEX_RELAY_UPSTREAM_CA]"],
        ["connect-timeout", None, None,
         "seconds to connect upstream [CODEX_RELAY_CONNECT_TIMEOUT; default 10]",
         _positive(float)],
        ["headers-timeout", None, None,
         "seconds until the upstream's response headers [CODEX_RELAY_HEADERS_TIMEOUT; "
         "default 300]", _positive(float)],
        ["idle-timeout", None, None,
         "seconds the upstream body may stay silent [CODEX_RELAY_IDLE_TIMEOUT; "
         "default 300]", _positive(float)],
        ["total-timeout", None, None,
         "seconds one response may take [CODEX_RELAY_TOTAL_TIMEOUT; default 3600]",
         _positive(float)],
        ["max-body-bytes", None, None,
         "largest request body accepted [CODEX_RELAY_MAX_BODY_BYTES; default {}]".format(
             DEFAULT_MAX_BODY), _positive(int)],
        ["max-event-bytes", None, None,
         "largest line or event of an upstream stream accepted "
         "[CODEX_RELAY_MAX_EVENT_BYTES; default {}]".format(MAX_EVENT_BYTES),
         _positive(int)],
        ["retry-after", None, None,
         "Retry-After seconds on a 429 whose upstream names no delay "
         "[CODEX_RELAY_RETRY_AFTER; default {}]".format(DEFAULT_RETRY_AFTER),
         _positive(int)],
        ["reasoning", None, None,
         "show provider reasoning as 'summary' (Codex displays it) or 'raw' "
         "reasoning_text [CODEX_RELAY_REASONING; default summary]"],
        ["content-filter", None, None,
         "finish_reason 'content_filter' becomes 'failed' (non-retryable "
         "invalid_prompt) or 'incomplete' [CODEX_RELAY_CONTENT_FILTER; default failed]"],
        ["developer-role", None, None,
         "Chat role for developer messages [CODEX_RELAY_DEVELOPER_ROLE; default system]"],
        ["reasoning-field", None, None,
         "assistant field that carries reasoning back upstream "
         "[CODEX_RELAY_REASONING_FIELD; default reasoning_content]"],
        ["max-tokens-field", None, None,
         "Chat parameter for max_output_tokens [CODEX_RELAY_MAX_TOKENS_FIELD; "
         "default max_tokens]"],
        ["secret", None, None,
         "key that signs reasoning carried in encrypted_content; random at start when "
         "unset, so set it to keep multi-turn reasoning across restarts "
         "[CODEX_RELAY_SECRET]"],
        ["store", None, None,
         "where responses are kept for previous_response_id and GET /v1/responses/ID: "
         "memory, sqlite[:PATH], redis://HOST:PORT/DB or none [CODEX_RELAY_STORE; default "
         "sqlite under the state directory]"],
        ["retention", None, None,
         "days a stored response is kept [CODEX_RELAY_RETENTION; default 30]",
         _positive(float)],
        ["websocket", None, None,
         "serve Responses over WebSocket: on, or off to answer upgrades 426 "
         "[CODEX_RELAY_WEBSOCKET; default on]"],
        ["drain-timeout", None, None,
         "on SIGTERM, seconds the responses in flight may take to finish before they "
         "end with a retryable response.failed [CODEX_RELAY_DRAIN_TIMEOUT; default "
         "{:g}]".format(DEFAULT_DRAIN_TIMEOUT), _seconds],
        ["workers", None, None,
         "relay processes serving the same sockets, or auto for one per core "
         "[CODEX_RELAY_WORKERS; default 1]", workerCount],
        ["log-level", None, None,
         "console command log level: {} [CODEX_RELAY_LOG_LEVEL; default info]".format(
             ", ".join(LEVELS))],
        ["log-format", None, None,
         "console command log format: text, or json for one JSON object per line "
         "(twistd: --logger=codex_relay._run.logs.jsonObserver; twist: its own "
         "--log-format=json) [CODEX_RELAY_LOG_FORMAT; default text]"],
        ["metrics-listen", None, None,
         "Twisted endpoint serving only /metrics, which the --listen endpoints then "
         "do not serve [CODEX_RELAY_METRICS_LISTEN; default: /metrics on --listen]"],
    ]

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        super().__init__()
        self._environ = os.environ if environ is None else environ
        self["listen"] = []
        self["routes"] = None
        self["clients"] = None
        self.arguments: list[str] = []

    def parseOptions(self, options: list[str] | None = None) -> None:
        # Kept for --workers: each worker parses the same arguments.
        self.arguments = list(sys.argv[1:] if options is None else options)
        super().parseOptions(options)

    def opt_listen(self, endpoint: str) -> None:
        """
        Twisted endpoint to listen on (tcp:, ssl:, unix:, systemd:, ...);
        repeatable. Default tcp:PORT:interface=BIND.
        """
        self["listen"].append(endpoint)

    def postOptions(self) -> None:
        parameters = cast("list[list[Any]]", self.optParameters)
        for name, _, default, _, *convert in parameters:
            if self[name] is None:
                variable = "CODEX_RELAY_" + name.upper().replace("-", "_")
                raw = self._environ.get(variable)
                if raw not in (None, ""):
                    try:
                        self[name] = convert[0](raw) if convert else raw
                    except ValueError as e:
                        raise usage.UsageError("{}={!r}: {}".format(variable, raw, e))
        if not self["length-as-completed"]:
            self["length-as-completed"] = self._environ.get(
                "CODEX_RELAY_LENGTH_AS_COMPLETED", "").lower() in ("1", "true", "yes")
        for name, allowed in _CHOICES.items():
            if self[name] is not None and self[name] not in allowed:
                raise usage.UsageError("--{} must be one of: {}".format(
                    name, ", ".join(allowed)))
        self["upstream"] = self["upstream"] or DEFAULT_UPSTREAM
        if not self["upstream"].startswith(("http://", "https://")):
            raise usage.UsageError(
                "--upstream must be an http:// or https:// URL, not {!r}".format(
                    self["upstream"]))
        try:
            if self["config"] is not None:
                self["routes"] = loadRoutingTable(self["config"], self._environ)
            else:
                # Checks --upstream and --profile now, not at the first request.
                singleUpstream(self["upstream"], self["api-key"], self["profile"])
                self["routes"] = None
            self["clients"] = self._clientKeys()
        except ConfigError as error:
            raise usage.UsageError(str(error))
        self["store"] = self["store"] or (
            self["routes"].store if self["routes"] is not None else None) or "sqlite"
        if self["store"] != "none":
            try:
                storeFromSpec(self["store"], Clock(), None, self._environ)
            except ValueError as error:
                raise usage.UsageError("--store: {}".format(error))
        if not self["listen"]:
            port = DEFAULT_PORT if self["port"] is None else self["port"]
            self["listen"] = ["tcp:{}:interface={}".format(
                port, self["bind"] or "127.0.0.1")]

    def _clientKeys(self) -> ClientKeys | None:
        # --client-keys (or its variable), else the file's client_keys,
        # relative to the file.
        path, routes = self["client-keys"], self["routes"]
        if path is None and routes is not None and routes.clientKeys is not None:
            path = os.path.join(os.path.dirname(self["config"]),
                                os.path.expanduser(routes.clientKeys))
        if path is None:
            return None
        keys = loadClientKeys(os.path.expanduser(path), self._environ)
        table = routes or singleUpstream(self["upstream"], self["api-key"], self["profile"])
        keys.check(table.upstreams)
        return keys


def configFromOptions(options: Options) -> RelayConfig:
    """
    The relay configuration the parsed C{options} describe.
    """
    settings = {
        "reasoningPresentation": options["reasoning"],
        "developerRole": options["developer-role"],
        "reasoningField": options["reasoning-field"],
        "maxTokensField": options["max-tokens-field"],
    }
    secret, _ = relaySecret(options["secret"], options["store"], options._environ)
    translation = TranslationSettings(
        lengthAsCompleted=bool(options["length-as-completed"]),
        contentFilterAsFailed=options["content-filter"] != "incomplete",
        secret=secret,
        **{k: v for k, v in settings.items() if v is not None},
    )
    numbers = {
        "connectTimeout": options["connect-timeout"],
        "headersTimeout": options["headers-timeout"],
        "idleTimeout": options["idle-timeout"],
        "totalTimeout": options["total-timeout"],
        "maxBodyBytes": options["max-body-bytes"],
        "maxEventBytes": options["max-event-bytes"],
        "retryAfter": options["retry-after"],
        "retention": None if options["retention"] is None else options["retention"] * 86400,
    }
    return RelayConfig(
        upstream=options["upstream"],
        apiKey=options["api-key"] or None,
        profile=options["profile"],
        routes=options["routes"],
        upstreamCA=options["upstream-ca"],
        translation=translation,
        store=options["store"],
        websocket=options["websocket"] != "off",
        clientKeys=options["clients"],
        **{k: v for k, v in numbers.items() if v is not None},
    )


def sharesStoreWithoutSecret(options: Options) -> bool:
    """
    Whether the store may be shared with other relays while this one's
    secret is random: they could not read each other's responses.
    """
    return not options["secret"] and options["store"].startswith("redis://")


def makeService(options: Options, reactor: IRelayReactor | None = None) -> IService:
    """
    The relay service for C{twistd codex-relay} / C{twist codex-relay}.
    """
    if reactor is None:
        from twisted.internet import reactor as globalReactor
        reactor = cast(IRelayReactor, globalReactor)
    if sharesStoreWithoutSecret(options):
        log.warn(SHARED_STORE_WARNING)
    reactor.callWhenRunning(stopCleanlyOnSIGTERM, reactor)
    if (options["workers"] or 1) > 1:
        return WorkerSupervisor.fromOptions(options, reactor, metricsEndpoints(options),
                                            stopIfCannotListen=True, inheritStderr=False)
    return RelayService(configFromOptions(options), reactor, options["listen"],
                        learnProfiles=True, stopIfCannotListen=True,
                        metricsListen=metricsEndpoints(options), probeUpstreams=True,
                        drainTimeout=drainTimeout(options))


def stopCleanlyOnSIGTERM(reactor: IRelayReactor) -> None:
    """
    SIGTERM stops the reactor, so the relay drains, without the reactor
    noting the signal: twistd and twist would otherwise re-raise it once
    stopped, and a relay that drained on SIGTERM exits 0, as the console
    command does.  Installed once the reactor runs, over its own handler.
    """
    def stop(number: int, frame: Any) -> None:
        log.info("Received SIGTERM, draining.")
        reactor.callFromThread(reactor.stop)

    signal.signal(signal.SIGTERM, stop)


def drainTimeout(options: Options) -> float:
    """
    The seconds of C{--drain-timeout}.
    """
    value = options["drain-timeout"]
    return DEFAULT_DRAIN_TIMEOUT if value is None else float(value)


def metricsEndpoints(options: Options) -> list[str]:
    """
    The endpoints of C{--metrics-listen}: none, or the one given.
    """
    return [options["metrics-listen"]] if options["metrics-listen"] else []


SHARED_STORE_WARNING = (
    "The response store is on Redis, which other relays may share, but --secret is "
    "not set: this relay's random secret lets no other relay (nor this one after a "
    "restart) continue its responses. Give every relay that shares the store the "
    "same --secret.")
