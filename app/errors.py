"""Turning connection failures into one clear sentence a person can act on.

python-socketio reports most failures as "Connection error" or "One or more namespaces
failed to connect"; that tells a user nothing. We keep what the server said
(connect_error data.message) and, for transport failures, probe the TCP port ourselves
to tell "nothing listens there" from "no such host" from "no answer", then what answers
over HTTP (`app.handshake`: a wrong path, not Socket.IO, Socket.IO v2, another parser).
An `Explanation` says whether retrying can help.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.config import TlsSettings

SCHEMES = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class SessionError(Exception):
    """Base of the core's own errors; str() is a sentence fit for a user."""


class NotConnected(SessionError):
    """A direct call needs the namespace to be connected, and it is not."""


class CallTimeout(SessionError, TimeoutError):
    """A direct call got no acknowledgement in time."""


class EncodeError(SessionError, ValueError):
    """A payload the connection's parser cannot write (e.g. an integer beyond 64 bits
    with msgpack, or invalid base64 in a `{"$binary": ...}` value)."""


class AckError(SessionError):
    """An answer to the server's ack request that cannot be given any more (answered
    already, ignored on purpose, or the connection it came on is gone)."""


def check_url(url: str) -> str | None:
    """None if `url` is usable, else a sentence saying what is wrong with it."""
    if not url or not url.strip():
        return "The server URL is empty; use something like http://127.0.0.1:5000."
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        return f"The server URL {url!r} is not valid: {exc}."
    if parts.scheme not in SCHEMES:
        return (f"The server URL {url!r} is not valid: it must start with http://, "
                "https://, ws:// or wss://.")
    if not parts.hostname:
        return f"The server URL {url!r} is not valid: it has no host name."
    if port == 0:
        return f"The server URL {url!r} is not valid: port 0 cannot be connected to."
    return None


def host_port(url: str) -> tuple[str, int]:
    """Host and port a URL points at (default port by scheme)."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or SCHEMES.get(parts.scheme, 80)


@dataclass(frozen=True)
class Explanation:
    """Why a connection attempt failed: one sentence, and whether retrying cannot help
    (the server was reached and speaks another Socket.IO version or parser)."""

    sentence: str
    permanent: bool = False


def _sentence(text: str) -> str:
    """`text` ending like a sentence (a question keeps its question mark)."""
    return text if text.endswith((".", "?", "!")) else text + "."


def refused_sentence(url: str, namespace: str, message: str | None) -> str:
    """The sentence for a connect_error sent by the server."""
    msg = (message or "").strip() or "no reason given"
    # socket.io (Node) says "Invalid namespace"; python-socketio says "Unable to connect"
    if msg.lower().rstrip(".") in ("invalid namespace", "namespace not found",
                                   "unable to connect"):
        return f"The server at {url} has no namespace {namespace}."
    return f"The server at {url} refused the connection to {namespace}: {msg.rstrip('.')}."


async def explain_transport_failure(url: str, detail: str, timeout: float = 3.0,
                                    tls: TlsSettings | None = None, path: str = "socket.io",
                                    parser: str = "default",
                                    headers: dict[str, str] | None = None,
                                    probe_url: str | None = None,
                                    transports: list[str] | None = None) -> Explanation:
    """Probe the server and say in one sentence why connecting failed: first its TCP
    port (and certificate), then, when the port answers, what answers there over
    plain HTTP (`app.handshake.diagnose`: a 404 at the path, a server that is not
    Socket.IO, a Socket.IO v2 server, a parser mismatch). `probe_url` is the URL with
    the connection's query, if it has one."""
    host, port = host_port(url)
    if urlsplit(url).scheme in ("https", "wss"):
        why = await explain_certificate(host, port, tls or TlsSettings(), timeout)
        if why:
            # retrying cannot change the certificate the server presents
            return Explanation(f"Cannot connect to {url}: {why}", permanent=True)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except socket.gaierror:
        return Explanation(f"Cannot connect to {url}: the host name {host!r} does not "
                           "resolve.")
    except ConnectionRefusedError:
        return Explanation(f"Cannot connect to {url}: nothing is listening on {host} port "
                           f"{port}.")
    except TimeoutError:
        return Explanation(f"Cannot connect to {url}: {host} port {port} does not answer "
                           "(timed out).")
    except OSError as exc:
        why = exc.strerror or str(exc)
        return Explanation(f"Cannot connect to {url}: {host} is unreachable ({why}).")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    from app import handshake  # aiohttp: imported by what connects, not at start-up

    found = await handshake.diagnose(probe_url or url, path, parser, tls, headers, timeout,
                                     transports)
    if found:
        return Explanation(f"Cannot connect to {url}: {_sentence(found.text)}",
                           found.permanent)
    detail = (detail or "unknown error").rstrip(".")
    return Explanation(f"Cannot connect to {url}: the host answers but the Socket.IO "
                       f"handshake failed ({detail}); check the URL, path and transports.")


async def explain_silent_server(url: str, closed: bool, waited: float, *,
                                tls: TlsSettings | None = None, path: str = "socket.io",
                                parser: str = "default",
                                headers: dict[str, str] | None = None,
                                probe_url: str | None = None, timeout: float = 3.0,
                                transports: list[str] | None = None) -> Explanation:
    """The Engine.IO connection opened, but no namespace was answered: the connection
    was closed (`closed`), or nothing came within `waited` seconds. Most often the
    server could not read our packets (another parser): the probe says so."""
    from app import handshake

    found = await handshake.diagnose(probe_url or url, path, parser, tls, headers, timeout,
                                     transports)
    if found:
        return Explanation(f"Cannot connect to {url}: {_sentence(found.text)}",
                           found.permanent)
    if closed:
        return Explanation(f"Cannot connect to {url}: the server closed the connection "
                           "before answering the namespaces.")
    return Explanation(f"Cannot connect to {url}: the server accepted the connection but "
                       f"answered none of the namespaces within {waited:g} s.")


async def explain_certificate(host: str, port: int, tls: TlsSettings,
                              timeout: float) -> str | None:
    """Why the server's certificate was not accepted, or None if it would be (or if no
    TLS server answers at all: the TCP probe then says what is wrong)."""
    probe = ssl.create_default_context()
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=probe), timeout)
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    try:
        tls_object = writer.get_extra_info("ssl_object")
        der = tls_object.getpeercert(binary_form=True) if tls_object else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if not der:
        return None
    seen = hashlib.sha256(der).hexdigest()
    if tls.fingerprint:
        if seen == tls.fingerprint:
            return None
        return (f"the server's certificate is not the one in your invite (it is "
                f"{seen[:16]}…, the invite pins {tls.fingerprint[:16]}…). Someone else "
                "may be answering at this address; ask the host for a new invite.")
    if not tls.verify:
        return None
    trusted = ssl.create_default_context(cafile=tls.ca_file) if tls.ca_file \
        else ssl.create_default_context()
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=trusted, server_hostname=host), timeout)
    except ssl.SSLCertVerificationError as exc:
        return (f"the server's certificate is not trusted ({exc.verify_message}; its "
                f"SHA-256 is {seen}). Join with an invite, which pins the certificate, or "
                "give its fingerprint (--fingerprint), a CA file, or turn certificate "
                "checks off for a test server.")
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()
    return None
