"""A /queue worker for the chaos tests: `python -m tests.chaos.consumer ...`.

Built on the client core (Session + QueueConsumer). Acks are explicit so the worker
knows the server took them: a job is written to the log (and fsynced) only AFTER the
server answered its `ack` with ok, which is the one moment a job is known to be done
exactly once. stdout gets "D seq" per delivery and "A seq" per logged ack, so the test
can tell whether the worker holds unacked jobs before it SIGKILLs it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
from pathlib import Path
from typing import Any

from app.config import ConnectionConfig, ReconnectPolicy
from app.session import Session


async def run(a: argparse.Namespace) -> int:
    rng = random.Random(a.seed)
    cfg = ConnectionConfig(url=a.url, user=a.user, namespaces=["/queue"],
                           reconnect=ReconnectPolicy(delay=0.1, delay_max=1.0),
                           ack_timeout=30.0)
    log = open(a.log, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
    stop = asyncio.Event()
    async with Session(cfg, Path(a.data_dir)) as s:

        async def work(d: dict[str, Any]) -> None:
            # a little simulated work, so jobs are held for a while (not a test wait)
            await asyncio.sleep(rng.uniform(0, a.work))
            try:
                ack = await s.queue.ack(a.queue, d["seq"])
            except Exception as exc:  # disconnected: the server hands the job out again
                print(f"E {d['seq']} {exc}", flush=True)
                return
            if ack == {"ok": True}:
                log.write(f"{d['seq']} {d['id']} {d['attempt']}\n")
                log.flush()
                os.fsync(log.fileno())
                print(f"A {d['seq']}", flush=True)
            else:
                print(f"N {d['seq']} {ack}", flush=True)

        def delivered(d: dict[str, Any]) -> None:
            if d.get("queue") == a.queue and isinstance(d.get("seq"), int):
                print(f"D {d['seq']}", flush=True)
                s.spawn(work(d))

        s.queue.delivered.connect(delivered)
        await s.queue.subscribe(a.queue, None, prefetch=a.prefetch, auto_ack=False)
        if not await s.connect():
            print(f"could not connect: {s.last_error}", file=sys.stderr, flush=True)
        print("ready", flush=True)
        await stop.wait()  # runs until killed
    return 0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--queue", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--prefetch", type=int, default=10)
    p.add_argument("--work", type=float, default=0.005, help="max seconds per job")
    p.add_argument("--seed", type=int, required=True)
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
