"""The SockDesk benchmark suite (issue 7): every figure is a ratio against a peer measured
in the same run, A and B alternating, medians over repeats.

Run: .venv/bin/python -m tests.perf [--quick] [--only B1,B4]
     .venv/bin/python -m tests.perf --only B8 [--quick | --soak-minutes N]  (the soak, 30 min)
Prints a table and writes JSON to tests/perf/results/. Not a test: nothing here fails on
a slow figure; "met" only compares the median with the issue's target. Figures depend on
the machine (and on whatever else runs on it): clients, servers and peers share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support import REPO, ServerProcess, ensure_node_packages, free_port, run_node

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


@dataclass
class Row:
    """One line of the table: our figure, the peer's, their ratio and the target."""

    id: str
    what: str
    ours: float | None
    peer: float | None
    unit: str
    peer_name: str
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""
    samples: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sizes:
    """--quick shrinks these so the suite takes minutes on a 2-core machine."""

    repeats: int
    b1_messages: int
    b2_seconds: float
    b3_messages: int
    b4_events: int
    b5_seconds: float
    b6_rows: int
    b7_repeats: int
    b8_minutes: int
    b9_clients: int


FULL = Sizes(repeats=3, b1_messages=3000, b2_seconds=20, b3_messages=10_000,
             b4_events=50_000, b5_seconds=10, b6_rows=1_000_000, b7_repeats=5,
             b8_minutes=30, b9_clients=2000)
QUICK = Sizes(repeats=2, b1_messages=1000, b2_seconds=5, b3_messages=2000,
              b4_events=10_000, b5_seconds=4, b6_rows=200_000, b7_repeats=3,
              b8_minutes=3, b9_clients=500)


def median(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and x == x]
    return round(statistics.median(xs), 3) if xs else None


def alternate(a: Callable[[], float], b: Callable[[], float],
              repeats: int) -> tuple[list[float], list[float]]:
    """Run A and B `repeats` times each, AB BA AB ..., so drift in the machine's load
    (other test runs share it) hits both sides alike."""
    xa: list[float] = []
    xb: list[float] = []
    for i in range(repeats):
        if i % 2 == 0:
            xa.append(a())
            xb.append(b())
        else:
            xb.append(b())
            xa.append(a())
        print(f"    run {i + 1}/{repeats}: ours {xa[-1]:.3f}  peer {xb[-1]:.3f}", flush=True)
    return xa, xb


# -- servers -------------------------------------------------------------------------------
@contextlib.contextmanager
def our_server(folder: Path, port: int = 0) -> Iterator[ServerProcess]:
    srv = ServerProcess(folder / f"s{time.monotonic_ns()}.db", port=port).start()
    try:
        yield srv
    finally:
        srv.stop()


