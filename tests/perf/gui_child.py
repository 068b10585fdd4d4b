"""B5/B7 helper: runs the real desktop app (`ui.main.main`) with its --screenshot step
replaced by a measurement, so we time the app exactly as users start it.

usage: python -m tests.perf.gui_child startup OUT.png DATA_DIR
       python -m tests.perf.gui_child load DATA_DIR SECONDS RATE [relay|node]
       python -m tests.perf.gui_child bare OUT.png      (the bare PySide6 peer)
       python -m tests.perf.gui_child paint             (B5p: one repaint of each table)
       python -m tests.perf.gui_child soak DATA_DIR URL ROOM   (B8; until a line on stdin)
Prints one JSON line (epoch seconds for the start-up marks; ms for the stall figures).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


async def _until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.005)
    return bool(check())


def bare(out: str) -> int:
    """The peer for B7: the least a PySide6 program must do to save a painted window."""
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication(sys.argv[:1])
    w = QMainWindow()
    w.setCentralWidget(QLabel("hello"))
    w.resize(1280, 800)
    w.show()
    app.processEvents()
    w.grab().save(out)
    print(json.dumps({"painted": time.time()}), flush=True)
    return 0


def startup(out: str, data_dir: str) -> int:
    import ui.main as uimain

    marks: dict[str, float] = {}

    async def measure(self: Any, window: Any, data: Path) -> int:
        # no processEvents() here: re-entering Qt's loop from a qasync task breaks asyncio;
        # grab() renders the window itself, which is what "first painted" means.
        await asyncio.sleep(0)
        window.grab().save(out)
        marks["painted"] = time.time()
        ok = await _until(lambda: window._state == "connected", 30)
        marks["connected"] = time.time() if ok else float("nan")
        return 0

    uimain.App._screenshot = measure  # type: ignore[method-assign]
    rc = uimain.main(["--screenshot", out, "--data-dir", data_dir])
    print(json.dumps(marks), flush=True)
    return rc


def _tick_index(item: Any) -> int | None:
    """The `i` of a sender.js `tick` (a packet's or a stored message's args), else None."""
    args = item.get("args") if isinstance(item, dict) else getattr(item, "args", None)
    if isinstance(args, list) and args and isinstance(args[0], dict):
        i = args[0].get("i")
        return i if isinstance(i, int) else None
    return None


def _last_tick(row: Any, rows: int) -> int | None:
    """The `i` of the newest tick among a model's last 50 rows (the packet log also
    shows the app's own packets, such as the Queues tab's `/queue stats` calls)."""
    for r in range(rows - 1, max(-1, rows - 51), -1):
        i = _tick_index(row(r))
        if i is not None:
            return i
    return None


def load(data_dir: str, seconds: float, rate: int, source: str = "relay") -> int:
    """B5: `rate` tick events/s for `seconds`, the Events tab in view for the first half
    and the Queues tab (showing the ticks' queue, following its end) for the second.

    Reports the stall p99 per tab (a 5 ms heartbeat's gaps minus 5 ms), how many events
    the store holds at the end against how many were sent, and how long after the last
    event was emitted each view's last row was that event (the Events log's model and
    the Queues tab's message table; checked on every heartbeat). `source`: "relay" (the
    app's embedded server relays sender.js's ticks) or "node" (rate_server.js, the
    official Node server, emits them to the app, connected to it with --url)."""
    import ui.main as uimain
    from app.keys import event_key
    from tests.support import REPO, ensure_node_packages

    result: dict[str, Any] = {}

    async def measure(self: Any, window: Any, data: Path) -> int:
        from PySide6.QtCore import Qt, QTimer

        await _until(lambda: window._state == "connected", 30)
        await _until(lambda: window.session.is_ready("/"), 10)
        result["url"] = window.session.current_url
        received = 0
        n = int(seconds * rate)
        queue = event_key("/", "tick")

        def count(_m: Any) -> None:
            nonlocal received
            received += 1

        window.session.event_received.connect(count)
        packets = window.packets
        qmodel = window.queues.message_model
        # when (epoch) each view's last row first was the last event sent
        shown: dict[str, float] = {}

        seen = {"events": -1, "queues": -1}  # rowCount at the last look (look on change)

        states: list[str] = []  # the window's connection states, in order (a drop?)

        def beat() -> None:
            beats.append(time.perf_counter())
            if not states or states[-1] != window._state:
                states.append(window._state)
            rows = packets.rowCount()
            # the model is capped (the oldest rows go as new ones come): look when the
            # absolute number of its last row moves, not its row count
            total = packets.first_row_number + rows
            if "events" not in shown and total != seen["events"]:
                seen["events"] = total
                if _last_tick(packets.packet, rows) == n - 1:
                    shown["events"] = time.time()
            rows = qmodel.rowCount()
            if switched and "queues" not in shown and (
                    rows != seen["queues"] or qmodel.fetches != seen.get("fetches")):
                seen["queues"], seen["fetches"] = rows, qmodel.fetches
                if _last_tick(qmodel.row_at, rows) == n - 1:
                    shown["queues"] = time.time()

        beats: list[float] = []
        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(5)
        timer.timeout.connect(beat)
        tabs = window.tabs
        events_tab = tabs.indexOf(window.events)
        inspector_tab = tabs.indexOf(window.queues)
        tabs.setCurrentIndex(events_tab)
        proc = None
        if feeder is None:
            proc = await asyncio.create_subprocess_exec(
                "node", str(REPO / "tests/perf/sender.js"), result["url"], "/", str(n),
                str(rate), "256", env=env, stdout=asyncio.subprocess.PIPE)
        else:
            assert feeder.stdin is not None
            feeder.stdin.write(f"go {n} {rate}\n")
            feeder.stdin.flush()

        async def last_emit() -> dict[str, Any]:
            """The feeder's {last_emit} line, once it has emitted the last tick."""
            with contextlib.suppress(TimeoutError, ValueError):
                if proc is not None:
                    assert proc.stdout is not None
                    return dict(json.loads(await asyncio.wait_for(proc.stdout.readline(), 30)))
                assert feeder is not None and feeder.stdout is not None
                line = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
                    None, feeder.stdout.readline), 30)
                return dict(json.loads(line))
            return {}
        switched = False
        gc_ms: dict[int, list[float]] = {0: [], 1: [], 2: []}
        gc_started = [0.0]

        def gc_timing(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                gc_started[0] = time.perf_counter()
            else:
                gc_ms[info["generation"]].append((time.perf_counter() - gc_started[0]) * 1000)

        gc.callbacks.append(gc_timing)
        timer.start()
        start = time.perf_counter()
        switch = start + seconds / 2
        while time.perf_counter() - start < seconds + 1:
            if not switched and time.perf_counter() >= switch:
                tabs.setCurrentIndex(inspector_tab)
                result["queue_selected"] = window.queues.select_queue(queue)
                window.queues.jump_to_end()
                switched = True
            await asyncio.sleep(0.05)
        stalls_end = len(beats)
        gc.callbacks.remove(gc_timing)
        result["gc"] = {f"gen{g}": {"n": len(xs), "total_ms": round(sum(xs), 1),
                                    "max_ms": round(max(xs), 1) if xs else 0}
                        for g, xs in gc_ms.items()}
        result["received_in_window"] = received
        result["states"] = states
        sent = await last_emit()
        # the views may still be catching up: give them 10 s more (not counted as stalls)
        await _until(lambda: len(shown) == 2, 10)
        timer.stop()
        if proc is not None:
            if proc.returncode is None:  # acks still missing (the server dropped us?): enough
                proc.kill()
            await proc.wait()
        window.session.store.flush()
        stored = window.session.store.count(queue)
        result["queue_last"] = _last_tick(qmodel.row_at, qmodel.rowCount())
        result["events_last"] = _last_tick(packets.packet, packets.rowCount())
        # a disconnect (the server drops a slow consumer) would explain missing events
        result["disconnects"] = [str(r.cells[4]) for r in packets.rows
                                 if r.kind == "DISCONNECT"]
        gaps = [(b - a) * 1000 - 5 for a, b in itertools.pairwise(beats[:stalls_end])]
        mid = [i for i, b in enumerate(beats[1:stalls_end]) if b >= switch]
        cut = mid[0] if mid else len(gaps)

        def p99(xs: list[float]) -> float | None:
            return round(sorted(xs)[int(0.99 * (len(xs) - 1))], 1) if xs else None

        def lag(view: str) -> float | None:
            last = sent.get("last_emit")
            return round(shown[view] - last, 3) if view in shown and last else None

        result.update(rate=rate, received=received, sent=n, stored=stored,
                      beats=stalls_end, stall_p99_ms=p99(gaps),
                      stall_p99_events_tab_ms=p99(gaps[:cut]),
                      stall_p99_inspector_tab_ms=p99(gaps[cut:]),
                      stall_max_ms=round(max(gaps), 1) if gaps else None,
                      stall_median_ms=round(statistics.median(gaps), 2) if gaps else None,
                      lag_events_view_s=lag("events"), lag_queues_view_s=lag("queues"),
                      inspector_tab=inspector_tab >= 0)
        return 0

    env = dict(os.environ, NODE_PATH=str(ensure_node_packages()))
    args = ["--screenshot", str(Path(data_dir) / "unused.png"), "--data-dir", data_dir]
    feeder = None
    if source == "node":  # the official server emits the ticks: B5 measures the app alone
        feeder = subprocess.Popen(["node", str(REPO / "tests/perf/rate_server.js")], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert feeder.stdout is not None
        url = feeder.stdout.readline().split("Listening on ", 1)[-1].strip()
        args += ["--url", url, "--user", "watcher", "--transport", "websocket"]
    result["feeder"] = source
    uimain.App._screenshot = measure  # type: ignore[method-assign]
    try:
        rc = uimain.main(args)
    finally:
        if feeder is not None:
            feeder.kill()
            feeder.wait()
    print(json.dumps(result), flush=True)
    return rc


def paint(repeats: int = 30) -> int:
    """B5p: what one repaint of a full table costs, the two a flood repaints: the Events
    tab's packet log (20,000 rows, at the bottom) and the Queues tab's message table
    (the last 500 of 2,000 rows), 1280 px wide, with the app's theme; medians in ms."""
    from PySide6.QtWidgets import QApplication

    from ui import theme

    app = QApplication(sys.argv[:1])
    theme.apply(app)
    from app.store import StoredMessage
    from ui.inspector.messages import MessagePane
    from ui.inspector.models import ListSource, MessageRow
    from ui.models.packets import PacketTableModel
    from ui.widgets.events import EventsTab

    def repaint_ms(widget: Any) -> float:
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            widget.repaint()
            times.append((time.perf_counter() - t) * 1000)
        return round(statistics.median(times), 1)

    payload = {"text": "tick", "pad": "x" * 40}
    model = PacketTableModel()
    events = EventsTab(model)
    events.resize(1280, 800)
    events.show()
    for i in range(20_000):
        model.add({"seq": i, "ts": time.time(), "direction": "in", "namespace": "/",
                   "kind": "EVENT", "event": "tick", "args": [dict(payload, i=i)],
                   "ack_id": None, "latency_ms": None, "size": 80})
    model.flush()
    events.table.scrollToBottom()
    app.processEvents()
    pane = MessagePane()
    pane.resize(1280, 600)
    pane.show()
    rows = [MessageRow.from_stored(StoredMessage(
        queue="event:/:tick", direction="in", namespace="/", event="tick",
        args=[dict(payload, i=i)], rowid=i + 1)) for i in range(2000)]
    pane.set_source(ListSource(rows), at_end=True)
    app.processEvents()
    print(json.dumps({"events_table_ms": repaint_ms(events.table.viewport()),
                      "queues_table_ms": repaint_ms(pane.view.viewport())}), flush=True)
    return 0


def heap_growth(since: Any, top: int = 12) -> list[str]:
    """The lines of code whose live allocations grew most since the snapshot `since`."""
    import tracemalloc

    stats = tracemalloc.take_snapshot().compare_to(since, "lineno")
    return [str(st) for st in stats[:top]]


def sizes(window: Any) -> dict[str, Any]:
    """What the app holds per message, by name (cheap: lengths only)."""
    chat_model = window.chat.model
    delegate = window.chat.view.delegate
    session = window.session
    out: dict[str, Any] = {
        "chat_rows": chat_model.rowCount() if chat_model is not None else None,
        "packet_rows": window.packets.rowCount(),
        "packets_pending": window.packets.pending,
        "row_heights": len(getattr(delegate, "_heights", ())),
        "packet_log": len(session.packet_log),
        "py_blocks": sys.getallocatedblocks(),
    }
    out.update(_mallinfo())
    try:
        import ctypes

        lib = ctypes.CDLL("libsqlite3.so.0")  # the one _sqlite3 links (its page caches)
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        out["sqlite_mb"] = round(lib.sqlite3_memory_used() / 2**20, 1)
    except (OSError, AttributeError):
        pass
    status = Path("/proc/self/status").read_text()
    for name in ("RssAnon", "RssFile"):
        if f"{name}:" in status:
            kb = int(status.split(f"{name}:")[1].split()[0])
            out[f"{name.lower()}_mb"] = round(kb / 1024, 1)
    return out


def _mallinfo() -> dict[str, float]:
    """glibc's heap (Qt, C and Python's large objects; pymalloc's arenas are mmapped):
    MB in use, MB free inside the heap (fragmentation), MB in mmapped chunks."""
    import ctypes

    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = Info
        m = libc.mallinfo2()
    except (OSError, AttributeError):
        return {}
    mb = 2 ** 20
    return {"malloc_used_mb": round(m.uordblks / mb, 1),
            "malloc_free_mb": round(m.fordblks / mb, 1),
            "mmapped_mb": round(m.hblkhd / mb, 1)}


async def _minutes(window: Any, since: Any) -> None:
    """One JSON line a minute: what the app holds and, when traced, the traced size and
    the lines that grew most during the minute (see bench_soak)."""
    minute = 0
    prev = since
    while True:
        await asyncio.sleep(60)
        minute += 1
        row: dict[str, Any] = {"app_minute": minute, **sizes(window)}
        if prev is not None:
            import tracemalloc

            row["traced_mb"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 2)
            snap = tracemalloc.take_snapshot()
            stats = snap.compare_to(prev, "lineno")
            row["grew"] = [str(st) for st in stats[:8]]
            prev = snap
        print(json.dumps(row), flush=True)


def soak(data_dir: str, url: str, room: str) -> int:
    """B8: the app connected to `url` as a member of `room`, showing it, until a line
    (or EOF) on stdin. Prints {"ready": ...} once the room is shown (the parent samples
    this process's RSS and fds from outside), and at the end what the room's view holds.
    With SOCKDESK_SOAK_TRACEMALLOC=1, also the allocations that grew since "ready"."""
    import ui.main as uimain

    result: dict[str, Any] = {}

    async def measure(self: Any, window: Any, data: Path) -> int:
        ok = await _until(lambda: window._state == "connected", 60)
        ok = ok and await _until(lambda: window.session.is_ready("/chat"), 60)
        if not ok:
            print(json.dumps({"error": f"not connected: {window._state}"}), flush=True)
            return 1
        await window.conversations.join_room(room)
        shown = await _until(lambda: window.chat.kind == "room"
                             and window.chat.target == room, 30)
        received = 0

        def count(_m: Any) -> None:
            nonlocal received
            received += 1

        window.session.event_received.connect(count)
        since = None
        if os.environ.get("SOCKDESK_SOAK_TRACEMALLOC"):  # see bench_soak
            import tracemalloc

            tracemalloc.start(int(os.environ["SOCKDESK_SOAK_TRACEMALLOC"]))
            since = tracemalloc.take_snapshot()
        print(json.dumps({"ready": time.time(), "shown": shown}), flush=True)
        probe = asyncio.ensure_future(_minutes(window, since))
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        probe.cancel()
        model = window.chat.model
        result.update(received=received, state=window._state,
                      chat_rows=model.rowCount() if model is not None else None,
                      packet_rows=window.packets.rowCount()
                      if hasattr(window, "packets") else None,
                      packet_kinds=dict(collections.Counter(r.kind for r in window.packets.rows)))
        if since is not None:
            result["heap_growth"] = heap_growth(since)
        return 0

    uimain.App._screenshot = measure  # type: ignore[method-assign]
    rc = uimain.main(["--screenshot", str(Path(data_dir) / "unused.png"),
                      "--data-dir", data_dir, "--url", url, "--user", "watcher",
                      "--transport", "websocket"])
    print(json.dumps(result), flush=True)
    return rc


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "soak":
        raise SystemExit(soak(sys.argv[2], sys.argv[3], sys.argv[4]))
    if mode == "paint":
        raise SystemExit(paint())
    if mode == "bare":
        raise SystemExit(bare(sys.argv[2]))
    if mode == "startup":
        raise SystemExit(startup(sys.argv[2], sys.argv[3]))
    raise SystemExit(load(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), *sys.argv[5:6]))
