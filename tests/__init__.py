"""
The test suite, mirroring the packages: core/, providers/, web/, run/,
tools/, e2e/, over one shared harness/.
"""

import warnings

# A warning the relay's own code raises is a failure, like an error.
warnings.filterwarnings("error", module=r"codex_relay(\.|$)")
