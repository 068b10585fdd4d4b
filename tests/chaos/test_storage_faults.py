"""C4: storage faults on both sides, each a clear one-line error with the data left alone.

Server side, beyond tests/server_stub/test_storage_faults.py (a write failure answers
`internal`) and tests/server_stub/test_cli.py (garbage / foreign / locked database,
missing folder): a data folder that cannot be created, a database with damaged pages,
a disk already full at startup, and what a client sees when the server's disk fills up
mid-stream. Client side (the CLI over the core): unusable data folder, locked database,
corrupt database, disk full while accepting a message.

Disk full is simulated with RLIMIT_FSIZE in the child process (Python ignores SIGXFSZ, so
the write fails with EFBIG instead of killing the process). Running as root makes
permission bits meaningless; those variants are skipped there and the "a file is in the
way" variants, which fail the same code path, run everywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from app.config import ConnectionConfig, ReconnectPolicy
from app.outbox import Outbox, OutboxState
from app.session import Session
from app.store import MessageStore
from tests.chaos.helpers import room_history, wait_until
from tests.server_stub.peers import connected
from tests.support import REPO, ServerProcess, _readline_with_timeout, free_port

pytestmark = [pytest.mark.chaos,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX resource limits")]

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_size_limit(limit: int) -> Callable[[], None]:
    """preexec_fn for a child whose file writes fail beyond `limit` bytes (disk full)."""
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def server(*args: str, env: dict[str, str] | None = None,
           preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the server expecting it to refuse to start (it exits by itself)."""
    return subprocess.run([sys.executable, "-m", "server_stub", "--port", "0", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **(env or {})), preexec_fn=preexec)


def cli(*args: str, preexec: Callable[[], None] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, text=True,
                          capture_output=True, timeout=timeout, preexec_fn=preexec)


def one_error_line(result: subprocess.CompletedProcess[str], prog: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prog}: "), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def queued_outbox(data: Path, n: int) -> Path:
    """A client data dir holding `n` queued /chat messages; returns its database."""
    store = MessageStore.open(data)
    Outbox(store, user="alice").enqueue_many(
        [("/chat", "message", [{"room": "faults", "text": f"m{i}"}]) for i in range(n)])
    store.close()
    return data / "sockdesk.db"


