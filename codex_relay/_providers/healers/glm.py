"""
GLM keeps its reasoning to itself under a long agent prompt such as
Codex's unless the request asks for it: the C{glm_thinking} healer adds
that to the request.  No Twisted here.
"""

from collections.abc import Mapping

# What each named request healer adds to the Chat body (copied, never changed).
HEALER_PARAMETERS: Mapping[str, Mapping[str, object]] = {
    "glm_thinking": {"thinking": {"type": "enabled"}},
}
