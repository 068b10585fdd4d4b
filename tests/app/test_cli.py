"""sockdesk-cli as a user runs it: a child process against real servers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from app.paths import cli_data_dir
from tests.app.cli_support import acked_lines
from tests.app.localserver import LocalServer
from tests.support import REPO, ServerProcess, free_port, wait_for


@pytest.fixture(autouse=True)
def _own_folders(tmp_path, monkeypatch):
    """Runs that name no folder write under tmp_path, never into the user's own data,
    config or keyring."""
    monkeypatch.setenv("SOCKDESK_DATA_DIR", str(tmp_path / "default-data"))
    monkeypatch.setenv("SOCKDESK_CONFIG_DIR", str(tmp_path / "default-config"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


def cli(*args: str, timeout: float = 60, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, text=True,
                          capture_output=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def conn(srv_url: str, ns: str = "/chat", user: str = "alice") -> list[str]:
    return ["--url", srv_url, "--namespace", ns, "--user", user]


def msg(room: str, text: str) -> str:
    return json.dumps({"room": room, "text": text})


def test_send_offline_then_flush_when_the_server_is_up(tmp_path):
    data = str(tmp_path / "data")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    r = cli("send", "--data-dir", data, *conn(url), "message", msg("r", "queued while down"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["queued", "0 acked, 0 failed, 1 queued"]
    assert "nothing is listening" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    q = json.loads(cli("queues", "--json", "--data-dir", data).stdout)
    assert {"queue": "outbox:/chat", "depth": 1, "total": 1, "queued": 1, "sent": 0,
            "acked": 0, "failed": 0} in q
    srv = ServerProcess(tmp_path / "s.db", port=port).start()
    try:
        r = cli("flush", "--data-dir", data, "--url", url, "--user", "alice", "--wait", "20")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "0 acked, 0 failed, 0 queued"
        table = cli("queues", "--data-dir", data).stdout
        assert "outbox:/chat" in table and "room:/chat:r" in table
        q = {x["queue"]: x for x in json.loads(cli("queues", "--json", "--data-dir",
                                                   data).stdout)}
        assert q["outbox:/chat"]["acked"] == 1 and q["outbox:/chat"]["depth"] == 0
    finally:
        srv.kill()


def test_send_wait_listen_and_rooms_are_remembered(server, tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    for i in range(3):
        r = cli("send", "--data-dir", a, *conn(server.url), "--wait", "20", "message",
                msg("lobby", f"hello {i}"))
        assert r.returncode == 0, r.stderr
        assert acked_lines(r.stdout) == 1
    r = cli("listen", "--data-dir", b, *conn(server.url, user="bob"), "--room", "lobby",
            "--count", "3")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["text"] for x in lines] == ["hello 0", "hello 1", "hello 2"]
    assert all(x["queue"] == "room:/chat:lobby" and x["offset"] for x in lines)
    for i in range(3, 5):
        assert cli("send", "--data-dir", a, *conn(server.url), "--wait", "20", "message",
                   msg("lobby", f"hello {i}")).returncode == 0
    # the next run continues where the last stopped: only what is new, marked recovered
    r = cli("listen", "--data-dir", b, *conn(server.url, user="bob"), "--count", "2")
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["text"] for x in lines] == ["hello 3", "hello 4"]
    assert all(x.get("recovered") for x in lines)


def test_send_to_the_sandbox_with_several_args_and_no_ack(server, tmp_path):
    d = str(tmp_path / "d")
    r = cli("send", "--data-dir", d, *conn(server.url, ns="/"), "--wait", "10", "echo",
            "1", '"two"', '{"three": 3}')
    assert r.returncode == 0 and acked_lines(r.stdout) == 1
    r = cli("export", "--data-dir", d, "--queue", "outbox:/")
    rec = json.loads(r.stdout)
    assert rec["args"] == [1, "two", {"three": 3}] and rec["state"] == "acked"
    r = cli("send", "--data-dir", d, *conn(server.url, ns="/"), "--no-ack", "--wait", "10",
            "fire", "1")
    assert r.returncode == 0 and acked_lines(r.stdout) == 1


def test_failed_message_exit_code(server, tmp_path):
    r = cli("send", "--data-dir", str(tmp_path), *conn(server.url), "--wait", "10", "message",
            json.dumps({"room": "r", "text": ""}))
    assert r.returncode == 1
    assert "failed" in r.stderr


def test_wait_timeout_exit_3(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    r = cli("send", "--data-dir", str(tmp_path), *conn(url), "--wait", "1.5", "message",
            msg("r", "x"))
    assert r.returncode == 3
    assert r.stderr.strip().splitlines()[-1] == \
        "sockdesk-cli: timed out after 1.5 s; 1 message(s) remain queued."


@pytest.mark.parametrize(("args", "expected"), [
    (["--url", "localhost:5000"], "sockdesk-cli: The server URL 'localhost:5000' is not "
                                  "valid: it must start with http://, https://, ws:// or "
                                  "wss://."),
    (["--url", "http://127.0.0.1:1", "message", '{"room": "r", text}'],
     "sockdesk-cli: Invalid JSON in argument 1 ('{\"room\": \"r\", text}'): "),
])
def test_cli_usage_errors(tmp_path, args, expected):
    base = ["send", "--data-dir", str(tmp_path), "--namespace", "/chat", "--user", "u"]
    if "message" not in args:
        args = [*args, "message", "{}"]
    r = cli(*base, *args)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith(expected)
    if "Invalid JSON" in expected:
        assert "line 1 column" in r.stderr
    assert not (tmp_path / "sockdesk.db").exists()   # nothing was accepted


def test_refused_connection_gives_the_servers_reason(server_factory, tmp_path):
    srv = server_factory("--token", "s3cret")
    r = cli("send", "--data-dir", str(tmp_path), *conn(srv.url), "--token", "nope",
            "message", msg("r", "x"))
    assert r.returncode == 2
    line = r.stderr.strip()
    assert "\n" not in line and line.startswith(
        f"sockdesk-cli: The server at {srv.url} refused the connection to /chat: ")
    assert "nope" not in line
    # the refused message was taken back: nothing is left queued
    q = json.loads(cli("queues", "--json", "--data-dir", str(tmp_path)).stdout)
    assert all(x["depth"] == 0 for x in q)


async def test_unknown_namespace(tmp_path):
    srv = await LocalServer().start()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app", "send", "--data-dir", str(tmp_path), "--url",
            srv.url, "--namespace", "/nope", "--user", "u", "hello", cwd=REPO,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        await srv.stop()
    assert proc.returncode == 2
    assert err.decode().strip() == \
        f"sockdesk-cli: The server at {srv.url} has no namespace /nope."


@pytest.mark.timeout(120)
def test_cli_killed_mid_flush_then_flush_completes(server, tmp_path):
    """SIGKILL the CLI while it flushes; a second `flush` delivers the rest exactly once."""
    data = tmp_path / "data"
    # enqueue offline (nothing listens on that port), in one CLI-compatible data dir
    from app.outbox import Outbox
    from app.store import MessageStore
    store = MessageStore.open(data)
    texts = [f"k{i}" for i in range(3000)]
    Outbox(store).enqueue_many([("/chat", "message", [{"room": "kill", "text": t}])
                                for t in texts])
    store.close()
    db = data / "sockdesk.db"

    def acked() -> int:
        with sqlite3.connect(db) as c:
            row = c.execute("SELECT acked FROM queue_counts WHERE queue = 'outbox:/chat'"
                            ).fetchone()
        return row[0] if row else 0

    proc = subprocess.Popen([sys.executable, "-m", "app", "flush", "--data-dir", str(data),
                             "--url", server.url, "--user", "alice", "--window", "2",
                             "--wait", "60"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: acked() >= 100, timeout=30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert acked() < len(texts), "the flush finished before the kill"
    r = cli("flush", "--data-dir", str(data), "--url", server.url, "--user", "alice",
            "--wait", "60")
    assert r.returncode == 0, r.stderr
    # check the whole room through the server's history (exactly once, in order)
    got: list[str] = []
    since = 0

    async def page_all() -> None:
        nonlocal since
        from app.config import ConnectionConfig
        from app.session import Session
        s = Session(ConnectionConfig(url=server.url, user="checker", namespaces=["/chat"]),
                    tmp_path / "checker")
        try:
            assert await s.connect()
            while True:
                page = await s.call("/chat", "history", {"room": "kill", "since": since})
                got.extend(m["text"] for m in page["messages"])
                if not page["more"]:
                    return
                since = page["messages"][-1]["offset"]
        finally:
            await s.close()

    asyncio.run(page_all())
    assert got == texts


def test_export_then_replay_into_another_room(server, tmp_path):
    a = str(tmp_path / "a")
    for i in range(5):
        assert cli("send", "--data-dir", a, *conn(server.url), "--wait", "10", "message",
                   msg("src", f"line {i}")).returncode == 0
    out = tmp_path / "room.ndjson"
    r = cli("export", "--data-dir", a, "--queue", "room:/chat:src", "--output", str(out))
    assert r.returncode == 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["text"] for x in recs] == [f"line {i}" for i in range(5)]
    r = cli("replay", "--data-dir", str(tmp_path / "b"), "--url", server.url, "--user",
            "carol", "--room", "dst", str(out))
    assert r.returncode == 0, r.stderr
    assert acked_lines(r.stdout) == 5
    r = cli("listen", "--data-dir", str(tmp_path / "c"), *conn(server.url, user="dave"),
            "--room", "dst", "--count", "5")
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["text"] for x in lines] == [f"line {i}" for i in range(5)]
    assert {x["user"] for x in lines} == {"carol"}
    # new ids: the replay is not dropped as a duplicate of the original
    assert not {x["args"][0]["id"] for x in lines} & {x["args"][0]["id"] for x in recs}


def test_import_reports_bad_lines_and_keeps_good_ones(tmp_path):
    f = tmp_path / "in.ndjson"
    good = {"queue": "room:/chat:x", "direction": "in", "namespace": "/chat",
            "event": "message", "args": [{"room": "x", "text": "ok", "offset": 1}],
            "ts": 1.0, "room": "x", "offset": 1, "text": "ok"}
    f.write_text("\n".join([
        json.dumps(good),
        "{not json",
        json.dumps({"event": "e", "args": "not a list"}),
        "",
        json.dumps({"args": []}),
        json.dumps({"event": "ping", "namespace": "/", "args": [1]}),
        json.dumps(good),                    # same room offset: a duplicate, not an error
    ]) + "\n")
    d = str(tmp_path / "d")
    r = cli("import", "--data-dir", d, str(f))
    assert r.returncode == 1
    assert r.stdout.strip() == "imported 2, duplicates 1, bad lines 3"
    errs = r.stderr.strip().splitlines()
    assert [e.split(":")[2] for e in errs] == ["2", "3", "5"]
    assert "invalid JSON" in errs[0] and '"args" must be a JSON array' in errs[1]
    assert '"event" must be a non-empty string' in errs[2]
    q = {x["queue"]: x for x in json.loads(cli("queues", "--json", "--data-dir", d).stdout)}
    assert q["room:/chat:x"]["total"] == 1 and q["event:/:ping"]["total"] == 1


def test_default_data_folder_is_per_server_under_the_env_dir(tmp_path):
    """Without --data-dir the CLI keeps one folder per server and user under
    $SOCKDESK_DATA_DIR, created private; with no server named, a data-only command says
    which folders there are instead of guessing one."""
    d = tmp_path / "envdir"
    env = {"SOCKDESK_DATA_DIR": str(d), "SOCKDESK_CONFIG_DIR": str(tmp_path / "config")}
    f = tmp_path / "one.ndjson"
    f.write_text(json.dumps({"event": "e", "args": []}) + "\n")
    r = cli("import", str(f), env=env)
    assert r.returncode == 2 and not d.exists()
    assert r.stderr.strip() == (
        "sockdesk-cli: import needs a data folder: --workspace NAME, --data-dir DIR or "
        f"--url URL [--user NAME]; there is none yet under {d}.")
    url = "http://127.0.0.1:5000"
    r = cli("import", "--url", url, "--user", "alice", str(f), env=env)
    assert r.returncode == 0, r.stderr
    folder = cli_data_dir(url, "alice", root=d)
    assert folder.parent == d / "cli" and (folder / "sockdesk.db").exists()
    for path in (d, d / "cli", folder):
        assert oct(path.stat().st_mode & 0o777) == "0o700", path
    assert (folder / "sockdesk.db").stat().st_mode & 0o777 == 0o600
    r = cli("queues", env=env)
    assert r.returncode == 2
    assert r.stdout.split() == ["--data-dir", str(folder), "0", "waiting", str(folder)]