def damage(db: Path, first_page_fraction: float, pages: int = 20) -> None:
    """Overwrite `pages` pages from a point in the file with garbage (keeps the header)."""
    data = bytearray(db.read_bytes())
    size = 4096
    start = max(1, int(len(data) // size * first_page_fraction))
    for p in range(start, min(start + pages, len(data) // size)):
        data[p * size:(p + 1) * size] = os.urandom(size)
    db.write_bytes(bytes(data))


# ---- server ---------------------------------------------------------------------------

def test_server_data_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should go\n")
    result = server(env={"XDG_DATA_HOME": str(blocker)})
    assert result.returncode == 1 and result.stdout == ""
    line = one_error_line(result, "sockdesk-server")
    assert f"cannot create the data folder {blocker}" in line
    assert blocker.read_text() == "a file where the data folder should go\n"


@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders anyway")
def test_server_read_only_data_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    try:
        result = server("--db", str(folder / "server.db"))
        assert result.returncode == 1
        line = one_error_line(result, "sockdesk-server")
        assert "cannot create database" in line and "Permission denied" in line
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_server_refuses_damaged_database_and_leaves_it(tmp_path: Path) -> None:
    db = tmp_path / "server.db"
    srv = ServerProcess(db).start()

    async def fill() -> None:
        peer = await connected(srv.url, "alice", "/chat")
        await peer.call("join", {"room": "r"})
        await asyncio.gather(*(peer.call("message", {"room": "r", "text": f"{i}" * 500})
                               for i in range(400)))
        await peer.close()

    asyncio.run(fill())
    srv.stop()
    damage(db, 0.5)
    before = digest(db)
    result = server("--db", str(db))
    assert result.returncode == 1
    line = one_error_line(result, "sockdesk-server")
    assert "corrupt" in line and str(db) in line
    assert digest(db) == before


def test_server_disk_full_at_startup(tmp_path: Path) -> None:
    db = tmp_path / "server.db"
    result = server("--db", str(db), preexec=file_size_limit(4096))
    assert result.returncode == 1
    line = one_error_line(result, "sockdesk-server")
    assert str(db) in line and "disk I/O error" in line
    assert not db.exists(), "a half-made database was left behind"


@pytest.mark.timeout(180)
async def test_server_disk_full_mid_stream_client_keeps_the_messages(tmp_path: Path) -> None:
    """The server's disk fills while a client flushes: what the server could not store is
    answered `internal`, so the client marks it failed (kept, not acked, with the
    server's sentence); once there is room again a retry stores each exactly once."""
    db = tmp_path / "server.db"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server_stub", "--port", str(port), "--db", str(db)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"), preexec_fn=file_size_limit(192 * 1024))
    srv: ServerProcess | None = None
    url = f"http://127.0.0.1:{port}"
    cfg = ConnectionConfig(url=url, user="alice", namespaces=["/chat"],
                           reconnect=ReconnectPolicy(delay=0.1, delay_max=0.5))
    session = Session(cfg, tmp_path / "client")
    output: list[str] = []
    try:
        assert _readline_with_timeout(proc, 30).startswith("Listening on ")
        # drain its output: a full pipe would block the server's logging, and the server
        threading.Thread(target=lambda: output.extend(proc.stdout or ()), daemon=True).start()
        assert await session.connect()
        texts = [f"{i:04d} " + "x" * 3000 for i in range(150)]  # 450 KB: past the limit
        msgs = [session.chat.send("full", t) for t in texts]
        assert await session.wait_flushed(timeout=60)
        states = [session.outbox.get(m.id) for m in msgs]
        failed = [m for m in states if m is not None and m.state == OutboxState.FAILED]
        acked = [m for m in states if m is not None and m.state == OutboxState.ACKED]
        assert failed and acked and len(failed) + len(acked) == len(texts)
        assert {m.reply["code"] for m in failed} == {"internal"}
        assert all("could not save" in (m.error or "") for m in failed)
        assert proc.poll() is None, "the server died of a full disk"
        proc.kill()
        proc.wait(10)
        assert "disk I/O error" in "".join(output)  # logged for the operator
        srv = ServerProcess(db, port=port).start()   # disk space is back
        await wait_until(lambda: session.is_ready("/chat"), 60, "the reconnect")
        for m in failed:
            session.outbox.retry(m.id)
        assert await session.wait_flushed(timeout=60)
        assert all(session.outbox.get(m.id).state == OutboxState.ACKED for m in msgs)
        history = await room_history(lambda e, p: session.call("/chat", e, p), "full")
        stored = [m["text"] for m in history]
        # exactly once each; the retried ones come after what got through meanwhile (a
        # failure does not hold back later messages, see docs/DESIGN.md)
        assert sorted(stored) == texts, "lost or duplicated"
        print(f"C4: {len(acked)} stored while the disk was full on and off, {len(failed)} "
              "failed with internal and were kept, then retried and stored once; room "
              f"order {'kept' if stored == texts else 'changed by the retries'}")
    finally:
        await session.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if srv is not None:
            srv.kill()


# ---- client core / CLI ----------------------------------------------------------------

SEND = ["--url", "http://127.0.0.1:9", "--namespace", "/chat", "--user", "alice",
        "message", json.dumps({"room": "faults", "text": "new"})]


def test_cli_data_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for command in (["send", "--data-dir", str(blocker / "data"), *SEND],
                    ["queues", "--data-dir", str(blocker / "data")]):
        result = cli(*command)
        assert result.returncode == 2
        line = one_error_line(result, "sockdesk-cli")
        assert line == f"sockdesk-cli: Cannot use the data folder {blocker / 'data'}: " \
                       "Not a directory."
    assert blocker.read_text() == "x"


@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders anyway")
def test_cli_read_only_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "ro"
    data.mkdir(mode=0o500)
    try:
        result = cli("send", "--data-dir", str(data), *SEND)
        assert result.returncode == 2
        line = one_error_line(result, "sockdesk-cli")
        assert "Permission denied" in line
        assert list(data.iterdir()) == []
    finally:
        data.chmod(0o700)


@pytest.mark.timeout(90)
def test_cli_locked_database(tmp_path: Path) -> None:
    """Another process holds the database exclusively: after the busy timeout (10 s) the
    CLI says so in one line; nothing was accepted and the file is unchanged."""
    db = queued_outbox(tmp_path / "data", 5)
    before = digest(db)
    locker = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('PRAGMA locking_mode=EXCLUSIVE')\nc.execute('BEGIN EXCLUSIVE')\n"
         "print('locked', flush=True)\nsys.stdin.read()\n", str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert _readline_with_timeout(locker, 30).strip() == "locked"
        result = cli("send", "--data-dir", str(db.parent), *SEND)
    finally:
        assert locker.stdin is not None
        locker.stdin.close()
        locker.wait(10)
    assert result.returncode == 2
    line = one_error_line(result, "sockdesk-cli")
    assert "is locked by another process" in line and str(db) in line
    assert digest(db) == before
    assert Outbox(MessageStore.open(db.parent)).depth("/chat") == 5


@pytest.mark.parametrize("kind", ["garbage", "damaged schema", "damaged rows"])
def test_cli_corrupt_database_is_refused_and_left_untouched(tmp_path: Path,
                                                           kind: str) -> None:
    data = tmp_path / "data"
    if kind == "garbage":
        data.mkdir()
        db = data / "sockdesk.db"
        db.write_bytes(b"not a database at all\n" * 500)
    else:
        db = queued_outbox(data, 2000)
        damage(db, 0.0 if kind == "damaged schema" else 0.5)
    before = digest(db)
    result = cli("send", "--data-dir", str(data), *SEND)
    assert result.returncode == 2
    line = one_error_line(result, "sockdesk-cli")
    assert line == f"sockdesk-cli: The database {db} is not a SockDesk database or is " \
                   "corrupt; it was left untouched. Move it away or use another data folder."
    assert digest(db) == before
    assert sorted(p.name for p in data.iterdir()) == ["sockdesk.db"]


@pytest.mark.timeout(120)
def test_cli_disk_full_while_accepting_a_message(tmp_path: Path, server) -> None:
    """The disk is full when `send` writes the message: it is not accepted (one line,
    exit 2, the user still has it), and what was queued before is intact and is
    delivered exactly once by the next flush."""
    db = queued_outbox(tmp_path / "data", 300)
    assert not Path(f"{db}-wal").exists()
    # ~30 pages of WAL: beyond the limit (one argument must stay under 128 KiB)
    big = json.dumps({"room": "faults", "text": "y" * 120_000})
    result = cli("send", "--data-dir", str(db.parent), *SEND[:-1], big,
                 preexec=file_size_limit(64 * 1024))
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_error_line(result, "sockdesk-cli")
    assert f"Cannot write to the database {db}" in line and "disk is full" in line
    conn = sqlite3.connect(db)
    texts = [r[0] for r in conn.execute("SELECT text FROM messages ORDER BY id")]
    conn.close()
    assert texts == [f"m{i}" for i in range(300)]
    result = cli("flush", "--data-dir", str(db.parent), "--url", server.url, "--user",
                 "alice", "--wait", "60")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0 acked, 0 failed, 0 queued"

    async def check() -> None:
        peer = await connected(server.url, "checker", "/chat")
        try:
            history = await room_history(peer.call, "faults")
        finally:
            await peer.close()
        assert [m["text"] for m in history] == [f"m{i}" for i in range(300)]

    asyncio.run(check())
