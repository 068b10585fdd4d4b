"""Every byte faithful, against the official Node `socket.io` server (issue 14).

Binary both ways (a Buffer nested in an object), key order, integers beyond 64 bits and
Unicode through emit -> wire -> store -> export -> import -> replay; the msgpack parser;
what a failed handshake says (Socket.IO v2, the wrong parser, a 404 path); the server's
ack requests held and answered by hand, answered with binary, or left to time out.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from app.acks import AckError, AckMode, AckRequest, AckRule, AckState
from app.binary import binary_size, to_wire
from app.config import ConnectionConfig, ReconnectPolicy
from app.ndjson import export_ndjson, import_ndjson
from app.outbox import OutboxState
from app.replay import Replayer
from app.session import ConnectionState, Session
from tests.app.helpers import until
from tests.interop.helpers import node_server
from tests.support import node_available

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not node_available(),
                       reason="node and npm are not installed; the interop tests need them"),
]

#: what server_wire.js sends as "blob": every byte value, then "end" and an é in UTF-8
BLOB = bytes(range(256)) + "endé".encode()
BIG = 2**70


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
async def sessions(tmp_path: Path):
    made: list[Session] = []

    def make(url: str, name: str = "c", **kw: Any) -> Session:
        kw.setdefault("namespaces", ["/"])
        kw.setdefault("user", "dev")
        kw.setdefault("reconnect", ReconnectPolicy(delay=0.1, delay_max=0.5))
        s = Session(ConnectionConfig(url=url, **kw), tmp_path / f"{name}{len(made)}")
        made.append(s)
        return s

    yield make
    for s in made:
        await s.close()


async def test_binary_nested_both_ways_and_through_export_import_replay(sessions, tmp_path):
    async with node_server("server_wire.js") as srv:
        s = sessions(srv.url)
        assert await s.connect()
        blob2 = bytes([0, 255, 10, 13, 0x80]) * 3
        m = s.emit("/", "upload", {"file": {"$binary": b64(blob2)}, "n": 1},
                   [{"$binary": ""}, "x"], b"\x01\x02")
        # stored in the notation, bytes given directly included
        assert s.outbox.get(m.id).args[2] == {"$binary": "AQI="}
        ev = (await srv.wait("event", lambda x: x["event"] == "upload"))[0]
        assert ev["buffers"] == ["0.file", "1.0", "2"]          # Buffer.isBuffer each
        assert ev["args"] == [{"file": {"$binary": b64(blob2)}, "n": 1},
                              [{"$binary": ""}, "x"], {"$binary": "AQI="}]
        assert ev["keys"] == ["file", "n"]
        assert await s.wait_flushed(timeout=10)
        acked = s.outbox.get(m.id)
        assert acked.state == OutboxState.ACKED and acked.reply_args[0]["ok"] is True
        # the ack echoed our Buffers back: the reply keeps them as the notation
        assert acked.reply_args[0]["args"][0]["file"] == {"$binary": b64(blob2)}
        sent = next(p for p in s.packet_log if p.direction == "out" and p.event == "upload")
        assert sent.kind == "BINARY_EVENT" and sent.size > len(blob2) + 2

        # a Buffer from the server: stored in the notation, with its true size
        s.emit("/", "send-me-binary")
        sent_blob = (await srv.wait("sent-blob"))[0]["blob"]
        assert sent_blob == b64(BLOB)

        def blobs() -> list[Any]:
            return s.store.page("event:/:blob")
        rows = await until(blobs, what="the blob stored")
        assert rows[0].args == [{"file": {"$binary": b64(BLOB)}, "n": 1}]
        assert binary_size(rows[0].args) == len(BLOB)
        assert to_wire(rows[0].args)[0]["file"] == BLOB
        got = next(p for p in s.packet_log if p.direction == "in" and p.event == "blob")
        assert got.kind == "BINARY_EVENT" and got.size >= len(BLOB)
        assert got.args == [{"file": {"$binary": b64(BLOB)}, "n": 1}]

        # exported, imported elsewhere, replayed: the server checks the bytes
        out = tmp_path / "blob.ndjson"
        assert export_ndjson(s.store, out, queue="event:/:blob") == 1
        other = sessions(srv.url, name="other")
        report = import_ndjson(other.store, out)
        assert report.imported == 1 and report.ok
        again = other.store.page("event:/:blob")
        assert again[0].args == rows[0].args
        msgs = await Replayer(other).replay(again, event="check-bytes")
        assert await other.connect()
        assert await other.wait_flushed(timeout=10)
        assert other.outbox.get(msgs[0].id).state == OutboxState.ACKED
        check = (await srv.wait("bytes-check"))[0]
        assert check == {"type": "bytes-check", "isBuffer": True, "same": True}


async def test_key_order_big_integers_and_unicode_survive_wire_and_replay(sessions,
                                                                          tmp_path):
    text = "héllo ✓ 😀 \u2028"
    async with node_server("server_wire.js") as srv:
        s = sessions(srv.url)
        assert await s.connect()
        m = s.emit("/", "order", {"zeta": 1, "alpha": 2}, BIG, text)
        ev = (await srv.wait("event", lambda x: x["event"] == "order"))[0]
        assert ev["keys"] == ["zeta", "alpha"] and ev["args"][2] == text

        def raw_orders() -> list[str]:
            return [x["data"] for x in srv.of("raw") if '"order"' in x["data"]]
        raw = (await until(raw_orders))[0]
        # the integer as written (Node's JSON.parse would round it; the text shows ours)
        assert '"order",{"zeta":1,"alpha":2},1180591620717411303424,' in raw
        assert await s.wait_flushed(timeout=10)
        assert s.outbox.get(m.id).args == [{"zeta": 1, "alpha": 2}, BIG, text]

        out = tmp_path / "out.ndjson"
        assert export_ndjson(s.store, out, queue="outbox:/") == 1
        line = out.read_text(encoding="utf-8")
        assert '"args":[{"zeta":1,"alpha":2},1180591620717411303424,"héllo ✓ 😀' in line
        rec = json.loads(line)
        assert rec["state"] == "acked" and rec["reply"][0]["ok"] is True
        other = sessions(srv.url, name="replayer")
        assert import_ndjson(other.store, out).imported == 1
        stored = other.store.page("outbox:/")
        assert stored[0].args == [{"zeta": 1, "alpha": 2}, BIG, text]
        assert list(stored[0].args[0]) == ["zeta", "alpha"]
        assert stored[0].reply == rec["reply"] and stored[0].state == "acked"
        await Replayer(other).replay(stored)
        assert await other.connect()
        assert await other.wait_flushed(timeout=10)
        raws = await until(lambda: len(raw_orders()) >= 2 and raw_orders())
        assert raws[1].split("[", 1)[1] == raws[0].split("[", 1)[1]  # same bytes, new id
        second = (await srv.wait("event", lambda x: x["event"] == "order", n=2))[1]
        assert second["keys"] == ["zeta", "alpha"] and second["args"][2] == text


async def test_msgpack_server_connect_emit_ack_receive(sessions):
    async with node_server("server_wire.js", "--parser", "msgpack") as srv:
        # the default parser: the error says what the server speaks
        wrong = sessions(srv.url, name="json")
        assert await wrong.connect() is False
        assert wrong.state == ConnectionState.OFFLINE   # retrying cannot help
        assert wrong.last_error == (
            f"Cannot connect to {srv.url}: the server did not understand the packets: "
            "does it use the msgpack parser? (use --parser msgpack).")
        s = sessions(srv.url, parser="msgpack")
        assert await s.connect()
        m = s.emit("/", "hello", {"zeta": 1, "alpha": [1, 2]}, {"f": {"$binary": "3q2+7w=="}})
        assert await s.wait_flushed(timeout=10)
        acked = s.outbox.get(m.id)
        assert acked.state == OutboxState.ACKED
        assert acked.reply_args == [{"ok": True, "event": "hello",
                                     "args": [{"zeta": 1, "alpha": [1, 2]},
                                              {"f": {"$binary": "3q2+7w=="}}]}]
        ev = (await srv.wait("event", lambda x: x["event"] == "hello"))[0]
        assert ev["keys"] == ["zeta", "alpha"] and ev["buffers"] == ["1.f"]
        assert await s.call("/", "direct", 5, timeout=5) == {"ok": True, "event": "direct",
                                                              "args": [5]}
        s.emit("/", "send-me-binary")
        rows = await until(lambda: s.store.page("event:/:blob"), what="the blob")
        assert rows[0].args == [{"file": {"$binary": b64(BLOB)}, "n": 1}]
        # msgpack has no integers beyond 64 bits: that message fails alone, clearly
        big = s.emit("/", "big", BIG)
        after = s.emit("/", "after", 1)
        assert await s.wait_flushed(timeout=10)
        failed = s.outbox.get(big.id)
        assert failed.state == OutboxState.FAILED
        assert "the msgpack parser cannot write this payload" in failed.error
        assert s.outbox.get(after.id).state == OutboxState.ACKED


async def test_a_json_server_told_it_is_msgpack_says_so(sessions):
    async with node_server("server_wire.js") as srv:
        s = sessions(srv.url, parser="msgpack")
        assert await s.connect() is False
        assert s.state == ConnectionState.OFFLINE
        assert s.last_error == (
            f"Cannot connect to {srv.url}: the server did not understand the packets: it "
            "uses the default JSON parser, not msgpack (drop --parser msgpack).")


async def test_a_socketio_v2_server_is_named(sessions):
    async with node_server("server_v2.js") as srv:
        s = sessions(srv.url)
        assert await s.connect() is False
        assert s.last_error == (
            f"Cannot connect to {srv.url}: this server speaks Socket.IO v2 (Engine.IO 3), "
            "which SockDesk does not support; it needs a Socket.IO v3 or v4 server.")
        assert s.state == ConnectionState.OFFLINE


async def test_server_ack_request_held_then_answered_from_another_task(sessions, tmp_path):
    async with node_server("server_wire.js") as srv:
        s = sessions(srv.url)
        s.ack_rules.set("question", AckRule(AckMode.HOLD))
        changes: list[tuple[str, AckState]] = []
        s.ack_changed.connect(lambda r: changes.append((r.event, r.state)))
        news: list[Any] = []
        s.on("/", "news", lambda *a: news.append(a))
        assert await s.connect()
        s.emit("/", "ask-me", {"ms": 5000})
        req: AckRequest = (await until(lambda: s.pending_acks, what="a held request"))[0]
        assert (req.event, req.args, req.state) == ("question", [{"q": 1}, "second"],
                                                    AckState.HELD)
        # held, it holds up nothing: other events come in and are handled meanwhile
        s.emit("/", "broadcast-me", "while held")
        await until(lambda: news, what="an event while the request is held")
        assert not srv.of("answer")

        async def by_hand() -> None:
            req.answer("yes", {"blob": {"$binary": b64(b"\x00\xffhi")}, "n": 2})
        await asyncio.create_task(by_hand())
        answer = (await srv.wait("answer"))[0]
        assert answer["err"] is None
        assert answer["answer"] == ["yes", {"blob": {"$binary": b64(b"\x00\xffhi")}, "n": 2}]
        assert answer["buffers"] == ["1.blob"]
        assert s.pending_acks == [] and req.state == AckState.ANSWERED
        assert await req.wait() == ["yes", {"blob": {"$binary": b64(b"\x00\xffhi")}, "n": 2}]
        assert changes == [("question", AckState.HELD), ("question", AckState.ANSWERED)]
        with pytest.raises(AckError, match="answered already"):
            req.answer("again")
        ours = [p for p in s.packet_log if p.direction == "out" and p.ack_id == req.ack_id
                and p.kind == "BINARY_ACK"]
        assert ours and ours[0].args[1]["blob"] == {"$binary": b64(b"\x00\xffhi")}

        # the rule is the workspace's: a new session on the same folder has it
        again = Session(ConnectionConfig(url=srv.url, user="dev"), s.data_dir)
        try:
            assert again.ack_rules.rule_for("/", "question").mode == AckMode.HOLD
            assert again.ack_rules.rule_for("/", "other").args == [{"ok": True}]
        finally:
            await again.close()


async def test_server_ack_request_answered_at_once_with_a_rule_or_never(sessions):
    async with node_server("server_wire.js") as srv:
        s = sessions(srv.url)
        s.ack_rules.set("question", AckRule(AckMode.ANSWER, [1, {"$binary": "AAE="}]),
                        namespace="/")
        assert await s.connect()
        s.emit("/", "ask-me", {"ms": 5000})
        first = (await srv.wait("answer"))[0]
        assert first["answer"] == [1, {"$binary": "AAE="}] and first["buffers"] == ["1"]

        s.ack_rules.set("question", AckRule(AckMode.IGNORE), namespace="/")
        seen: list[AckRequest] = []
        s.ack_requested.connect(seen.append)
        s.emit("/", "ask-me", {"ms": 1000})
        timed_out = (await srv.wait("answer", n=2))[1]
        assert timed_out["err"] == "operation has timed out" and timed_out["answer"] == []
        assert seen[0].state == AckState.IGNORED and s.pending_acks == []
        with pytest.raises(AckError, match="unanswered on purpose"):
            seen[0].answer("late")


async def test_answering_after_the_connection_dropped_is_a_clear_error(sessions):
    async with node_server("server_wire.js") as srv:
        s = sessions(srv.url)
        s.ack_requested.connect(lambda req: req.hold())   # an observer holds it
        assert await s.connect()
        s.emit("/", "ask-me", {"ms": 5000})
        req = (await until(lambda: s.pending_acks))[0]
        await s.abort_transport()
        await until(lambda: req.state == AckState.DROPPED, what="the request dropped")
        assert s.pending_acks == []
        with pytest.raises(AckError, match="ended before it was answered, and the server "
                                           "no longer waits for this answer"):
            req.answer("too late")
        assert await req.wait() is None


async def test_an_ack_timeout_per_message_is_kept_with_it(sessions, tmp_path):
    async with node_server("server_wire.js") as srv:
        s = sessions(srv.url, ack_timeout=30)
        assert await s.connect()
        slow = s.emit("/", "no-ack-please", 1, ack_timeout=0.3)
        fast = s.emit("/", "fine", 2)
        assert await s.wait_flushed(timeout=10)
        got = s.outbox.get(slow.id)
        assert got.state == OutboxState.NO_ACK and "within 0.3 s" in got.error
        assert got.ack_timeout == 0.3 and got.reply_args is None
        assert s.outbox.get(fast.id).ack_timeout is None
        out = tmp_path / "o.ndjson"
        export_ndjson(s.store, out, queue="outbox:/")
        recs = [json.loads(x) for x in out.read_text().splitlines()]
        assert recs[0]["ack_timeout"] == 0.3 and "reply" not in recs[0]
        assert recs[1]["reply"] == [{"ok": True, "event": "fine", "args": [2]}]
        assert "ack_timeout" not in recs[1]


async def test_a_websocket_only_server_says_so_when_polling_is_tried(sessions):
    async with node_server("server_wire.js", "--transports", "websocket") as srv:
        # the default: long-polling first, then the upgrade
        s = sessions(srv.url, name="both", reconnect=ReconnectPolicy(enabled=False))
        assert await s.connect() is False
        assert s.last_error == (
            f"Cannot connect to {srv.url}: the server does not accept long-polling (it "
            'answered "Transport unknown"); connect over websocket only (--transport '
            "websocket).")
        ws_only = sessions(srv.url, name="ws", transports=["websocket"])
        assert await ws_only.connect()
        assert await ws_only.call("/", "direct", 1, timeout=5) == {
            "ok": True, "event": "direct", "args": [1]}
