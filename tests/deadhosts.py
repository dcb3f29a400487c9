"""Hosts that never answer, for tests of newsbot's run bounds: real sockets on 127.0.0.1.

- `SilentHost` accepts every connection and never says a word (a hung web server): the client's
  download timeout must end each request.
- `FullBacklogHost` listens with a backlog it has filled itself and never accepts: new connections
  are never completed (their SYNs are dropped), so the client's connect timeout must end them.
- `refused_port()` is a port nothing listens on: connections are refused at once.
- `UntrustedTlsHost` speaks TLS with a certificate the client refuses: nothing is ever sent.
- `ResettingHost` reads each request and resets the connection without answering.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import struct
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path


class SilentHost:
    """Accepts connections and holds them open without reading or writing; counts them."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._held)

    def start(self) -> SilentHost:
        self._thread.start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            with self._lock:
                self._held.append(connection)

    def stop(self) -> None:
        self._listener.close()
        with self._lock:
            for connection in self._held:
                connection.close()


class FullBacklogHost:
    """Listens, never accepts, and fills its own backlog: further connection attempts hang."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self._fillers: list[socket.socket] = []
        for _ in range(16):  # Linux queues backlog + 1 completed connections; fill until one hangs
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.settimeout(0.3)
            try:
                filler.connect(self._listener.getsockname())
            except TimeoutError:
                filler.close()
                break
            self._fillers.append(filler)
        else:
            raise RuntimeError("the backlog never filled: this kernel does not drop SYNs on a full queue")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def stop(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._listener.close()


def refused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was just free)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _AcceptingHost:
    """Listens on 127.0.0.1 and hands each connection to `_answer`, one after another, in a thread."""

    scheme = "http"

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            with contextlib.suppress(OSError), connection:
                self._answer(connection)

    def _answer(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._listener.close()


class UntrustedTlsHost(_AcceptingHost):
    """Speaks TLS with a self-signed certificate no client trusts (an intercepting proxy, a broken CA
    bundle): the client ends the handshake before a byte of its request is sent. Counts handshakes
    that succeeded, which must stay 0."""

    scheme = "https"

    def __init__(self, folder: Path) -> None:
        certificate, key = _self_signed(folder)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(certificate, key)
        self.handshakes = 0
        super().__init__()

    def _answer(self, connection: socket.socket) -> None:
        with self._context.wrap_socket(connection, server_side=True) as secured:
            self.handshakes += 1
            secured.recv(1)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509  # Scrapy's own dependency
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = folder / "untrusted.pem", folder / "untrusted.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_path, key_path


class ResettingHost(_AcceptingHost):
    """Accepts each connection, reads the request, and resets the connection without a word."""

    def _answer(self, connection: socket.socket) -> None:
        connection.recv(65536)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
