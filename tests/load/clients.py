"""Load-test client process: `python -m tests.load.clients ...`.

Runs many python-socketio AsyncClients (websocket only) in one asyncio loop. Each joins
its room, says "ready" on stdout (once all of them have), waits for the parent's start
time on stdin, then sends one `message` per second (acked) for the given duration, at
its own phase within the second so the load is spread. Every received message is
counted per (sender, seq); its delivery latency is arrival time minus the send time
carried in the text (the first attempt's: a message the server refused with
`rate_limited` is resent after the ack's `retry_after`, with the same id, and its
latency includes that wait). At the end one JSON line: counts, errors, and the path of a file
of latencies (float64 seconds), which the parent merges.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import socketio

from app import jsonmod

CONNECT_TIMEOUT = 60.0


class Client:
    """One simulated user: its socket, what it sent, what it heard."""

    def __init__(self, index: int, rooms: int, url: str, ack_timeout: float) -> None:
        self.user = f"load{index}"
        self.room = f"room{index % rooms}"
        self.url = url
        self.ack_timeout = ack_timeout
        self.sio = socketio.AsyncClient(reconnection=False, json=jsonmod)
        self.heard: Counter[tuple[str, int]] = Counter()
        self.latencies = array.array("d")
        self.ack_latencies = array.array("d")
        self.errors: list[str] = []
        self.sent = 0
        self.acked = 0
        #: `rate_limited` answers (the overloaded server shed the message; resent)
        self.refused = 0
        self.disconnected = False
        self.disconnect_reason = ""
        #: how far behind its schedule a send went out (the client process was busy)
        self.late = 0.0
        self.sio.on("message", self.on_message, namespace="/chat")
        self.sio.on("disconnect", self.on_disconnect, namespace="/chat")

    def on_message(self, data: dict[str, Any]) -> None:
        now = time.time()
        sender, seq, sent_at = data["text"].split()
        self.heard[(sender, int(seq))] += 1
        self.latencies.append(now - float(sent_at))

    def on_disconnect(self, *reason: Any) -> None:
        self.disconnected = True
        self.disconnect_reason = str(reason[0]) if reason else "?"

    async def connect(self) -> None:
        await self.sio.connect(self.url, namespaces=["/chat"], auth={"user": self.user},
                               transports=["websocket"], wait_timeout=CONNECT_TIMEOUT)
        ack = await self.sio.call("join", {"room": self.room}, namespace="/chat",
                                  timeout=CONNECT_TIMEOUT)
        if not ack.get("ok"):
            raise RuntimeError(f"join failed: {ack}")

    async def send_all(self, start: float, count: int, phase: float,
                       open_loop: bool) -> None:
        """Message `seq` is due at start + phase + seq. Closed loop (the default): a
        client never has more than one unacked message, so when acks are slower than a
        second its sends slip (reported as lateness) instead of piling up. Open loop:
        every message goes out when due, acked or not."""
        calls = []
        for seq in range(count):
            due = start + phase + seq
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)  # the send schedule itself, 1 per second
            self.late = max(self.late, time.time() - due)
            if open_loop:
                calls.append(asyncio.ensure_future(self.send(seq)))
            else:
                await self.send(seq)
        await asyncio.gather(*calls)

    async def send(self, seq: int) -> None:
        sent_at = time.time()
        self.sent += 1
        payload = {"room": self.room, "id": f"{self.user}-{seq}",
                   "text": f"{self.user} {seq} {sent_at!r}"}
        while True:
            try:
                ack = await self.sio.call("message", payload, namespace="/chat",
                                          timeout=self.ack_timeout)
            except Exception as exc:
                self.errors.append(f"send {seq}: {type(exc).__name__}: {exc}")
                return
            if isinstance(ack, dict) and ack.get("code") == "rate_limited":
                self.refused += 1
                await asyncio.sleep(float(ack.get("retry_after") or 1.0))  # server's hint
                continue
            break
        if isinstance(ack, dict) and ack.get("ok"):
            self.acked += 1
            self.ack_latencies.append(time.time() - sent_at)
        else:
            self.errors.append(f"send {seq}: {ack}")


async def run(a: argparse.Namespace) -> int:
    rng = random.Random(a.seed)
    clients = [Client(i, a.rooms, a.url, a.ack_timeout)
               for i in range(a.first, a.first + a.count)]
    sem = asyncio.Semaphore(25)  # connect in waves: 500 handshakes at once help nobody

    async def connect(c: Client) -> None:
        async with sem:
            await c.connect()

    await asyncio.gather(*(connect(c) for c in clients))
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    start = float(line.strip())
    await asyncio.gather(*(c.send_all(start, a.messages, rng.random(), a.open_loop)
                           for c in clients))
    acked_at = time.time()
    # wait (bounded) until every client heard every other member's messages
    members: dict[str, list[str]] = {}
    for i in range(a.total):
        members.setdefault(f"room{i % a.rooms}", []).append(f"load{i}")
    wanted = {c.user: {(u, seq) for u in members[c.room] if u != c.user
                       for seq in range(a.messages)} for c in clients}
    expected = {user: len(w) for user, w in wanted.items()}
    deadline = time.monotonic() + a.drain
    while time.monotonic() < deadline:
        if all(len(c.heard) >= expected[c.user] for c in clients):
            break
        await asyncio.sleep(0.1)  # polling the counters, bounded by --drain
    lat = array.array("d")
    acks = array.array("d")
    for c in clients:
        lat.extend(c.latencies)
        acks.extend(c.ack_latencies)
    out = Path(a.out)
    out.with_suffix(".lat").write_bytes(lat.tobytes())
    out.with_suffix(".ack").write_bytes(acks.tobytes())
    summary = {
        "clients": len(clients),
        "sent": sum(c.sent for c in clients), "acked": sum(c.acked for c in clients),
        "errors": [e for c in clients for e in c.errors][:20],
        "error_count": sum(len(c.errors) for c in clients),
        "disconnected": sum(c.disconnected for c in clients),
        "ping_timeouts": sum("ping timeout" in c.disconnect_reason for c in clients),
        "disconnect_reasons": sorted({c.disconnect_reason for c in clients
                                      if c.disconnected}),
        "refused": sum(c.refused for c in clients),
        "expected": sum(expected.values()),
        "received": sum(sum(c.heard.values()) for c in clients),
        "distinct": sum(len(c.heard) for c in clients),
        "duplicates": sum(n - 1 for c in clients for n in c.heard.values() if n > 1),
        "missing": sum(len(wanted[c.user] - set(c.heard)) for c in clients),
        "unexpected": sum(len(set(c.heard) - wanted[c.user]) for c in clients),
        "max_send_late_s": round(max(c.late for c in clients), 2),
        "all_acked_after_s": round(acked_at - start, 1),
        "all_heard_after_s": round(time.time() - start, 1),
    }
    print(json.dumps(summary), flush=True)
    for c in clients:
        await c.sio.disconnect()
    return 0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--first", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--total", type=int, required=True)
    p.add_argument("--rooms", type=int, required=True)
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--drain", type=float, default=120.0)
    p.add_argument("--ack-timeout", type=float, default=60.0)
    p.add_argument("--open-loop", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
