"""Every byte faithful, in the GUI: Compose keeps what was typed, binary both ways, the
server's ack requests answered (or not) from the panel. Against a real python-socketio
server started in the test (tests/app/localserver.py)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from app import binary
from tests.app.localserver import LocalServer


@pytest.fixture
def local(run) -> Iterator[LocalServer]:
    srv = run(LocalServer().start())
    yield srv
    run(srv.stop())


def open_on(run, make_window, srv: LocalServer, user: str = "alice") -> Any:
    w = make_window(srv.url, user, namespaces=["/"])
    run(w.open_session(), 20)
    run.until(lambda: w.session is not None and w.session.is_ready("/"), 20)
    return w


def test_compose_keeps_key_order_big_ints_and_unicode(run, local, make_window):
    w = open_on(run, make_window, local)
    c = w.compose
    c.event_name.setText("order")
    c.set_arguments(['{"zeta": 1, "alpha": 2, "big": 1180591620717411303424, "u": "żółw ☃"}'])
    c.args[0].format_json()  # pretty-printing does not sort either
    assert c.args[0].json.text().index('"zeta"') < c.args[0].json.text().index('"alpha"')
    c.send()
    run.until(lambda: "acked" in c.response_state.text())
    _ns, event, args = local.events[-1]
    assert event == "order"
    assert list(args[0]) == ["zeta", "alpha", "big", "u"]
    assert args[0]["big"] == 2 ** 70 and args[0]["u"] == "żółw ☃"
    assert '"zeta"' in c.sent.toPlainText() and json.loads(c.response.toPlainText()) == {
        "ok": True, "n": 1}


def test_compose_binary_from_hex_arrives_as_bytes(run, local, make_window):
    w = open_on(run, make_window, local)
    c = w.compose
    c.event_name.setText("blob")
    card = c.args[0]
    dlg = card.ask_hex()
    assert dlg.isVisible()  # open(), not exec()
    dlg.setTextValue("de ad be ef 00 41")
    dlg.accept()
    assert card.binary_info.text() == "binary, 6 bytes"
    c.add_argument('{"nested": {"$binary": "AAE="}, "k": 1}')
    assert c.args[1].binary_info.text() == "holds binary, 2 bytes"
    c.send()
    run.until(lambda: "acked" in c.response_state.text())
    _ns, event, args = local.events[-1]
    assert event == "blob"
    assert args[0] == b"\xde\xad\xbe\xef\x00\x41"
    assert args[1] == {"nested": b"\x00\x01", "k": 1}


def test_compose_binary_from_file_and_bad_base64(make_window, tmp_path):
    w = make_window("http://127.0.0.1:9", "alice")
    c = w.compose
    f = tmp_path / "b.bin"
    f.write_bytes(bytes(range(256)) + b"tail" * 11)
    card = c.args[0]
    dlg = card.ask_file()
    assert dlg.isVisible()  # open(), not exec()
    dlg.fileSelected.emit(str(f))  # what choosing the file does
    dlg.reject()
    assert card.binary_info.text() == "binary, 300 bytes"
    assert json.loads(card.json.text()) == binary.from_file(f)
    assert not card.set_file(str(tmp_path / "missing.bin"))
    assert "Cannot read" in card.json.error_label.text()
    assert card.set_file(str(f))
    assert card.binary_info.text() == "binary, 300 bytes"
    assert c.send_button.isEnabled()
    card.json.set_text('{"$binary": "not base64!"}')
    assert not c.send_button.isEnabled() and "1" in c.status.text()
    assert card.json.error_label.text().startswith("Binary:")
    assert not card.set_hex("zz")
    card.json.set_text('{"$binary": "3q2+7w=="}')
    assert c.send_button.isEnabled() and card.binary_info.text() == "binary, 4 bytes"


def test_compose_ack_timeout_is_the_messages_own(run, make_window):
    from app.outbox import OutboxState

    w = make_window("http://127.0.0.1:9", "alice", attempts=1)
    run(w.open_session())
    c = w.compose
    c.event_name.setText("later")
    c.timeout.setValue(42.5)
    c.send()  # offline: through the outbox, with this message's own ack timeout
    msgs = [m for m in w.session.outbox.list() if m.event == "later"]
    assert len(msgs) == 1 and msgs[0].state == OutboxState.QUEUED
    assert msgs[0].ack_timeout == 42.5


def sid_of(run, local: LocalServer) -> str:
    return run(local.connected.get(), 10)


def test_received_binary_shows_its_size_hexdump_and_saves(run, local, make_window, tmp_path):
    w = open_on(run, make_window, local)
    sid = sid_of(run, local)
    payload = b"\xde\xad\xbe\xefSockDesk\x00" + bytes(range(20))
    run(local.sio.emit("blob", {"name": "pic", "data": payload}, to=sid))
    events = w.events
    events.search.setText("pic")
    events.apply_filters()

    def blob_row() -> int:
        w.packets.flush()
        shown = events.shown_model()
        rows = [r for r in range(shown.rowCount()) if shown.index(r, 3).data() == "blob"]
        return rows[0] if rows else -1

    run.until(lambda: blob_row() >= 0)
    shown = events.shown_model()
    cell = shown.index(blob_row(), 4).data()
    assert "⟨binary, 33 bytes⟩" in cell and "_binary" not in cell
    events.table.selectRow(blob_row())
    view = events.binary
    assert view.isVisibleTo(events)
    assert view.size_label.text() == "args[0].data: binary, 33 bytes"
    dump = view.dump.toPlainText().splitlines()
    assert dump[0].startswith("00000000  de ad be ef 53 6f 63 6b 44 65 73 6b 00 00 01 02")
    assert dump[0].endswith("|....SockDesk....|")
    assert len(dump) == 3
    assert '"$binary"' in events.detail.toPlainText()
    dlg = view.ask_save()
    assert dlg.isVisible()  # open(), not exec()
    dlg.reject()
    out = tmp_path / "saved.bin"
    assert view.save_to(str(out))
    assert out.read_bytes() == payload

    # the Queues tab keeps and shows the same bytes
    w.tabs.setCurrentWidget(w.queues)
    tab = w.queues
    run.until(lambda: tab.queue_model.row_of("event:/:blob") >= 0)
    assert tab.select_queue("event:/:blob")
    run.until(lambda: tab.select_rows([0]) or tab.detail.binary.isVisibleTo(tab))
    assert tab.detail.binary.size_label.text() == "message.args[0].data: binary, 33 bytes"
    assert tab.detail.binary.dump.toPlainText().splitlines()[0] == dump[0]
    tab.detail.binary.save_to(str(tmp_path / "q.bin"))
    assert (tmp_path / "q.bin").read_bytes() == payload


def test_held_ack_request_answered_from_the_panel_with_two_arguments(run, local, make_window):
    import asyncio

    from app.acks import AckMode, AckRule

    w = open_on(run, make_window, local)
    sid = sid_of(run, local)
    acks = w.acks
    assert acks.isVisibleTo(w.events)  # the panel is in the Events tab
    # somebody else's server: a request no rule covers waits for the user (no made-up
    # {"ok": true}, which answered every request before)
    run.until(lambda: "hold for a manual answer" in acks.default_label.text())
    ping = asyncio.ensure_future(local.sio.call("ping", {"n": 1}, to=sid, timeout=15),
                                 loop=run.loop)
    run.until(lambda: acks.pending.rowCount() == 1)
    w.session.pending_acks[0].answer({"ok": True})
    assert run(ping) == {"ok": True}
    run.until(lambda: acks.pending.rowCount() == 0 and acks.log.count() >= 1)
    # a rule from the panel: hold "ask" for a manual answer
    acks.edit_rule("ask", "*", AckRule(AckMode.HOLD))
    assert acks.save_rule()
    assert w.session.ack_rules.rule_for("/", "ask").mode == AckMode.HOLD
    assert acks.rules.rowCount() == 1 and acks.rules.item(0, 1).text() == "ask"

    task = asyncio.ensure_future(local.sio.call("ask", {"q": "name?"}, to=sid, timeout=15),
                                 loop=run.loop)
    run.until(lambda: acks.pending.rowCount() == 1)
    assert [acks.pending.item(0, c).text() for c in range(3)] == [
        "ask", "/", '[{"q":"name?"}]']
    assert acks.pending.item(0, 3).text().endswith("s")
    assert not task.done()  # held: nothing went back yet
    acks.pending.selectRow(0)
    dlg = acks.open_answer()
    assert dlg is not None and dlg.isVisible()  # open(), not exec()
    dlg.args.set_values([])
    dlg.args.add('{"name": "zed", "z": 1, "a": 2}')
    dlg.args.add('{"$binary": "3q2+7w=="}')
    dlg.answer_button.click()
    reply = run(task)
    assert reply == ({"name": "zed", "z": 1, "a": 2}, b"\xde\xad\xbe\xef")
    assert list(reply[0]) == ["name", "z", "a"]
    run.until(lambda: acks.pending.rowCount() == 0)
    assert "→" in acks.log.item(0).text() and "binary, 4 bytes" in acks.log.item(0).text()


def test_dont_answer_leaves_the_servers_callback_to_time_out(run, local, make_window):
    import asyncio

    import socketio

    from app.acks import AckMode, AckRule, AckState

    w = open_on(run, make_window, local)
    sid = sid_of(run, local)
    acks = w.acks
    acks.edit_rule("confirm", "/", AckRule(AckMode.HOLD))
    assert acks.save_rule()
    task = asyncio.ensure_future(local.sio.call("confirm", 7, to=sid, timeout=2),
                                 loop=run.loop)
    run.until(lambda: acks.pending.rowCount() == 1)
    req = w.session.pending_acks[0]
    acks.pending.selectRow(0)
    acks.ignore_button.click()
    assert req.state == AckState.IGNORED and acks.pending.rowCount() == 0
    with pytest.raises(socketio.exceptions.TimeoutError):
        run(task)
    assert "not answered" in acks.log.item(0).text()
    # answering it now is refused, in words
    w.compose_controller.answer(req, [1])
    assert "unanswered on purpose" in acks.error.text()

    # a saved payload, answered at once; then removing the rule brings the default back
    acks.edit_rule("confirm", "/", AckRule(AckMode.ANSWER, [{"sure": True}, 2]))
    assert acks.save_rule()
    assert run(local.sio.call("confirm", 8, to=sid, timeout=5)) == ({"sure": True}, 2)
    acks.remove_rule()
    back = asyncio.ensure_future(local.sio.call("confirm", 9, to=sid, timeout=10),
                                 loop=run.loop)
    run.until(lambda: acks.pending.rowCount() == 1)  # the default again: held for you
    w.session.pending_acks[0].answer("later")
    assert run(back) == "later"
    # never answer, as a rule
    acks.edit_rule("nope", "*", AckRule(AckMode.IGNORE))
    assert acks.save_rule()
    with pytest.raises(socketio.exceptions.TimeoutError):
        run(local.sio.call("nope", 1, to=sid, timeout=1))
    assert acks.pending.rowCount() == 0


def test_answer_dialog_refuses_invalid_arguments(make_window):
    from app.acks import AckRequest

    w = make_window("http://127.0.0.1:9", "alice")
    req = AckRequest("/", "ask", [1])
    req.hold()
    w.acks.set_pending([req])
    w.acks.pending.selectRow(0)
    dlg = w.acks.open_answer()
    dlg.args.set_values([])
    dlg.args.add('{"$binary": "@@@"}')
    got = []
    dlg.answered.connect(lambda r, a: got.append(a))
    dlg.answer_button.click()
    assert not got and dlg.isVisible() and dlg.error.text().startswith("Argument 1:")
    dlg.args.editors[0].set_text("[1, ")
    dlg.answer_button.click()
    assert not got and "Argument 1" in dlg.error.text()
    dlg.args.editors[0].set_text("2")
    dlg.answer_button.click()
    assert got == [[2]] and not dlg.isVisible()


def test_disconnect_and_recovery_rows_say_what_happened(qapp):
    from PySide6.QtCore import Qt

    from app.packets import Packet
    from ui.models.packets import COL_ARGS, COL_EVENT, PacketTableModel

    model = PacketTableModel()

    def pkt(seq: int, kind: str, args: list[Any], ns: str = "/") -> Packet:
        return Packet(seq, 1000.0 + seq, "in", ns, kind, None, args, None, None, 0)

    model.add(pkt(1, "EVENT", [1]))
    model.add(pkt(2, "DISCONNECT", [{"reason": "transport close"}]))
    model.add(pkt(3, "RECOVERY", [{"recovered": True, "events": 3,
                                   "note": "recovered 3 events"}], "/chat"))
    model.add(pkt(4, "RECOVERY", [{"recovered": False, "events": 0,
                                   "note": "gap: the server could not recover the session"}]))
    model.add(pkt(5, "DISCONNECT", []))
    model.flush()

    def cell(r: int, c: int, role: Any = Qt.ItemDataRole.DisplayRole) -> Any:
        return model.index(r, c).data(role)

    assert [cell(r, COL_EVENT) for r in range(5)] == [
        "EVENT", "⏏ DISCONNECT", "⟲ RECOVERY", "⟲ RECOVERY", "⏏ DISCONNECT"]
    assert cell(1, COL_ARGS) == "disconnected: transport close"
    assert cell(2, COL_ARGS) == "recovered 3 events"
    assert cell(3, COL_ARGS).startswith("gap: ")
    assert cell(4, COL_ARGS) == "disconnected (the namespace was closed)"
    fg = Qt.ItemDataRole.ForegroundRole
    assert cell(0, COL_ARGS, fg) is None
    colours = {cell(r, COL_ARGS, fg).name() for r in (1, 2, 3)}
    assert len(colours) == 3  # a disconnect, a recovery and a gap look different
    assert cell(1, COL_EVENT, Qt.ItemDataRole.FontRole).bold()


def test_a_real_disconnect_row_has_its_reason(run, local, make_window):
    w = open_on(run, make_window, local)
    sid = sid_of(run, local)
    run(local.sio.disconnect(sid))

    def notes() -> list[str]:
        w.packets.flush()
        return [w.packets.index(r, 4).data() for r in range(w.packets.rowCount())
                if w.packets.index(r, 3).data() == "⏏ DISCONNECT"]

    run.until(lambda: bool(notes()))
    assert notes()[0] == "disconnected (the namespace was closed)"
    assert all(n.startswith("disconnected") for n in notes())


def test_compose_through_the_outbox_shows_every_ack_argument(run, local, make_window):
    @local.sio.on("pair", namespace="/")
    async def pair(sid: str, *args: Any) -> Any:
        return ({"first": args[0]}, "two", 3)

    w = open_on(run, make_window, local)
    w.on_disconnect_clicked()
    run.until(lambda: w._state == "offline")
    c = w.compose
    c.event_name.setText("pair")
    c.set_arguments(['{"b": 1, "a": 2}'])
    c.timeout.setValue(7.0)
    c.send()
    assert "queued" in c.response_state.text()
    assert c.sent.toPlainText().startswith("/ pair\n")
    w.on_connect_clicked()
    run.until(lambda: c.response_state.text().startswith("acked"), 20)
    reply = json.loads(c.response.toPlainText())
    assert reply == [{"first": {"b": 1, "a": 2}}, "two", 3]
    assert list(reply[0]["first"]) == ["b", "a"]
    msg = next(m for m in w.session.outbox.list() if m.event == "pair")
    assert msg.ack_timeout == 7.0


def test_a_held_request_is_dropped_when_the_connection_goes(run, local, make_window):
    import asyncio

    from app.acks import AckMode, AckRule, AckState

    w = open_on(run, make_window, local)
    sid = sid_of(run, local)
    acks = w.acks
    acks.edit_rule("ask", "*", AckRule(AckMode.HOLD))
    assert acks.save_rule()
    acks.edit_rule("other", "/", AckRule(AckMode.ANSWER, [{"x": 1}]))
    assert acks.save_rule()
    # choosing a rule puts it back in the form, to edit
    acks.rules.selectRow(0)
    assert acks.rule_event.text() == "ask" and acks.rule_mode.currentData() == AckMode.HOLD
    acks.rules.selectRow(1)
    assert acks.rule_event.text() == "other" and acks.rule_ns.currentText() == "/"
    assert [e.value() for e in acks.rule_args.editors] == [{"x": 1}]

    task = asyncio.ensure_future(local.sio.call("ask", 1, to=sid, timeout=3), loop=run.loop)
    run.until(lambda: acks.pending.rowCount() == 1)
    req = w.session.pending_acks[0]
    run(local.sio.disconnect(sid))
    run.until(lambda: acks.pending.rowCount() == 0)
    assert req.state == AckState.DROPPED
    assert any("dropped" in acks.log.item(i).text() for i in range(acks.log.count()))
    w.compose_controller.answer(req, [1])
    assert "no longer waits" in acks.error.text()
    with contextlib.suppress(Exception):
        run(task)


def test_the_last_answer_leaves_the_ack_panel_where_it_was(make_window, qtbot):
    """Answering the last held request disabled the focused Answer… button; Qt handed the
    focus on, and the scroll area the panel sits in scrolled down to the rule form."""
    from PySide6.QtWidgets import QScrollArea

    from app.acks import AckRequest

    w = make_window("http://127.0.0.1:9", "alice")
    w.resize(1280, 680)
    w.tabs.setCurrentWidget(w.events)
    scroll = w.acks.parentWidget().parentWidget()  # the viewport's scroll area
    assert isinstance(scroll, QScrollArea)
    bar = scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)  # the panel is taller than its room
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    req = AckRequest("/", "confirm", [{"q": "ship it?"}])
    req.hold()
    w.acks.set_pending([req])
    w.acks.answer_button.setFocus()
    qtbot.waitUntil(w.acks.answer_button.hasFocus)
    assert bar.value() == 0
    w.acks.set_pending([])  # answered: none waits any more
    assert w.acks.summary.text() == "none waiting"
    assert bar.value() == 0 and w.acks.pending.hasFocus()
