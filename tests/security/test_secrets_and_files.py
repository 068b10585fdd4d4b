"""Secrets stay secret and data stays private.

The token must not reach a log (any level), an export, or any file of the data folder;
the data folder and every database file (SQLite's -wal/-shm included) are owner-only,
for the client core and for the server, whatever the umask.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.config import ConnectionConfig
from app.session import Session
from tests.support import REPO, ServerProcess, without_invite

TOKEN = "s3cr3t-T0KEN-never-logged"
NEAR_MISS = "s3cr3t-T0KEN-never-logge"   # one character short: must not be logged either


def run(module: str, *args: str, umask: int | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    def prepare() -> None:
        if umask is not None:
            os.umask(umask)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, text=True,
                          capture_output=True, timeout=90, preexec_fn=prepare,
                          env=dict(os.environ, **(env or {})))


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.timeout(240)
def test_token_never_in_logs_exports_or_data_files(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "server.db", "--token", TOKEN, "--log-level", "debug",
                        "--admin").start()
    data = tmp_path / "data"
    export = tmp_path / "export.ndjson"
    conn = ["--url", srv.url, "--user", "alice", "--token", TOKEN]
    outputs: list[str] = []
    try:
        steps = [
            ["-v", "send", "--data-dir", str(data), *conn, "-n", "/chat", "--wait", "20",
             "message", '{"room": "s", "text": "hello"}'],
            ["-v", "send", "--data-dir", str(data), *conn, "-n", "/", "--wait", "20",
             "echo", '{"note": "token: not this one"}'],
            ["-v", "listen", "--data-dir", str(tmp_path / "listener"), "--url", srv.url,
             "--user", "bob", "--token", TOKEN, "-n", "/chat", "--room", "s", "--count",
             "1"],
            ["-v", "flush", "--data-dir", str(data), *conn, "--wait", "10"],
            ["-v", "export", "--data-dir", str(data), "--output", str(export)],
            ["-v", "export", "--data-dir", str(data)],
            ["-v", "queues", "--data-dir", str(data)],
            ["-v", "replay", "--data-dir", str(data), *conn, "--room", "t", str(export)],
        ]
        for step in steps:
            r = run("app", *step)
            assert r.returncode in (0, 1), (step, r.stderr)
            outputs += [r.stdout, r.stderr]
        refused = run("app", "-v", "send", "--data-dir", str(tmp_path / "other"), "--url",
                      srv.url, "--user", "bob", "--token", NEAR_MISS, "-n", "/chat",
                      "message", '{"room": "s", "text": "x"}')
        assert refused.returncode == 2
        outputs += [refused.stdout, refused.stderr]
    finally:
        outputs.append(without_invite(srv.stop()))
    logs = "".join(outputs)
    assert "Received packet" in logs or "received event" in logs   # debug was really on
    assert "INFO app.session" in logs                               # and the CLI's -v
    assert TOKEN not in logs and NEAR_MISS not in logs
    for path in [*files_under(data), *files_under(tmp_path / "other"),
                 *files_under(tmp_path / "listener"), export]:
        blob = path.read_bytes()
        assert TOKEN.encode() not in blob and NEAR_MISS.encode() not in blob, path
    assert export.stat().st_size > 0


async def test_packet_log_shows_auth_without_the_token(server_factory: Any,
                                                       tmp_path: Path) -> None:
    srv = server_factory("--token", TOKEN)
    s = Session(ConnectionConfig(url=srv.url, user="alice", token=TOKEN,
                                 namespaces=["/chat"], auth={"password": "pw"}),
                tmp_path / "d")
    try:
        assert await s.connect()
        connects = [p for p in s.packet_log if p.kind == "CONNECT" and p.direction == "out"]
        assert connects and all(p.args == [{"password": "***", "user": "alice",
                                            "token": "***"}] for p in connects)
        assert TOKEN not in repr(s.config)
    finally:
        await s.close()
    for path in files_under(tmp_path / "d"):
        assert TOKEN.encode() not in path.read_bytes()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_client_data_folder_and_databases_are_owner_only(tmp_path: Path, server: Any) -> None:
    """Under umask 000 (nothing masked), so only the code's own modes count."""
    data = tmp_path / "deep" / "data"
    r = run("app", "send", "--data-dir", str(data), "--url", server.url, "--user", "alice",
            "-n", "/chat", "--wait", "20", "message", '{"room": "p", "text": "x"}',
            umask=0)
    assert r.returncode == 0, r.stderr
    r = run("app", "listen", "--data-dir", str(data), "--url", server.url, "--user",
            "alice", "-n", "/chat", "--count", "0", umask=0)
    assert mode(data) == 0o700
    dbs = sorted(p.name for p in data.iterdir())
    assert "sockdesk.db" in dbs
    for p in data.iterdir():
        assert mode(p) == 0o600, (p.name, oct(mode(p)))
    # an existing folder that is too open is tightened on the next start
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o777)
    loose.chmod(0o777)
    r = run("app", "queues", "--data-dir", str(loose), umask=0)
    assert r.returncode == 0
    assert mode(loose) == 0o700 and mode(loose / "sockdesk.db") == 0o600


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout is Linux's")
def test_server_folder_and_database_files_are_owner_only(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"  # no --db: the default location is what is under test
    env = dict(os.environ, XDG_DATA_HOME=str(xdg), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "server_stub", "--port", "0"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, preexec_fn=lambda: os.umask(0))
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Listening on ")
        folder = xdg / "sockdesk"
        assert mode(folder) == 0o700
        names = sorted(p.name for p in folder.iterdir())
        assert "server.db" in names
        for p in folder.iterdir():
            assert mode(p) & 0o077 == 0, (p.name, oct(mode(p)))
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    # an explicit --db the server creates is owner-only too
    explicit = tmp_path / "explicit.db"
    r = subprocess.Popen([sys.executable, "-m", "server_stub", "--port", "0", "--db",
                          str(explicit)], cwd=REPO, stdout=subprocess.PIPE, text=True,
                         env=env, preexec_fn=lambda: os.umask(0))
    try:
        assert r.stdout is not None and r.stdout.readline().startswith("Listening on ")
        for p in tmp_path.glob("explicit.db*"):
            assert mode(p) & 0o077 == 0, (p.name, oct(mode(p)))
    finally:
        r.terminate()
        r.communicate(timeout=20)
