"""C2: a CLI client with 5,000 queued messages is SIGKILLed ten times while it flushes.

What must hold: nothing the outbox accepted is lost and nothing is stored twice. Every
kill leaves messages `sent` without an ack (the next run sends them again with the same
id, and the server answers the copy with the first ack) or an ack received but not yet
written down (same outcome). Kill moments are acked-message thresholds drawn from a
printed seed; each run also gets a random window (how many messages are in flight).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from app.outbox import Outbox
from app.store import MessageStore
from tests.chaos.helpers import (
    chaos_rng,
    kill_points,
    outbox_counts,
    room_history,
    sigkill,
    spawn,
    wait_until,
)
from tests.server_stub.peers import connected
from tests.support import FULL_SIZE, ServerProcess

pytestmark = pytest.mark.chaos

MESSAGES = 5000 if FULL_SIZE else 2500
KILLS = 10
ROOM = "flush"


@pytest.mark.timeout(360)
async def test_cli_flush_killed_ten_times_delivers_everything_once(tmp_path: Path) -> None:
    rng = chaos_rng("C2")
    srv = ServerProcess(tmp_path / "server.db").start()
    data = tmp_path / "client"
    texts = [f"q{i}" for i in range(MESSAGES)]
    store = MessageStore.open(data)  # queued offline, exactly as `send` would
    Outbox(store, user="alice").enqueue_many(
        [("/chat", "message", [{"room": ROOM, "text": t}]) for t in texts])
    store.close()
    db = data / "sockdesk.db"
    base = ["app", "flush", "--data-dir", str(data), "--url", srv.url, "--user", "alice"]
    points = kill_points(rng, KILLS, MESSAGES // 50, MESSAGES * 24 // 25, MESSAGES // 60)
    print(f"C2: killing the CLI when {points} messages are acked")
    in_flight: list[int] = []
    proc = None
    started = time.monotonic()
    try:
        for point in points:
            window = rng.choice([2, 8, 32])
            proc = await spawn(*base, "--window", str(window), "--wait", "120")
            await wait_until(
                lambda p=point, pr=proc: outbox_counts(db, "/chat")["acked"] >= p
                or pr.returncode is not None, 120, f"{point} acked messages")
            assert proc.returncode is None, "the flush ended before its kill point"
            await sigkill(proc)
            in_flight.append(outbox_counts(db, "/chat")["sent"])
        proc = await spawn(*base, "--wait", "120")
        out, err = await asyncio.wait_for(proc.communicate(), 150)
        assert proc.returncode == 0, err.decode()
        assert out.decode().strip() == "0 acked, 0 failed, 0 queued"
        elapsed = time.monotonic() - started
        assert outbox_counts(db, "/chat") == {"queued": 0, "sent": 0, "acked": MESSAGES,
                                              "failed": 0}
        peer = await connected(srv.url, "checker", "/chat")
        try:
            history = await room_history(peer.call, ROOM)
        finally:
            await peer.close()
        assert [m["text"] for m in history] == texts, "lost, duplicated or reordered"
        assert {m["user"] for m in history} == {"alice"}
        print(f"C2: {MESSAGES} messages, {KILLS} kills at {points}, messages sent but not "
              f"acked at each kill {in_flight}, {elapsed:.1f} s")
        assert any(in_flight), "no kill caught a message in flight"
    finally:
        if proc is not None and proc.returncode is None:
            await sigkill(proc)
        srv.kill()
