"""Helpers for the CLI workspace tests: the CLI as a child process with its own config
and data folders, what a bundled server stored, and small servers for what the bundled
one cannot show (headers, a custom path, msgpack, TLS)."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import ipaddress
import json
import os
import sqlite3
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from tests.app.localserver import LoopbackSioServer
from tests.support import REPO

#: no OS keyring in tests: secrets go to the 0600 workspace file, where a test can see them
NO_KEYRING = "keyring.backends.fail.Keyring"


def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI run whose config and data live under tmp_path."""
    return dict(os.environ, SOCKDESK_CONFIG_DIR=str(tmp_path / "config"),
                SOCKDESK_DATA_DIR=str(tmp_path / "data"), PYTHON_KEYRING_BACKEND=NO_KEYRING,
                PYTHONUNBUFFERED="1")


def run_cli(tmp_path: Path, *args: str, timeout: float = 60, stdin: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, text=True,
                          capture_output=True, timeout=timeout, input=stdin,
                          env=cli_env(tmp_path))


async def run_cli_async(tmp_path: Path, *args: str, timeout: float = 60
                        ) -> tuple[int, str, str]:
    """The CLI as a child process while this test's loop serves an in-process server."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", *args, cwd=REPO, env=cli_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def one_error(r: subprocess.CompletedProcess[str] | tuple[int, str, str]) -> str:
    """The single stderr line of a failed run (exit 2), without the program prefix."""
    code, err = (r[0], r[2]) if isinstance(r, tuple) else (r.returncode, r.stderr)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("sockdesk-cli: "), err
    return lines[0].removeprefix("sockdesk-cli: ")


def chat_texts(db: Path) -> list[tuple[str, str, str]]:
    """(room, sender, text) of every chat message a bundled server stored, in order."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT room, sender, body FROM chat_messages "
                            "ORDER BY room, msg_offset").fetchall()
    except sqlite3.OperationalError:  # the server never wrote a message
        return []
    finally:
        conn.close()
    return [(room, sender, _text(body)) for room, sender, body in rows]


def _text(body: str) -> str:
    try:
        value = json.loads(body)
    except ValueError:
        return body
    return value.get("text", body) if isinstance(value, dict) else body


class RecordingServer(LoopbackSioServer):
    """A python-socketio server on any Socket.IO path and parser that records the
    handshake (headers, query, auth) and every event, and acks each event."""

    def __init__(self, path: str = "socket.io", serializer: str = "default") -> None:
        self.sio = socketio.AsyncServer(async_mode="aiohttp", serializer=serializer,
                                        namespaces="*")
        self.app = web.Application()
        self.sio.attach(self.app, socketio_path=path)
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.connects: list[tuple[str, dict[str, Any], Any]] = []
        self.events: list[tuple[str, str, list[Any]]] = []

        @self.sio.on("connect", namespace="*")
        async def connect(ns: str, sid: str, environ: dict[str, Any], auth: Any = None
                          ) -> bool:
            self.connects.append((ns, environ, auth))
            return True

        @self.sio.on("*", namespace="*")
        async def any_event(event: str, ns: str, sid: str, *args: Any) -> Any:
            self.events.append((ns, event, list(args)))
            return {"ok": True}

    async def start_tls(self, context: ssl.SSLContext) -> RecordingServer:
        self.runner = web.AppRunner(self.app, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"https://127.0.0.1:{port}"
        return self


def self_signed(folder: Path) -> tuple[Path, Path, str]:
    """A certificate for 127.0.0.1 (and its key) made here; returns (cert, key,
    SHA-256 fingerprint of the certificate, hex)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    fp = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return cert_path, key_path, fp


def acked_lines(stdout: str) -> int:
    """`send` / `replay` output where every message went through: one outcome line per
    message (`acked ...`, or `sent (no ack asked)`), then the counts. Returns how many
    messages; fails on anything else."""
    lines = stdout.splitlines()
    assert lines, stdout
    n = len(lines) - 1
    assert lines[-1] == f"{n} acked, 0 failed, 0 queued", stdout
    assert all(x == "sent (no ack asked)" or x == "acked" or x.startswith("acked ")
               for x in lines[:-1]), stdout
    return n
