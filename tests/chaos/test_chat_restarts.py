"""C1: five senders, two rooms, three listeners, and a server SIGKILLed five times.

The promise under test, end to end through the client core: a message accepted by a
sender's outbox reaches the room exactly once, in that sender's order, whatever moment
the server dies at; and a listener that stays subscribed sees every message exactly
once, live or recovered with `since` after each restart. Kill moments are progress
thresholds (messages acked so far across all senders) drawn from a printed seed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.config import ConnectionConfig, ReconnectPolicy
from app.session import Session
from app.store import StoredMessage
from tests.chaos.helpers import (
    chaos_rng,
    kill_points,
    outbox_counts,
    room_history,
    sigkill,
    spawn,
    wait_until,
)
from tests.support import FULL_SIZE, ServerProcess

pytestmark = pytest.mark.chaos

SENDERS = 5
PER_SENDER = 2000 if FULL_SIZE else 1000
TOTAL = SENDERS * PER_SENDER
ROOMS = ("alpha", "beta")
LISTENERS = 3
KILLS = 5


class Listener:
    """A core Session joined to both rooms that records what the app layer is given."""

    def __init__(self, url: str, user: str, data_dir: Path) -> None:
        cfg = ConnectionConfig(url=url, user=user, namespaces=["/chat"],
                               reconnect=ReconnectPolicy(delay=0.1, delay_max=1.0),
                               ack_timeout=30.0)
        self.session = Session(cfg, data_dir)
        self.got: dict[str, list[StoredMessage]] = {room: [] for room in ROOMS}
        #: live `message` events as they came off the wire, per (room, offset)
        self.wire: Counter[tuple[str, int]] = Counter()
        self.session.chat.message.connect(self._stored)
        self.session.on("/chat", "message", self._live)

    def _stored(self, m: StoredMessage) -> None:
        if m.room in self.got:
            self.got[m.room].append(m)

    def _live(self, payload: Any) -> None:
        if isinstance(payload, dict):
            self.wire[(payload.get("room"), payload.get("offset"))] += 1

    def count(self) -> int:
        return sum(len(v) for v in self.got.values())


@pytest.mark.timeout(480)
async def test_senders_and_listeners_survive_five_server_kills(tmp_path: Path) -> None:
    rng = chaos_rng("C1")
    srv = ServerProcess(tmp_path / "server.db").start()
    outputs: list[str] = []
    listeners = [Listener(srv.url, f"listener{i}", tmp_path / f"listener{i}")
                 for i in range(LISTENERS)]
    senders: list[asyncio.subprocess.Process] = []
    try:
        for li in listeners:
            assert await li.session.connect()
            for room in ROOMS:
                ack = await li.session.chat.join(room)
                assert ack["ok"], ack
        sender_dbs = [tmp_path / f"sender{i}" / "sockdesk.db" for i in range(SENDERS)]
        for i in range(SENDERS):
            senders.append(await spawn(
                "tests.chaos.sender", "--url", srv.url, "--user", f"sender{i}",
                "--data-dir", str(sender_dbs[i].parent), "--rooms", ",".join(ROOMS),
                "--count", str(PER_SENDER), "--seed", str(rng.randrange(2**31))))

        def acked() -> int:
            return sum(outbox_counts(db, "/chat")["acked"] for db in sender_dbs)

        points = kill_points(rng, KILLS, TOTAL // 20, TOTAL * 17 // 20, TOTAL // 25)
        print(f"C1: killing the server when {points} messages are acked")
        kills = 0
        started = time.monotonic()
        for point in points:
            await wait_until(lambda p=point: acked() >= p, 240, f"{point} acked messages",
                             interval=0.05)
            print(f"C1: kill at {acked()} acked, {time.monotonic() - started:.1f} s")
            await asyncio.to_thread(srv.kill)
            outputs.append("".join(srv.output))
            kills += 1
            await asyncio.to_thread(srv.restart)

        print(f"C1: kills done at {time.monotonic() - started:.1f} s")
        summaries = []
        for proc in senders:
            out, err = await asyncio.wait_for(proc.communicate(), 300)
            assert proc.returncode == 0, (out.decode(), err.decode()[-3000:])
            summaries.append(json.loads(out.decode().strip().splitlines()[-1]))
        assert [s["acked"] for s in summaries] == [PER_SENDER] * SENDERS, summaries
        assert all(s["failed"] == 0 for s in summaries), summaries

        print(f"C1: senders done at {time.monotonic() - started:.1f} s")
        # The server's truth: every message exactly once, each sender's in its order.
        call = listeners[0].session.call
        history = {room: await room_history(lambda e, p: call("/chat", e, p), room)
                   for room in ROOMS}
        seen: Counter[str] = Counter()
        for room, msgs in history.items():
            assert [m["offset"] for m in msgs] == list(range(1, len(msgs) + 1)), room
            last: dict[str, int] = {}
            for m in msgs:
                user, n = m["text"].split()
                assert m["user"] == user, m
                assert int(n) > last.get(user, -1), f"{user} out of order in {room}: {m}"
                last[user] = int(n)
                seen[m["text"]] += 1
        assert len(seen) == TOTAL and set(seen.values()) == {1}, "lost or duplicated"

        # Every listener got every message exactly once (live + recovered).
        await wait_until(lambda: all(li.count() >= TOTAL for li in listeners), 120,
                         "the listeners to catch up", interval=0.1)
        for li in listeners:
            for room in ROOMS:
                got = [(m.offset, m.user, m.text) for m in li.got[room]]
                want = [(m["offset"], m["user"], m["text"]) for m in history[room]]
                assert sorted(got) == want, f"{li.session.config.user} {room}"
        recovered = [sum(m.recovered for r in ROOMS for m in li.got[r]) for li in listeners]
        wire_dupes = [sum(n - 1 for n in li.wire.values() if n > 1) for li in listeners]
        print(f"C1: {TOTAL} messages, {kills} kills at {points}; recovered per listener "
              f"{recovered}; live duplicates on the wire {wire_dupes}")
        assert kills == KILLS
        outputs.append(srv.stop())
        assert srv.proc is not None and srv.proc.returncode == 0
        assert not [o for o in outputs if "Traceback" in o], outputs
    finally:
        for proc in senders:
            if proc.returncode is None:
                await sigkill(proc)
        for li in listeners:
            await li.session.close()
        srv.kill()
