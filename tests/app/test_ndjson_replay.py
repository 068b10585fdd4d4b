"""NDJSON round trip, line validation, replay retargeting and spacing, and small pieces
(signals, jsonmod, config, paths, watermark) that need no server."""

from __future__ import annotations

import io
import json
import logging

import pytest
import socketio

from app import jsonmod
from app.config import ConnectionConfig, ReconnectPolicy
from app.ndjson import export_ndjson, import_ndjson, read_ndjson
from app.paths import default_data_dir
from app.recovery import Watermark
from app.replay import Replayer, ReplayItem, retarget
from app.session import Session
from app.signals import Signal
from app.store import MessageStore
from tests.app.helpers import msg


def test_export_import_round_trip(tmp_path):
    a = MessageStore.open(tmp_path / "a")
    a.insert([msg("room:/chat:r", f"t{i}", i) for i in range(1, 6)])
    a.insert([msg("event:/:ping", "p", event="ping", ns="/")])
    buf = io.StringIO()
    assert export_ndjson(a, buf) == 6
    lines = buf.getvalue().splitlines()
    assert all(json.loads(x)["queue"] for x in lines)
    b = MessageStore.open(tmp_path / "b")
    rep = import_ndjson(b, io.StringIO(buf.getvalue()))
    assert rep.ok and rep.imported == 6
    assert [m.to_record() for m in b.iter_queue()] == [m.to_record() for m in a.iter_queue()]
    rep2 = import_ndjson(b, io.StringIO(buf.getvalue()))
    assert rep2.imported == 1 and rep2.duplicates == 5   # room offsets dedupe; events don't
    a.close()
    b.close()


def test_import_never_makes_queued_outbox_rows(tmp_path):
    s = MessageStore.open(tmp_path)
    line = json.dumps({"queue": "outbox:/chat", "direction": "out", "namespace": "/chat",
                       "event": "message", "args": [{"room": "r", "text": "x"}],
                       "state": "queued"})
    assert import_ndjson(s, io.StringIO(line)).imported == 1
    assert s.queue_info("outbox:/chat").queued == 0
    s.close()


def test_read_ndjson_line_numbers():
    good, bad = read_ndjson(io.StringIO('{"event":"a"}\n[1]\n\n{"event":"b","ts":"x"}\n'))
    assert [m.event for m in good] == ["a"]
    assert bad == [(2, "expected a JSON object, got list"),
                   (4, '"ts" must be a number (seconds since the epoch)')]


def test_retarget_strips_ids_and_server_fields():
    rec = ReplayItem("/chat", "message", [{"room": "a", "text": "hi", "id": "old",
                                           "user": "bob", "offset": 3, "ts": "x"}])
    out = retarget(rec, room="b")
    assert out.args == [{"room": "b", "text": "hi"}]
    other = retarget(ReplayItem("/chat", "message", [{"room": "a", "text": "t"}]),
                     namespace="/sandbox", event="shout")
    assert (other.namespace, other.event, other.args) == ("/sandbox", "shout",
                                                          [{"room": "a", "text": "t"}])
    plain = retarget(ReplayItem("/", "e", [1, "two"]), event="f")
    assert plain.args == [1, "two"] and plain.event == "f"


async def test_replay_enqueues_with_new_ids_and_keeps_spacing(tmp_path, monkeypatch):
    s = Session(ConnectionConfig(url="http://127.0.0.1:9", user="me",
                                 namespaces=["/chat"]), tmp_path)
    try:
        items = [ReplayItem("/chat", "message", [{"room": "r", "text": f"x{i}",
                                                  "id": f"old{i}"}], ts=100.0 + i)
                 for i in range(3)]
        msgs = await Replayer(s).replay(items, room="other")
        assert [m.args[0]["room"] for m in msgs] == ["other"] * 3
        assert all("id" not in m.args[0] and not m.id.startswith("old") for m in msgs)
        assert "other" in s.chat.rooms       # it will be joined before sending
        slept: list[float] = []

        async def fake_sleep(d: float) -> None:
            slept.append(d)

        monkeypatch.setattr("app.replay.asyncio.sleep", fake_sleep)
        await Replayer(s).replay(items, speed=4.0)
        # a schedule from the first item (start + 0.25, start + 0.5): no time passed
        # here, so the second wait is the whole 0.5 s; waits never add up overshoots
        assert slept == pytest.approx([0.25, 0.5], abs=0.05)
        assert s.outbox.depth("/chat") == 6
        skipped = await Replayer(s).replay(items, edit=lambda it: None)
        assert skipped == []
    finally:
        await s.close()


def test_signal_isolates_failing_observers(caplog):
    sig: Signal[int] = Signal("t")
    got: list[int] = []

    def bad(_: int) -> None:
        raise RuntimeError("boom")

    sig.connect(bad)
    sig.connect(got.append)
    with caplog.at_level(logging.ERROR):
        sig.emit(1)
    assert got == [1] and "boom" in caplog.text
    sig.disconnect(bad)
    sig.disconnect(bad)
    assert len(sig) == 1


def test_jsonmod_is_a_socketio_json_module():
    assert jsonmod.dumps({"a": [1, "é"]}, separators=(",", ":")) == '{"a":[1,"é"]}'
    assert jsonmod.loads(b'{"a":1}') == {"a": 1}
    assert jsonmod.dumps({"b": b"\x00\x01"}) == '{"b":{"$binary":"AAE="}}'
    with pytest.raises(ValueError):
        jsonmod.loads("{nope")
    pkt = socketio.packet.Packet(socketio.packet.EVENT, data=["e", {"x": 1}])
    assert socketio.packet.Packet(encoded_packet=pkt.encode()).data == ["e", {"x": 1}]


def test_config_helpers():
    cfg = ConnectionConfig(url="http://h:1/?a=1", user="u", token="secret",
                           namespaces=["chat", "/chat", "/"], query={"b": "2"},
                           auth={"x": 1})
    assert cfg.full_url() == "http://h:1/?a=1&b=2"
    assert cfg.normalized_namespaces() == ["/chat", "/"]
    assert cfg.auth_payload() == {"x": 1, "user": "u", "token": "secret"}
    assert "secret" not in repr(cfg)
    p = ReconnectPolicy(delay=0.5, delay_max=3)
    assert [p.delay_for(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3]


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SOCKDESK_DATA_DIR", str(tmp_path / "x"))
    assert default_data_dir() == tmp_path / "x"
    monkeypatch.delenv("SOCKDESK_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "sockdesk"


def test_watermark_is_contiguous():
    w = Watermark(5)
    assert not w.see(3)
    assert not w.see(7)            # 6 missing: stay at 5
    assert w.last == 5
    assert w.see(6) and w.last == 7
    w.see(9)
    assert w.complete_to(8) and w.last == 9
