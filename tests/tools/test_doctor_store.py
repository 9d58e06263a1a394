"""
C{codex-relay doctor}'s section about the relay's own store: a warning,
with its next step, when the store is shared (Redis) and the secret is
random; plain information otherwise; never counted in the verdict or the
exit status.  Sans-IO first (L{storeReport}, L{renderReport}), then the
real command as a subprocess.
"""

import os
import re
from typing import Any

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SynchronousTestCase, TestCase

from codex_relay._tools.doctor.checks import Check
from codex_relay._tools.doctor.probes import INFO, OK, WARN
from codex_relay._tools.doctor.report import (
    UpstreamReport,
    exitStatus,
    renderReport,
    storeReport,
)
from tests.harness.doctor import MODELS, healthy, runDoctor
from tests.harness.sockets import serveUpstream
from tests.harness.upstream import ScriptedUpstream

REDIS = "redis://127.0.0.1:1/0"
WARNING = "shared (Redis), but --secret is random"
NEXT_STEP = ("  - store: give every relay that shares {} the same --secret (or "
             "CODEX_RELAY_SECRET); with a random one, no other relay, nor this one after "
             "a restart, can continue its responses")



def storeSection(output: str) -> tuple[str | None, list[tuple[str, str, str]]]:
    """
    The store a doctor report names in its C{relay store:} header, and
    that section's rows as (check, result, detail).
    """
    lines = output.splitlines()
    for index, line in enumerate(lines):
        header = re.match(r"relay store: (.*)$", line)
        if header is None:
            continue
        rows = []
        for row in lines[index + 2:]:
            if not row.startswith("  "):
                break
            cells = re.split(r"\s{2,}", row.strip(), maxsplit=2) + ["", ""]
            rows.append((cells[0], cells[1], cells[2]))
        return header.group(1), rows
    return None, []


class StoreReportTests(SynchronousTestCase):
    """
    L{storeReport}: the one C{store} row of the relay's section.
    """

    def test_sharedWithoutSecretWarns(self) -> None:
        """
        A Redis store and a random secret: a warning whose next step names
        the store and both ways to give a secret.
        """
        report = storeReport(REDIS, True)
        self.assertEqual((report.kind, report.name, report.baseURL),
                         ("relay", "store", REDIS))
        [check] = report.checks
        self.assertEqual((check.name, check.status, check.detail), ("store", WARN, WARNING))
        self.assertIn("give every relay that shares {} the same --secret".format(REDIS),
                      check.nextStep)
        self.assertIn("CODEX_RELAY_SECRET", check.nextStep)
        # A warning, not a failure: the relay works, only sharing does not.
        self.assertFalse(report.failed)

    def test_sharedWithSecret(self) -> None:
        [check] = storeReport(REDIS, False).checks
        self.assertEqual((check.name, check.status, check.detail),
                         ("store", INFO, "responses kept in " + REDIS))
        self.assertFalse(check.nextStep)

    def test_localStores(self) -> None:
        """
        A store kept by this relay alone is information; so is no store,
        even when the caller says it is shared: there is nothing to share.
        """
        for store in ("memory", "sqlite:/tmp/r.sqlite3"):
            [check] = storeReport(store, False).checks
            self.assertEqual((check.status, check.detail),
                             (INFO, "responses kept in " + store))
        for shared in (False, True):
            [check] = storeReport("none", shared).checks
            self.assertEqual(check.status, INFO)
            self.assertTrue(check.detail.startswith("no responses kept"), check.detail)

    def test_renderedWarningNotCounted(self) -> None:
        """
        Rendered after a healthy upstream, the warning shows in its own
        section and in the next steps, unprefixed; the verdict counts the
        upstream only.
        """
        upstream = UpstreamReport("alpha", "http://a/v1", [Check("models", OK, "1 listed")])
        store = storeReport(REDIS, True)
        output = renderReport([upstream], [store])
        self.assertEqual(output, "\n".join([
            "upstream alpha: http://a/v1",
            "  check   result  detail",
            "  models  ok      1 listed",
            "",
            "relay store: " + REDIS,
            "  check   result  detail",
            "  store   warn    " + WARNING,
            "",
            "Next steps:",
            NEXT_STEP.format(REDIS),
            "",
            "Codex can work through this upstream.",
            ""]))
        self.assertEqual(exitStatus([upstream]), 0)

    def test_renderedInformation(self) -> None:
        upstream = UpstreamReport("alpha", "http://a/v1", [Check("models", OK, "1 listed")])
        output = renderReport([upstream], [storeReport(REDIS, False)])
        self.assertIn("relay store: {}\n".format(REDIS), output)
        self.assertIn("  store   info    responses kept in " + REDIS + "\n", output)
        self.assertNotIn("Next steps", output)

    def test_stepsOfTwoUpstreamsAndTheStore(self) -> None:
        """
        With several upstreams their steps are prefixed with their names;
        the store's stays C{store}, counted with none of them.
        """
        upstreams = [
            UpstreamReport(name, "http://{}/v1".format(name),
                           [Check("usage", WARN, "not reported", "fix usage")])
            for name in ("alpha", "beta")]
        output = renderReport(upstreams, [storeReport(REDIS, True)])
        steps = output.split("Next steps:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        self.assertEqual(steps, ["  - alpha usage: fix usage", "  - beta usage: fix usage",
                                 NEXT_STEP.format(REDIS)])
        self.assertIn("Codex can work through every upstream (2).", output)


