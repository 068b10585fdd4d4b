"""The Queues tab against the real bundled server: replay, dead letters, purge, outbox
actions, import/export, and hostile payloads."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtWidgets import QMessageBox

from app.store import StoredMessage
from app.workspace import slug
from tests.ui.conftest import connect


@pytest.fixture
def run(run: Any) -> Any:
    """The conftest runner with generous waits: the machine is shared with other test runs
    (a loaded disk can hold the server's commits for many seconds). Still condition waits."""
    until = run.until
    run.until = lambda check, timeout=45.0: until(check, max(timeout, 45.0))
    return run


def queues(window: Any) -> Any:
    """The window's Queues tab, shown (so it refreshes live)."""
    window.tabs.setCurrentWidget(window.queues)
    return window.queues


def row(tab: Any, key: str) -> Any:
    i = tab.queue_model.row_of(key)
    return tab.queue_model.row_at(i) if i >= 0 else None


def peer(run: Any, window: Any, name: str, folder: Path, namespaces: list[str],
         url: str | None = None) -> Any:
    """A second user as a bare core session (no window)."""
    from app.session import Session
    from ui.workspaces import build_config

    cfg = build_config({**window.options, "user": name, "namespaces": namespaces,
                        **({"url": url} if url else {})})
    s = Session(cfg, folder / name)
    assert run(s.connect(), 60)
    return s


def test_replay_edited_from_the_inspector_reaches_another_client(run, server, make_window,
                                                                 tmp_path):
    a = make_window(server.url, "alice")
    connect(run, a)
    run(a.conversations.join_room("general"))
    bob = peer(run, a, "bob", tmp_path, ["/chat"])
    got: list[tuple[str, str]] = []
    bob.chat.message.connect(lambda m: got.append((m.user, m.text)))
    try:
        run(bob.chat.join("general"))
        bob.chat.send("general", "original words from bob")
        tab = queues(a)
        run.until(lambda: (r := row(tab, "room:/chat:general")) is not None and r.depth >= 1)
        assert tab.select_queue("room:/chat:general")
        run.until(lambda: tab.message_model.rowCount() >= 1)
        n = next(i for i in range(tab.message_model.rowCount())
                 if "original words" in json.dumps(tab.message_model.row_at(i).args))
        tab.select_rows([n])
        assert "original words from bob" in tab.detail.text.toPlainText()
        # the editor holds what a client sends (server-stamped fields are gone)
        value = json.loads(tab.detail.editor.text())
        assert value["namespace"] == "/chat" and value["event"] == "message"
        assert set(value["args"][0]) == {"room", "text"}
        value["args"][0]["text"] = "edited by the inspector"
        tab.detail.editor.set_text(json.dumps(value))
        assert tab.detail.replay_edited_button.isEnabled()
        tab.detail.replay_edited_button.click()
        run.until(lambda: ("alice", "edited by the inspector") in got, 60)
        # as captured, retargeted to another room: through the outbox as well
        run(bob.chat.join("other"))
        tab.detail.room.setText("other")
        with_signal: list[Any] = []
        tab.replayed.connect(with_signal.append)
        tab.detail.replay_button.click()
        run.until(lambda: with_signal and ("alice", "original words from bob") in got, 60)
        assert got.count(("alice", "edited by the inspector")) == 1
        # the outbox row of the replay is visible in the outbox queue
        run.until(lambda: (r := row(tab, "outbox:/chat")) is not None and r.acked >= 2)
    finally:
        run(bob.close())


def test_replay_to_another_server_url(run, server_factory, make_window, tmp_path):
    one = server_factory()
    two = server_factory()
    a = make_window(one.url, "alice")
    connect(run, a)
    listener = peer(run, a, "dave", tmp_path, ["/"], url=two.url)
    seen: list[Any] = []
    listener.on("/", "ping", lambda *args: seen.append(args))
    try:
        a.session.store.insert([StoredMessage(queue="event:/:ping", direction="in",
                                              namespace="/", event="ping",
                                              args=[{"n": i}], ts=1000.0 + i)
                                for i in range(3)])
        tab = queues(a)
        run.until(lambda: row(tab, "event:/:ping") is not None)
        tab.select_queue("event:/:ping")
        tab.select_rows([0, 1, 2])
        tab.detail.server.setEditText(two.url)
        tab.detail.keep_spacing.setChecked(True)
        tab.detail.speed.setValue(50.0)       # 1 s gaps, 50x faster
        result = run(tab.replay(False), 60)
        assert result.delivered, result.error
        run.until(lambda: len(seen) == 3, 60)
        assert [s[0]["n"] for s in seen] == [0, 1, 2]
    finally:
        run(listener.close())


def test_dead_letter_requeue_from_the_ui(run, server_factory, make_window, tmp_path):
    srv = server_factory("--max-attempts", "1")
    a = make_window(srv.url, "alice")
    connect(run, a)
    assert run(a.session.wait_ready("/queue", 10))
    consumer = peer(run, a, "carol", tmp_path, ["/queue"])

    def fail(_delivery: Any) -> None:
        raise RuntimeError("cannot handle this one")

    try:
        run(consumer.queue.subscribe("jobs", fail, prefetch=1))
        a.session.emit("/queue", "publish", {"queue": "jobs", "payload": {"job": 42}})
        tab = queues(a)
        run.until(lambda: (r := row(tab, "server:jobs.dead")) is not None and r.depth == 1,
                  20)
    finally:
        run(consumer.close())
    assert row(tab, "server:jobs").failed == 1
    assert tab.select_queue("server:jobs.dead")
    run.until(lambda: tab.message_model.rowCount() == 1)
    dead = tab.message_model.row_at(0)
    assert dead.args == {"job": 42} and dead.state == "dead"
    assert tab.requeue_button.isVisible()
    tab.select_rows([0])
    assert tab.requeue_button.isEnabled()
    tab.requeue_button.click()
    run.until(lambda: (r := row(tab, "server:jobs")) is not None and r.depth == 1
              and row(tab, "server:jobs.dead").depth == 0, 60)
    run.until(lambda: tab.message_model.rowCount() == 0)  # the dead-letter view emptied
    tab.select_queue("server:jobs")
    run.until(lambda: tab.message_model.rowCount() == 1)
    back = tab.message_model.row_at(0)
    assert back.args == {"job": 42} and back.state == "waiting" and back.key == dead.key


def test_purge_asks_first_then_purges(run, server, make_window):
    a = make_window(server.url, "alice")
    connect(run, a)
    assert run(a.session.wait_ready("/queue", 10))
    for i in range(3):
        a.session.emit("/queue", "publish", {"queue": "tasks", "payload": i})
    tab = queues(a)
    run.until(lambda: (r := row(tab, "server:tasks")) is not None and r.depth == 3, 60)
    tab.select_queue("server:tasks")
    run.until(lambda: tab.message_model.rowCount() == 3)
    assert tab.purge_button.isVisible()

    tab.purge_button.click()
    box = tab.queue_actions.purge_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "tasks" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    run.until(lambda: not shiboken6.isValid(box) or not box.isVisible())
    run(tab.refresh_stats())
    assert row(tab, "server:tasks").depth == 3  # nothing purged

    purged: list[tuple[str, int]] = []
    tab.purged.connect(lambda q, n: purged.append((q, n)))
    tab.purge_button.click()
    box = tab.queue_actions.purge_box
    purge = next(b for b in box.buttons() if b.text() == "Purge")
    purge.click()
    run.until(lambda: purged == [("tasks", 3)], 60)
    run.until(lambda: row(tab, "server:tasks").depth == 0)
    run.until(lambda: tab.message_model.rowCount() == 0)


def test_outbox_edit_cancel_and_retry(run, server, make_window):
    a = make_window(server.url, "alice")
    connect(run, a)
    tab = queues(a)
    a.on_disconnect_clicked()
    run.until(lambda: a._state == "offline")
    first = a.session.emit("/", "note", {"text": "first"})
    second = a.session.emit("/", "note", {"text": "second"})
    run.until(lambda: (r := row(tab, "outbox:/")) is not None and r.depth == 2)
    tab.select_queue("outbox:/")
    run.until(lambda: tab.message_model.rowCount() == 2)
    assert tab.cancel_button.isVisible() and tab.retry_button.isVisible()
    # edit the first one in place (it keeps its id)
    tab.select_rows([0])
    assert not tab.detail.save_button.isHidden()
    value = json.loads(tab.detail.editor.text())
    value["args"] = [{"text": "first, edited"}]
    tab.detail.editor.set_text(json.dumps(value))
    tab.detail.save_button.click()
    assert a.session.outbox.get(first.id).args == [{"text": "first, edited"}]
    run.until(lambda: tab.message_model.row_at(0).args == [{"text": "first, edited"}])
    # cancel the second one
    tab.select_rows([1])
    assert tab.cancel_button.isEnabled() and not tab.retry_button.isEnabled()
    tab.cancel_button.click()
    assert a.session.outbox.get(second.id) is None
    run.until(lambda: tab.message_model.rowCount() == 1)
    run.until(lambda: row(tab, "outbox:/").depth == 1)

    # a message the server refuses fails; retry puts it back in the queue
    a.on_connect_clicked()
    run.until(lambda: a._state == "connected" and a.session.is_ready("/queue"), 60)
    bad = a.session.emit("/queue", "publish", {"queue": "nope.dead", "payload": 1})
    run.until(lambda: a.session.outbox.get(bad.id).state.value == "failed", 60)
    tab.select_queue("outbox:/queue")
    run.until(lambda: tab.message_model.rowCount() == 1
              and tab.message_model.row_at(0).state == "failed")
    assert "failed" in tab.message_model.index(0, 6).data()
    states: list[str] = []
    a.bridge.outbox_changed.connect(
        lambda m: states.append(m.state.value) if m.id == bad.id else None)
    tab.select_rows([0])
    assert tab.retry_button.isEnabled()
    tab.retry_button.click()
    run.until(lambda: "queued" in states and states[-1] == "failed", 60)
    run.until(lambda: row(tab, "outbox:/").depth == 0, 20)  # the edited one went out


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_reports_bad_lines_and_imports_the_rest(run, server, make_window, tmp_path):
    a = make_window(server.url, "alice")
    connect(run, a)
    tab = queues(a)
    good = {"queue": "event:/:imported", "namespace": "/", "event": "imported", "args": [1]}
    path = _write_lines(tmp_path / "mixed.ndjson", [
        json.dumps(good),
        "this is not json",
        json.dumps({**good, "args": [2]}),
        json.dumps({"args": []}),                    # no event
        "",
        "[1, 2, 3]",                                 # not an object
        json.dumps({**good, "args": [3], "ts": "yesterday"}),
        json.dumps({**good, "args": [4]}),
    ])
    result = run(tab.import_file(path))
    assert result.imported == 3
    assert [no for no, _why in result.errors] == [2, 4, 6, 7]
    dlg = tab.transfer.problems
    assert dlg is not None and dlg.isVisible()
    listed = dlg.list.toPlainText().splitlines()
    assert [line.split(":")[1] for line in listed] == ["2", "4", "6", "7"]
    assert listed[0].startswith("mixed.ndjson:2: invalid JSON")
    dlg.close()
    run.until(lambda: (r := row(tab, "event:/:imported")) is not None and r.depth == 3)
    tab.select_queue("event:/:imported")
    run.until(lambda: tab.message_model.rowCount() == 3)
    assert [tab.message_model.row_at(i).args for i in range(3)] == [[1], [2], [4]]


def test_big_import_and_export_show_progress_and_can_be_cancelled(run, server, make_window,
                                                                  tmp_path):
    a = make_window(server.url, "alice")
    connect(run, a)
    tab = queues(a)
    n = 30_000
    path = _write_lines(tmp_path / "big.ndjson", [
        json.dumps({"queue": "event:/:bulk", "namespace": "/", "event": "bulk",
                    "args": [{"i": i, "pad": "x" * 40}]}) for i in range(n)])
    seen: list[tuple[int, int]] = []
    progress = tab.transfer._progress

    def watch(done: int, total: int) -> None:
        seen.append((done, total))
        assert tab.progress_box.isVisible()
        progress(done, total)
        if len(seen) == 3:
            tab.progress_cancel.click()     # the Cancel button

    tab.transfer._progress = watch
    result = run(tab.import_file(path), 60)
    assert result.cancelled and 0 < result.imported < n
    assert not tab.progress_box.isVisible()
    tab.transfer._progress = progress
    partial = result.imported
    # the whole file (the rest of it arrives as a second copy: not a room queue)
    result = run(tab.import_file(path), 120)
    assert not result.cancelled and result.imported == n
    run.until(lambda: (r := row(tab, "event:/:bulk")) is not None and r.depth == n + partial)
    tab.select_queue("event:/:bulk")
    # the file offered is named after the queue, fit for any file system
    dlg = tab.transfer.choose_export()
    offered = Path(dlg.selectedFiles()[0]).name
    dlg.reject()
    assert offered == f"{slug(tab.messages.queue.label)}.ndjson"
    assert offered.startswith("bulk") and "·" not in offered and " " not in offered
    out = tmp_path / "out.ndjson"
    exported = run(tab.export_file(out, whole_queue=True), 120)
    assert exported.count == n + partial
    assert sum(1 for _ in out.open(encoding="utf-8")) == n + partial
    # cancelled export: no file left behind
    tab.transfer._progress = lambda done, total: tab.cancel_work()
    out2 = tmp_path / "cancelled.ndjson"
    exported = run(tab.export_file(out2, whole_queue=True), 60)
    assert exported.cancelled and not out2.exists()
    assert not Path(str(out2) + ".partial").exists()


def test_huge_and_hostile_messages_are_shown_cut_and_escaped(run, server, make_window):
    a = make_window(server.url, "alice")
    connect(run, a)
    tab = queues(a)
    deep: list = []
    cur = deep
    for _ in range(400):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    hostile = {"html": "<b>bold</b><img src=\"http://example.invalid/x.png\">",
               "ctl": "bell\x07 rtl\u202eevil line\u2028sep", "big": "A" * 10_000_000,
               "deep": deep}
    a.session.store.insert([StoredMessage(queue="event:/:odd", direction="in", namespace="/",
                                          event="odd<i>x</i>", args=[hostile])])
    run.until(lambda: row(tab, "event:/:odd") is not None)
    tab.select_queue("event:/:odd")
    run.until(lambda: tab.message_model.rowCount() == 1)
    cell = tab.message_model.index(0, 5).data()
    assert len(cell) <= 200 and "\x07" not in cell
    t = time.perf_counter()
    tab.select_rows([0])
    assert time.perf_counter() - t < 5, "selecting a 10 MB message must stay quick"
    text = tab.detail.text.toPlainText()
    assert len(text) < 300_000
    assert "<b>bold</b>" in text              # literal, in a plain-text box
    assert "\x07" not in text and "\u202e" not in text and "\u2028" not in text
    assert "\\u0007" in text and "\\u202e" in text
    assert "string of 10,000,000 characters" in text
    assert tab.detail.size_note.isVisible() and tab.detail.show_all.isVisible()
    tab.detail.show_all.click()
    longer = tab.detail.text.toPlainText()
    assert 4_000_000 <= len(longer) < 4_300_000
    assert not tab.detail.show_all.isVisible()
    # the editor refuses a message this big (replay as captured still works)
    assert not tab.detail.editor.isEnabled()
    assert tab.detail.replay_button.isEnabled()
