"""
The randomness and the clock the sans-IO core is handed: fresh ids for
responses, items and calls, and the time in whole seconds.  The core takes
them as arguments (L{codex_relay._core.stream.translator.StreamTranslator},
L{codex_relay._core.stream.passthrough.PassthroughStream}) so that it has
neither itself.
"""

import os
import time


def newId(prefix: str) -> str:
    """
    C{prefix} and 24 random hex digits: C{resp_...}, C{msg_...},
    C{call_...}.
    """
    return prefix + os.urandom(12).hex()


def now() -> int:
    """
    The time, in whole seconds since the epoch: a Response's
    C{created_at} or C{completed_at}.
    """
    return int(time.time())
