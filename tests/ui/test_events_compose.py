"""Events tab (packet log) and Compose tab against the real server."""

from __future__ import annotations

import json
import re

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from app.keys import outbox_key
from tests.ui.conftest import connect


def shown_events(window) -> list[str]:
    proxy = window.events.shown_model()
    return [proxy.index(r, 3).data() for r in range(proxy.rowCount())]


def test_packet_log_filter_works(run, server, make_window, qtbot):
    a = make_window(server.url, "alice")
    connect(run, a)
    run(a.conversations.join_room("general"))
    a.compose_controller.send_compose("/", "echo", [{"needle": 42}], True, 5.0, False)
    run.until(lambda: "acked" in a.compose.response_state.text())
    a.conversations.send_chat("room", "general", "hello packets")
    run.until(lambda: a.packets.flush() or "message" in shown_events(a))
    events = a.events
    total = a.packets.rowCount()
    assert {"CONNECT", "echo", "join", "message", "ACK"} <= set(shown_events(a))

    events.search.setText("needle")
    events.apply_filters()  # what the debounce timer does
    assert shown_events(a) and set(shown_events(a)) <= {"echo", "ACK"}
    assert "echo" in shown_events(a)

    events.search.setText("")
    events.event_filter.setEditText("message")
    assert set(shown_events(a)) == {"message"}
    events.dir_filter.setCurrentIndex(events.dir_filter.findData("out"))
    proxy = events.shown_model()
    assert all(proxy.index(r, 1).data() == "↑ out" for r in range(proxy.rowCount()))
    assert proxy.rowCount() >= 1

    events.event_filter.setEditText("")
    events.dir_filter.setCurrentIndex(0)
    events.ns_filter.setEditText("/")
    assert proxy.rowCount() > 0
    assert all(proxy.index(r, 2).data() == "/" for r in range(proxy.rowCount()))
    events.ns_filter.setEditText("")
    assert events.shown_model() is a.packets and a.packets.rowCount() >= total
    assert "of" not in events.count_label.text()

    # the detail pane shows the selected packet as pretty JSON, and Copy copies it
    events.search.setText("needle")
    events.apply_filters()
    events.table.selectRow(0)
    detail = json.loads(events.detail.toPlainText())
    assert detail["event"] in ("echo", None) and "args" in detail
    events.copy_button.click()
    assert json.loads(QGuiApplication.clipboard().text()) == detail


def test_pause_clear_and_export(run, server, make_window, tmp_path):
    a = make_window(server.url, "alice")
    connect(run, a)
    events = a.events
    run.until(lambda: a.packets.flush() or a.packets.rowCount() > 0)
    events.pause_button.setChecked(True)
    before = a.packets.rowCount()
    a.compose_controller.send_compose("/", "echo", [1], True, 5.0, False)
    run.until(lambda: "acked" in a.compose.response_state.text())
    a.packets.flush()
    assert a.packets.rowCount() == before and a.packets.pending >= 2
    assert "paused" in events.count_label.text()
    # and the user can read it: the footer line is as wide as its text needs
    a.tabs.setCurrentWidget(events)
    label = events.count_label
    assert label.isVisible()
    assert label.width() >= label.fontMetrics().horizontalAdvance(label.text())
    events.pause_button.setChecked(False)
    assert a.packets.rowCount() >= before + 2

    path = tmp_path / "out.ndjson"
    n = run(a.write_packets(path))
    lines = path.read_text().splitlines()
    assert n == len(lines) == a.events.shown_model().rowCount()
    assert all(isinstance(json.loads(line), dict) for line in lines)
    assert any(json.loads(line).get("event") == "echo" for line in lines)

    events.clear()
    assert a.packets.rowCount() == 0 and events.detail.toPlainText() == ""


def test_export_dialog_is_non_blocking(run, make_window):
    a = make_window("http://127.0.0.1:9", "alice")
    dlg = a.export_packets()  # returns at once: opened with open(), not exec()
    assert dlg.isVisible()
    dlg.reject()


def test_invalid_json_disables_send_and_says_where(make_window):
    a = make_window("http://127.0.0.1:9", "alice")
    compose = a.compose
    assert compose.send_button.isEnabled()
    editor = compose.args[0].json
    editor.set_text('{"a": 1,\n  "b": }')
    assert not compose.send_button.isEnabled()
    assert editor.error_label.isVisibleTo(compose)
    assert editor.error_label.text().startswith("Line 2, column")
    assert "1" in compose.status.text()
    second = compose.add_argument("[1, 2]")
    assert not compose.send_button.isEnabled()  # still one bad argument
    editor.set_text('{"a": 1, "b": 2}')
    assert compose.send_button.isEnabled()
    second.json.set_text("nope")
    assert not compose.send_button.isEnabled()
    compose.remove_argument(second)
    assert compose.send_button.isEnabled()
    assert [e.title.text() for e in compose.args] == ["Argument 1"]
    compose.event_name.setText("")
    assert not compose.send_button.isEnabled()


