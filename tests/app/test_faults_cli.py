"""The CLI facing bad input and bad places: one clear line each, never a traceback.

Already covered in test_cli.py: an invalid URL scheme, invalid JSON arguments, a refused
token on `send`, an unknown namespace, nothing listening on the port, and an NDJSON
import with invalid JSON / wrong field types / a missing event. Here: the rest of the
ways a connection can fail (unknown host, something that is not a Socket.IO server, a
port that accepts and never answers, a refusal on `listen` and `flush`), and NDJSON
lines that used to abort the whole import (bytes that are not UTF-8, numbers out of
range, nesting too deep) or need care (byte order mark, CRLF, a 10 MB line).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO, ServerProcess, free_port


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, text=True,
                          capture_output=True, timeout=timeout,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sockdesk-cli: ") and "Traceback" not in result.stderr
    return lines[0]


def send(url: str, data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli("send", "--data-dir", str(data), "--url", url, "--namespace", "/chat",
               "--user", "alice", *extra, "message", '{"room": "r", "text": "x"}')


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield sock.getsockname()[1]
    stop.set()
    t.join(5)
    for c in held:
        c.close()
    sock.close()


@pytest.fixture
def http_404_port(tmp_path: Path) -> Iterator[int]:
    """A plain HTTP server that answers 404 to everything (not Socket.IO)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "127.0.0.1", "--directory", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # "Serving HTTP on ..." once it listens
        yield port
    finally:
        proc.kill()
        proc.wait(10)


@pytest.mark.parametrize("url", ["   ", "ftp://127.0.0.1:5000", "http://", "http://[::1"])
def test_bad_urls_are_one_line_and_accept_nothing(tmp_path: Path, url: str) -> None:
    r = send(url, tmp_path / "d")
    assert r.returncode == 2
    assert "URL" in one_line(r)
    assert not (tmp_path / "d" / "sockdesk.db").exists()


def test_unknown_host(tmp_path: Path) -> None:
    r = send("http://no-such-host.invalid:5000", tmp_path / "d")
    assert r.returncode == 0 and r.stdout.splitlines() == ["queued", "0 acked, 0 failed, 1 queued"]
    assert one_line(r) == ("sockdesk-cli: Cannot connect to http://no-such-host.invalid:"
                           "5000: the host name 'no-such-host.invalid' does not resolve.")


def test_not_a_socketio_server(tmp_path: Path, http_404_port: int) -> None:
    url = f"http://127.0.0.1:{http_404_port}"
    r = send(url, tmp_path / "d")
    line = one_line(r)
    assert line == (f"sockdesk-cli: Cannot connect to {url}: nothing answers at "
                    "/socket.io/ on that server (HTTP 404): is the Socket.IO path different?")


def test_port_that_never_answers_times_out_with_exit_3(tmp_path: Path,
                                                       silent_port: int) -> None:
    url = f"http://127.0.0.1:{silent_port}"
    started = time.monotonic()
    r = send(url, tmp_path / "d", "--wait", "2")
    # --wait bounds the whole run: it took the first attempt's own ~15 s before
    assert time.monotonic() - started < 10
    assert r.returncode == 3
    lines = r.stderr.strip().splitlines()
    assert lines[-1] == "sockdesk-cli: timed out after 2 s; 1 message(s) remain queued."
    assert all(x.startswith("sockdesk-cli: ") for x in lines) and len(lines) <= 2


@pytest.mark.parametrize("command", ["listen", "flush"])
def test_refused_token_on_listen_and_flush(tmp_path: Path, command: str) -> None:
    port = free_port()
    data = tmp_path / "d"
    if command == "flush":  # something to flush, queued for this server while it was down
        send(f"http://127.0.0.1:{port}", data)
    srv = ServerProcess(tmp_path / "s.db", "--token", "right-token", port=port).start()
    args = ["--data-dir", str(data), "--url", srv.url, "--user", "alice",
            "--token", "wrong-token"]
    if command == "listen":
        args += ["--namespace", "/chat", "--count", "1"]
    try:
        r = cli(command, *args)
    finally:
        srv.kill()
    assert r.returncode == 2, r.stdout + r.stderr
    line = one_line(r)
    assert line == (f"sockdesk-cli: The server at {srv.url} refused the connection to "
                    "/chat: wrong token.")
    assert "wrong-token" not in r.stdout + r.stderr


