"""
Provider profiles: what each upstream accepts and how it streams, as plain
data.  The request adapter and the stream translator read these fields;
nothing else in the relay branches on a provider's name.  No Twisted here.

Facts and their sources are in the project's PROVIDERS.md; the README's
provider table says what each profile changes.
"""

import dataclasses
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping
from urllib.parse import urlsplit

# Whether reasoning goes back upstream on assistant messages.
REQUIRED = "required"
OPTIONAL = "optional"
FORBIDDEN = "forbidden"

# How reasoning.effort is expressed upstream.
EFFORT_PARAMETER = "reasoning_effort"
EFFORT_DEEPSEEK = "deepseek_thinking"  # thinking: {type} plus reasoning_effort
EFFORT_QWEN = "qwen_enable_thinking"  # enable_thinking: bool
EFFORT_OPENROUTER = "openrouter"  # reasoning: {effort}
EFFORT_UNSUPPORTED = "unsupported"

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class ModelOverride:
    """
    Changes to a profile for the models whose name matches C{pattern} (a
    regular expression, searched case-insensitively).
    """

    pattern: str
    changes: Mapping[str, object]

    def matches(self, model: str) -> bool:
        return re.search(self.pattern, model, re.IGNORECASE) is not None


@dataclass(frozen=True)
class Profile:
    """
    One provider's behaviour.

    @ivar hosts: host names (or their suffixes) that select this profile.
    @ivar ports: default ports of a local server that select it on loopback.
    @ivar thinkTags: reasoning may arrive inline as C{<think>} tags.
    @ivar replay: L{REQUIRED}, L{OPTIONAL} or L{FORBIDDEN}: reasoning on
        assistant messages sent back upstream.
    @ivar replayField: where it goes: C{reasoning_content}, C{reasoning},
        C{reasoning_details} (sent back unchanged) or C{thinking} (Mistral
        thinking chunks in the content).
    @ivar replayPlaceholder: sent when required reasoning is not available.
    @ivar effort: how C{reasoning.effort} maps (the C{EFFORT_*} names).
    @ivar effortValues: the values the provider takes; others are mapped
        through C{effortMap} or dropped.
    @ivar maxTokensField: C{max_tokens} or C{max_completion_tokens}.
    @ivar toolChoice: replacements of C{tool_choice} values (C{"named"} for
        the object form, C{None} to drop it).
    @ivar toolCallIds: C{None}, or C{"alnum9"} for exactly nine alphanumerics.
    @ivar sampling: whether temperature and top_p are accepted.
    @ivar streamingOnlyThinking: thinking must be off for non-streaming calls.
    @ivar extraBody: parameters always merged into the Chat body.
    @ivar heal: names of the upstream faults this profile heals beyond the
        relay's defaults (C{glm_thinking}; C{dsml} is on for every route
        that offers tools, see L{codex_relay._providers.routes.DEFAULT_HEALERS}).
    @ivar contextWindow: the model context size the setup commands put in
        Codex's catalog.
    """

    name: str
    hosts: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    thinkTags: bool = False
    replay: str = OPTIONAL
    replayField: str = "reasoning_content"
    replayPlaceholder: str | None = None
    effort: str = EFFORT_PARAMETER
    effortValues: tuple[str, ...] | None = None
    effortMap: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    maxTokensField: str = "max_tokens"
    streamOptions: bool = True
    parallelToolCalls: bool = True
    strictTools: bool = True
    jsonSchema: bool = True
    toolChoice: Mapping[str, str | None] = field(default_factory=lambda: _EMPTY)
    toolCallIds: str | None = None
    sampling: bool = True
    streamingOnlyThinking: bool = False
    extraBody: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    heal: tuple[str, ...] = ()
    contextWindow: int | None = None
    models: tuple[ModelOverride, ...] = field(default=())

    def forModel(self, model: str) -> "Profile":
        """
        This profile with the overrides for C{model} applied.
        """
        profile = self
        for override in self.models:
            if override.matches(model):
                profile = dataclasses.replace(profile, **override.changes)  # type: ignore[arg-type]
        return profile


