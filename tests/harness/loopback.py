"""
Shared test harness.
"""

import datetime
import ipaddress
import json
import socket
from pathlib import Path
from typing import Any, Callable
import treq
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL
from treq.client import HTTPClient
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import (
    SSL4ServerEndpoint,
    TCP4ClientEndpoint,
    connectProtocol,
    serverFromString,
)
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.server import Site
from codex_relay import RelayConfig, RelayService
from tests.harness.oracle import checkStream
from tests.harness.memory import LogCapture, streamRequest
from tests.harness.upstream import ScriptedUpstream


class ConnectionLog:
    """
    The connections of the protocols a factory builds: their transports in
    order, and which are still connected (C{buildProtocol} is wrapped on the
    factory instance, C{makeConnection} and C{connectionLost} on each
    protocol).
    """

    def __init__(self, factory: Any) -> None:
        self.transports: list[Any] = []
        self.open: set[Any] = set()
        build = factory.buildProtocol

        def buildProtocol(address: Any) -> Any:
            protocol = build(address)
            if protocol is not None:
                self._watch(protocol)
            return protocol

        factory.buildProtocol = buildProtocol

    def _watch(self, protocol: Any) -> None:
        made, lost = protocol.makeConnection, protocol.connectionLost

        def makeConnection(transport: Any) -> None:
            self.transports.append(transport)
            self.open.add(protocol)
            made(transport)

        def connectionLost(reason: Failure) -> None:
            self.open.discard(protocol)
            lost(reason)

        protocol.makeConnection = makeConnection
        protocol.connectionLost = connectionLost

    async def allClosed(self) -> None:
        # A connection upgraded to a WebSocket has another connectionLost:
        # its transport tells.
        await eventually(lambda: not self.open or not any(
            t.connected for t in self.transports), "connections still open")


async def eventually(predicate: Callable[[], bool], what: str,
                     timeout: float = 5.0) -> None:
    """
    Poll C{predicate} on the reactor until it holds.
    """
    deadline = reactor.seconds() + timeout
    while not predicate():
        if reactor.seconds() > deadline:
            raise AssertionError("after {}s: {}".format(timeout, what))
        await deferLater(reactor, 0.01)


async def stallThroughRelay(case: Any, service: Any, request: dict,
                            upstreamConnections: Any) -> "StalledClient":
    """
    POST C{request} through C{service} with a client that reads nothing for
    2 s while the upstream pushes megabytes, then reads it all.  Asserts
    the relay kept its own unsent data small (the upstream was paused, and
    holds the rest); returns the client once its response is complete.
    """
    body = json.dumps(request).encode()
    client = StalledClient(
        b"POST /v1/responses HTTP/1.0\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body))
    port = service.ports[0].getHost().port
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), client)
    case.addCleanup(client.transport.abortConnection)  # if the test fails early
    await eventually(lambda: bool(case.upstream.requests), "the upstream request")
    [upstreamTransport] = upstreamConnections.transports
    [relayTransport] = case.relayConnections.transports
    largest = 0
    for _ in range(40):
        await deferLater(reactor, 0.05)
        largest = max(largest, unsent(relayTransport))
    case.assertLess(largest, 4 * 1024 * 1024)
    case.assertGreater(unsent(upstreamTransport), 4 * 1024 * 1024)
    case.assertFalse(client.done.called)
    client.resume()
    await client.done
    return client


def unsent(transport: Any) -> int:
    """
    The bytes a TCP transport holds in user space, not yet accepted by the
    kernel (L{twisted.internet.abstract.FileDescriptor}'s buffers).
    """
    return (len(transport.dataBuffer) - transport.offset) + transport._tempDataLen


