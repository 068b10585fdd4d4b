"""A chat sender for the chaos tests: `python -m tests.chaos.sender ...`.

Drives the client core exactly as the GUI does (Session + chat.send through the durable
outbox), keeping a bounded backlog so messages are enqueued throughout the run, also
while the server is down. Message texts are "<user> <n>" with n counting up, so the
test can check each sender's order in each room. Prints one JSON summary line at the
end; exit 0 when every message was acked, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from pathlib import Path

from app.config import ConnectionConfig, ReconnectPolicy
from app.outbox import OutboxState
from app.session import Session
from app.signals import wait_until

BACKLOG = 64


async def run(a: argparse.Namespace) -> int:
    rng = random.Random(a.seed)
    rooms = a.rooms.split(",")
    cfg = ConnectionConfig(url=a.url, user=a.user, namespaces=["/chat"],
                           reconnect=ReconnectPolicy(delay=0.1, delay_max=1.0),
                           ack_timeout=a.ack_timeout, window=32)
    async with Session(cfg, Path(a.data_dir)) as s:
        await s.connect()  # False while the server is down: it keeps trying
        n = 0
        while n < a.count:
            await wait_until(lambda: s.outbox.depth("/chat") < BACKLOG, s.outbox.changed,
                             None)
            for _ in range(min(rng.randint(1, 40), a.count - n)):
                s.chat.send(rng.choice(rooms), f"{a.user} {n}")
                n += 1
        flushed = await s.wait_flushed(timeout=a.timeout)
        failed = s.outbox.list("/chat", states=[OutboxState.FAILED])
        info = s.store.queue_info("outbox:/chat")
        print(json.dumps({"user": a.user, "enqueued": n, "flushed": flushed,
                          "acked": info.acked, "failed": len(failed),
                          "errors": sorted({m.error or "" for m in failed})[:5]}),
              flush=True)
        return 0 if flushed and not failed else 1


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--rooms", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--ack-timeout", type=float, default=30.0)
    p.add_argument("--timeout", type=float, default=240.0)
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
