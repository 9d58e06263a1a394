"""
C{codex-relay doctor}, the real command against the real llama.cpp
server (L{tests.harness.llamacpp}).
"""

import re

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.harness.doctor import runDoctor, table


class LlamaCppDoctorTests(TestCase):
    """
    The doctor against the real llama.cpp server (L{tests.harness.llamacpp}):
    skipped loudly without xllamacpp, a failure under CI=true.
    """

    async def test_doctor(self) -> None:
        from tests.harness.llamacpp import MODEL_ALIAS, TOOLS_TEMPLATE, serverFor

        server = await serverFor(self, TOOLS_TEMPLATE)
        # A loaded test machine (trial -j, one server per worker) can make
        # the small model slow: allow what the relay itself allows.
        result = await deferToThread(runDoctor, "--upstream", server.baseURL,
                                     "--profile", "llama.cpp", "doctor", "--timeout", "300")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "profile")], ("info", "llama.cpp (named by --profile)"))
        self.assertEqual(rows[("default", "models")][1],
                         "1 listed ({0}); probing {0}".format(MODEL_ALIAS))
        self.assertEqual(rows[("default", "stream")][0], "ok")
        # llama.cpp reports usage and cached tokens, not reasoning tokens.
        self.assertEqual(rows[("default", "usage")][0], "ok")
        self.assertIn("(prompt_tokens_details.cached_tokens)", rows[("default", "usage")][1])
        # At temperature 0 the model makes the call, through the server's
        # own tool-call parsing.
        self.assertEqual(rows[("default", "tool call")],
                         ("ok", "get_time({}), a structured tool call"))
        spent = re.search(r"The probes used (\d+) tokens", result.stdout)
        self.assertIsNotNone(spent, result.stdout)
        self.assertLess(int(spent.group(1)), 400)