def test_import_a_folder_or_an_unreadable_path(tmp_path: Path) -> None:
    r = cli("import", "--data-dir", str(tmp_path / "d"), str(tmp_path))
    assert r.returncode == 2 and one_line(r) == f"sockdesk-cli: Not a file: {tmp_path}"
    r = cli("replay", "--data-dir", str(tmp_path / "d"), "--url", "http://127.0.0.1:9",
            str(tmp_path / "missing.ndjson"))
    assert r.returncode == 2
    assert one_line(r) == f"sockdesk-cli: No such file: {tmp_path / 'missing.ndjson'}"


def test_import_reports_every_kind_of_bad_line_and_keeps_the_good(tmp_path: Path) -> None:
    good = {"queue": "event:/:e", "direction": "in", "namespace": "/", "event": "e",
            "args": [1], "ts": 1.0}
    huge = dict(good, args=["z" * (10 * 1024 * 1024)])
    lines: list[bytes] = [
        b"\xef\xbb\xbf" + json.dumps(good).encode(),            # 1 BOM: good
        json.dumps(dict(good, args=[2])).encode() + b"\r",       # 2 CRLF: good
        b'{"event": "e", "args": ["caf\xe9"]}',                  # 3 Latin-1, not UTF-8
        b"[1, 2, 3]",                                            # 4 not an object
        b"42",                                                   # 5 not an object
        b'{"event": "e", "ts": 1' + b"0" * 400 + b"}",           # 6 ts too big
        b'{"event": "e", "ts": NaN}',                            # 7 ts not finite
        b'{"event": "e", "queue": "room:/chat:r", "offset": 99999999999999999999}',  # 8
        b'{"event": "e", "args": [' + b"[" * 5000 + b"]" * 5000 + b"]}",  # 9 too deep
        b'{"event": "e", "args": ["\\ud800 lone"], "text": "\\udfff"}',    # 10 good
        json.dumps(huge).encode(),                               # 11 10 MB: good
        b'{"event": "e", "args": [123456789012345678901234567890]}',       # 12 good
        b"\x00\x01\x02",                                         # 13 binary junk
    ]
    f = tmp_path / "in.ndjson"
    f.write_bytes(b"\n".join(lines) + b"\n")
    d = tmp_path / "d"
    r = cli("import", "--data-dir", str(d), str(f))
    assert r.returncode == 1
    assert r.stdout.strip() == "imported 5, duplicates 0, bad lines 8"
    errors = r.stderr.strip().splitlines()
    assert [int(e.split(":")[2]) for e in errors] == [3, 4, 5, 6, 7, 8, 9, 13]
    assert all("Traceback" not in e for e in errors)
    assert "not UTF-8 text" in errors[0] and "expected a JSON object" in errors[1]
    assert '"ts" is out of range' in errors[3] and "finite" in errors[4]
    assert '"offset" is out of range' in errors[5] and "invalid JSON" in errors[6]
    q = json.loads(cli("queues", "--json", "--data-dir", str(d)).stdout)
    assert {x["queue"]: x["total"] for x in q} == {"event:/:e": 5}
    out = cli("export", "--data-dir", str(d), "--queue", "event:/:e")
    recs = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r_["args"] for r_ in recs][:2] == [[1], [2]]
    assert recs[2]["args"] == ["\ud800 lone"]                 # JSON escapes survive
    assert recs[3]["args"] == huge["args"]                     # 10 MB, whole
    assert recs[4]["args"] == [123456789012345678901234567890]  # exact, not a float
