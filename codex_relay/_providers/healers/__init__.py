"""
Healers, sans-IO: repair what some upstreams get wrong.  The content
filters split what is put inline in C{delta.content} back into text,
reasoning and tool calls; L{glm} adds a request parameter.  No Twisted
here.

  - L{ThinkTagSplitter}: C{<think>...</think>} (and C{\u25c1think\u25b7...
    \u25c1/think\u25b7}) becomes reasoning.
  - L{DSMLHealer}: DeepSeek tool-call markup ("DSML") leaked into text becomes
    tool calls.
  - L{chainFilters}: runs the text pieces through several filters in order.

Every filter holds back only the shortest suffix that could still begin one
of its markers, so visible text is never delayed by a character that cannot
start one, and gives the same pieces (once adjacent pieces of one kind are
merged) however the content is split into deltas.
"""


from codex_relay._providers.healers.dsml import DSMLHealer
from codex_relay._providers.healers.pieces import ContentFilter, Piece, chainFilters
from codex_relay._providers.healers.think import ThinkTagSplitter

__all__ = ["ContentFilter", "DSMLHealer", "Piece", "ThinkTagSplitter", "chainFilters"]
