"""The bridge passes the two floods on a batch at a time: the packets of a loop turn,
and the inbound messages of one store commit (a Qt signal per item held the GUI up)."""

from __future__ import annotations

from typing import Any

from app.packets import Packet
from tests.ui.conftest import until


def test_packets_of_one_turn_arrive_together_in_order_and_detach_passes_the_rest(
        run, qtbot, tmp_path):
    from app.session import ConnectionConfig, Session
    from ui.bridge import SessionBridge

    s = Session(ConnectionConfig(url="http://127.0.0.1:9", user="me"), tmp_path)
    bridge = SessionBridge()
    bridge.attach(s)
    got: list[list[Any]] = []
    bridge.packets_logged.connect(got.append)
    try:
        with qtbot.waitSignal(bridge.packets_logged, timeout=5000):
            for i in range(300):
                s.packet_log.log("in", "/", "EVENT", ["tick", i], None, 10)
            assert got == []  # nothing until the loop turns
        assert len(got) == 1 and [p.args[0] for p in got[0]] == list(range(300))

        s.packet_log.log("in", "/", "EVENT", ["last", 0], None, 10)
        bridge.detach()  # before another session is followed: passed on at once
        assert len(got) == 2 and got[1][0].event == "last"
        s.packet_log.log("in", "/", "EVENT", ["after", 0], None, 10)
        bridge.flush_packets()  # a detached bridge holds nothing of the session's
        assert len(got) == 2
    finally:
        run(s.close())


def test_inbound_messages_arrive_one_list_per_commit(run, qtbot, tmp_path):
    from app.session import ConnectionConfig, Session
    from ui.bridge import SessionBridge

    s = Session(ConnectionConfig(url="http://127.0.0.1:9", user="me"), tmp_path)
    bridge = SessionBridge()
    bridge.attach(s)
    got: list[list[Any]] = []
    bridge.events_received.connect(got.append)

    async def receive() -> None:
        for i in range(50):
            s.event("/", "tick", [i], False)
        assert got == []  # buffered: committed together a moment later
        await until(lambda: bool(got))

    try:
        run(receive())
        assert len(got) == 1 and [m.args[0] for m in got[0]] == list(range(50))
    finally:
        bridge.detach()
        run(s.close())


def test_a_paused_model_counts_what_it_holds_without_a_signal_per_packet(qapp):
    from ui.models.packets import PacketTableModel

    model = PacketTableModel(capacity=1000)
    model.set_paused(True)
    counts: list[int] = []
    model.pending_changed.connect(counts.append)

    def pkts(n: int, start: int) -> list[Packet]:
        return [Packet(start + i, 1.0, "in", "/", "EVENT", "e", [i], None, None, 1)
                for i in range(n)]

    model.add_many(pkts(1, 0))       # the 1st held
    model.add_many(pkts(99, 1))      # 100: no new count
    model.add_many(pkts(150, 100))   # 250: passes the 101st and the 201st
    model.add(pkts(1, 250)[0])       # 251
    assert counts == [1, 250]
    model.add_many(pkts(2000, 251))  # over capacity: the oldest go
    assert model.pending == 1000 and model.dropped == 1251
    model.set_paused(False)
    model.flush()
    assert model.rowCount() == 1000
