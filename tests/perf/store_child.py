"""B6 helper, run as its own process so its RSS is the inspector's alone.

`build DIR ROWS` fills a store (generating rows costs memory we must not count);
`measure DIR` opens it like the inspector does and prints JSON timings (median of
repeats, milliseconds) for the store API and for the same query on bare sqlite3.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

QUEUE = "room:/chat:big"


def rss_mb() -> float:
    """Resident set size now (VmRSS), the figure a user sees in a task manager."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(fn: Callable[[], Any], repeats: int = 5) -> float:
    """Median ms; the first call is included in the repeats on purpose (cold cache counts)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t))
    return round(statistics.median(times), 2)


def build(folder: Path, rows: int) -> None:
    from app.store import MessageStore
    from tests.app.helpers import room_rows

    store = MessageStore.open(folder)
    chunk = 200_000
    for start in range(1, rows + 1, chunk):
        store.bulk_insert(room_rows(min(chunk, rows + 1 - start), start=start))
    store.close()


def measure(folder: Path) -> dict[str, float]:
    from app.store import MessageStore

    t = time.perf_counter()
    store = MessageStore.open(folder)
    out: dict[str, float] = {"open_ms": round(1000 * (time.perf_counter() - t), 2)}
    # what the inspector does for its first paint: counter + first page of 500
    out["first_page_ms"] = timed(lambda: (store.count(QUEUE), store.page(QUEUE, limit=500)))
    out["fts_ms"] = timed(lambda: (store.count(QUEUE, search="needle"),
                                   store.page(QUEUE, search="needle", limit=500)))
    out["fts_common_ms"] = timed(lambda: store.page(QUEUE, search="alpha", limit=500))
    out["end_ms"] = timed(lambda: store.page_end(QUEUE, limit=500))
    out["rss_mb"] = round(rss_mb(), 1)
    store.close()
    db = next(folder.glob("*.db"))
    conn = sqlite3.connect(db)
    base = "SELECT * FROM messages WHERE queue = ?"
    out["bare_first_page_ms"] = timed(lambda: (
        conn.execute("SELECT total FROM queue_counts WHERE queue = ?", (QUEUE,)).fetchone(),
        conn.execute(base + " AND id > 0 ORDER BY id LIMIT 500", (QUEUE,)).fetchall()))
    fts = " AND id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)"
    out["bare_fts_ms"] = timed(lambda: (
        conn.execute("SELECT count(*) FROM messages WHERE queue = ?" + fts,
                     (QUEUE, "needle")).fetchone(),
        conn.execute(base + fts + " ORDER BY id LIMIT 500", (QUEUE, "needle")).fetchall()))
    out["bare_end_ms"] = timed(lambda: conn.execute(
        base + " ORDER BY id DESC LIMIT 500", (QUEUE,)).fetchall())
    conn.close()
    return out


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        print(json.dumps(measure(Path(sys.argv[2]))))
