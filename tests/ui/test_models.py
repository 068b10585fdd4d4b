"""Qt models: qtmodeltester, batching, bounds, filtering, plain text."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, Qt

from ui.models.chat import (
    KIND_DAY,
    KIND_MESSAGE,
    ChatMessageModel,
    OwnRole,
    RecoveredRole,
    StateRole,
)
from ui.models.packets import (
    COL_LATENCY,
    FLOOD_INTERVAL_MS,
    FLOOD_ROWS,
    PacketFilterModel,
    PacketTableModel,
)
from ui.models.sidebar import (
    OnlineRole,
    ReadyRole,
    SidebarModel,
    UnreadRole,
)


def packet(seq: int, direction: str = "in", ns: str = "/chat", event: str | None = "message",
           kind: str = "EVENT", args=None, ack_id=None, latency=None) -> dict:
    return {"seq": seq, "ts": time.time(), "direction": direction, "namespace": ns,
            "kind": kind, "event": event, "args": args if args is not None else [{"n": seq}],
            "ack_id": ack_id, "latency_ms": latency, "size": 40 + seq}


def test_packet_model_passes_modeltester(qtmodeltester):
    model = PacketTableModel(capacity=1000)
    for i in range(50):
        model.add(packet(i, "out" if i % 2 else "in", event=f"e{i % 3}"))
    model.flush()
    assert model.rowCount() == 50
    qtmodeltester.check(model)
    proxy = PacketFilterModel()
    proxy.setSourceModel(model)
    proxy.set_filters(event="e1")
    qtmodeltester.check(proxy)
    assert proxy.rowCount() == len([i for i in range(50) if i % 3 == 1])


def test_packet_inserts_are_batched_per_tick(qtbot):
    model = PacketTableModel(capacity=1000, interval_ms=20)
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserts.append((first, last)))
    for i in range(300):
        model.add(packet(i))
    assert model.rowCount() == 0  # nothing until the timer ticks
    qtbot.waitUntil(lambda: model.rowCount() == 300, timeout=2000)
    assert inserts == [(0, 299)]


def test_a_flood_is_inserted_less_often_then_the_normal_pace_returns(qtbot):
    model = PacketTableModel(capacity=10_000, interval_ms=20)
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserts.append((first, last)))
    for i in range(FLOOD_ROWS):
        model.add(packet(i))
    qtbot.waitUntil(lambda: model.rowCount() == FLOOD_ROWS, timeout=2000)
    assert model._timer.interval() == FLOOD_INTERVAL_MS      # a flood: fewer inserts
    for i in range(FLOOD_ROWS, FLOOD_ROWS + 5):
        model.add(packet(i))
    qtbot.waitUntil(lambda: model.rowCount() == FLOOD_ROWS + 5, timeout=2000)
    assert model._timer.interval() == 20                     # a trickle: the usual pace
    assert inserts == [(0, FLOOD_ROWS - 1), (FLOOD_ROWS, FLOOD_ROWS + 4)]


def test_packet_model_is_bounded_and_fast_at_100k(qtbot):
    model = PacketTableModel(capacity=100_000)
    proxy = PacketFilterModel()
    proxy.setSourceModel(model)
    started = time.perf_counter()
    for i in range(120_000):
        model.add(packet(i, "out" if i % 2 else "in", event="tick" if i % 10 else "boom"))
    model.flush()
    elapsed = time.perf_counter() - started
    assert model.rowCount() <= 100_000
    assert model.packet(model.rowCount() - 1)["seq"] == 119_999  # newest kept
    assert elapsed < 10, elapsed
    started = time.perf_counter()
    for r in range(0, model.rowCount(), 97):
        model.data(model.index(r, 4))
    assert time.perf_counter() - started < 0.5
    proxy.set_filters(event="boom")
    assert proxy.rowCount() == len([r for r in range(model.rowCount())
                                    if model.packet(r)["event"] == "boom"])


def test_packet_filter_by_text_namespace_direction():
    model = PacketTableModel()
    model.add(packet(1, "out", "/", "echo", args=[{"hello": "world"}], ack_id=1))
    model.add(packet(2, "in", "/", None, kind="ACK", args=[{"ok": True}], ack_id=1,
                     latency=3.5))
    model.add(packet(3, "in", "/chat", "message", args=[{"text": "Needle here"}]))
    model.add(packet(4, "out", "/chat", "typing", args=[{"room": "general"}]))
    model.flush()
    proxy = PacketFilterModel()
    proxy.setSourceModel(model)

    def events() -> list:
        return [proxy.index(r, 3).data() for r in range(proxy.rowCount())]

    proxy.set_filters(text="needle")
    assert events() == ["message"]
    proxy.set_filters(text="", namespace="/")
    assert events() == ["echo", "ACK"]
    proxy.set_filters(namespace="", direction="out")
    assert events() == ["echo", "typing"]
    proxy.set_filters(direction="", event="typing")
    assert events() == ["typing"]
    # the ack's latency shows on the emit's row too
    assert model.index(0, COL_LATENCY).data() == "3.5 ms"
    # a long wait fits the column in seconds, then minutes ("18930.4 ms" was cut)
    model.add(packet(5, "in", "/", None, kind="ACK", ack_id=2, latency=18930.4))
    model.add(packet(6, "in", "/", None, kind="ACK", ack_id=3, latency=42 * 60_000))
    model.flush()
    assert [model.index(r, COL_LATENCY).data() for r in (4, 5)] == ["18.9 s", "42 min"]


def test_packet_pause_holds_rows_until_resume(qtbot):
    model = PacketTableModel(interval_ms=5)
    model.set_paused(True)
    for i in range(10):
        model.add(packet(i))
    model.flush()
    assert model.rowCount() == 0 and model.pending == 10
    model.set_paused(False)
    assert model.rowCount() == 10
    model.clear()
    assert model.rowCount() == 0


def test_chat_model_passes_modeltester_and_updates_state(qtmodeltester):
    model = ChatMessageModel()
    now = time.time()
    model.add_message(key="a", user="bob", text="old", ts=now - 86400 * 2)
    model.add_message(key="b", user="alice", text="mine", ts=now, own=True, state="queued")
    model.add_message(key="c", user="carol", text="back", ts=now + 1, recovered=True)
    model.flush()
    qtmodeltester.check(model)
    kinds = [model.item_at(r).kind for r in range(model.rowCount())]
    assert kinds == [KIND_DAY, KIND_MESSAGE, KIND_DAY, KIND_MESSAGE, KIND_MESSAGE]
    row_b = next(r for r in range(model.rowCount()) if model.item_at(r).key == "b")
    changed = []
    model.dataChanged.connect(lambda a, b, roles: changed.append(a.row()))
    assert model.set_state("b", "acked")
    assert model.index(row_b, 0).data(StateRole) == "acked"
    assert model.index(row_b, 0).data(OwnRole) is True
    assert changed == [row_b]
    # the same id again is an update, not a second row
    model.add_message(key="b", user="alice", text="mine", own=True, state="acked")
    model.flush()
    assert len(model.messages()) == 3
    assert model.index(model.rowCount() - 1, 0).data(RecoveredRole) is True
    qtmodeltester.check(model)


def test_chat_model_keeps_text_plain_and_escapes_controls():
    model = ChatMessageModel()
    model.add_message(key="x", user="mallory", text="<b>x</b><img src=y>\x07bell\nline2")
    model.flush()
    row = model.rowCount() - 1
    shown = model.index(row, 0).data(Qt.ItemDataRole.DisplayRole)
    assert shown == "<b>x</b><img src=y>\\x07bell\nline2"


def test_chat_model_merges_late_history_in_order():
    model = ChatMessageModel()
    now = time.time()
    model.add_message(key="live", user="bob", text="live", ts=now)
    model.flush()
    model.add_message(key="h1", user="bob", text="h1", ts=now - 30)
    model.add_message(key="h2", user="bob", text="h2", ts=now - 20)
    model.flush()
    assert [i.text for i in model.messages()] == ["h1", "h2", "live"]


def test_sidebar_model_passes_modeltester(qtmodeltester):
    model = SidebarModel()
    qtmodeltester.check(model)
    model.set_namespaces(["/chat", "/queue", "/"])
    model.add("room", "random")
    model.add("room", "general")
    model.add("dm", "bob")
    model.set_ready("namespace", "/chat", True)
    model.bump_unread("room", "random", 2)
    qtmodeltester.check(model)
    rooms = model.index(1, 0)
    assert [model.index(r, 0, rooms).data() for r in range(model.rowCount(rooms))] == [
        "general", "random"]
    assert model.index_of("room", "random").data(UnreadRole) == 2
    assert rooms.data(UnreadRole) == 2
    assert model.index_of("namespace", "/chat").data(ReadyRole) is True
    model.remove("room", "general")
    model.set_namespaces(["/chat"])
    qtmodeltester.check(model)
    assert model.keys("room") == ["random"] and model.keys("namespace") == ["/chat"]
    assert not model.parent(model.index(0, 0)).isValid()
    assert model.index(0, 0, QModelIndex()).isValid()


def test_member_model_passes_modeltester(qtmodeltester):
    from ui.models.sidebar import MemberListModel

    model = MemberListModel()
    model.me = "alice"
    model.set_members(["bob", "alice"], ["carol", "bob"])
    qtmodeltester.check(model)
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == [
        "alice", "bob", "carol"]
    assert [model.index(r, 0).data(OnlineRole) for r in range(3)] == [True, True, False]


def test_bridge_follows_one_session_at_a_time(tmp_path, qtbot):
    from app.config import ConnectionConfig
    from app.session import ConnectionState, Session, StateChange
    from ui.bridge import SessionBridge

    bridge = SessionBridge()
    first = Session(ConnectionConfig(url="http://127.0.0.1:9", user="a"), tmp_path / "one")
    second = Session(ConnectionConfig(url="http://127.0.0.1:9", user="b"), tmp_path / "two")
    try:
        states: list[tuple[str, str]] = []
        typing: list[tuple[str, str]] = []
        bridge.state_changed.connect(lambda s, r: states.append((s, r)))
        bridge.typing.connect(lambda room, user: typing.append((room, user)))
        bridge.attach(first)
        first.state_changed.emit(StateChange(ConnectionState.CONNECTING, "trying", 0.0))
        first.chat.typing_seen.emit("general", "bob")
        assert states == [("connecting", "trying")] and typing == [("general", "bob")]
        bridge.attach(second)  # the first one is let go
        first.state_changed.emit(StateChange(ConnectionState.CONNECTED, "old", 0.0))
        second.state_changed.emit(StateChange(ConnectionState.CONNECTED, "new", 0.0))
        assert states[-1] == ("connected", "new") and len(states) == 2
        errors: list[str] = []
        bridge.error.connect(errors.append)
        second.errors.emit("Nothing listens on 127.0.0.1:9.")
        assert errors == ["Nothing listens on 127.0.0.1:9."]
        bridge.detach()
        second.errors.emit("ignored")
        assert len(errors) == 1
    finally:
        first.store.close()
        second.store.close()


def test_filter_follows_inserts_and_trims(qtmodeltester):
    model = PacketTableModel(capacity=100)
    proxy = PacketFilterModel()
    proxy.setSourceModel(model)
    proxy.set_filters(event="boom", direction="in")
    qtmodeltester.check(proxy)  # keeps checking every change below
    seq = 0
    for _batch in range(12):
        for _ in range(37):
            model.add(packet(seq, "in" if seq % 3 else "out", event="boom" if seq % 2 else "x"))
            seq += 1
        model.flush()
        expected = [r for r in range(model.rowCount())
                    if model.packet(r)["event"] == "boom" and model.packet(r)["direction"] == "in"]
        assert [proxy.mapToSource(proxy.index(i, 0)).row() for i in range(proxy.rowCount())] \
            == expected
        assert all(proxy.index(i, 3).data() == "boom" for i in range(proxy.rowCount()))
    assert model.rowCount() <= 100
    src = model.index(expected[-1], 0)
    assert proxy.mapFromSource(src).row() == proxy.rowCount() - 1
    model.clear()
    assert proxy.rowCount() == 0