class DoctorStoreCommandTests(TestCase):
    """
    The real command: which options make the store warn.
    """

    timeout = 120

    async def doctor(self, *options: str, env: dict[str, str] | None = None) -> Any:
        """
        Run C{doctor} with C{options} against a healthy upstream; it must
        exit 0 (a store warning fails nothing).
        """
        upstream = ScriptedUpstream(healthy, models=MODELS)
        url = await serveUpstream(self, upstream)
        result = await deferToThread(runDoctor, "--upstream", url, "--api-key", "sk-test",
                                     *options, "doctor", env=env)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("Codex can work through this upstream.", result.stdout)
        return result

    def database(self) -> str:
        directory = self.mktemp()
        os.makedirs(directory)
        return os.path.join(directory, "r.sqlite3")

    async def test_redisWithoutSecretWarns(self) -> None:
        result = await self.doctor("--store", REDIS)
        self.assertEqual(storeSection(result.stdout), (REDIS, [("store", "warn", WARNING)]))
        self.assertIn("Next steps:\n" + NEXT_STEP.format(REDIS) + "\n", result.stdout)

    async def test_redisWithSecret(self) -> None:
        """
        A secret given with C{--secret}, or in C{CODEX_RELAY_SECRET}:
        no warning, no next step.
        """
        for options, env in ((("--secret", "s"), None),
                             ((), {"CODEX_RELAY_SECRET": "s"})):
            result = await self.doctor("--store", REDIS, *options, env=env)
            self.assertEqual(storeSection(result.stdout),
                             (REDIS, [("store", "info", "responses kept in " + REDIS)]))
            self.assertNotIn("Next steps", result.stdout)

    async def test_redisFromConfigFile(self) -> None:
        """
        The store named by a C{--config} file's C{store} warns as
        C{--store} does.
        """
        upstream = ScriptedUpstream(healthy, models=MODELS)
        url = await serveUpstream(self, upstream)
        directory = self.mktemp()
        os.makedirs(directory)
        path = os.path.join(directory, "relay.toml")
        with open(path, "w") as config:
            config.write('store = "{}"\n\n[upstreams.alpha]\nbase_url = "{}"\n'.format(
                REDIS, url))
        result = await deferToThread(runDoctor, "--config", path, "doctor")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(storeSection(result.stdout), (REDIS, [("store", "warn", WARNING)]))

    async def test_unsharedStoresWithoutSecret(self) -> None:
        """
        Without a secret, a store in memory or in a SQLite file (whose
        secret is kept beside it) is information only; so is no store.
        """
        path = self.database()
        for spec, detail in (("memory", "responses kept in memory"),
                             ("sqlite:" + path, "responses kept in sqlite:" + path)):
            result = await self.doctor("--store", spec)
            self.assertEqual(storeSection(result.stdout), (spec, [("store", "info", detail)]))
            self.assertNotIn("Next steps", result.stdout)
        result = await self.doctor("--store", "none")
        store, [(name, status, detail)] = storeSection(result.stdout)
        self.assertEqual((store, name, status), ("none", "store", "info"))
        self.assertIn("previous_response_id works only within one WebSocket connection",
                      detail)

    async def test_redisPasswordNotShown(self) -> None:
        """
        A Redis password in C{--store} is not printed: the report, like a
        log line, may be pasted anywhere.
        """
        result = await self.doctor("--store", "redis://:hunter2@127.0.0.1:1/0")
        _, rows = storeSection(result.stdout)
        self.assertEqual(rows, [("store", "warn", WARNING)])
        self.assertNotIn("hunter2", result.stdout)
