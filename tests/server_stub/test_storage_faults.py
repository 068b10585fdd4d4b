"""A storage failure is answered with ``code: internal`` and never takes the server down.

The fault is real: the server process runs with a small file-size limit (RLIMIT_FSIZE),
so SQLite's writes start failing once the database grows past it, exactly like a full
disk. Python ignores SIGXFSZ, so the failing write returns an error instead of killing
the process.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server_stub.peers import connected, unique
from tests.support import REPO, _readline_with_timeout

LIMIT = 256 * 1024


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX resource limits")
async def test_write_failure_gives_internal_and_server_stays_up(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "server_stub", "--port", "0", "--db", str(tmp_path / "s.db")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"), preexec_fn=_limit_file_size)
    try:
        first = _readline_with_timeout(proc, 20)
        assert first.startswith("Listening on "), first
        url = first.split("Listening on ", 1)[1].strip()
        room = unique("full")
        peer = await connected(url, "filler", "/chat", "/queue")
        try:
            await peer.call("join", {"room": room})
            failure = None
            for i in range(400):  # 400 x 3 KB is far past the limit
                ack = await peer.call("message", {"room": room, "text": "x" * 3000,
                                                  "id": f"m{i}"})
                if not ack["ok"]:
                    failure = ack
                    break
            assert failure is not None, "the file-size limit never hit"
            assert failure["code"] == "internal"
            assert isinstance(failure["error"], str) and failure["error"]
            stored = (await peer.call("history", {"room": room, "since": 0}))["messages"]
            # Nothing acked was lost, nothing failed was stored.
            assert [m["id"] for m in stored] == [f"m{n}" for n in range(i)]
            # Queue writes fail the same way; reads and the connection keep working.
            publish = await peer.call("publish", {"queue": unique("q"), "payload": "x" * 3000},
                                      ns="/queue")
            assert publish["ok"] is False and publish["code"] == "internal"
            assert (await peer.call("stats", ns="/queue"))["ok"] is True
            assert (await peer.call("rooms"))["ok"] is True
        finally:
            await peer.close()
        assert proc.poll() is None, "the server died"
    finally:
        proc.kill()
        proc.wait(10)
