"""
A transparent twisted.web proxy that records what crosses it: L{serveProxy}
serves a L{RecordingProxy} in front of a real server (llama.cpp in
L{tests.harness.llamarelay}), which keeps every request and every byte of
the answer as a L{Proxied} exchange, so a test can compare what the relay
sent back (text, usage, call ids, reasoning) with what the real server
streamed, and see what the relay sent upstream.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import CancelledError, ensureDeferred
from twisted.internet.endpoints import serverFromString
from twisted.trial.unittest import TestCase
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

import treq
from treq.client import HTTPClient

from tests.harness.sockets import trackConnections


@dataclass
class Proxied:
    """
    One exchange between the relay and llama.cpp, as it crossed the proxy.
    """

    method: str
    path: str
    requestBody: bytes
    status: int | None = None
    contentType: str = ""
    chunks: list[bytes] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.requestBody)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def chunkObjects(self) -> list[dict[str, Any]]:
        """
        The C{chat.completion.chunk}s of a streamed answer, in order.
        """
        found = []
        for line in self.body.decode("utf-8").splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                found.append(json.loads(line[len("data: "):]))
        return found

    def deltas(self, key: str) -> str:
        """
        The joined C{delta[key]} strings of a streamed answer.
        """
        return "".join(c["choices"][0]["delta"].get(key) or ""
                       for c in self.chunkObjects() if c["choices"])

    @property
    def streamed(self) -> bool:
        return self.contentType.split(";")[0] == "text/event-stream"

    def completion(self) -> dict[str, Any]:
        """
        The C{chat.completion} of an answer that was not streamed.
        """
        assert not self.streamed, "a streamed answer"
        return json.loads(self.body)

    def finishReason(self) -> str:
        if not self.streamed:
            return self.completion()["choices"][0]["finish_reason"]
        [reason] = [c["choices"][0]["finish_reason"] for c in self.chunkObjects()
                    if c["choices"] and c["choices"][0]["finish_reason"]]
        return reason

    def usage(self) -> dict[str, Any]:
        if not self.streamed:
            return self.completion()["usage"]
        [usage] = [c["usage"] for c in self.chunkObjects() if c.get("usage")]
        return usage

    def toolCalls(self) -> list[dict[str, Any]]:
        """
        The streamed tool calls, their fragments joined by index.
        """
        calls: dict[int, dict[str, Any]] = {}
        for c in self.chunkObjects():
            for fragment in (c["choices"][0]["delta"].get("tool_calls") or []
                             if c["choices"] else []):
                call = calls.setdefault(fragment["index"], {"id": None, "name": "",
                                                             "arguments": ""})
                call["id"] = fragment.get("id") or call["id"]
                function = fragment.get("function") or {}
                call["name"] += function.get("name") or ""
                call["arguments"] += function.get("arguments") or ""
        return [calls[i] for i in sorted(calls)]


# Hop-by-hop and framing headers, which each connection sets for itself.
_HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"transfer-encoding", b"upgrade", b"host", b"content-length",
})
# Not asked for either, so the recorded answers are never compressed.
_NOT_FORWARDED = _HOP_BY_HOP | {b"accept-encoding"}


class RecordingProxy(Resource):
    """
    Forward every request to C{target} (C{http://HOST:PORT}) unchanged and
    stream the answer back as it arrives, keeping a copy of both.  Only
    hop-by-hop headers and C{Accept-Encoding} are not passed on (so the
    copies are never compressed); the answers say C{Connection:
    close}, so the client's pool keeps no connection to the proxy (one
    handed back after the client's pool closed would leave its idle timer
    behind in the reactor).
    """

    isLeaf = True

    def __init__(self, target: str, client: HTTPClient) -> None:
        super().__init__()
        self._target = target
        self._client = client
        self.exchanges: list[Proxied] = []

    def render(self, request: Request) -> object:
        assert request.content is not None
        exchange = Proxied(request.method.decode("ascii"), request.uri.decode("ascii"),
                           request.content.read())
        self.exchanges.append(exchange)
        forwarding = ensureDeferred(self._forward(request, exchange))
        request.notifyFinish().addErrback(lambda _: forwarding.cancel())
        forwarding.addErrback(lambda f: f.trap(CancelledError))
        return NOT_DONE_YET

    async def _forward(self, request: Request, exchange: Proxied) -> None:
        headers = Headers({name: values for name, values in
                           request.requestHeaders.getAllRawHeaders()
                           if name.lower() not in _NOT_FORWARDED})
        try:
            response = await self._client.request(
                exchange.method, self._target + exchange.path, headers=headers,
                data=exchange.requestBody or None, unbuffered=True)
        except CancelledError:
            raise
        except Exception as error:
            exchange.status = 502
            request.setResponseCode(502)
            request.write("proxy: {}".format(error).encode("utf-8"))
            request.finish()
            return
        exchange.status = response.code
        exchange.contentType = (response.headers.getRawHeaders("content-type") or [""])[0]
        request.setResponseCode(response.code)
        for name, values in response.headers.getAllRawHeaders():
            if name.lower() not in _HOP_BY_HOP:
                request.responseHeaders.setRawHeaders(name, values)
        request.setHeader("connection", "close")

        def relay(data: bytes) -> None:
            exchange.chunks.append(data)
            request.write(data)

        await treq.collect(response, relay)
        request.finish()

    def chat(self) -> list[Proxied]:
        """
        The Chat Completions exchanges, in order.
        """
        return [e for e in self.exchanges if e.path == "/v1/chat/completions"]


async def serveProxy(case: TestCase, target: str,
                     client: HTTPClient) -> tuple[RecordingProxy, str]:
    """
    Serve a L{RecordingProxy} onto C{target} on a loopback port for the
    length of C{case}.

    @return: the proxy and its base URL, ending in C{/v1}.
    """
    proxy = RecordingProxy(target, client)
    site = Site(proxy)
    site.noisy = False
    trackConnections(case, site)
    port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(site)
    case.addCleanup(port.stopListening)
    return proxy, "http://127.0.0.1:{}/v1".format(port.getHost().port)
