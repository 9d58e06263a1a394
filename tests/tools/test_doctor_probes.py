"""
C{codex-relay doctor}, sans-IO: the probe requests go through the relay's
translation, the route's profile and its overrides; the route probed
and the model list read.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._tools.doctor.probes import (
    STREAM_MAX_TOKENS,
    STREAM_PROMPT,
    TOOL_MAX_TOKENS,
    buildProbe,
    probeRoute,
    streamRequest,
    toolRequest,
)
from codex_relay._tools.doctor.checks import parseModelList
from codex_relay._providers.config_file import parseRoutingTable
from tests.harness.doctor import MODELS, SETTINGS, route


class ProbeRequestTests(SynchronousTestCase):
    """
    The probes go through the relay's translation and the route's profile.
    """

    def test_generic(self) -> None:
        body = buildProbe(streamRequest("model-a"), route(), SETTINGS).chat.body
        self.assertEqual(body["messages"], [{"role": "user", "content": STREAM_PROMPT}])
        self.assertEqual(body["max_tokens"], STREAM_MAX_TOKENS)
        self.assertEqual(body["stream_options"], {"include_usage": True})
        self.assertEqual(body["reasoning_effort"], "low")
        self.assertTrue(body["stream"])
        tool = buildProbe(toolRequest("model-a"), route(), SETTINGS).chat.body
        self.assertEqual([t["function"]["name"] for t in tool["tools"]], ["get_time"])
        self.assertEqual(tool["tool_choice"], "auto")
        self.assertEqual(tool["max_tokens"], TOOL_MAX_TOKENS)
        self.assertNotIn("reasoning_effort", tool)

    def test_profiles(self) -> None:
        deepseek = buildProbe(streamRequest("deepseek-chat"),
                              route("deepseek", "deepseek-chat"), SETTINGS).chat.body
        self.assertEqual(deepseek["thinking"], {"type": "enabled"})
        self.assertEqual(deepseek["reasoning_effort"], "low")
        kimi = buildProbe(streamRequest("kimi-k2"), route("kimi", "kimi-k2"), SETTINGS).chat.body
        self.assertEqual(kimi["max_completion_tokens"], STREAM_MAX_TOKENS)
        self.assertNotIn("max_tokens", kimi)
        self.assertNotIn("reasoning_effort", kimi)
        mistral = buildProbe(streamRequest("m"), route("mistral", "m"), SETTINGS).chat.body
        self.assertNotIn("stream_options", mistral)
        ollama = buildProbe(toolRequest("m"), route("ollama", "m"), SETTINGS).chat.body
        self.assertNotIn("tool_choice", ollama)

    def test_routeOverrides(self) -> None:
        """
        A route's upstream_model, extra_params and drop_params apply.
        """
        table = parseRoutingTable(
            '[upstreams.local]\nbase_url = "http://127.0.0.1:9/v1"\n'
            '[[routes]]\nmodel = "fast"\nupstream = "local"\nupstream_model = "model-b"\n'
            'extra_params = { top_k = 20 }\ndrop_params = ["stream_options"]\n', {})
        chosen = probeRoute(table, table.upstreams["local"], ["model-a", "model-b"], "fast")
        self.assertEqual(chosen.upstreamModel, "model-b")
        body = buildProbe(streamRequest("fast"), chosen, SETTINGS).chat.body
        self.assertEqual(body["model"], "model-b")
        self.assertEqual(body["top_k"], 20)
        self.assertNotIn("stream_options", body)

    def test_probeRoute(self) -> None:
        table = parseRoutingTable(
            '[upstreams.a]\nbase_url = "http://127.0.0.1:9/v1"\n'
            '[upstreams.b]\nbase_url = "http://127.0.0.1:10/v1"\n'
            '[[routes]]\nprefix = "b/"\nupstream = "b"\n', {})
        a, b = table.upstreams["a"], table.upstreams["b"]
        # A model routed elsewhere: this upstream's first listed model.
        self.assertEqual(probeRoute(table, a, ["x", "y"], "b/z").upstreamModel, "x")
        chosen = probeRoute(table, b, ["z"], "b/z")
        self.assertEqual((chosen.upstream, chosen.upstreamModel), (b, "z"))
        self.assertEqual(probeRoute(table, b, ["w"], None).upstreamModel, "w")
        self.assertIsNone(probeRoute(table, a, [], None))
        # Nothing listed, but a model named: probe it.
        self.assertEqual(probeRoute(table, a, [], "m").upstreamModel, "m")

    def test_parseModelList(self) -> None:
        self.assertEqual(parseModelList(json.dumps(MODELS).encode()), ["model-a", "model-b"])
        self.assertEqual(parseModelList(b'[{"id": "x"}, {"name": "y"}]'), ["x"])
        self.assertIsNone(parseModelList(b"<html>"))
        self.assertIsNone(parseModelList(b'{"models": []}'))
