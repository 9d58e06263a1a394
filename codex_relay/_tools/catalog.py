"""
Codex model catalogs for models served through the relay.  Codex decides
its tools (freeform apply_patch, shell type) from a model's catalog entry,
so each upstream model gets a copy of a bundled template entry, without
the OpenAI-only features.  No Twisted here.
"""

from typing import Any
import copy
from collections.abc import Mapping

DEFAULT_TEMPLATE = "gpt-5.5"


class UnknownTemplate(ValueError):
    """
    The template slug is not in the bundled catalog.
    """

    def __init__(self, template: str, known: list[str]) -> None:
        super().__init__("unknown template {!r}; the bundled catalog has: {}".format(
            template, ", ".join(known)))
        self.known = known


def catalogEntry(template: dict[str, Any], model: str, contextWindow: int | None = None) -> dict[str, Any]:
    """
    A catalog entry for C{model} with C{template}'s tool protocol.
    """
    entry = copy.deepcopy(template)
    entry.update({
        "slug": model,
        "display_name": model,
        "description": "{} through codex-relay".format(model),
        "visibility": "list",
        "upgrade": None,
        "availability_nux": None,
        # Speed and service tiers and hosted search exist only at OpenAI.
        "additional_speed_tiers": [],
        "service_tiers": [],
        "supports_search_tool": False,
    })
    if contextWindow is not None:
        entry["context_window"] = contextWindow
        entry["max_context_window"] = contextWindow
    return entry


def buildCatalog(bundled: dict[str, Any], models: list[str], template: str = DEFAULT_TEMPLATE,
                 contextWindow: "int | Mapping[str, int | None] | None" = None) -> dict[str, Any]:
    """
    The bundled catalog plus one entry per relayed model.

    @param bundled: the output of C{codex debug models --bundled}.
    @param contextWindow: one window for every model, or each model's own
        (L{None}: the template's).
    @raise UnknownTemplate: if C{template} is not a bundled slug.
    """
    entries = bundled.get("models") or []
    bySlug = {entry.get("slug"): entry for entry in entries}
    if template not in bySlug:
        raise UnknownTemplate(template, [e.get("slug") for e in entries])
    windows = contextWindow if isinstance(contextWindow, Mapping) else {
        model: contextWindow for model in models}
    relayed = [catalogEntry(bySlug[template], model, windows.get(model)) for model in models]
    names = set(models)
    return {"models": relayed + [e for e in entries if e.get("slug") not in names]}
