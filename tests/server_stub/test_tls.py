"""``--tls``: HTTPS/WSS with a certificate the server makes once and keeps, whose printed
SHA-256 fingerprint is what clients pin; ``--tls-cert/--tls-key`` for a real one."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import re
import socket
import ssl
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from cryptography import x509

from server_stub import tls
from tests.server_stub.peers import TIMEOUT
from tests.support import REPO, ServerProcess, wait_for

FINGERPRINT_LINE = re.compile(r"^Certificate SHA-256: ([0-9a-f]{64})\n$")


def printed_fingerprint(srv: ServerProcess) -> str:
    """The fingerprint from the server's ``Certificate SHA-256:`` line."""
    def line() -> str | None:
        return next((x for x in list(srv.output) if x.startswith("Certificate ")), None)

    assert wait_for(lambda: line() is not None), srv.output
    match = FINGERPRINT_LINE.match(line() or "")
    assert match, srv.output
    return match.group(1)


def served_fingerprint(port: int) -> str:
    """SHA-256 of the DER certificate the server sends in the TLS handshake."""
    pem = ssl.get_server_certificate(("127.0.0.1", port), timeout=TIMEOUT)
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def file_fingerprint(cert: Path) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.read_text())).hexdigest()


async def welcome_over(url: str, ssl_option: Any, transport: str = "websocket") -> dict:
    """Connect /chat through a session whose connector checks TLS with ``ssl_option``
    (an ``aiohttp.Fingerprint`` pin, an ``ssl.SSLContext``, or True for the defaults)."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_option))
    client = socketio.AsyncClient(reconnection=False, http_session=session)
    welcome: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
    client.on("welcome", welcome.set_result, namespace="/chat")
    try:
        await client.connect(url, namespaces=["/chat"], auth={"user": "alice"},
                             transports=[transport], wait_timeout=TIMEOUT)
        return await asyncio.wait_for(welcome, TIMEOUT)
    finally:
        await client.disconnect()
        await session.close()


def pin(fingerprint: str) -> aiohttp.Fingerprint:
    return aiohttp.Fingerprint(bytes.fromhex(fingerprint))


@pytest.fixture
def started() -> Any:
    servers: list[ServerProcess] = []

    def start(db: Path, *extra: str) -> ServerProcess:
        srv = ServerProcess(db, *extra)
        servers.append(srv)
        return srv.start()

    yield start
    for srv in servers:
        srv.kill()


async def test_self_signed_certificate_is_made_once_printed_and_pinned(
        tmp_path: Path, started: Any) -> None:
    srv = started(tmp_path / "a.db", "--tls")
    assert srv.url.startswith("https://127.0.0.1:")
    fp = printed_fingerprint(srv)
    assert served_fingerprint(srv.port) == fp

    folder = tmp_path / "tls"
    assert file_fingerprint(folder / "cert.pem") == fp
    assert stat.S_IMODE((folder / "key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    cert = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)

    for transport in ("websocket", "polling"):
        welcome = await welcome_over(srv.url, pin(fp), transport)
        assert welcome["user"] == "alice" and welcome["server"] == "sockdesk"

    # kept: the same certificate after a restart, so invites and pins stay valid
    srv.stop()
    srv.restart()
    assert printed_fingerprint(srv) == fp == served_fingerprint(srv.port)


async def test_a_client_pinning_another_certificate_is_refused(
        tmp_path: Path, started: Any) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = started(tmp_path / "a" / "s.db", "--tls")
    second = started(tmp_path / "b" / "s.db", "--tls")
    fp_first, fp_second = printed_fingerprint(first), printed_fingerprint(second)
    assert fp_first != fp_second

    # the pin of the first server, at the second one's address: "not the same server"
    for transport in ("websocket", "polling"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            await welcome_over(second.url, pin(fp_first), transport)
    # and without a pin a self-signed certificate is not trusted either
    with pytest.raises(socketio.exceptions.ConnectionError):
        await welcome_over(second.url, True)
    assert (await welcome_over(second.url, pin(fp_second)))["namespace"] == "/chat"


async def test_a_given_certificate_is_served_and_verifies_by_name(
        tmp_path: Path, started: Any) -> None:
    cert_pem, key_pem = tls.make_certificate(["127.0.0.1"])
    cert, key = tmp_path / "real.crt", tmp_path / "real.key"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    srv = started(tmp_path / "s.db", "--tls-cert", str(cert), "--tls-key", str(key))
    assert srv.url.startswith("https://")
    assert printed_fingerprint(srv) == file_fingerprint(cert) == served_fingerprint(srv.port)
    assert not (tmp_path / "tls").exists()          # nothing self-signed was made
    # a client that trusts this certificate checks it the ordinary way, name included
    trusting = ssl.create_default_context(cafile=str(cert))
    assert (await welcome_over(srv.url, trusting))["user"] == "alice"


def run_server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server_stub", "--port", "0", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=30)


def test_unusable_certificate_options_are_refused(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "s.db")]
    alone = run_server(*db, "--tls-cert", str(tmp_path / "x.crt"))
    assert alone.returncode == 2 and "--tls-key" in alone.stderr

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    bad = run_server(*db, "--tls-cert", str(garbage), "--tls-key", str(garbage))
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("sockdesk-server: error: ") and bad.stderr.count("\n") == 1

    cert_pem, _ = tls.make_certificate(["127.0.0.1"])
    _, other_key = tls.make_certificate(["127.0.0.1"])
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "k.pem").write_bytes(other_key)
    mismatch = run_server(*db, "--tls-cert", str(tmp_path / "c.pem"), "--tls-key",
                          str(tmp_path / "k.pem"))
    assert mismatch.returncode == 1 and "cannot use the certificate" in mismatch.stderr
    assert not (tmp_path / "s.db").exists()         # refused before opening storage


def test_subject_names_for_every_interface_name_the_machine() -> None:
    names = tls.subject_names("0.0.0.0", extra=("192.0.2.7",))
    assert names[:2] == ["localhost", "127.0.0.1"]
    assert socket.gethostname() in names and "192.0.2.7" in names
    assert "0.0.0.0" not in names
    assert tls.subject_names("192.0.2.9") == ["192.0.2.9", "localhost", "127.0.0.1"]
    assert tls.subject_names("localhost") == ["localhost", "127.0.0.1"]