@contextlib.contextmanager
def node_server() -> Iterator[str]:
    """The reference Node server (ref_server.js); yields its URL."""
    env = dict(os.environ, NODE_PATH=str(ensure_node_packages()))
    proc = subprocess.Popen(["node", str(HERE / "ref_server.js")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first.startswith("Listening on "):
            raise RuntimeError(f"reference server did not start: {first!r}")
        yield first.split("Listening on ", 1)[1].strip()
    finally:
        proc.kill()
        proc.wait(10)


def node_json(script: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    done = run_node(HERE / script, *args, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- B1 fan-out ----------------------------------------------------------------------------
def b1(sz: Sizes, tmp: Path) -> Row:
    """Delivered msgs/s with the official client as load, on both servers."""
    samples: dict[str, Any] = {"ours": [], "peer": []}

    def load(url: str, key: str) -> float:
        r = node_json("load_fanout.js", url, "20", str(sz.b1_messages), "32")
        samples[key].append(r)
        return r["delivered"] / r["seconds"]

    with our_server(tmp) as srv, node_server() as ref:
        ours, peer = alternate(lambda: load(srv.url, "ours"), lambda: load(ref, "peer"),
                               sz.repeats)
    mo, mp = median(ours), median(peer)
    ratio = round(mo / mp, 3) if mo and mp else None
    return Row("B1", f"fan-out, 20 receivers, {sz.b1_messages:,} msgs", mo, mp,
               "delivered msgs/s", "reference Node socket.io server", ratio, ">= 0.8x",
               ratio is not None and ratio >= 0.8, samples=samples)


# -- B2 latency ----------------------------------------------------------------------------
def b2(sz: Sizes, tmp: Path) -> Row:
    """p99 send->receive with 100 clients in 10 rooms at 5 msgs/s each."""
    samples: dict[str, Any] = {"ours": [], "peer": []}
    secs = str(sz.b2_seconds)

    def load(url: str, key: str) -> float:
        r = node_json("load_latency.js", url, "100", "10", "5", secs)
        samples[key].append(r)
        return r["p99"]

    with our_server(tmp) as srv, node_server() as ref:
        ours, peer = alternate(lambda: load(srv.url, "ours"), lambda: load(ref, "peer"),
                               sz.repeats)
    mo, mp = median(ours), median(peer)
    ratio = round(mo / mp, 3) if mo and mp else None
    return Row("B2", f"chat latency p99, 100 clients/10 rooms, 5 msg/s, {secs} s", mo, mp,
               "ms", "reference Node socket.io server", ratio, "<= 2x",
               ratio is not None and ratio <= 2.0, samples=samples)


# -- B3 outbox flush -----------------------------------------------------------------------
def b3_node(n: int, mode: str, tmp: Path) -> float:
    """Seconds from starting the server until the Node client has all acks."""
    port = free_port()
    env = dict(os.environ, NODE_PATH=str(ensure_node_packages()))
    proc = subprocess.Popen(["node", str(HERE / "outbox_client.js"),
                             f"http://127.0.0.1:{port}", str(n), mode], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "queued" not in line:
            raise RuntimeError(f"outbox_client did not queue: {line!r}")
        t0 = time.time()
        with our_server(tmp, port=port):
            line = proc.stdout.readline()
            if "done_epoch_ms" not in line:
                raise RuntimeError(f"outbox_client failed: {line!r} {proc.stderr.read()}")
            return json.loads(line)["done_epoch_ms"] / 1000 - t0
    finally:
        proc.kill()
        proc.wait(10)


async def _b3_ours(n: int, tmp: Path) -> tuple[float, float]:
    from app.config import ConnectionConfig, ReconnectPolicy
    from app.session import Session

    port = free_port()
    cfg = ConnectionConfig(url=f"http://127.0.0.1:{port}", user="py-outbox",
                           namespaces=["/bench"], transports=["websocket"],
                           reconnect=ReconnectPolicy(delay=0.1, delay_max=0.1, jitter=0.0))
    data = tmp / f"b3-{time.monotonic_ns()}"
    session = Session(cfg, data)
    try:
        await session.connect()  # refused: keeps retrying in the background
        t = time.perf_counter()
        for i in range(n):
            session.emit("/bench", "note", {"i": i, "text": f"queued {i}"})
        enqueue = time.perf_counter() - t
        t0 = time.time()
        srv = await asyncio.to_thread(
            lambda: ServerProcess(tmp / f"b3-{time.monotonic_ns()}.db", port=port).start())
        try:
            if not await session.wait_flushed(timeout=600):
                raise RuntimeError("outbox did not drain")
            return time.time() - t0, enqueue
        finally:
            await asyncio.to_thread(srv.stop)
    finally:
        await session.close()
        shutil.rmtree(data, ignore_errors=True)


def b3(sz: Sizes, tmp: Path) -> list[Row]:
    """Outbox flush vs the Node client's retries mode and its plain buffer."""
    n = sz.b3_messages
    ours: list[float] = []
    enqueue: list[float] = []
    retries: list[float] = []
    plain: list[float] = []

    def run_ours() -> float:
        flush, enq = asyncio.run(_b3_ours(n, tmp))
        enqueue.append(enq)
        return flush

    for i in range(sz.repeats):
        order = [("ours", run_ours), ("retries", lambda: b3_node(n, "retries", tmp)),
                 ("plain", lambda: b3_node(n, "plain", tmp))]
        if i % 2:
            order.reverse()
        got = {name: fn() for name, fn in order}
        ours.append(got["ours"])
        retries.append(got["retries"])
        plain.append(got["plain"])
        print(f"    run {i + 1}: ours {got['ours']:.3f}  retries {got['retries']:.3f}  "
              f"plain {got['plain']:.3f}", flush=True)
    mo, mr, mpl = median(ours), median(retries), median(plain)
    r1 = round(mo / mr, 3) if mo and mr else None
    r2 = round(mo / mpl, 3) if mo and mpl else None
    note = f"enqueue of {n:,} while offline took {median(enqueue)} s (not in the figure)"
    return [
        Row("B3", f"outbox flush, {n:,} queued offline", mo, mr, "s to all acked",
            "socket.io-client retries:3 + ackTimeout", r1, "<= 1.0x",
            r1 is not None and r1 <= 1.0, note, {"ours": ours, "peer": retries,
                                                "enqueue": enqueue}),
        Row("B3b", f"outbox flush, {n:,} queued offline", mo, mpl, "s to all acked",
            "socket.io-client plain send buffer", r2, "(info)", None,
            "the plain buffer is lost on a crash; ours survives one",
            {"ours": ours, "peer": plain}),
    ]


# -- B4 ingest -----------------------------------------------------------------------------
@contextlib.contextmanager
def node_script_server(script: str) -> Iterator[str]:
    """A Node server script of ours that prints "Listening on URL" first; yields the URL."""
    env = dict(os.environ, NODE_PATH=str(ensure_node_packages()))
    proc = subprocess.Popen(["node", str(HERE / script)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first.startswith("Listening on "):
            raise RuntimeError(f"{script} did not start: {first!r}")
        yield first.split("Listening on ", 1)[1].strip()
    finally:
        proc.kill()
        proc.wait(10)


async def _b4_receive(url: str, n: int, core: bool, tmp: Path, relay: bool = False) -> float:
    """Events/s from the first event received to the last one (for the core: from the
    first one logged as it arrives to the last one stored, i.e. announced by
    `event_received` after its commit).

    Fed by burst_server.js (the client emits `go` and the server pushes N events as fast
    as it can), or with `relay`, by sender.js through our server's sandbox relay."""
    import socketio

    from app.config import ConnectionConfig
    from app.session import Session

    loop = asyncio.get_running_loop()
    done = loop.create_future()
    count = 0
    first = 0.0

    def got(*_a: Any) -> None:
        nonlocal count, first
        if count == 0 and first == 0.0:
            first = time.perf_counter()
        count += 1
        if count >= n and not done.done():
            done.set_result(time.perf_counter())

    ns = "/ingest"
    session: Session | None = None
    client: socketio.AsyncClient | None = None
    data = tmp / f"b4-{time.monotonic_ns()}"
    proc = None
    if core:
        session = Session(ConnectionConfig(url=url, user="ingest", namespaces=[ns],
                                           transports=["websocket"]), data)
        session.event_received.connect(got)

        def arrived(pkt: Any) -> None:
            nonlocal first
            if first == 0.0 and pkt.direction == "in" and pkt.event == "tick":
                first = time.perf_counter()

        session.packet_log.packet_logged.connect(arrived)
        assert await session.connect()
        assert await session.wait_ready(ns, 10)
    else:
        client = socketio.AsyncClient(reconnection=False)
        client.on("tick", got, namespace=ns)
        await client.connect(url, namespaces=[ns], auth={"user": "bare"},
                             transports=["websocket"], wait_timeout=30)
    try:
        if relay:
            env = dict(os.environ, NODE_PATH=str(ensure_node_packages()))
            proc = await asyncio.create_subprocess_exec(
                "node", str(HERE / "sender.js"), url, ns, str(n), "0", "64", env=env,
                stdout=asyncio.subprocess.DEVNULL)
        elif session is not None:
            session.emit(ns, "go", {"n": n})
        else:
            assert client is not None
            await client.emit("go", {"n": n}, namespace=ns)
        last = await asyncio.wait_for(done, 600)
        if proc is not None:
            await proc.wait()
        if session is not None:  # nothing lost: every event is in the store
            from app.keys import event_key

            stored = session.store.count(event_key(ns, "tick"))
            if stored < n:
                raise RuntimeError(f"only {stored} of {n} events stored")
        return n / (last - first)
    finally:
        if session is not None:
            await session.close()
        if client is not None:
            await client.disconnect()
        shutil.rmtree(data, ignore_errors=True)


def _b4_node(url: str, n: int) -> float:
    r = node_json("burst_client.js", url, "/ingest", str(n))
    if r["events"] != n:
        raise RuntimeError(f"burst_client got {r['events']} of {n}")
    return float(n / r["seconds"])


def b4(sz: Sizes, tmp: Path) -> list[Row]:
    """Ours (Session: stored + packet log) vs the bare python-socketio AsyncClient vs the
    official Node client, all fed by burst_server.js; rotated order, medians. Then the
    old end-to-end row: events relayed by our server's sandbox from sender.js."""
    n = sz.b4_events
    sides: dict[str, list[float]] = {"ours": [], "bare": [], "node": []}
    with node_script_server("burst_server.js") as url:
        runs = {"ours": lambda: asyncio.run(_b4_receive(url, n, True, tmp)),
                "bare": lambda: asyncio.run(_b4_receive(url, n, False, tmp)),
                "node": lambda: _b4_node(url, n)}
        order = list(runs)
        for i in range(sz.repeats):
            for name in order[i % 3:] + order[:i % 3]:
                sides[name].append(runs[name]())
            print(f"    run {i + 1}/{sz.repeats}: ours {sides['ours'][-1]:,.0f}  bare "
                  f"{sides['bare'][-1]:,.0f}  node {sides['node'][-1]:,.0f} events/s",
                  flush=True)
    mo, mb, mn = median(sides["ours"]), median(sides["bare"]), median(sides["node"])
    ratio = round(mo / mb, 3) if mo and mb else None
    node_ratio = round(mo / mn, 3) if mo and mn else None
    rows = [
        Row("B4", f"client ingest, {n:,}-event burst (stored + packet log)", mo, mb,
            "events/s", "bare python-socketio AsyncClient, counting handler", ratio,
            ">= 1.2x", ratio is not None and ratio >= 1.2,
            f"fed by the official Node server (burst_server.js); official Node "
            f"socket.io-client {fmt(mn)} events/s (ours/node {node_ratio}x, bare/node "
            f"{round(mb / mn, 3) if mb and mn else None}x)", dict(sides)),
        Row("B4b", f"client ingest, {n:,}-event burst", mo, mn, "events/s",
            "official Node socket.io-client", node_ratio, "(info)", None,
            samples={"ours": sides["ours"], "peer": sides["node"]}),
    ]
    relay_n = max(n // 5, 2000)
    with our_server(tmp) as srv:
        ours, peer = alternate(
            lambda: asyncio.run(_b4_receive(srv.url, relay_n, True, tmp, relay=True)),
            lambda: asyncio.run(_b4_receive(srv.url, relay_n, False, tmp, relay=True)),
            sz.repeats)
    mo, mp = median(ours), median(peer)
    r = round(mo / mp, 3) if mo and mp else None
    rows.append(Row("B4e", f"end to end: {relay_n:,} events relayed by our server", mo, mp,
                    "events/s", "bare python-socketio AsyncClient, same relay", r, "(info)",
                    None, "sender.js -> bundled server's sandbox relay -> client: both "
                    "sides top out at the relay", {"ours": ours, "peer": peer}))
    return rows


# -- B5 GUI under load ---------------------------------------------------------------------
#: issue 18's B5: stall p99 <= 16 ms at 5,000 events/s; at 20,000 events/s every event
#: stored, the view within 1 s of the last event sent, stall p99 <= 50 ms
B5_RATES = ((5000, 16.0), (20_000, 50.0))
#: "keeps up": the last event sent is the view's last row within this (s)
B5_KEEP_UP_S = 1.0


#: who emits B5's ticks: "node" (rate_server.js, the official server, so B5 measures the
#: app: our embedded server's relay tops out far below these rates, see B4e) or "relay"
B5_SOURCE = os.environ.get("SOCKDESK_B5_SOURCE", "node")


def b5_run(tmp: Path, seconds: float, rate: int) -> dict[str, Any]:
    """One fresh app (`gui_child load`): its JSON line."""
    done = subprocess.run([sys.executable, "-m", "tests.perf.gui_child", "load", str(tmp),
                           str(seconds), str(rate), B5_SOURCE], cwd=REPO, capture_output=True,
                          text=True, timeout=600,
                          env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"gui_child load failed: {done.stderr[-2000:]}")
    return dict(json.loads(lines[-1]))


def b5(sz: Sizes, tmp: Path) -> list[Row]:
    """The real app, fresh each repeat, at both of issue 18's rates (alternating); per
    rate the median of the runs' stall p99s, the fewest events stored and the slowest
    view to show the last event."""
    runs: dict[int, list[dict[str, Any]]] = {rate: [] for rate, _ in B5_RATES}
    for i in range(sz.repeats):
        for rate, _ in B5_RATES:
            r = b5_run(tmp / f"b5-{rate}-{i}", sz.b5_seconds, rate)
            runs[rate].append(r)
            print(f"    {rate:,} ev/s run {i + 1}/{sz.repeats}: stall p99 "
                  f"{r.get('stall_p99_ms')} ms (events tab {r.get('stall_p99_events_tab_ms')}"
                  f", queues tab {r.get('stall_p99_inspector_tab_ms')}), stored "
                  f"{r.get('stored')} of {r.get('sent')}, last event shown after "
                  f"{r.get('lag_events_view_s')} s (events) / {r.get('lag_queues_view_s')} s "
                  "(queues)", flush=True)
    rows = []
    for rate, target in B5_RATES:
        rs = runs[rate]

        def mid(key: str, rs: list[dict[str, Any]] = rs) -> float | None:
            return median([r[key] for r in rs if r.get(key) is not None])

        p99 = mid("stall_p99_ms")
        all_stored = all(r.get("stored") == r.get("sent") for r in rs)
        lags = [r.get(k) for r in rs for k in ("lag_events_view_s", "lag_queues_view_s")]
        worst_lag = None if None in lags else max(lags)  # None: a view never showed it
        kept_up = worst_lag is not None and worst_lag <= B5_KEEP_UP_S
        met = p99 is not None and p99 <= target
        if rate > B5_RATES[0][0]:
            met = met and all_stored and kept_up
        note = (f"median of {len(rs)} runs: events tab p99 "
                f"{mid('stall_p99_events_tab_ms')} ms, Queues tab p99 "
                f"{mid('stall_p99_inspector_tab_ms')} ms, max {mid('stall_max_ms')} ms; "
                f"stored {min(r.get('stored') or 0 for r in rs):,} of {rs[0].get('sent'):,} "
                f"(fewest); last event on the views after {worst_lag} s (slowest); ticks "
                f"from {B5_SOURCE}")
        target_text = f"p99 <= {target:g} ms" + (
            "" if rate == B5_RATES[0][0] else f", all stored, <= {B5_KEEP_UP_S:g} s")
        rows.append(Row("B5" if rate == B5_RATES[0][0] else "B5h",
                        f"GUI stall, {rate:,} events/s for {sz.b5_seconds:g} s (5 ms beat)",
                        p99, None, "ms stall p99", "-", None, target_text, met, note,
                        {"runs": rs}))
    paints = [b5_paint() for _ in range(sz.repeats)]
    for key, what in (("events_table_ms", "Events table"), ("queues_table_ms", "Queues table")):
        rows.append(Row("B5p", f"one repaint of the full {what} (1280 px, themed)",
                        median([p[key] for p in paints]), None, "ms (median)", "-", None,
                        "(info)", None, "what a flood repaints up to 10 times a second; "
                        "<= 16 ms fits in a frame", {"runs": paints}))
    return rows


def b5_paint() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "tests.perf.gui_child", "paint"], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"gui_child paint failed: {done.stderr[-2000:]}")
    return dict(json.loads(lines[-1]))


# -- B6 inspector at scale -----------------------------------------------------------------
def b6(sz: Sizes, tmp: Path) -> list[Row]:
    """The inspector's message table (the real Qt view, offscreen) on a big store; the
    peer is the bare sqlite3 query doing the same work, the store API is kept in the note."""
    data = tmp / "b6"
    data.mkdir()
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tests.perf.store_child", "build", str(data),
                    str(sz.b6_rows)], cwd=REPO, check=True, timeout=3600)
    print(f"    built {sz.b6_rows:,} rows in {time.perf_counter() - t:.1f} s", flush=True)
    runs, views = [], []
    for _ in range(sz.repeats):
        done = subprocess.run([sys.executable, "-m", "tests.perf.store_child", "measure",
                               str(data)], cwd=REPO, check=True, capture_output=True,
                              text=True, timeout=600)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        done = subprocess.run([sys.executable, "-m", "tests.perf.store_child", "view",
                               str(data)], cwd=REPO, capture_output=True, text=True,
                              timeout=600, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        if done.returncode or not lines:
            raise RuntimeError(f"store_child view failed: {done.stderr[-2000:]}")
        views.append(json.loads(lines[-1]))
    m = {k: median([r[k] for r in runs]) for k in runs[0]}
    v = {k: median([r[k] for r in views]) for k in views[0]
         if isinstance(views[0][k], (int, float))}
    api = (f"store API {m['first_page_ms']:g} / {m['fts_ms']:g} / {m['end_ms']:g} ms, "
           f"RSS {m['rss_mb']:g} MB")
    note = (f"{sz.b6_rows:,} rows; QueuesTab offscreen, action to painted table "
            f"(grab); {api}")

    def row(rid: str, what: str, key: str, peer_key: str, limit: float) -> Row:
        ours, peer = v[key], m.get(peer_key)
        ratio = round(ours / peer, 2) if ours and peer else None
        return Row(rid, what, ours, peer, "ms", "bare sqlite3 query", ratio,
                   f"<= {limit:g} ms", ours is not None and ours <= limit,
                   f"{note}; {v[key.replace('_ms', '_queries')]:g} SQL page(s)")

    rows = [row("B6a", "inspector first paint (click queue, count + 500)", "first_paint_ms",
                "bare_first_page_ms", 300),
            row("B6b", "inspector FTS search (first 500 matches, painted)", "fts_ms",
                "bare_fts_page_ms", 300),
            row("B6c", "inspector jump to end (last 500, painted)", "end_ms",
                "bare_end_ms", 100)]
    rss = v["rss_mb"]
    rows.append(Row("B6d", "RSS of the inspector view after the above", rss, None, "MB", "-",
                    None, "<= 300 MB", rss is not None and rss <= 300,
                    f"{note}; Qt + QueuesTab + store in one process",
                    {"view_runs": views, "store_api_runs": runs}))
    return rows


# -- B7 start-up ---------------------------------------------------------------------------
def _gui_marks(mode: str, tmp: Path) -> tuple[float, dict[str, float]]:
    out = tmp / f"{mode}-{time.monotonic_ns()}.png"
    args = [str(out)] + ([str(tmp / f"b7-{time.monotonic_ns()}")] if mode == "startup" else [])
    t0 = time.time()
    done = subprocess.run([sys.executable, "-m", "tests.perf.gui_child", mode, *args],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"gui_child {mode} failed: {done.stderr[-2000:]}")
    return t0, json.loads(lines[-1])


def b7(sz: Sizes, tmp: Path) -> list[Row]:
    connected: list[float] = []

    def ours() -> float:
        t0, marks = _gui_marks("startup", tmp)
        connected.append(marks["connected"] - t0)
        return marks["painted"] - t0

    def bare() -> float:
        t0, marks = _gui_marks("bare", tmp)
        return marks["painted"] - t0

    # one untimed start each first: the OS file cache and bytecode caches are warm for
    # both, as for any start but the very first after installing
    ours()
    bare()
    connected.clear()
    mine, peer = alternate(ours, bare, sz.b7_repeats)
    mo, mp, mc = median(mine), median(peer), median(connected)
    ratio = round(mo / mp, 3) if mo and mp else None
    return [Row("B7", "start-up to first painted window", mo, mp, "s",
                "bare PySide6 QMainWindow (show+grab+save)", ratio, "<= 2.5x",
                ratio is not None and ratio <= 2.5, samples={"ours": mine, "peer": peer}),
            Row("B7b", "start-up to connected to the embedded server", mc, None, "s", "-",
                None, "<= 1.5 s", mc is not None and mc <= 1.5,
                samples={"connected": connected})]


# -- B8 soak -------------------------------------------------------------------------------
def b8(sz: Sizes, tmp: Path) -> list[Row]:
    """Server and app for `b8_minutes` under 100 chatting clients; see bench_soak."""
    from tests.perf import bench_soak

    got = bench_soak.soak(tmp, sz.b8_minutes)
    out = bench_soak.write(got, bench_soak.now_stamp())
    s = got["summary"]
    how = (f"last {s['window_minutes']} of {s['minutes']} min: max of the last "
           f"{s['tail_minutes']} minute(s) vs minute {s['window_first_minute']}; {out.name}")
    what = (f"soak {sz.b8_minutes} min, 100 clients/10 rooms, {got['rate']:g} msg/s, "
            "app in room0")

    def grow(rid: str, key: str, label: str) -> Row:
        g = s[f"{key}_growth_pct"]
        return Row(rid, f"{label} RSS growth, {what}", g, None, "%", "-", None, "< 10 %",
                   g is not None and g < 10, how)

    drift = s["p99_drift"]
    return [grow("B8a", "server_rss_mb", "server"), grow("B8b", "app_rss_mb", "app"),
            Row("B8c", "open fds change (server / app) over the window",
                s["server_fds_change"], s["app_fds_change"], "fds", "app", None, "0 / 0",
                s["server_fds_change"] == 0 and s["app_fds_change"] == 0, how),
            Row("B8d", "p99 latency drift (end / start of the window)", drift, None,
                "ratio", "-", None, "no drift (<= 1.2x)",
                drift is not None and drift <= 1.2, how, {"soak": got})]


# -- B9 idle connections ------------------------------------------------------------------
def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def settled_rss_kb(pid: int, timeout: float = 30.0) -> int:
    """RSS once it stops moving (two reads 0.5 s apart within 1%), or after `timeout`."""
    deadline = time.monotonic() + timeout
    before = rss_kb(pid)
    while True:
        time.sleep(0.5)  # sampling interval of a measurement, not a wait for a result
        now = rss_kb(pid)
        if abs(now - before) <= before * 0.01 or time.monotonic() > deadline:
            return now
        before = now


def _b9_load(url: str, pid: int, n: int) -> float:
    """KB of server RSS per connection: (RSS with n idle clients - RSS before) / n."""
    env = dict(os.environ, NODE_PATH=str(ensure_node_packages()))
    before = settled_rss_kb(pid)
    proc = subprocess.Popen(["node", str(HERE / "idle_clients.js"), url, "/chat", str(n),
                             "100"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("{"):
            raise RuntimeError(f"idle_clients failed: {line!r}")
        got = json.loads(line)
        if got["connected"] != n:
            raise RuntimeError(f"only {got['connected']} of {n} connected")
        after = settled_rss_kb(pid)
        return (after - before) / n
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def b9(sz: Sizes, tmp: Path) -> Row:
    """Server RSS per idle connection, ours vs the reference Node server; a fresh server
    for every run (the first 2,000 connections grow pools a second round would reuse)."""
    import resource

    n = sz.b9_clients
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n * 2 + 1000
    if soft < want:  # inherited by both servers and the Node clients
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    def ours() -> float:
        with our_server(tmp) as srv:
            assert srv.proc is not None
            return _b9_load(srv.url, srv.proc.pid, n)

    def peer() -> float:
        env = dict(os.environ, NODE_PATH=str(ensure_node_packages()))
        proc = subprocess.Popen(["node", str(HERE / "ref_server.js")], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            if not first.startswith("Listening on "):
                raise RuntimeError(f"reference server did not start: {first!r}")
            return _b9_load(first.split("Listening on ", 1)[1].strip(), proc.pid, n)
        finally:
            proc.kill()
            proc.wait(10)

    mine, theirs = alternate(ours, peer, sz.repeats)
    mo, mp = median(mine), median(theirs)
    ratio = round(mo / mp, 3) if mo and mp else None
    return Row("B9", f"server RSS per idle connection, {n:,} clients on /chat", mo, mp,
               "KB/connection", "reference Node socket.io server", ratio, "<= 2x",
               ratio is not None and ratio <= 2.0,
               "(RSS with the clients - RSS before) / clients; official Node clients, "
               "websocket, one process", {"ours": mine, "peer": theirs})


BENCHES: dict[str, Callable[[Sizes, Path], Row | list[Row]]] = {
    "B1": b1, "B2": b2, "B3": b3, "B4": b4, "B5": b5, "B6": b6, "B7": b7, "B8": b8,
    "B9": b9}


# -- report --------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "node": node, "platform": platform.platform(),
            "loadavg_at_start": os.getloadavg()}


def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def print_table(rows: list[Row]) -> None:
    header = (f"{'#':<4} {'what':<52} {'ours':>9} {'peer':>9} {'unit':<16} {'ratio':>7} "
              f"{'target':<13} met")
    print(header)
    print("-" * len(header))
    for r in rows:
        met = {True: "yes", False: "NO", None: "-"}[r.met]
        print(f"{r.id:<4} {r.what[:52]:<52} {fmt(r.ours):>9} {fmt(r.peer):>9} "
              f"{r.unit[:16]:<16} {fmt(r.ratio):>7} {r.target:<13} {met}")
        if r.note:
            print(f"     {r.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats and smaller sizes (a few minutes)")
    parser.add_argument("--only", default="", help="comma-separated ids, e.g. B1,B4")
    parser.add_argument("--soak-minutes", type=int, default=0,
                        help="B8's duration (default 30, 3 with --quick)")
    args = parser.parse_args(argv)
    sz = QUICK if args.quick else FULL
    if args.soak_minutes:
        sz = replace(sz, b8_minutes=args.soak_minutes)
    # Some sandboxes set this; then every Python child recompiles our modules from source
    # on each start (about 0.2 s for the app), which no installed copy does. Both sides of
    # every comparison run with bytecode caching on, as on a user's machine.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    # B8 (the soak) takes half an hour: only when asked for by name
    wanted = [b.strip().upper() for b in args.only.split(",") if b.strip()] or \
        [b for b in BENCHES if b != "B8"]
    ensure_node_packages()
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sockdesk-perf-") as tmp:
        for bid in wanted:
            print(f"== {bid}", flush=True)
            t = time.perf_counter()
            try:
                got = BENCHES[bid](sz, Path(tmp))
                rows.extend(got if isinstance(got, list) else [got])
            except Exception as exc:  # one broken bench must not hide the others' figures
                traceback.print_exc()
                rows.append(Row(bid, "FAILED", None, None, "", "", None, "", None,
                                f"{type(exc).__name__}: {str(exc)[:300]}"))
            print(f"   ({time.perf_counter() - t:.0f} s)", flush=True)
    print()
    print_table(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"suite-{stamp}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps({
        "when": stamp, "quick": args.quick, "sizes": asdict(sz), "machine": machine(),
        "seconds": round(time.perf_counter() - started, 1),
        "rows": [asdict(r) for r in rows]}, indent=2, default=str) + "\n")
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