def _frozen(mapping: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


GENERIC = Profile(name="generic")

PROFILES: dict[str, Profile] = {profile.name: profile for profile in [
    GENERIC,
    Profile(
        name="deepseek", hosts=("api.deepseek.com",),
        replay=REQUIRED, replayPlaceholder="",
        effort=EFFORT_DEEPSEEK, effortValues=("low", "high", "max"),
        effortMap=_frozen({"minimal": "low", "medium": "high", "xhigh": "max"}),
        sampling=False, heal=("dsml",),
        contextWindow=128000,
        models=(
            # The legacy reasoner rejects reasoning sent back, and thinking controls.
            ModelOverride("deepseek-reasoner", _frozen({
                "replay": FORBIDDEN, "effort": EFFORT_UNSUPPORTED})),
        ),
    ),
    Profile(
        name="kimi", hosts=("api.moonshot.ai", "api.moonshot.cn", "api.kimi.com"),
        replay=REQUIRED, replayPlaceholder="",
        effort=EFFORT_UNSUPPORTED, maxTokensField="max_completion_tokens",
        strictTools=False, sampling=False,
        toolChoice=_frozen({"required": "auto", "named": "auto"}),
        contextWindow=262144,
        models=(
            ModelOverride(r"kimi-k3", _frozen({
                "effort": EFFORT_PARAMETER, "effortValues": ("low", "high", "max"),
                "effortMap": _frozen({"minimal": "low", "medium": "high",
                                      "xhigh": "max"})})),
        ),
    ),
    Profile(
        name="glm", hosts=("open.bigmodel.cn", "api.z.ai"),
        replay=OPTIONAL, thinkTags=True,
        # GLM keeps its reasoning to itself under a long agent prompt unless asked.
        heal=("glm_thinking",),
        contextWindow=200000,
    ),
    Profile(
        name="qwen", hosts=("dashscope.aliyuncs.com", "dashscope-intl.aliyuncs.com"),
        replay=OPTIONAL, effort=EFFORT_QWEN, streamingOnlyThinking=True,
        toolChoice=_frozen({"required": "auto"}), jsonSchema=False,
        contextWindow=131072,
    ),
    Profile(
        name="mistral", hosts=("api.mistral.ai",),
        replay=OPTIONAL, replayField="thinking",
        toolChoice=_frozen({"required": "any"}), toolCallIds="alnum9",
        strictTools=False, streamOptions=False,
        contextWindow=131072,
    ),
    Profile(
        name="groq", hosts=("api.groq.com",),
        replay=FORBIDDEN, thinkTags=True,
        extraBody=_frozen({"reasoning_format": "parsed"}),
        contextWindow=131072,
    ),
    Profile(
        name="xai", hosts=("api.x.ai",),
        replay=FORBIDDEN, effortValues=("low", "medium", "high"),
        effortMap=_frozen({"minimal": "low", "xhigh": "high", "max": "high"}),
        contextWindow=256000,
        models=(
            # grok-4 reasoning models reject reasoning_effort outright.
            ModelOverride(r"grok-4(?!\.3)", _frozen({"effort": EFFORT_UNSUPPORTED})),
        ),
    ),
    Profile(
        name="openrouter", hosts=("openrouter.ai",),
        replay=OPTIONAL, replayField="reasoning_details",
        effort=EFFORT_OPENROUTER,
        contextWindow=128000,
    ),
    Profile(
        name="vllm", ports=(8000,),
        replay=OPTIONAL, replayField="reasoning",
    ),
    Profile(
        name="llama.cpp", ports=(8080,),
        replay=OPTIONAL, thinkTags=True,
    ),
    Profile(
        name="ollama", ports=(11434,),
        replay=OPTIONAL, replayField="reasoning", toolChoice=_frozen({
            "auto": None, "required": None, "none": None, "named": None}),
    ),
]}

_LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def detectProfile(baseURL: str) -> Profile:
    """
    The profile for an upstream, from its host (or, on loopback, from the
    default port of a local server); L{GENERIC} when nothing matches.
    A server on another port may still be recognised from its model list
    (L{detectProfileFromModels}).
    """
    parts = urlsplit(baseURL)
    host = (parts.hostname or "").lower()
    for profile in PROFILES.values():
        if any(host == h or host.endswith("." + h) for h in profile.hosts):
            return profile
    if host in _LOOPBACK or host.startswith("127."):
        for profile in PROFILES.values():
            if parts.port in profile.ports:
                return profile
    return GENERIC


# What llama.cpp's server says about itself in its model list: its name in
# the Server header and as every model's owner, and the GGUF facts under
# each model's "meta".  Any one is enough: no other server we know sends them.
_LLAMACPP_OWNER = "llamacpp"
_LLAMACPP_META = ("n_vocab", "n_ctx_train")


def detectProfileFromModels(answer: object, server: str | None = None) -> Profile | None:
    """
    The profile of the server that sent C{answer}, the parsed body of its
    C{/models} answer, with C{server}, its C{Server} header; L{None} when
    they do not say.  Only llama.cpp's server is recognised this way.
    """
    if server is not None and server.strip().lower().startswith("llama.cpp"):
        return PROFILES["llama.cpp"]
    entries = answer.get("data") if isinstance(answer, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        meta = entry.get("meta")
        if entry.get("owned_by") == _LLAMACPP_OWNER or (
                isinstance(meta, dict) and all(key in meta for key in _LLAMACPP_META)):
            return PROFILES["llama.cpp"]
    return None


def profileNamed(name: str) -> Profile:
    """
    @raise KeyError: naming the known profiles.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError("unknown profile {!r}; known profiles: {}".format(
            name, ", ".join(sorted(PROFILES)))) from None
