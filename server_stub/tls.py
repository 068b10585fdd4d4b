"""HTTPS and WSS for ``sockdesk-server --tls``: the certificate and its fingerprint.

A team server on a LAN has no name a public authority would sign, so by default the
server makes its own certificate on first use and keeps it beside its database
(``<db folder>/tls/cert.pem`` and ``key.pem``). It is reused on every later start, so
its SHA-256 fingerprint stays the same: clients pin that fingerprint (it travels in the
invite, see :mod:`server_stub.invite`) instead of trusting an authority, and a client
that sees another certificate under the same address knows it is not talking to this
server. Delete the folder to get a new certificate (and hand out new invites).

``--tls-cert`` / ``--tls-key`` serve a real certificate instead; its fingerprint is
printed the same way.

``cryptography`` is imported only here and only when a certificate is made or read, so
a plain HTTP server does not pay for it at start-up.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import secrets
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from server_stub.invite import is_unspecified

CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
#: Self-signed certificates are pinned, not checked against a calendar by a person, so
#: they may live long; a new one means new invites for everybody.
VALID_DAYS = 3650


class TlsError(Exception):
    """The certificate cannot be made, read or used; the message is for the user."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The PEM files the server serves: the certificate (chain) and its private key."""

    cert: Path
    key: Path


def subject_names(host: str, *, extra: tuple[str, ...] = ()) -> list[str]:
    """Names the self-signed certificate is valid for: the listen host, ``localhost``,
    ``127.0.0.1``, and the machine's name when listening on every interface (plus any
    ``extra``, e.g. its LAN address). Clients that check names as well as the pin then
    accept the addresses people actually type."""
    names: list[str] = []
    wanted = [host.strip("[]"), "localhost", "127.0.0.1"]
    if is_unspecified(host):
        wanted = ["localhost", "127.0.0.1", socket.gethostname(), *extra]
    for name in wanted:
        if name and not is_unspecified(name) and name not in names:
            names.append(name)
    return names


def self_signed(folder: Path, names: list[str]) -> TlsFiles:
    """The certificate kept in ``folder`` (made now if there is none yet)."""
    files = TlsFiles(folder / CERT_FILE, folder / KEY_FILE)
    if files.cert.is_file() and files.key.is_file():
        return files
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        cert_pem, key_pem = make_certificate(names)
        # The key first and the certificate last: a crash in between leaves no
        # certificate, so the next start makes a new pair instead of a mismatched one.
        _write(files.key, key_pem, 0o600)
        _write(files.cert, cert_pem, 0o644)
    except OSError as exc:
        raise TlsError(f"cannot write the TLS certificate in {folder}: "
                       f"{exc.strerror or exc}") from exc
    return files


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` all at once, with ``mode`` from the first byte."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def make_certificate(names: list[str]) -> tuple[bytes, bytes]:
    """A new self-signed certificate for ``names`` and its key, both PEM (P-256 ECDSA:
    quick to make, accepted by every current TLS client)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sockdesk-server")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))  # clients with a slow clock
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def fingerprint(cert: Path) -> str:
    """SHA-256 of the DER encoding of the certificate the server sends first (the leaf,
    for a chain file): 64 lowercase hex digits, what ``aiohttp.Fingerprint`` and
    browsers show."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        certs = x509.load_pem_x509_certificates(cert.read_bytes())
    except OSError as exc:
        raise TlsError(f"cannot read the TLS certificate {cert}: "
                       f"{exc.strerror or exc}") from exc
    except ValueError as exc:
        raise TlsError(f"{cert} does not hold a PEM certificate") from exc
    return certs[0].fingerprint(hashes.SHA256()).hex()


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """The SSL context aiohttp serves with (TLS 1.2 or newer)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(files.cert, files.key)
    except FileNotFoundError as exc:
        raise TlsError(f"cannot read {exc.filename}: no such file") from exc
    except PermissionError as exc:
        raise TlsError(f"cannot read {exc.filename}: permission denied") from exc
    except ssl.SSLError as exc:
        raise TlsError(f"cannot use the certificate {files.cert} with the key "
                       f"{files.key}: {exc.reason or exc}") from exc
    return context
