"""
Routing files for the tests of L{codex_relay._providers.routes} and
L{codex_relay._providers.config_file}: the README's example, two bare
upstreams, and a parser that names the file C{relay.toml}.
"""

from codex_relay._providers.config_file import parseRoutingTable
from codex_relay._providers.routes import RoutingTable

README = """\
default_upstream = "deepseek"          # optional

[upstreams.deepseek]
base_url = "https://api.deepseek.com/v1"
api_key_env = "DEEPSEEK_API_KEY"       # or api_key = "sk-..."
# profile = "deepseek"                 # optional: detected from the host
# api = "chat"                         # or "responses"
# connect_timeout = 10, headers_timeout = 300, idle_timeout = 300, total_timeout = 3600

[upstreams.kimi]
base_url = "https://api.moonshot.ai/v1"
api_key_env = "MOONSHOT_API_KEY"

[upstreams.local]
base_url = "http://127.0.0.1:11434/v1"

[[routes]]
model = "deepseek-chat"                # exact name
upstream = "deepseek"

[[routes]]
model = "kimi"                         # an alias
upstream = "kimi"
upstream_model = "kimi-k2-thinking"
withhold_tools = ["spawn_agent", "multi_agent_v1__close_agent"]

[[routes]]
prefix = "ollama/"                     # prefix stripped
upstream = "local"
extra_params = { options = { num_ctx = 32768 } }
drop_params = ["parallel_tool_calls"]
heal = { dsml = false }
"""

ENVIRON = {"DEEPSEEK_API_KEY": "sk-deepseek", "MOONSHOT_API_KEY": "sk-moonshot"}

TWO = """\
[upstreams.a]
base_url = "https://a.example/v1"

[upstreams.b]
base_url = "https://b.example/v1"
"""


def parse(text: str, environ: dict[str, str] | None = None) -> RoutingTable:
    return parseRoutingTable(text, ENVIRON if environ is None else environ, "relay.toml")
