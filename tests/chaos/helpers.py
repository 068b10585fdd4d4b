"""Shared pieces of the chaos suite: the printed seed, child processes, progress probes.

Chaos tests never sleep a fixed time: they wait on a condition (a counter in a child's
database, a line on its stdout, a process exit) with a generous timeout, because the CI
machine has two cores shared with other test runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import REPO

#: Set to replay a failing run: SOCKDESK_CHAOS_SEED=1234 pytest tests/chaos
SEED_ENV = "SOCKDESK_CHAOS_SEED"


def chaos_rng(name: str) -> random.Random:
    """A seeded Random for one test; the seed is printed (pytest shows it on failure)."""
    seed = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(2**31))
    print(f"{name}: seed {seed} (replay with {SEED_ENV}={seed})", flush=True)
    return random.Random(seed)


def kill_points(rng: random.Random, n: int, low: int, high: int, gap: int) -> list[int]:
    """`n` sorted progress thresholds in [low, high), at least `gap` apart."""
    while True:
        points = sorted(rng.sample(range(low, high), n))
        if all(b - a >= gap for a, b in itertools.pairwise(points)):
            return points


async def spawn(module: str, *args: str) -> asyncio.subprocess.Process:
    """Start `python -m module args` from the repo, stdout piped, stderr to a pipe too."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, cwd=REPO,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def sigkill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL a child and reap it."""
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    await proc.wait()


def outbox_counts(db: Path, namespace: str) -> dict[str, int]:
    """The outbox counters a client keeps in its data dir (read by another process)."""
    if not db.exists():
        return {"queued": 0, "sent": 0, "acked": 0, "failed": 0}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT queued, sent, acked, failed FROM queue_counts "
                           "WHERE queue = ?", (f"outbox:{namespace}",)).fetchone()
    except sqlite3.OperationalError:  # schema not there yet
        row = None
    finally:
        conn.close()
    return dict(zip(("queued", "sent", "acked", "failed"), row or (0, 0, 0, 0),
                    strict=True))


async def wait_until(check: Callable[[], Any], timeout: float, what: str,
                     interval: float = 0.02) -> Any:
    """Poll `check` (cheap, sync) until truthy; AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)


async def room_history(call: Callable[..., Any], room: str) -> list[dict[str, Any]]:
    """Every message of a room from the server, paged with /chat `history`.

    `call(event, payload)` is a coroutine function returning the ack (Session.call or a
    Peer's call bound to /chat)."""
    out: list[dict[str, Any]] = []
    since = 0
    while True:
        page = await call("history", {"room": room, "since": since, "limit": 500})
        assert page["ok"], page
        out.extend(page["messages"])
        if not page["more"] or not page["messages"]:
            return out
        since = page["messages"][-1]["offset"]
