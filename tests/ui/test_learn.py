"""The Learn tab on the real bundled server: going offline and back, the server's
start/stop, lessons run from the tab to their end state, and the sequence diagram."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.packets import Packet
from app.scenarios import SCENARIOS, Step
from tests.ui.conftest import connect
from ui.learn.diagram import SequenceDiagram
from ui.learn.models import ResultRole, ScenarioListModel, StepListModel, StepStateRole

pytestmark = pytest.mark.timeout(120)


def packet(seq: int, direction: str = "out", kind: str = "EVENT", event: str | None = "ping",
           args: list | None = None, ns: str = "/lab") -> Packet:
    return Packet(seq, time.time(), direction, ns, kind, event,
                  args if args is not None else [{"text": f"hello {seq}"}],
                  seq if kind in ("EVENT", "ACK") else None,
                  3.0 if kind == "ACK" else None, 30)


# -- models and the diagram on their own -----------------------------------------------------

def test_models_pass_modeltester(qtmodeltester):
    lessons = ScenarioListModel()
    assert lessons.rowCount() == len(SCENARIOS)
    qtmodeltester.check(lessons)
    lessons.set_result("missed", "passed")
    assert lessons.index(lessons.row_of("missed"), 0).data(ResultRole) == "passed"
    qtmodeltester.check(lessons)

    steps = StepListModel()
    qtmodeltester.check(steps)
    steps.set_steps(SCENARIOS[4].steps)
    steps.set_current(2)
    assert [steps.index(i, 0).data(StepStateRole) for i in range(4)] == \
        ["done", "done", "current", "pending"]
    qtmodeltester.check(steps)
    steps.set_current(len(SCENARIOS[4].steps))
    assert {steps.index(i, 0).data(StepStateRole) for i in range(steps.rowCount())} == {"done"}
    steps.set_steps([Step("one", "the only step")])
    assert steps.current == -1
    qtmodeltester.check(steps)


def test_diagram_is_bounded_and_scrubbing_survives_old_rows_falling_off(qtbot):
    d = SequenceDiagram(capacity=50)
    qtbot.addWidget(d)
    d.resize(700, 420)
    d.show()
    d.reset(["alice", "bob"])
    for i in range(30):
        d.add_packet("alice" if i % 2 else "bob", packet(i))
    d.canvas.set_position(20)                      # scrubbing pauses the view
    assert d.paused and d.pause_button.isChecked() and d.pause_button.text() == "Live"
    held = d.canvas.current()
    assert held is not None and held.n == 20
    assert d.slider.value() == 20 and d.slider.maximum() == 29
    assert d.position_label.text() == "Row 21 of 30 · paused"  # not a lesson step
    for i in range(30, 60):                        # 10 old rows fall off the front
        d.add_packet("alice", packet(i))
    assert len(d.canvas.items) == 50 and d.canvas.items[0].n == 10
    assert d.canvas.current() is held               # the same packet stays selected
    assert d.slider.value() == 10 and d.slider.maximum() == 49
    for i in range(60, 75):                        # now it falls off too: the oldest shown
        d.add_packet("alice", packet(i))
    assert d.canvas.position == 0 and d.canvas.current().n == 25
    d.pause_button.click()                         # back to live
    assert not d.paused and d.canvas.current().n == 74
    d.slider.setValue(0)
    assert d.paused and d.canvas.current().n == d.canvas.items[0].n
    assert "alice → server" in d.detail.text() or "bob → server" in d.detail.text()


def test_diagram_paints_every_kind_with_notes(qtbot):
    d = SequenceDiagram()
    qtbot.addWidget(d)
    d.resize(800, 500)
    d.show()
    d.reset(["alice", "bob", "carol"])
    d.add_packet("alice", packet(1, "out", "CONNECT", None, [{"user": "alice"}]))
    d.add_packet("alice", packet(2, "in", "CONNECT", None, [{"sid": "x"}]))
    d.add_packet("bob", packet(3, "out", "EVENT", "message", [{"room": "r", "text": "hi"}]))
    d.add_packet("bob", packet(4, "in", "ACK", None, [{"ok": True, "offset": 1}]))
    d.add_packet("carol", packet(5, "in", "CONNECT_ERROR", None, [{"message": "bad user"}]))
    d.add_note("carol", "crashed", "crash")
    d.add_packet("alice", packet(6, "out", "DISCONNECT", None, []))
    image = d.grab().toImage()
    assert not image.isNull()
    captions = [i.caption for i in d.canvas.items]
    assert captions == ["connect", "connect", "message “hi”", "ack ok · offset 1  (3 ms)",
                        "refused: bad user", "crashed", "disconnect"]
    assert d.canvas.columns() == ["alice", "bob", "server", "carol"]
    xs = d.canvas.lane_x()
    assert xs["alice"] < xs["bob"] < xs["server"] < xs["carol"] < d.canvas.width()


# -- the tab in a real window --------------------------------------------------------------------

def note_texts(session: Any, ns: str = "/") -> list[str]:
    session.store.flush()
    return [m.args[0]["text"] for m in session.store.page(f"event:{ns}:note", limit=100)]


def test_go_offline_queues_in_the_outbox_then_flushes(run, server, make_window, tmp_path):
    from app.config import ConnectionConfig, ReconnectPolicy
    from app.session import Session

    w = make_window(server.url, "alice")
    connect(run, w)
    tab = w.learn
    bar = tab.classroom
    w.tabs.setCurrentWidget(tab)
    peer = Session(ConnectionConfig(url=server.url, user="bob", namespaces=["/"],
                                    reconnect=ReconnectPolicy(delay=0.1)), tmp_path / "bob")
    try:
        assert run(peer.connect())
        assert not bar.switch.isChecked() and bar.switch.isEnabled()
        assert "Online" in bar.state_label.text()

        bar.switch.click()                                   # go offline
        run.until(lambda: w._state == "offline")
        assert bar.switch.isChecked() and "Offline" in bar.state_label.text()
        assert w.session.state.value == "offline"
        for _ in range(3):
            bar.test_button.click()
        assert bar.counter.text() == "3" and bar.counter.property("busy") is True
        assert w.session.outbox.depth() == 3
        assert "back online" in bar.flushed_label.text()
        canvas = tab.diagram.canvas                          # the "you" lane says so too
        assert canvas.outbox["you"] == 3 and canvas.states["you"] == "offline"
        assert note_texts(peer) == []                       # nothing went out

        bar.switch.click()                                   # and back online
        run.until(lambda: w._state == "connected" and w.session.outbox.depth() == 0, 20)
        run.until(lambda: bar.counter.text() == "0")
        assert not bar.switch.isChecked()
        run.until(lambda: note_texts(peer) == ["test event 1", "test event 2",
                                               "test event 3"])
        run.until(lambda: "3 delivered" in bar.flushed_label.text())
        assert canvas.outbox["you"] == 0 and canvas.states["you"] == "connected"
        assert all(m.state.value == "acked" for m in w.session.outbox.list("/"))
        # the diagram followed your own connection: off, on, then the queued notes
        items = list(tab.diagram.canvas.items)
        kinds = [(i.lane, i.kind, i.direction, i.caption) for i in items]
        assert ("you", "NOTE", "", "went offline") in kinds
        assert ("you", "NOTE", "", "back online") in kinds
        assert ("you", "DISCONNECT", "out", "disconnect") in kinds
        notes = [k for k in kinds if k[1] == "EVENT" and k[3].startswith("note")]
        assert [k[3] for k in notes] == ["note “test event 1”", "note “test event 2”",
                                         "note “test event 3”"]
        off = kinds.index(("you", "NOTE", "", "went offline"))
        on = kinds.index(("you", "NOTE", "", "back online"))
        assert off < on < kinds.index(notes[0])
    finally:
        run(peer.close())


def test_external_server_cannot_be_started_or_stopped(run, server, make_window):
    w = make_window(server.url, "alice")
    bar = w.learn.classroom
    assert not bar.server_button.isEnabled()
    assert "does not run this workspace's server" in bar.server_label.text()
    assert "does not run this workspace's server" in bar.server_button.toolTip()


def test_bundled_server_stops_and_starts_on_the_same_address(run, tmp_path, qtbot):
    from ui.server import EmbeddedServer
    from ui.window import MainWindow

    srv = EmbeddedServer(tmp_path / "bundled.db")
    url = run(srv.start())
    w = MainWindow({"url": url, "user": "alice", "namespaces": ["/chat", "/"], "delay": 0.1,
                    "delay_max": 0.5}, tmp_path / "clients", key="alice", bundled_url=url)
    w.embedded_server = srv
    w.show()
    try:
        connect(run, w)
        bar = w.learn.classroom
        assert bar.server_button.isEnabled() and bar.server_button.text() == "Stop server"
        assert "Running on 127.0.0.1" in bar.server_label.text()

        bar.server_button.click()
        run.until(lambda: not srv.running and bar.server_button.text() == "Start server", 20)
        run.until(lambda: w._state == "reconnecting", 20)
        assert "Stopped" in bar.server_label.text()
        w.session.chat.send("general", "sent while the server was down")
        assert bar.counter.text() == "1"

        bar.server_button.click()
        run.until(lambda: srv.running and bar.server_button.text() == "Stop server", 30)
        assert srv.url == url                                # same address as before
        run.until(lambda: w._state == "connected" and w.session.outbox.depth() == 0, 30)
        assert bar.counter.text() == "0"
        notes = [i.caption for i in w.learn.diagram.canvas.items if i.kind == "NOTE"]
        assert notes == ["server stopped", "server started"]
    finally:
        run(w.shutdown())
        w.deleteLater()
        run(srv.stop())


def result_state(tab: Any) -> str:
    return str(tab.result.property("state"))


def test_work_queue_lesson_reaches_its_end_state_in_the_tab(run, server, make_window,
                                                             tmp_path):
    w = make_window(server.url, "alice")
    connect(run, w)
    tab = w.learn
    w.tabs.setCurrentWidget(tab)
    tab.select("workqueue")
    assert tab.title.text() == "6. A work queue with two workers"
    assert tab.steps.rowCount() == 5 and tab.steps.current == -1
    tab.pace = 0.02
    tab.run_button.click()
    run.until(lambda: tab.run is not None and result_state(tab) in ("passed", "failed"), 60)
    lesson = tab.run
    assert result_state(tab) == "passed", tab.result.text()
    assert tab.result.text().startswith("✓ every job acked exactly once")
    assert tab.steps.current == 5                           # every step done
    assert tab.lessons.result("workqueue") == "passed"
    # the checks ran after the last step, in their own panel, not on the diagram
    checks = tab.checks.model
    assert tab.checks.isVisible() and checks.state == "done"
    assert checks.rowCount() == len(lesson.end.details) >= 3 and checks.failed == 0
    assert checks.index(0, 0).data().startswith("✓ ")
    assert tab.checks.status.text() == f"{checks.rowCount()} of {checks.rowCount()} held."
    assert tab.run_button.text() == "Run again" and tab.stop_button.text() == "Reset"
    assert tab.lesson_list.isEnabled()
    # the diagram drew the lesson's lanes and packets, with the crash and the redelivery
    canvas = tab.diagram.canvas
    assert canvas.lanes == ["alice", "bob", "carol"]
    captions = [(i.lane, i.caption) for i in canvas.items]
    assert ("carol", "crashed") in captions
    held = lesson.memo["held"]
    assert ("bob", f"deliver job {held} · attempt 2") in captions
    assert {i.lane for i in canvas.items} == {"alice", "bob", "carol"}
    assert ("server", "checking the result") not in captions
    assert all(i.role in ("setup", "key") for i in canvas.items)
    drawn = {i.step for i in canvas.items}
    assert drawn <= set(range(5)), drawn                    # nothing from the checks
    data_dir = lesson.data_dir
    assert data_dir.exists()

    tab.stop_button.click()                                 # Reset
    run.until(lambda: tab.run is None and not data_dir.exists())
    assert canvas.lanes == ["you"] and len(canvas.items) == 0
    assert tab.steps.current == -1 and result_state(tab) == "idle"
    assert tab.stop_button.text() == "Stop" and not tab.stop_button.isEnabled()


def test_missed_event_lesson_paused_sends_nothing_scrubbed_then_recovery_in_view(
        run, server, make_window):
    w = make_window(server.url, "carol-teacher")
    connect(run, w)
    tab = w.learn
    w.tabs.setCurrentWidget(tab)
    tab.select("missed")
    tab.pace = 0.25
    badges: list[tuple[str, int]] = []
    states: list[tuple[str, str]] = []
    sent: list[tuple[float, str]] = []
    tab.bridge.outbox_depth.connect(lambda lane, n: badges.append((lane, n)))
    tab.bridge.lane_state.connect(lambda lane, st: states.append((lane, st)))
    tab.bridge.packet.connect(lambda lane, p: sent.append((time.monotonic(), lane))
                              if p.direction == "out" else None)
    tab.run_button.click()
    d = tab.diagram
    run.until(lambda: tab.run is not None and tab.run.current >= 2, 30)
    assert result_state(tab) == "running" and tab.result.text().startswith("Step ")
    assert not tab.lesson_list.isEnabled() and tab.stop_button.text() == "Stop"
    assert not d.pause_button.isVisible()          # in a lesson Pause is the tab's own

    bar = tab.pacing
    bar.pause_button.click()                       # Pause holds the lesson itself
    lesson = tab.run
    assert lesson.paused and bar.pause_button.text() == "Resume"
    run.until(lambda: lesson.held, 10)
    assert "Paused" in bar.status.text()
    step, paused_at = lesson.current, time.monotonic()
    # about six steps' worth of pace: the lesson would have sent many packets by now
    run.until(lambda: time.monotonic() > paused_at + 1.5, 5)
    assert [lane for ts, lane in sent if ts >= paused_at] == []
    assert lesson.current == step and result_state(tab) == "running"

    d.slider.setValue(2)                           # scrub back in time: the view only
    assert d.canvas.position == 2 and d.paused
    assert d.pause_button.isVisible() and d.pause_button.text() == "Live"
    assert d.detail.text()

    bar.pause_button.click()                       # resume
    assert not lesson.paused
    run.until(lambda: result_state(tab) in ("passed", "failed"), 60)
    assert result_state(tab) == "passed", tab.result.text()
    assert tab.result.text().startswith("✓ every message exactly once")
    assert any(ts >= paused_at for ts, _lane in sent)
    assert d.canvas.position == 2                  # still where the class scrubbed
    d.pause_button.click()                         # live again
    assert not d.paused
    canvas = d.canvas
    assert canvas.position == len(canvas.rows) - 1 - canvas.hidden_below()
    # everyone's connecting is one closed fold ("setup: 18 packets ▸")
    first = canvas.rows[0]
    assert first.is_fold and not first.open and first.count >= 9 and first.step == 0
    assert {"connect", "welcome"} <= set(first.events)
    # carol's recovery, the last step's key moment, is in view and highlighted
    last = len(lesson.scenario.steps) - 1
    since = lesson.memo["since"]
    room = lesson.memo["room"].replace(f"-{lesson.run_id}", "")   # as the diagram names it
    rejoin = f"join #{room} since {since}"
    shown = [i for i in canvas.visible_items() if i.step == last and i.role == "key"]
    assert any(i.caption.startswith(rejoin) for i in shown), [i.caption for i in shown]
    assert canvas.rows[canvas.anchor_row(last)].item.caption.startswith(rejoin)
    # carol's lane showed her outbox filling while offline, and emptying once back
    carol = [n for lane, n in badges if lane == "carol"]
    assert 2 in carol and carol[-1] == 0
    assert ("carol", "offline") in states
    assert d.canvas.outbox.get("carol") == 0 and d.canvas.states["carol"] == "connected"
    # the window closes with the lesson still open: its users are closed with it
    sessions = list(tab.run.sessions.values())
    run(w.shutdown())
    assert all(s._closed for s in sessions)


def test_stop_in_the_middle_then_run_another_lesson(run, server, make_window):
    w = make_window(server.url, "alice")
    connect(run, w)
    tab = w.learn
    tab.select("broadcast")
    tab.pace = 2.0
    tab.run_button.click()
    run.until(lambda: tab.run is not None and tab.run.current >= 0, 20)
    tab.stop_button.click()
    run.until(lambda: tab.run.state.value == "stopped", 20)
    assert tab.lessons.result("broadcast") == "stopped"
    assert tab.stop_button.text() == "Reset" and tab.run_button.isEnabled()
    first = tab.run

    tab.select("emit")                                       # another lesson: old one closes
    run.until(lambda: all(s._closed for s in first.sessions.values()))
    assert tab.title.text().startswith("1. ") and tab.run is None
    tab.pace = 0.0
    tab.run_button.click()
    run.until(lambda: result_state(tab) in ("passed", "failed"), 40)
    assert result_state(tab) == "passed", tab.result.text()
    kinds = {i.kind for i in tab.diagram.canvas.items}
    assert {"CONNECT", "EVENT", "ACK", "CONNECT_ERROR"} <= kinds
    assert Path(tab.run.data_dir).exists()
    assert tab.lesson_list.currentIndex().data(Qt.ItemDataRole.DisplayRole) == \
        "Client emit, server emit"


def test_the_app_hands_its_bundled_server_to_the_learn_tab(run, server, tmp_path,
                                                          monkeypatch):
    from ui.main import App, parse_args
    from ui.workspaces import Workspaces, private_workspace

    class Bundled:  # stands in for ui.server.EmbeddedServer (already running)
        running = True
        proc = None
        extra = ()

    bundled = Bundled()

    async def server_url(_self, _ws):
        return server.url

    monkeypatch.setattr(Workspaces, "server_url", server_url)
    monkeypatch.setattr(Workspaces, "server", lambda _self, _ws: bundled)
    app = App(parse_args(["--data-dir", str(tmp_path / "app")]))
    app.prepare()
    ws = private_workspace("alice")
    app.workspaces.save(ws)
    app._open_windows(ws)
    w = app.windows[0]
    try:
        run.until(lambda: w._state == "connected", 20)
        assert w.embedded_server is bundled
        bar = w.learn.classroom
        assert bar.server_button.isEnabled() and bar.server_button.text() == "Stop server"
    finally:
        run(w.shutdown())
        w.deleteLater()


def test_another_lesson_is_read_from_the_top_of_its_explanation(make_window, qtbot):
    """The explanation pane scrolled down in one lesson opened the next one mid-text."""
    w = make_window("http://127.0.0.1:9", "short")
    w.resize(800, 600)
    learn = w.learn
    w.tabs.setCurrentWidget(learn)
    learn.select("broadcast")
    bar = learn.right.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)   # more text than the pane shows
    bar.setValue(bar.maximum())
    learn.select("acks")
    assert "ack" in learn.title.text().lower()
    assert bar.value() == 0


def test_a_steps_long_code_wraps_inside_the_list(qapp):
    """A step's `socket.to('#team').emit('message', ...)` was cut at the pane's edge
    (word wrap found no place to break it); it now breaks after its dots and brackets,
    and reads the same."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QFontMetrics

    from ui.text import breakable

    text = "The server calls socket.to('#team').emit('message', ...): only members get it."
    wrapped = breakable(text)
    assert wrapped.replace("\u200b", "") == text
    assert breakable("short words, a.b") == "short words, a.b"   # nothing to break
    fm = QFontMetrics(qapp.font())
    width = fm.horizontalAdvance("socket.to('#team')") + 4
    box = QRect(0, 0, width, 10_000)
    assert fm.boundingRect(box, Qt.TextFlag.TextWordWrap, text).width() > width
    assert fm.boundingRect(box, Qt.TextFlag.TextWordWrap, wrapped).width() <= width
