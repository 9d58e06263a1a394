"""
C{codex-relay doctor}, the real command run as a subprocess against
scripted upstreams served by the test reactor: healthy, bad key,
warnings, refused, a config file, an unknown model, a timeout.
"""

import json
import os
import tempfile
from typing import Any

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from codex_relay._tools.doctor.probes import STREAM_MAX_TOKENS, STREAM_PROMPT, TOOL_MAX_TOKENS
from tests.harness.chunks import finish, text
from tests.harness.sockets import serveUpstream, trackConnections
from tests.harness.upstream import JSONReply, ReceivedRequest, ScriptedUpstream, Stream
from tests.harness.doctor import MODELS, healthy, runDoctor, table



def plain(body: Any, received: ReceivedRequest) -> Stream:
    """
    A model that reports no usage and answers the tool probe in text.
    """
    if body.get("tools"):
        return Stream([text("It is noon."), finish("stop")])
    return Stream([text("ok"), finish("stop")])


class KeyRequired(Resource):
    """
    Answers 401, as OpenAI does, unless the request carries C{key}.
    """

    isLeaf = True

    def __init__(self, inner: Resource, key: str) -> None:
        super().__init__()
        self._inner = inner
        self._key = key

    def render(self, request: Request) -> Any:  # type: ignore[override]
        if request.getHeader(b"authorization") != b"Bearer " + self._key.encode():
            request.setResponseCode(401)
            request.setHeader(b"content-type", b"application/json")
            return json.dumps({"error": {
                "message": "Incorrect API key provided.", "type": "invalid_request_error",
                "param": None, "code": "invalid_api_key"}}).encode()
        return self._inner.render(request)


