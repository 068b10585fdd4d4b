"""The GUI stays responsive: the window shows while the bundled server starts, the store
commits a backlog a chunk per loop turn, and the hidden Learn tab draws nothing until shown."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import Runner, connect, until

pytestmark = pytest.mark.timeout(120)


# -- start-up: the window does not wait for the bundled server ------------------------------

@pytest.fixture
def slow_start(monkeypatch: pytest.MonkeyPatch) -> dict[str, asyncio.Future[str]]:
    """Workspaces.server_url waits for the test to say where the server listens (or to
    raise why it did not start)."""
    from ui.main import App
    from ui.workspaces import Workspaces

    pending: dict[str, asyncio.Future[str]] = {}

    async def server_url(_self: Any, _ws: Any) -> str:
        pending["url"] = asyncio.get_running_loop().create_future()
        return await pending["url"]

    monkeypatch.setattr(Workspaces, "server_url", server_url)
    monkeypatch.setattr(App, "_install_signal_handlers", lambda _self: None)  # pytest's own
    return pending


def make_app(tmp_path: Path) -> Any:
    from ui.main import App, parse_args

    return App(parse_args(["--user", "alice", "--data-dir", str(tmp_path / "data")]))


def test_the_window_is_shown_before_the_server_listens_then_connects(
        run: Runner, server: Any, tmp_path: Path, slow_start: dict[str, Any]) -> None:
    app = make_app(tmp_path)

    async def scenario() -> int:
        main = asyncio.ensure_future(app.run())
        await until(lambda: bool(app.windows) and app.windows[0].isVisible()
                    and "url" in slow_start)
        w = app.windows[0]
        assert not slow_start["url"].done()                  # not listening yet
        assert w._state == "starting" and w.session is None
        assert w.bar.light.label.text() == "Starting server…"
        assert "starting the server on this computer" in w.summary_label.text()
        assert not w.bar.connect_action.isEnabled()          # no address to connect to yet
        slow_start["url"].set_result(server.url)
        await until(lambda: w._state == "connected", 20)
        assert w.options["url"] == server.url and w.bar.url.currentText() == server.url
        assert w.error_label.text() == ""
        app._quit()
        return await main

    assert run(scenario(), 60) == 0


def test_a_server_that_fails_to_start_is_shown_in_the_open_window(
        run: Runner, tmp_path: Path, slow_start: dict[str, Any]) -> None:
    app = make_app(tmp_path)

    async def scenario() -> int:
        main = asyncio.ensure_future(app.run())
        await until(lambda: bool(app.windows) and app.windows[0].isVisible()
                    and "url" in slow_start)
        w = app.windows[0]
        slow_start["url"].set_exception(
            RuntimeError("The bundled server did not start: port in use"))
        await until(lambda: w._state != "starting")
        assert w.error_label.text() == "The bundled server did not start: port in use"
        assert w.session is None and w._state == "offline"
        assert w.bar.connect_action.isEnabled() and w.embedded_server is None
        app._quit()
        return await main

    assert run(scenario(), 60) == 0


# -- the store: a backlog is committed a chunk per loop turn -----------------------------------

def test_a_backlog_is_committed_a_chunk_per_loop_turn_and_all_of_it_is_readable(
        run: Runner, tmp_path: Path) -> None:
    from app.store import FLUSH_AT, FLUSH_CHUNK, FLUSH_CHUNK_MIN, MessageStore, StoredMessage

    store = MessageStore.open(tmp_path / "store")
    queue = "event:/:tick"
    batches: list[list[int]] = []
    store.stored.connect(lambda msgs: batches.append([m.args[0]["n"] for m in msgs]))
    on_disk_at_hook: list[int] = []
    store.before_commit.append(lambda c: on_disk_at_hook.append(
        c.execute("SELECT count(*) FROM messages").fetchone()[0]))
    n = 2 * FLUSH_AT

    def tick(i: int) -> StoredMessage:
        return StoredMessage(queue=queue, direction="in", namespace="/", event="tick",
                             args=[{"n": i}])

    async def receive() -> None:
        for i in range(n):   # one loop turn, as a socket read delivering a burst does
            store.add(tick(i))
        assert batches == []                                 # nothing committed inside add()
        await until(lambda: sum(map(len, batches)) == n)

    try:
        run(receive())
        assert len(batches[0]) == FLUSH_CHUNK and len(batches) >= n // FLUSH_CHUNK
        assert all(FLUSH_CHUNK_MIN <= len(b) <= FLUSH_CHUNK for b in batches[:-1])
        assert [i for b in batches for i in b] == list(range(n))    # in order, none lost
        # room offsets (before_commit) only go to disk with every message they cover
        assert on_disk_at_hook and on_disk_at_hook[-1] == n
        assert store.count(queue) == n
        assert [m.args[0]["n"] for m in store.page(queue, limit=n)] == list(range(n))

        # a reader in the middle of a drain still sees every row received so far
        async def read_mid_drain() -> tuple[int, int]:
            first_chunk: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            store.stored.connect(lambda _m: first_chunk.done() or first_chunk.set_result(None))
            for i in range(n, n + FLUSH_AT):
                store.add(tick(i))
            # resumed before the drain's next chunk (both are queued on the loop in order)
            await first_chunk
            waiting = len(store._pending)
            return waiting, store.count(queue)

        waiting, counted = run(read_mid_drain())
        assert waiting > 0                      # the drain was still going on
        assert counted == n + FLUSH_AT
        assert [m.args[0]["n"] for m in store.page(queue, limit=2 * n)] == \
            list(range(n + FLUSH_AT))
    finally:
        store.close()


def test_the_chunk_shrinks_when_committing_and_listening_is_slow(
        run: Runner, tmp_path: Path) -> None:
    """A listener that costs 100 µs per row (a busy GUI) makes 500-row turns last 50 ms;
    the store then commits chunks that fit its time budget, and still loses nothing."""
    from app.store import FLUSH_AT, FLUSH_BUDGET_S, FLUSH_CHUNK, MessageStore, StoredMessage

    store = MessageStore.open(tmp_path / "store")
    sizes: list[int] = []

    def slow_listener(msgs: list[StoredMessage]) -> None:
        sizes.append(len(msgs))
        end = time.perf_counter() + 100e-6 * len(msgs)
        while time.perf_counter() < end:
            pass

    store.stored.connect(slow_listener)

    async def receive() -> None:
        for i in range(FLUSH_AT):
            store.add(StoredMessage(queue="event:/:tick", direction="in", namespace="/",
                                    event="tick", args=[i]))
        await until(lambda: sum(sizes) == FLUSH_AT)

    try:
        run(receive())
        assert sizes[0] == FLUSH_CHUNK                       # before anything was measured
        assert max(sizes[1:]) <= FLUSH_BUDGET_S / 100e-6     # then within the budget
        assert store.count("event:/:tick") == FLUSH_AT
    finally:
        store.close()


# -- the Learn tab draws your packets only while it is shown ---------------------------------

def you_kinds(tab: Any) -> list[str]:
    return [i.kind for i in tab.diagram.canvas.items if i.lane == "you" and i.kind != "NOTE"]


def test_the_hidden_learn_tab_catches_up_when_shown(run: Runner, server: Any,
                                                    make_window: Any) -> None:
    w = make_window(server.url, "alice")
    assert w.learn_if_built is None                          # not built for the first paint
    connect(run, w)
    tab = w.learn                                            # built now, behind the Chat tab
    assert not tab.isVisible()
    run(w.conversations.join_room("general"))                # more packets while hidden
    assert you_kinds(tab) == []                              # nothing drawn for nobody
    log = [p.kind for p in w.session.packet_log]
    assert "CONNECT" in log and "ACK" in log

    w.tabs.setCurrentWidget(tab)                             # shown: everything, in order
    assert you_kinds(tab) == log
    w.session.chat.send("general", "hello")                  # and live from now on
    run.until(lambda: you_kinds(tab) == [p.kind for p in w.session.packet_log]
              and len(you_kinds(tab)) > len(log))

    w.tabs.setCurrentWidget(w.chat)                          # hidden again
    before = you_kinds(tab)
    w.session.chat.send("general", "while hidden")
    run.until(lambda: len(w.session.packet_log) >= len(before) + 2)   # EVENT + its ACK
    assert you_kinds(tab) == before
    w.tabs.setCurrentWidget(tab)
    assert you_kinds(tab) == [p.kind for p in w.session.packet_log]