def test_compose_emits_and_shows_the_ack(run, server, make_window):
    a = make_window(server.url, "alice")
    connect(run, a)
    c = a.compose
    c.namespace.setCurrentText("/")
    c.event_name.setText("echo")
    c.set_arguments(['{"x": [1, 2]}', '"two"'])
    c.send()
    run.until(lambda: "acked" in c.response_state.text())
    assert json.loads(c.response.toPlainText()) == {"ok": True, "args": [{"x": [1, 2]}, "two"]}
    assert re.fullmatch(r"acked in \d+ ms", c.response_state.text())
    # sent while connected, acked: through the outbox all the same, so in its queue
    sent = [m for m in a.session.outbox.list("/") if m.event == "echo"]
    assert [(m.args, m.state.value) for m in sent] == [([{"x": [1, 2]}, "two"], "acked")]


def test_compose_offers_the_workspaces_namespaces_and_opens_another_first(run, server,
                                                                         make_window):
    """Compose offered "/", "/chat" and "/queue" on every server and started on "/",
    which a workspace of one namespace never opens: an emit there waited for ever. Now
    it offers the workspace's own, and an emit to another namespace opens it first."""
    a = make_window(server.url, "alice", namespaces=["/chat"])
    connect(run, a)
    c = a.compose
    assert [c.namespace.itemText(i) for i in range(c.namespace.count())] == ["/chat"]
    assert c.namespace.currentText() == "/chat"
    c.namespace.setCurrentText("/")
    c.event_name.setText("echo")
    c.set_arguments(['"hi"'])
    c.send()
    assert "opening / first" in c.response_state.text()
    run.until(lambda: "acked" in c.response_state.text(), 20)
    assert json.loads(c.response.toPlainText())["args"] == ["hi"]
    assert "/" in a.session.namespaces and a.session.is_ready("/")
    assert c.namespace.findText("/") >= 0


def test_compose_offline_goes_through_the_outbox(run, server, make_window):
    a = make_window(server.url, "alice")
    connect(run, a)
    a.on_disconnect_clicked()
    run.until(lambda: a._state == "offline")
    c = a.compose
    c.event_name.setText("echo")
    c.set_arguments(['{"later": true}'])
    c.send()
    assert "queued" in c.response_state.text()
    run.until(lambda: a.bar.depth_text == "Outbox 1")
    # the badge looks like a button, and is one: it shows the outbox that holds it
    QTest.mouseClick(a.bar.badge, Qt.MouseButton.LeftButton)
    assert a.tabs.currentWidget() is a.queues
    run.until(lambda: a.queues.messages.queue is not None
              and a.queues.messages.queue.key == outbox_key("/"))
    a.on_connect_clicked()
    run.until(lambda: c.response_state.text().startswith("acked"), 20)
    assert json.loads(c.response.toPlainText())["args"] == [{"later": True}]


def test_the_response_panel_answers_for_the_message_shown_only(run, server, make_window,
                                                             monkeypatch):
    """Two acked emits written offline, then a connection: the panel showed the first
    one's answer under the second one's "Sent". It speaks for the one it shows; the
    first one's answer is in its queue."""
    a = make_window(server.url, "alice")
    connect(run, a)
    a.on_disconnect_clicked()
    run.until(lambda: a._state == "offline")
    c = a.compose
    shown: list[str] = []
    panel = c.show_response
    monkeypatch.setattr(c, "show_response", lambda value, state="acked": (
        shown.append(json.dumps(value)), panel(value, state)))
    c.namespace.setCurrentText("/")
    c.event_name.setText("echo")
    for text in ("first", "second"):
        c.set_arguments([json.dumps(text)])
        c.send()
    a.on_connect_clicked()
    run.until(lambda: [m.state.value for m in a.session.outbox.list("/")]
              == ["acked", "acked"], 20)
    run.until(lambda: shown)
    assert len(shown) == 1 and "second" in shown[0] and "first" not in shown[0]
    assert c.response_state.text().startswith("acked in ")


