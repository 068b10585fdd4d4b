"""B8 helper: the chatting crowd of the soak, `python -m tests.perf.soak_clients ...`.

Many python-socketio AsyncClients (websocket) in one asyncio loop, each in room
``room<i % rooms>`` of /chat. Once all have joined it prints "ready", reads the start
time (epoch seconds) from stdin, and every client sends `rate` acked messages per second
(closed loop: at most one unacked, so a slow server makes sends late instead of piling
up) at its own phase, until `seconds` have passed (what slipped past that is not sent).
Each received message's latency is arrival minus the send time carried in its text.

Every minute after the start it prints one JSON line for the minute that just ended:
messages sent/acked/errored in it, deliveries, p50/p99 delivery and ack latency (ms) of
what arrived in it, and how late the sends ran. Only the current minute's samples are
held, so this process stays small over a long run.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import random
import sys
import time
from typing import Any

import socketio

from app import jsonmod


def pct(xs: array.array[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(q * len(s)))] * 1000, 1)


class Minute:
    """Counters of one minute, shared by all clients of the process."""

    def __init__(self) -> None:
        self.sent = 0
        self.acked = 0
        self.errors = 0
        self.latencies: array.array[float] = array.array("d")
        self.acks: array.array[float] = array.array("d")
        self.late = 0.0
        self.disconnects = 0

    def summary(self, index: int) -> dict[str, Any]:
        return {"minute": index + 1, "sent": self.sent, "acked": self.acked,
                "errors": self.errors, "delivered": len(self.latencies),
                "p50_ms": pct(self.latencies, 0.50), "p99_ms": pct(self.latencies, 0.99),
                "ack_p50_ms": pct(self.acks, 0.50), "ack_p99_ms": pct(self.acks, 0.99),
                "max_send_late_s": round(self.late, 2), "disconnects": self.disconnects}


class Crowd:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.now = Minute()
        self.sio: list[socketio.AsyncClient] = []

    def client(self, index: int) -> tuple[socketio.AsyncClient, str, str]:
        user, room = f"soak{index}", f"room{index % self.a.rooms}"
        sio = socketio.AsyncClient(reconnection=False, json=jsonmod)

        def on_message(data: dict[str, Any]) -> None:
            parts = str(data.get("text", "")).split()
            if len(parts) == 3 and parts[0].startswith("soak"):
                self.now.latencies.append(time.time() - float(parts[2]))

        def on_disconnect(*_: Any) -> None:
            self.now.disconnects += 1

        sio.on("message", on_message, namespace="/chat")
        sio.on("disconnect", on_disconnect, namespace="/chat")
        self.sio.append(sio)
        return sio, user, room

    async def join(self, sio: socketio.AsyncClient, user: str, room: str) -> None:
        await sio.connect(self.a.url, namespaces=["/chat"], auth={"user": user},
                          transports=["websocket"], wait_timeout=60)
        ack = await sio.call("join", {"room": room}, namespace="/chat", timeout=60)
        if not ack.get("ok"):
            raise RuntimeError(f"join failed: {ack}")

    async def chat(self, sio: socketio.AsyncClient, user: str, room: str, start: float,
                   phase: float) -> None:
        period = 1.0 / self.a.rate
        end = start + self.a.seconds
        seq = 0
        while True:
            due = start + (phase + seq) * period
            if due >= end or time.time() >= end:  # sends that slipped past the end: dropped
                return
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)  # the send schedule itself
            self.now.late = max(self.now.late, time.time() - due)
            sent_at = time.time()
            self.now.sent += 1
            try:
                ack = await sio.call("message", {"room": room,
                                                 "text": f"{user} {seq} {sent_at!r}"},
                                     namespace="/chat", timeout=self.a.ack_timeout)
            except Exception:
                self.now.errors += 1
            else:
                if isinstance(ack, dict) and ack.get("ok"):
                    self.now.acked += 1
                    self.now.acks.append(time.time() - sent_at)
                else:
                    self.now.errors += 1
            seq += 1

    async def report(self, start: float) -> None:
        """One line per minute, cut on the minute boundaries after `start`."""
        minutes = int(self.a.seconds // 60)
        for i in range(minutes):
            await asyncio.sleep(max(0.0, start + 60 * (i + 1) - time.time()))
            done, self.now = self.now, Minute()
            print(json.dumps(done.summary(i)), flush=True)

    async def run(self) -> int:
        rng = random.Random(self.a.seed)
        made = [self.client(i) for i in range(self.a.clients)]
        sem = asyncio.Semaphore(25)

        async def join(c: tuple[socketio.AsyncClient, str, str]) -> None:
            async with sem:
                await self.join(*c)

        await asyncio.gather(*(join(c) for c in made))
        print("ready", flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        start = float(line.strip())
        reporter = asyncio.ensure_future(self.report(start))
        await asyncio.gather(*(self.chat(*c, start, rng.random()) for c in made))
        await reporter
        for sio in self.sio:
            await sio.disconnect()
        return 0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--rooms", type=int, default=10)
    p.add_argument("--rate", type=float, default=2.0, help="messages/s per client")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--ack-timeout", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=0)
    return asyncio.run(Crowd(p.parse_args()).run())


if __name__ == "__main__":
    raise SystemExit(main())
