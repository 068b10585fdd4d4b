"""B6 helper, run as its own process so its RSS is the inspector's alone.

`build DIR ROWS` fills a store (generating rows costs memory we must not count);
`measure DIR` opens it like the inspector does and prints JSON timings (median of
repeats, milliseconds) for the store API and for the same query on bare sqlite3;
`view DIR` (run with QT_QPA_PLATFORM=offscreen) opens it through a Session as the app
does, shows the real Queues tab and times what a user waits for: the message table
painted after a click on the queue, after a search, after "End"; then its RSS.
"""

from __future__ import annotations

import json
import os
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
    # the view's search runs the page only (StoreSource.count() is None while searching)
    out["bare_fts_page_ms"] = timed(lambda: conn.execute(
        base + fts + " ORDER BY id LIMIT 500", (QUEUE, "needle")).fetchall())
    out["bare_end_ms"] = timed(lambda: conn.execute(
        base + " ORDER BY id DESC LIMIT 500", (QUEUE,)).fetchall())
    conn.close()
    return out


class _Host:
    """The little of the main window the Queues tab uses offline (no bridge, no server):
    so the child measures the tab and the store, not a whole window and a connection."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.errors: list[str] = []

    def spawn(self, coro: Any) -> None:
        coro.close()  # offline: nothing to start (/queue stats need a connection)

    def show_error(self, text: str) -> None:
        self.errors.append(text)

    def show_info(self, _text: str) -> None:
        pass


def view(folder: Path, repeats: int = 5) -> dict[str, Any]:
    """Time the real inspector view on the big queue; every figure ends with a painted
    table (``grab()`` paints synchronously), after ``processEvents()`` has run what the
    event loop runs before a paint (the view's posted layout, the tab's own slots)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.session import Session
    from ui import theme
    from ui.inspector.tab import QueuesTab
    from ui.workspaces import build_config

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply(app)  # the app's style sheet: painting cost depends on it
    t = time.perf_counter()
    session = Session(build_config({"namespaces": ["/chat"]}), folder)
    out: dict[str, Any] = {"open_ms": round(1000 * (time.perf_counter() - t), 2)}
    host = _Host(session)
    tab = QueuesTab(host)
    tab.resize(1280, 800)
    tab.show()
    app.processEvents()
    table = tab.message_view
    other = "outbox:/chat"  # the other row of the list: click it to leave the big queue

    def painted(check: Callable[[], bool]) -> None:
        app.processEvents()
        table.grab()
        if not check():
            raise RuntimeError(f"inspector did not show what was asked: {host.errors}")

    def queries(since: tuple[Any, int]) -> int:
        """SQL pages the action ran (a click or a search makes a new source)."""
        src = tab.message_model.source
        n = int(getattr(src, "queries", 0))
        return n - since[1] if src is since[0] else n

    def mark() -> tuple[Any, int]:
        src = tab.message_model.source
        return src, int(getattr(src, "queries", 0))

    def first_paint() -> tuple[float, int]:
        assert tab.select_queue(other)  # untimed: leave the queue so the click reloads
        painted(lambda: True)
        since = mark()
        t = time.perf_counter()
        # select_queue sets the list's current row, exactly what a click does
        # (currentRowChanged -> _queue_changed -> load_messages)
        tab.select_queue(QUEUE)
        painted(lambda: tab.message_model.rowCount() > 0
                and table.indexAt(table.viewport().rect().topLeft()).isValid())
        ms = 1000 * (time.perf_counter() - t)
        return ms, queries(since)

    def search() -> tuple[float, int]:
        tab.search.setText("")  # untimed: back to the unfiltered queue
        tab._search_timer.stop()
        tab.apply_search()
        painted(lambda: True)
        since = mark()
        t = time.perf_counter()
        tab.search.setText("needle")
        # typing starts a 200 ms debounce timer; we call the slot it triggers
        # (apply_search) at once, so the figure is the work, not the debounce wait
        tab._search_timer.stop()
        tab.apply_search()
        painted(lambda: tab.message_model.rowCount() > 0
                and all("needle" in r.cells[5] for r in tab.message_model.rows()))
        ms = 1000 * (time.perf_counter() - t)
        return ms, queries(since)

    def jump_end() -> tuple[float, int]:
        tab.load_messages()  # untimed: back to the top of the (unfiltered) queue
        painted(lambda: True)
        since = mark()
        t = time.perf_counter()
        tab.end_button.click()  # -> QueuesTab.jump_to_end
        bar = table.verticalScrollBar()
        painted(lambda: bar.value() == bar.maximum() and not tab.message_model.more_after)
        ms = 1000 * (time.perf_counter() - t)
        return ms, queries(since)

    def series(fn: Callable[[], tuple[float, int]], name: str) -> None:
        times = []
        for _ in range(repeats):
            ms, n = fn()
            times.append(ms)
            out[f"{name}_queries"] = n
        out[f"{name}_ms"] = round(statistics.median(times), 2)
        out[f"{name}_runs"] = [round(x, 2) for x in times]

    series(first_paint, "first_paint")
    out["first_paint_rows"] = tab.message_model.rowCount()
    series(search, "fts")
    out["fts_rows"] = tab.message_model.rowCount()
    tab.search.setText("")
    tab._search_timer.stop()
    tab.apply_search()
    series(jump_end, "end")
    out["end_rows"] = tab.message_model.rowCount()
    out["rss_mb"] = round(rss_mb(), 1)
    tab.timer.stop()
    session.store.close()
    return out


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(Path(sys.argv[2]), int(sys.argv[3]))
    elif sys.argv[1] == "view":
        print(json.dumps(view(Path(sys.argv[2]))), flush=True)
    else:
        print(json.dumps(measure(Path(sys.argv[2]))))