class DoctorCommandTests(TestCase):
    async def test_healthy(self) -> None:
        """
        A healthy upstream: every row ok, showing the reasoning field, the
        usage fields and the tool call, and the named profile; the probes
        went out the way that profile talks to the provider.
        """
        upstream = ScriptedUpstream(healthy, models=MODELS)
        url = await serveUpstream(self, upstream)
        result = await deferToThread(runDoctor, "--upstream", url, "--api-key", "sk-test",
                                     "--profile", "deepseek", "doctor")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "profile")],
                         ("info", "deepseek (named by --profile)"))
        self.assertEqual(rows[("default", "models")],
                         ("ok", "2 listed (model-a, model-b); probing model-a"))
        self.assertEqual(rows[("default", "key")], ("ok", "accepted"))
        self.assertEqual(rows[("default", "stream")][0], "ok")
        self.assertIn('"ok" (finish_reason stop)', rows[("default", "stream")][1])
        self.assertEqual(rows[("default", "reasoning")], ("ok", "reasoning_content"))
        self.assertEqual(rows[("default", "usage")], ("ok", (
            "21 in, 9 out; cached 5 (prompt_tokens_details.cached_tokens); reasoning 3 "
            "(completion_tokens_details.reasoning_tokens)")))
        self.assertEqual(rows[("default", "tool call")],
                         ("ok", "get_time({}), a structured tool call"))
        self.assertNotIn("Next steps", result.stdout)
        self.assertIn("Codex can work through this upstream. The probes used 122 tokens.",
                      result.stdout)

        models, stream, tool = upstream.requests
        self.assertEqual((models.method, models.path), ("GET", "/v1/models"))
        self.assertEqual(models.headers["authorization"], "Bearer sk-test")
        self.assertEqual(stream.json["messages"], [{"role": "user", "content": STREAM_PROMPT}])
        # The deepseek profile: thinking switched on, no sampling parameters.
        self.assertEqual(stream.json["thinking"], {"type": "enabled"})
        self.assertEqual(stream.json["stream_options"], {"include_usage": True})
        self.assertEqual(stream.json["max_tokens"], STREAM_MAX_TOKENS)
        self.assertEqual(tool.json["tools"][0]["function"]["name"], "get_time")
        self.assertEqual(tool.json["max_tokens"], TOOL_MAX_TOKENS)

    async def test_badKey(self) -> None:
        upstream = ScriptedUpstream(healthy, models=MODELS)
        upstream.resource = KeyRequired(upstream.resource, "sk-right")
        url = await serveUpstream(self, upstream)
        result = await deferToThread(runDoctor, "--upstream", url, "doctor",
                                     env={"CODEX_RELAY_API_KEY": "sk-wrong"})
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "models")],
                         ("FAIL", 'HTTP 401: "Incorrect API key provided."'))
        self.assertEqual(rows[("default", "key")], ("FAIL", "rejected (HTTP 401)"))
        self.assertNotIn(("default", "stream"), rows)
        self.assertIn("Next steps:\n  - models: check the API key "
                      "(CODEX_RELAY_API_KEY or --api-key)\n", result.stdout)
        self.assertIn("Codex cannot work through default", result.stdout)
        self.assertEqual(upstream.requests, [])  # the wrapper answered alone

        fixed = await deferToThread(runDoctor, "--upstream", url, "doctor",
                                    env={"CODEX_RELAY_API_KEY": "sk-right"})
        self.assertEqual(fixed.returncode, 0, fixed.stdout + fixed.stderr)

    async def test_warnings(self) -> None:
        """
        No usage and a text answer to the tool probe: warnings with next
        steps, and still exit 0.
        """
        upstream = ScriptedUpstream(plain)
        url = await serveUpstream(self, upstream)
        result = await deferToThread(runDoctor, "--upstream", url, "doctor")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "profile")][1],
                         "generic (no known provider in the URL; --profile NAME names one)")
        self.assertEqual(rows[("default", "key")], ("ok", "none configured, none asked for"))
        self.assertEqual(rows[("default", "stream")][0], "ok")
        self.assertEqual(rows[("default", "reasoning")],
                         ("info", "none seen (the model did not reason here)"))
        self.assertEqual(rows[("default", "usage")], ("warn", "not reported in the stream"))
        self.assertEqual(rows[("default", "tool call")],
                         ("warn", 'answered in text, not a tool call: "It is noon."'))
        self.assertIn("Next steps:\n  - usage: nothing to fix", result.stdout)
        self.assertIn("  - tool call: Codex works only through tool calls", result.stdout)
        self.assertIn("Codex can work through this upstream.", result.stdout)

    async def test_refused(self) -> None:
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            Site(Resource()))
        number = port.getHost().port
        await port.stopListening()
        result = await deferToThread(runDoctor, "--upstream",
                                     "http://127.0.0.1:{}/v1".format(number), "doctor")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "models")], (
            "FAIL", "could not connect to 127.0.0.1:{} (connection refused)".format(number)))
        self.assertIn("start the upstream server", result.stdout)
        self.assertEqual(result.stderr, "")

    async def test_configFile(self) -> None:
        """
        Every upstream of a --config file is probed and reported, each with
        its profile, key and routes; a rejected parameter is stripped and
        retried as the relay does.
        """
        alpha = ScriptedUpstream(healthy, models=MODELS)
        betaModels = {"object": "list", "data": [{"id": "kimi-k2", "object": "model"}]}

        def beta(body: Any, received: ReceivedRequest) -> Any:
            if "top_k" in body:
                return JSONReply({"error": {"message": "Unrecognized request argument "
                                            "supplied: top_k", "type": "invalid_request_error"}},
                                 status=400)
            return plain(body, received)

        betaUpstream = ScriptedUpstream(beta, models=betaModels)
        alphaURL = await serveUpstream(self, alpha)
        betaURL = await serveUpstream(self, betaUpstream)
        directory = tempfile.mkdtemp()
        path = os.path.join(directory, "relay.toml")
        with open(path, "w") as config:
            config.write(
                '[upstreams.alpha]\nbase_url = "{}"\napi_key_env = "ALPHA_KEY"\n\n'
                '[upstreams.beta]\nbase_url = "{}"\nprofile = "kimi"\n\n'
                '[[routes]]\nprefix = "beta/"\nupstream = "beta"\n'
                'extra_params = {{ top_k = 20 }}\n'.format(alphaURL, betaURL))
        result = await deferToThread(runDoctor, "--config", path, "doctor",
                                     env={"ALPHA_KEY": "sk-alpha"})
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("alpha", "key")], ("ok", "accepted"))
        self.assertEqual(rows[("alpha", "tool call")][0], "ok")
        self.assertEqual(rows[("beta", "profile")], ("info", "kimi (named in the config)"))
        self.assertEqual(rows[("beta", "models")],
                         ("ok", "1 listed (kimi-k2); probing kimi-k2"))
        self.assertIn("rejected 'top_k', left out as the relay will",
                      rows[("beta", "stream")][1])
        self.assertEqual(rows[("beta", "tool call")][0], "warn")
        self.assertIn("  - beta tool call: ", result.stdout)
        self.assertIn("Codex can work through every upstream (2).", result.stdout)
        self.assertEqual(alpha.requests[0].headers["authorization"], "Bearer sk-alpha")
        first, retried = betaUpstream.requests[1:3]
        self.assertEqual(first.json["top_k"], 20)
        self.assertEqual(first.json["max_completion_tokens"], STREAM_MAX_TOKENS)
        self.assertNotIn("top_k", retried.json)

    async def test_unknownModel(self) -> None:
        """
        A --model the upstream does not serve: the stream probe's 404 says
        to pick one it lists; exit 1.
        """
        def respond(body: Any, received: ReceivedRequest) -> Any:
            if body["model"] != "model-a":
                return JSONReply({"error": {"message": "model not found",
                                            "code": "model_not_found"}}, status=404)
            return healthy(body, received)

        url = await serveUpstream(self, ScriptedUpstream(respond))
        result = await deferToThread(runDoctor, "--upstream", url, "doctor", "-m", "nope")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        rows = table(result.stdout)
        self.assertEqual(rows[("default", "stream")], ("FAIL", 'HTTP 404: "model not found"'))
        self.assertIn("does not serve 'nope': pass --model", result.stdout)

    async def test_timeout(self) -> None:
        """
        An upstream that never answers costs --timeout seconds, not forever.
        """
        class Silent(Resource):
            isLeaf = True

            def render(self, request: Request) -> Any:  # type: ignore[override]
                from twisted.web.server import NOT_DONE_YET
                return NOT_DONE_YET

        site = Site(Silent())
        trackConnections(self, site)
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(site)
        self.addCleanup(port.stopListening)
        result = await deferToThread(
            runDoctor, "--upstream", "http://127.0.0.1:{}/v1".format(port.getHost().port),
            "doctor", "--timeout", "0.5")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertEqual(table(result.stdout)[("default", "models")],
                         ("FAIL", "no answer: no answer within 0.5s"))
