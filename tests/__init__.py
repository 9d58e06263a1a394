"""
The test suite, mirroring the packages: core/, providers/, web/, run/,
tools/, e2e/, over one shared harness/.
"""

import os
import tempfile
import warnings

# Relays started by the tests keep their state (the SQLite store, its
# secret) in a directory of this run, never in the user's.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="codex-relay-tests-state-")

# A warning the relay's own code raises is a failure, like an error.
warnings.filterwarnings("error", module=r"codex_relay(\.|$)")
