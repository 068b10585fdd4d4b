"""B5/B7 helper: runs the real desktop app (`ui.main.main`) with its --screenshot step
replaced by a measurement, so we time the app exactly as users start it.

usage: python -m tests.perf.gui_child startup OUT.png DATA_DIR
       python -m tests.perf.gui_child load DATA_DIR SECONDS RATE
       python -m tests.perf.gui_child bare OUT.png      (the bare PySide6 peer)
       python -m tests.perf.gui_child soak DATA_DIR URL ROOM   (B8; until a line on stdin)
Prints one JSON line (epoch seconds for the start-up marks; ms for the stall figures).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
import statistics
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


def load(data_dir: str, seconds: float, rate: int) -> int:
    import ui.main as uimain
    from tests.support import REPO, ensure_node_packages

    result: dict[str, Any] = {}

    async def measure(self: Any, window: Any, data: Path) -> int:
        from PySide6.QtCore import Qt, QTimer

        await _until(lambda: window._state == "connected", 30)
        await _until(lambda: window.session.is_ready("/"), 10)
        result["url"] = window.session.current_url
        received = 0

        def count(_m: Any) -> None:
            nonlocal received
            received += 1

        window.session.event_received.connect(count)
        beats: list[float] = []
        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(5)
        timer.timeout.connect(lambda: beats.append(time.perf_counter()))
        tabs = window.tabs
        events_tab = tabs.indexOf(window.events)
        inspector_tab = tabs.indexOf(window.queues)
        tabs.setCurrentIndex(events_tab)
        env = dict(os.environ, NODE_PATH=str(ensure_node_packages()))
        n = int(seconds * rate)
        proc = await asyncio.create_subprocess_exec(
            "node", str(REPO / "tests/perf/sender.js"), result["url"], "/", str(n), str(rate),
            "256", env=env, stdout=asyncio.subprocess.PIPE)
        timer.start()
        start = time.perf_counter()
        switch = start + seconds / 2
        switched = False
        while time.perf_counter() - start < seconds + 1:
            if not switched and time.perf_counter() >= switch:
                tabs.setCurrentIndex(inspector_tab)
                switched = True
            await asyncio.sleep(0.05)
        timer.stop()
        await proc.communicate()
        gaps = [(b - a) * 1000 - 5 for a, b in itertools.pairwise(beats)]
        mid = [i for i, b in enumerate(beats[1:]) if b >= switch]
        cut = mid[0] if mid else len(gaps)

        def p99(xs: list[float]) -> float | None:
            return round(sorted(xs)[int(0.99 * (len(xs) - 1))], 1) if xs else None

        result.update(received=received, sent=n, beats=len(beats), stall_p99_ms=p99(gaps),
                      stall_p99_events_tab_ms=p99(gaps[:cut]),
                      stall_p99_inspector_tab_ms=p99(gaps[cut:]),
                      stall_max_ms=round(max(gaps), 1) if gaps else None,
                      stall_median_ms=round(statistics.median(gaps), 2) if gaps else None,
                      inspector_tab=inspector_tab >= 0)
        return 0

    uimain.App._screenshot = measure  # type: ignore[method-assign]
    rc = uimain.main(["--screenshot", str(Path(data_dir) / "unused.png"),
                      "--data-dir", data_dir])
    print(json.dumps(result), flush=True)
    return rc


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
    if mode == "bare":
        raise SystemExit(bare(sys.argv[2]))
    if mode == "startup":
        raise SystemExit(startup(sys.argv[2], sys.argv[3]))
    raise SystemExit(load(sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
