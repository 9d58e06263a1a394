"""
Client keys for the auth tests: four clients' tokens, the keys file that
names them (by hash), and the header that presents one.
"""

from codex_relay._providers.client_keys import hashToken

ALICE, BOB, CAROL, DAVE = "crk-alice-1111", "crk-bob-2222", "crk-carol-3333", "crk-dave-4444"
RELAY_KEY = "sk-relay-5555"
BOB_UPSTREAM_KEY = "sk-bob-upstream-6666"
SECRETS = (ALICE, BOB, CAROL, DAVE, RELAY_KEY, BOB_UPSTREAM_KEY)

KEYS = """\
[clients.alice]
token_sha256 = "{}"

[clients.bob]
token_sha256 = "{}"
models = ["model-a", "model-b*"]
upstream_api_key = "{}"

[clients.carol]
token_sha256 = "{}"
requests_per_minute = 2

[clients.dave]
token_sha256 = "{}"
tokens_per_day = 5
""".format(hashToken(ALICE), hashToken(BOB), BOB_UPSTREAM_KEY, hashToken(CAROL),
           hashToken(DAVE))

MODELS = {"object": "list", "data": [
    {"id": name, "object": "model", "created": 0, "owned_by": "test"}
    for name in ("model-a", "model-b1", "model-c")]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}
