# Names the tap module only; twistd imports every dropin, so keep this free of imports.
from twisted.application.service import ServiceMaker

codexRelay = ServiceMaker(
    "codex-relay",
    "codex_relay._run.tap",
    "Relay the OpenAI Responses API onto a Chat Completions upstream.",
    "codex-relay",
)