class Certificates:
    """
    A test CA and server certificates it signs, as PEM files in C{directory}.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True)
        self._directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "codex-relay test CA")])
        self._name = name
        self._ca = self._builder(name, self._key.public_key()).add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True,
        ).add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False), critical=True,
        ).sign(self._key, hashes.SHA256())
        self.caPath = self._write("ca.pem", self._ca.public_bytes(serialization.Encoding.PEM))

    def _builder(self, subject: x509.Name, publicKey: Any) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.timezone.utc)
        return x509.CertificateBuilder().subject_name(subject).issuer_name(
            self._name).public_key(publicKey).serial_number(
            x509.random_serial_number()).not_valid_before(
            now - datetime.timedelta(days=1)).not_valid_after(
            now + datetime.timedelta(days=1)).add_extension(
            x509.SubjectKeyIdentifier.from_public_key(publicKey), critical=False)

    def _write(self, name: str, data: bytes) -> str:
        path = self._directory / name
        path.write_bytes(data)
        return str(path)

    def server(self, name: str, dnsNames: list[str], ips: list[str]) -> tuple[str, str]:
        """
        A server certificate for C{dnsNames} and C{ips}: (key path, cert path).
        """
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in dnsNames]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        cert = self._builder(subject, key.public_key()).add_extension(
            x509.SubjectAlternativeName(names), critical=False,
        ).add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True,
        ).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False,
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
            critical=False,
        ).sign(self._key, hashes.SHA256())
        keyPath = self._write(name + ".key", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        certPath = self._write(name + ".pem", cert.public_bytes(serialization.Encoding.PEM))
        return keyPath, certPath


class ServerTLS:
    """
    The upstream's TLS context, loaded from PEM files.  (The C{ssl:}
    endpoint would do, but Twisted hands pyOpenSSL objects to pyOpenSSL
    there, which warns of their deprecation.)
    """

    def __init__(self, keyPath: str, certPath: str) -> None:
        self._keyPath = keyPath
        self._certPath = certPath

    def getContext(self) -> SSL.Context:
        context = SSL.Context(SSL.TLS_METHOD)
        context.use_certificate_file(self._certPath)
        context.use_privatekey_file(self._keyPath)
        return context


class StalledClient(Protocol):
    """
    A raw HTTP/1.0 client that sends its request, then reads nothing until
    L{resume}; the relay answers it with a close-delimited body.
    """

    def __init__(self, request: bytes) -> None:
        self._request = request
        self._data: list[bytes] = []
        self.done: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        # A small receive buffer, so the kernel soon stops taking the
        # relay's output and the relay itself must hold back.
        self.transport.getHandle().setsockopt(  # type: ignore[union-attr]
            socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        self.transport.write(self._request)  # type: ignore[union-attr]
        self.transport.pauseProducing()  # type: ignore[union-attr]

    def resume(self) -> None:
        self.transport.getHandle().setsockopt(  # type: ignore[union-attr]
            socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.transport.resumeProducing()  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        self._data.append(data)

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        self.done.callback(None)

    def response(self) -> tuple[bytes, bytes]:
        """
        The status line and headers, and the body.
        """
        head, _, body = b"".join(self._data).partition(b"\r\n\r\n")
        return head, body


class LoopbackTestCase(TestCase):
    """
    Starts scripted upstreams, relays and clients, and closes them all.
    """

    def setUp(self) -> None:
        self.log = LogCapture(self)
        self.addCleanup(self.assertNoErrorsLogged)

    def assertNoErrorsLogged(self) -> None:
        self.assertEqual(self.log.errors(), [])

    async def startUpstream(self, tls: tuple[str, str] | None = None
                            ) -> tuple[str, ConnectionLog]:
        """
        Serve C{self.upstream}, over TLS with C{tls} (key and certificate
        paths); its base URL and its server connections.
        """
        upstream = self.upstream
        site = Site(upstream.resource)
        site.noisy = False
        connections = ConnectionLog(site)
        if tls is None:
            endpoint, scheme = serverFromString(reactor, "tcp:0:interface=127.0.0.1"), "http"
        else:
            endpoint = SSL4ServerEndpoint(reactor, 0, ServerTLS(*tls), interface="127.0.0.1")
            scheme = "https"
        port = await endpoint.listen(site)
        self.addCleanup(port.stopListening)
        self.addCleanup(connections.allClosed)
        self.addCleanup(upstream.abortAll)
        return "{}://127.0.0.1:{}/v1".format(scheme, port.getHost().port), connections

    async def startRelay(self, upstreamURL: str, **config: Any) -> tuple[str, RelayService]:
        """
        A L{RelayService} in front of C{upstreamURL}; its base URL.
        """
        service = RelayService(RelayConfig(upstream=upstreamURL, **config), reactor,
                               listen=["tcp:0:interface=127.0.0.1"])
        self.relayConnections = ConnectionLog(service.site)
        service.startService()
        self.addCleanup(self.relayConnections.allClosed)
        self.addCleanup(service.stopService)
        [port] = await service.listening
        return "http://127.0.0.1:{}".format(port.getHost().port), service

    async def setUpRelay(self, **config: Any) -> None:
        """
        A plain upstream, a relay before it, and a client: C{self.upstream},
        C{self.upstreamURL}, C{self.upstreamConnections}, C{self.url},
        C{self.service}, C{self.client}.
        """
        self.upstream = ScriptedUpstream(reactor=reactor)
        self.upstreamURL, self.upstreamConnections = await self.startUpstream()
        self.url, self.service = await self.startRelay(self.upstreamURL, **config)
        self.client = self.makeClient()

    def makeClient(self) -> HTTPClient:
        pool = HTTPConnectionPool(reactor, persistent=False)
        self.addCleanup(pool.closeCachedConnections)
        return HTTPClient(Agent(reactor, pool=pool))

    async def post(self, body: Any, url: str | None = None) -> Any:
        return await self.client.post((url or self.url) + "/v1/responses", json=body,
                                      unbuffered=True)

    async def stream(self, body: Any = None) -> list[dict]:
        """
        POST a stream request; its complete, oracle-valid events.
        """
        response = await self.post(body or streamRequest())
        self.assertEqual(response.code, 200)
        return checkStream(await treq.content(response))

    async def assertError(self, response: Any, status: int, code: str) -> dict:
        body = await treq.content(response)
        self.assertEqual(response.code, status, body[:500])
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["application/json"])
        error = json.loads(body)["error"]
        self.assertEqual(error["code"], code, body)
        return error
