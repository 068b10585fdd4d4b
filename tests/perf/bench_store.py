"""Store benchmark: 1,000,000 messages in one queue; prints timings (no asserts on speed).

Run: .venv/bin/python -m tests.perf.bench_store [--rows N]
Measures: bulk insert (one transaction), open of the queue (count + first page),
jump to end, keyset page deep inside, FTS search (count + first page), and batched
inbound ingestion through MessageStore.add (the live path).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from app.store import MessageStore, StoredMessage
from tests.app.helpers import room_rows


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    result = fn()
    print(f"{label:<44} {1000 * (time.perf_counter() - t):9.1f} ms")
    return result


async def ingest(store: MessageStore, n: int) -> None:
    done = asyncio.Event()
    seen = 0

    def on_batch(batch: list[StoredMessage]) -> None:
        nonlocal seen
        seen += len(batch)
        if seen >= n:
            done.set()

    store.stored.connect(on_batch)
    for i in range(n):
        store.add(StoredMessage(queue="event:/:tick", direction="in", namespace="/",
                                event="tick", args=[{"i": i}]))
        if i % 1000 == 0:
            await asyncio.sleep(0)
    await done.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--ingest", type=int, default=100_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        store = MessageStore.open(Path(d))
        q = "room:/chat:big"
        rows = timed(f"generate {a.rows:,} rows", lambda: room_rows(a.rows))
        timed("bulk insert (one transaction, FTS, counters)",
              lambda: store.bulk_insert(rows))
        rows.clear()
        store.close()
        store = MessageStore.open(Path(d))
        n = timed("open queue: count", lambda: store.count(q))
        first = timed("open queue: first page (500)", lambda: store.page(q, limit=500))
        timed("jump to end: last page (500)", lambda: store.page_end(q, limit=500))
        mid = store.page(q, after=first[-1].rowid + a.rows // 2, limit=1)
        timed("keyset page from the middle (500)",
              lambda: store.page(q, after=mid[0].rowid if mid else 0, limit=500))
        timed("search rare word: count", lambda: store.count(q, search="needle"))
        timed("search rare word: first page", lambda: store.page(q, search="needle"))
        timed("search common word: first page (500)",
              lambda: store.page(q, search="alpha", limit=500))
        timed("search common word: count", lambda: store.count(q, search="alpha"))
        print(f"rows in queue: {n:,}")
        t = time.perf_counter()
        asyncio.run(ingest(store, a.ingest))
        dt = time.perf_counter() - t
        print(f"batched ingestion of {a.ingest:,} events: {a.ingest / dt:,.0f} events/s")
        store.close()


if __name__ == "__main__":
    main()
