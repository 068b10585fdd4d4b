"""The command line: the first line, refusals with clear one-line errors, db safety."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, ServerProcess, _readline_with_timeout, free_port

LISTENING = re.compile(r"^Listening on http://127\.0\.0\.1:(\d+)\n$")


def run_cli(*args: str, env: dict[str, str] | None = None,
            timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run the server expecting it to exit by itself (refusals)."""
    return subprocess.run([sys.executable, "-m", "server_stub", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


class Started:
    """A server started with separate stdout/stderr, to check each stream exactly."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "server_stub", *args], cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=dict(os.environ, **(env or {})))
        self.first = _readline_with_timeout(self.proc, 20)  # type: ignore[arg-type]

    def terminate(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, out, err


def test_port_zero_prints_the_listening_line_first(tmp_path: Path) -> None:
    srv = Started("--port", "0", "--db", str(tmp_path / "a.db"))
    try:
        match = LISTENING.match(srv.first)
        assert match, srv.first
        assert int(match.group(1)) > 0
    finally:
        code, out, err = srv.terminate()
    assert code == 0, err
    assert out == "" and "Traceback" not in err


def test_sigint_shuts_down_cleanly(tmp_path: Path) -> None:
    srv = Started("--port", "0", "--db", str(tmp_path / "a.db"))
    assert LISTENING.match(srv.first)
    srv.proc.send_signal(signal.SIGINT)
    _, err = srv.proc.communicate(timeout=10)
    assert srv.proc.returncode == 0 and "Traceback" not in err


def test_unreachable_redis_is_a_clear_error_without_the_password() -> None:
    port = free_port()  # nothing listens there
    result = run_cli("--port", "0", "--redis", f"redis://:pa55word@127.0.0.1:{port}/0")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot use Redis" in lines[0] and str(port) in lines[0]
    assert "pa55word" not in result.stderr


@pytest.mark.parametrize("value", ["http://127.0.0.1:6379", "localhost:6379", "redis://"])
def test_redis_option_wants_a_redis_url(value: str) -> None:
    result = run_cli("--port", "0", "--redis", value)
    assert result.returncode == 2 and "--redis" in result.stderr


def test_admin_needs_a_token(tmp_path: Path) -> None:
    result = run_cli("--port", "0", "--db", str(tmp_path / "a.db"), "--admin")
    assert result.returncode == 2
    assert "--admin needs --token" in result.stderr


def test_admin_with_token_starts(tmp_path: Path) -> None:
    srv = Started("--port", "0", "--db", str(tmp_path / "a.db"), "--admin",
                  "--token", "t0ken")
    try:
        assert LISTENING.match(srv.first)
    finally:
        code, _, err = srv.terminate()
    assert code == 0 and "t0ken" not in err


def test_corrupt_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "corrupt.db"
    db.write_bytes(b"this is not sqlite at all\n" * 200)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = run_cli("--port", "0", "--db", str(db))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "corrupt" in lines[0] and str(db) in lines[0]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.db"]


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (x)")
    conn.close()
    result = run_cli("--port", "0", "--db", str(db))
    assert result.returncode == 1 and "not created by sockdesk-server" in result.stderr


def test_locked_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    first = ServerProcess(db).start()
    try:
        result = run_cli("--port", "0", "--db", str(db))
        assert result.returncode == 1
        assert "locked" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    finally:
        first.kill()


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("--port", "0", "--db", str(tmp_path / "nope" / "x.db"))
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "a.db").start()
    try:
        result = run_cli("--port", str(first.port), "--db", str(tmp_path / "b.db"))
        assert result.returncode == 1 and "cannot listen" in result.stderr
    finally:
        first.kill()


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout is Linux's")
def test_default_db_is_private_in_xdg_data_home(tmp_path: Path) -> None:
    data = tmp_path / "xdg"
    srv = Started("--port", "0", env={"XDG_DATA_HOME": str(data)})
    try:
        assert LISTENING.match(srv.first)
    finally:
        code, _, err = srv.terminate()
    assert code == 0, err
    folder = data / "sockdesk"
    db = folder / "server.db"
    assert db.is_file()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.stat().st_mode) & 0o077 == 0
    assert not (REPO / "server.db").exists()


def test_public_host_without_token_warns(tmp_path: Path) -> None:
    srv = Started("--host", "0.0.0.0", "--port", "0", "--db", str(tmp_path / "a.db"))
    try:
        assert srv.first.startswith("Listening on http://0.0.0.0:")
    finally:
        _, _, err = srv.terminate()
    assert "WARNING" in err and "--token" in err


@pytest.mark.parametrize("args", [
    ("--port", "70000"), ("--port", "x"), ("--rate-limit", "0"), ("--rate-limit", "nan"),
    ("--visibility-timeout", "-1"), ("--max-attempts", "0"), ("--log-level", "loud"),
])
def test_bad_option_values_are_rejected(args: tuple[str, ...],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from server_stub.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(list(args))
    assert exit_info.value.code == 2
    assert args[0] in capsys.readouterr().err


@pytest.mark.parametrize(("option", "expected"), [
    ((), "uvloop"), (("--event-loop", "asyncio"), "asyncio"),
    (("--event-loop", "uvloop"), "uvloop")])
def test_event_loop_choice(tmp_path: Path, option: tuple[str, ...], expected: str) -> None:
    srv = Started("--port", "0", "--db", str(tmp_path / "a.db"), "--log-level", "info",
                  *option)
    try:
        assert LISTENING.match(srv.first)
    finally:
        code, _, err = srv.terminate()
    assert code == 0, err
    assert f"event loop: {expected}" in err


def test_missing_uvloop_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from server_stub.transport import eventloop

    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes "import uvloop" fail
    with pytest.raises(eventloop.EventLoopError, match="pip install uvloop"):
        eventloop.loop_factory("uvloop")
    monkeypatch.setattr(eventloop, "uvloop_available", lambda: False)
    assert eventloop.loop_factory("auto")[0] == "asyncio"


def test_release_name_refuses_what_is_not_a_server_database(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    r = run_cli("release-name", "alice", "--db", str(missing))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == f"sockdesk-server: error: there is no database at {missing}\n"
    assert not missing.exists()                       # a typo creates nothing

    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE name_claims (name TEXT)")
    conn.execute("INSERT INTO name_claims VALUES ('alice')")
    conn.commit()
    conn.close()
    before = foreign.read_bytes()
    r = run_cli("release-name", "alice", "--db", str(foreign))
    assert r.returncode == 1 and "not created by sockdesk-server" in r.stderr
    assert foreign.read_bytes() == before

    bad = run_cli("release-name", "not a name", "--db", str(foreign))
    assert bad.returncode == 2 and "NAME" in bad.stderr
    both = run_cli("release-name", "alice", "--db", str(foreign), "--redis",
                   "redis://127.0.0.1:1/0")
    assert both.returncode == 2 and "not both" in both.stderr


@pytest.mark.parametrize("module", ["server_stub", "server_stub.cli"])
def test_help_from_either_module(module: str) -> None:
    """``python -m server_stub.cli --help`` printed nothing and said all was well."""
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("usage: sockdesk-server")
