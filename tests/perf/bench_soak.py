"""B8, the soak (issues 17 and 18): `python -m tests.perf --only B8 [--soak-minutes N]`.

The bundled server, a crowd of python-socketio clients chatting (tests/perf/soak_clients,
default 100 clients in 10 rooms, 200 messages/s in all) and one real desktop app
(tests/perf/gui_child soak, offscreen) connected as a member of room0 and showing it.
Every minute: RSS and open fds (/proc/PID) of the server and of the app, and from the
crowd the minute's sent/acked/errors and p50/p99 delivery latency (sender to the other
members of its room). Not a test: the figures depend on the machine and its load.

SOCKDESK_SOAK_TRACEMALLOC=N runs both under tracemalloc and records what grew.

Growth over the last W minutes (W = 20 for a 30-minute run; two thirds of a shorter
one): (max RSS over the last T samples - RSS at the window's first minute) / RSS at the
window's first minute, T = 5 (fewer for short runs). Latency drift: median of the
per-minute p99s over those last T minutes / median over the window's first T minutes.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support import REPO, ServerProcess

RESULTS = Path(__file__).resolve().parent / "results"
CLIENTS = 100
ROOMS = 10
RATE = 200.0  # messages/s, all clients together
#: =R: another total rate, to reach the app's caps sooner when looking for what grows
RATE_ENV = "SOCKDESK_SOAK_RATE"
APP_ROOM = "room0"
#: =N: run the server and the app under tracemalloc (N frames) to find what grows; the
#: JSON then holds the top growing lines of each. Not for the figures: tracing is slow.
TRACE_ENV = "SOCKDESK_SOAK_TRACEMALLOC"


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


class Child:
    """A child process whose stdout lines are collected on a thread."""

    def __init__(self, args: list[str], name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, QT_QPA_PLATFORM="offscreen",
                                              PYTHONUNBUFFERED="1"))
        self.lines: list[str] = []
        self.stderr: list[str] = []
        self._cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cv:
                self.lines.append(line.strip())
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr = [*self.stderr[-200:], line]

    def wait_line(self, pred: Any, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for line in self.lines:
                    if pred(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name}: no expected line; stderr: "
                                       f"{''.join(self.stderr)[-2000:]}")
                self._cv.wait(min(left, 1.0))

    def json_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.lines):
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def growth(series: list[float | None], first: int, tail: int) -> float | None:
    """Percent: max of the last `tail` values vs the value at index `first`."""
    base = series[first]
    last = [x for x in series[-tail:] if x is not None]
    if base is None or not last or base <= 0:
        return None
    return round((max(last) - base) / base * 100, 1)


def summarize(table: list[dict[str, Any]]) -> dict[str, Any]:
    """Growth and drift over the window; `table` has one row per minute, 1..M."""
    m = len(table)
    window = min(20, m - m // 3)
    tail = max(1, min(5, window // 4))
    first = m - window  # index of the window's first minute (minute m - window + 1)
    out: dict[str, Any] = {"minutes": m, "window_minutes": window, "tail_minutes": tail,
                           "window_first_minute": table[first]["minute"]}
    for key in ("server_rss_mb", "app_rss_mb"):
        out[f"{key}_growth_pct"] = growth([r[key] for r in table], first, tail)
    for key in ("server_fds", "app_fds"):
        vals = [r[key] for r in table if r[key] is not None]
        out[f"{key}_change"] = (max(vals[-tail:]) - table[first][key]
                                if vals and table[first][key] is not None else None)
    p99s = [r.get("p99_ms") for r in table]
    head = [x for x in p99s[first:first + tail] if x is not None]
    end = [x for x in p99s[-tail:] if x is not None]
    out["p99_drift"] = (round(statistics.median(end) / statistics.median(head), 2)
                        if head and end else None)
    return out


def print_minutes(table: list[dict[str, Any]]) -> None:
    print(f"{'min':>4} {'srv MB':>8} {'app MB':>8} {'srv fd':>7} {'app fd':>7} "
          f"{'sent':>7} {'acked':>7} {'err':>5} {'p50 ms':>8} {'p99 ms':>8} {'late s':>7}")
    for r in table:
        def f(k: str, r: dict[str, Any] = r) -> str:
            v = r.get(k)
            return "-" if v is None else f"{v:g}"
        print(f"{r['minute']:>4} {f('server_rss_mb'):>8} {f('app_rss_mb'):>8} "
              f"{f('server_fds'):>7} {f('app_fds'):>7} {f('sent'):>7} {f('acked'):>7} "
              f"{f('errors'):>5} {f('p50_ms'):>8} {f('p99_ms'):>8} "
              f"{f('max_send_late_s'):>7}", flush=True)


def soak(tmp: Path, minutes: int) -> dict[str, Any]:
    seconds = minutes * 60
    rate = float(os.environ.get(RATE_ENV) or RATE)
    srv = ServerProcess(tmp / "soak.db")
    traced = os.environ.get(TRACE_ENV)
    heap = tmp / "server-heap.txt"
    if traced:
        srv.module = ["tests.perf.traced_server", str(heap), traced]
    srv.start()
    assert srv.proc is not None
    app: Child | None = None
    crowd: Child | None = None
    try:
        app = Child(["tests.perf.gui_child", "soak", str(tmp / "app"), srv.url, APP_ROOM],
                    "app")
        ready = json.loads(app.wait_line(lambda s: s.startswith('{"ready"'), 120))
        crowd = Child(["tests.perf.soak_clients", "--url", srv.url, "--clients",
                       str(CLIENTS), "--rooms", str(ROOMS), "--rate", str(rate / CLIENTS),
                       "--seconds", str(seconds)], "crowd")
        crowd.wait_line(lambda s: s == "ready", 300)
        start = time.time() + 1.0
        assert crowd.proc.stdin is not None
        crowd.proc.stdin.write(f"{start!r}\n")
        crowd.proc.stdin.flush()
        pids = {"server": srv.proc.pid, "app": app.proc.pid}
        before = {f"{k}_rss_mb": rss_mb(p) for k, p in pids.items()}
        samples: list[dict[str, Any]] = []
        if traced:  # the server's heap baseline, once the load runs
            time.sleep(max(0.0, start + 30 - time.time()))
            srv.proc.send_signal(signal.SIGUSR1)
        for k in range(1, minutes + 1):
            time.sleep(max(0.0, start + 60 * k - time.time()))  # the sampling clock
            row: dict[str, Any] = {"minute": k, "t": round(time.time() - start, 1)}
            for name, pid in pids.items():
                row[f"{name}_rss_mb"] = rss_mb(pid)
                row[f"{name}_fds"] = fds(pid)
            row["loadavg1"] = round(os.getloadavg()[0], 2)
            samples.append(row)
        crowd.proc.wait(300)
        per_minute = {r["minute"]: r for r in crowd.json_lines() if "minute" in r}
        table = [{**s, **{k: v for k, v in per_minute.get(s["minute"], {}).items()
                          if k != "minute"}} for s in samples]
        print_minutes(table)
        got: dict[str, Any] = {}
        if traced:
            srv.proc.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 60
            while not heap.exists() and time.monotonic() < deadline:
                time.sleep(0.5)  # polling for the file the server writes
            got["server_heap_growth"] = heap.read_text().splitlines() if heap.exists() else []
        assert app.proc.stdin is not None
        app.proc.stdin.write("stop\n")
        app.proc.stdin.flush()
        app.proc.wait(120)
        finals = [x for x in app.json_lines() if "ready" not in x and "app_minute" not in x]
        got["app_minutes"] = [x for x in app.json_lines() if "app_minute" in x]
        return {"table": table, "summary": summarize(table), "rss_before_load": before,
                "app_ready": ready, "app_final": finals[-1] if finals else {}, **got,
                "clients": CLIENTS, "rooms": ROOMS, "rate": rate, "minutes": minutes}
    finally:
        for child in (crowd, app):
            if child is not None:
                child.stop()
        srv.stop()


def write(result: dict[str, Any], stamp: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"soak-{stamp}-{result['minutes']}min.json"
    out.write_text(json.dumps({"when": stamp, "loadavg_at_end": os.getloadavg(),
                               **result}, indent=2) + "\n")
    return out


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