def test_volatile_offline_is_dropped_with_a_reason(run, make_window):
    from ui.window import MainWindow

    a: MainWindow = make_window("http://127.0.0.1:9", "alice", attempts=1)
    run(a.open_session())
    a.compose.volatile.setChecked(True)
    a.compose.send()
    assert "not sent" in a.compose.response_state.text()
    assert "refused" in a.error_label.text().lower() or a.error_label.text()


def test_favourites_are_saved_in_settings(make_window):
    from ui.settings import Settings

    a = make_window("http://127.0.0.1:9", "alice")
    c = a.compose
    c.namespace.setCurrentText("/queue")
    c.event_name.setText("publish")
    c.set_arguments(['{"queue": "jobs", "payload": 1}'])
    c.save_favourite("publish job")
    assert [f["name"] for f in Settings().favourites()] == ["publish job"]
    c.event_name.setText("other")
    c.set_arguments([])
    c.load_favourite(Settings().favourites()[0])
    assert c.event_name.text() == "publish" and c.namespace.currentText() == "/queue"
    assert [e.json.text() for e in c.args] == ['{"queue": "jobs", "payload": 1}']


def test_keyboard_shortcuts(run, server, make_window, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    a = make_window(server.url, "alice")
    a.activateWindow()
    qtbot.waitUntil(a.isActiveWindow)
    QTest.keyClick(a, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)  # connect
    run.until(lambda: a._state == "connected" and a.session.is_ready("/"), 20)
    QTest.keyClick(a, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert a.tabs.currentWidget() is a.compose
    a.compose.event_name.setText("echo")
    a.compose.set_arguments(['"by keyboard"'])
    editor = a.compose.args[0].json.edit
    editor.setFocus()
    QTest.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    run.until(lambda: "acked" in a.compose.response_state.text())
    assert json.loads(a.compose.response.toPlainText())["args"] == ["by keyboard"]
    QTest.keyClick(a, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert a.tabs.currentWidget() is a.events and a.events.search.hasFocus()
    QTest.keyClick(a, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert a.tabs.currentWidget() is a.chat
    QTest.keyClick(a, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier |
                   Qt.KeyboardModifier.ShiftModifier)  # disconnect
    run.until(lambda: a._state == "offline")


def test_the_log_still_ends_at_the_newest_packet_when_its_view_gets_shorter(make_window,
                                                                             qtbot):
    from app.packets import Packet

    w = make_window("http://127.0.0.1:9", "alice")
    w.packets.add_many([Packet(i, 1.0 + i, "in", "/", "EVENT", "tick", [i], None, None, 9)
                        for i in range(1, 301)])
    w.packets.flush()
    events = w.events
    w.tabs.setCurrentWidget(events)  # first shown with 300 rows in it
    bar = events.table.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    top, bottom = events.vsplit.sizes()
    events.vsplit.setSizes([top - 150, bottom + 150])  # the ack panel grows
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    last = events.table.indexAt(events.table.viewport().rect().bottomLeft()
                                - QPoint(0, 2))
    assert last.row() == events.shown_model().rowCount() - 1


def test_the_status_bar_gives_a_connection_error_once(run, make_window):
    """The error on the left and the state on the right said the same sentence (the
    right copy cut off at the window's edge); the right one now says the state."""
    w = make_window("http://127.0.0.1:9", "alice", attempts=1)
    run(w.open_session())
    run.until(lambda: "127.0.0.1" in w.error_label.text())
    error = w.error_label.text()
    run.until(lambda: w._state != "connecting")
    summary = w.summary_label.text()
    assert summary.startswith("alice  ·  ") and error not in summary
    assert len(summary) < 40 and w.summary_label.toolTip()


def test_a_long_outcome_line_does_not_push_the_response_off_the_tab(make_window, qtbot):
    """"no ack: <why>" is a long line: it made the Response column wider than the tab,
    cut off at the window's edge. It is cut with "…" now, whole in its tooltip."""
    w = make_window("http://127.0.0.1:9", "short")
    w.resize(1280, 680)
    w.tabs.setCurrentWidget(w.compose)
    c = w.compose
    why = "no ack: no acknowledgement within 5 s; not sent again, " + "because " * 30
    c.show_state(why)
    qtbot.waitUntil(lambda: c.response.width() > 0)
    # the line asks no more room than the column has (it asked for all of its text)
    assert c.response_state.minimumSizeHint().width() < c.response.width()
    edge = c.response_state.mapTo(c, c.response_state.rect().topRight()).x()
    assert edge <= c.width()
    assert c.response_state.text() == why
