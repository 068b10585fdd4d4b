"""Ack requests and rules (app/acks.py), the ack columns of older databases, NDJSON's
`reply` / `ack_timeout` / binary checks, and the CLI's outcome lines: the pieces of
issue 14 that need no server (the interop tests run them against Node)."""

from __future__ import annotations

import io
import json
import sqlite3

import pytest

from app.acks import AckMode, AckRequest, AckRule, AckRules, AckState
from app.binary import BinaryError
from app.cli.commands import outcome
from app.config import ConnectionConfig
from app.errors import AckError
from app.ndjson import import_ndjson, read_ndjson
from app.outbox import Outbox, OutboxMessage, OutboxState
from app.session import Session
from app.store import MessageStore


def test_a_request_answered_by_default_or_by_an_observer():
    req = AckRequest("/", "q", [1])
    assert req.resolve() == [{"ok": True}] and req.state == AckState.ANSWERED
    old_style = AckRequest("/", "q", [])
    old_style.reply = {"ok": False}          # what observers did before answer()
    assert old_style.ack_args() == [{"ok": False}] and old_style.resolve() == [{"ok": False}]
    none = AckRequest("/", "q", [])
    none.reply = None
    assert none.resolve() == []              # an ACK without arguments
    several = AckRequest("/", "q", [])
    several.answer("a", {"$binary": "AAE="})
    assert several.resolve() == ["a", b"\x00\x01"]            # bytes on the wire
    assert several.answer_args == ["a", {"$binary": "AAE="}]  # the notation for people


async def test_a_held_request_resolves_its_future_when_answered():
    seen: list[AckState] = []
    req = AckRequest("/", "q", [], on_change=lambda r: seen.append(r.state))
    req.hold()
    fut = req.resolve()
    assert not isinstance(fut, list) and fut is not None and not fut.done()
    with pytest.raises(BinaryError):
        req.answer({"$binary": "%%"})        # refused, and nothing changed
    assert req.state == AckState.HELD
    req.answer(1, 2)
    assert await fut == [1, 2] and seen == [AckState.HELD, AckState.ANSWERED]
    with pytest.raises(AckError, match="answered already"):
        req.ignore()


async def test_ignored_and_dropped_requests_send_nothing():
    ignored = AckRequest("/", "q", [])
    ignored.ignore()
    assert ignored.resolve() is None and await ignored.wait() is None
    held = AckRequest("/chat", "q", [])
    held.hold()
    fut = held.resolve()
    assert held.drop("the connection closed (test)")
    assert fut is not None and not isinstance(fut, list) and await fut is None
    with pytest.raises(AckError, match=r"the connection closed \(test\) ended before it "
                                       "was answered"):
        held.answer()
    assert not held.drop("again")            # only once


def test_rules_lookup_and_their_stored_form():
    rules = AckRules()
    assert rules.rule_for("/", "x") == AckRule(AckMode.ANSWER, [{"ok": True}])
    rules.set("x", AckRule(AckMode.HOLD))
    rules.set("x", AckRule(AckMode.IGNORE), namespace="orders")
    rules.set_default(AckRule(AckMode.ANSWER, [{"$binary": "3q2+7w=="}, 2]))
    assert rules.rule_for("/orders", "x").mode == AckMode.IGNORE
    assert rules.rule_for("/", "x").mode == AckMode.HOLD
    assert rules.rule_for("/", "y").args == [{"$binary": "3q2+7w=="}, 2]
    back = AckRules.loads(rules.dumps())
    assert back.items() == rules.items() and back.default == rules.default
    assert rules.remove("x", namespace="/orders") and not rules.remove("x", "/orders")
    # damaged or foreign text: the defaults, and a bad rule is skipped, not fatal
    assert AckRules.loads("not json").items() == []
    mixed = AckRules.loads(json.dumps({"rules": [
        {"namespace": "*", "event": "a", "mode": "hold"},
        {"namespace": "*", "event": "b", "mode": "nonsense"},
        {"namespace": "*", "event": "c", "mode": "answer", "args": [{"$binary": "!"}]}]}))
    assert [(e, r.mode) for _, e, r in mixed.items()] == [("a", AckMode.HOLD)]


async def test_rules_are_saved_per_data_folder(tmp_path):
    cfg = ConnectionConfig(url="http://127.0.0.1:9", user="me")
    s = Session(cfg, tmp_path)
    s.ack_rules.set("confirm", AckRule(AckMode.ANSWER, [{"ok": False}, "later"]))
    await s.close()
    s2 = Session(cfg, tmp_path)
    try:
        assert s2.ack_rules.rule_for("/", "confirm").args == [{"ok": False}, "later"]
        assert s2.pending_acks == []
        # an inbound request follows the rule; observers may still change it
        reply = s2.event("/", "confirm", [1], True, ack_id=4)
        assert reply == [{"ok": False}, "later"]
        s2.ack_requested.connect(lambda r: r.hold())
        held = s2.event("/", "confirm", [2], True, ack_id=5)
        assert held is not None and not isinstance(held, list)
        assert [(r.event, r.args, r.ack_id) for r in s2.pending_acks] == [("confirm", [2], 5)]
        s2.pending_acks[0].answer(b"\x00")
        assert await held == [b"\x00"] and s2.pending_acks == []
    finally:
        await s2.close()


def test_an_older_database_gets_the_ack_columns(tmp_path):
    db = tmp_path / "sockdesk.db"
    MessageStore.open(tmp_path).close()
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE messages DROP COLUMN reply_args")
    conn.execute("ALTER TABLE messages DROP COLUMN ack_timeout")
    conn.execute("INSERT INTO messages(queue, direction, namespace, event, args, ts, msg_id, "
                 "state, reply) VALUES ('outbox:/', 'out', '/', 'old', '[1]', 1.0, 'm1', "
                 "'acked', '[1,2]')")
    conn.commit()
    conn.close()
    store = MessageStore.open(tmp_path)
    try:
        (old,) = store.page("outbox:/")
        assert old.reply == [[1, 2]]          # only the value was kept: one argument
        outbox = Outbox(store)
        m = outbox.enqueue("/", "new", {"f": b"\x01"}, ack_timeout=2.5)
        assert m.args == [{"f": {"$binary": "AQ=="}}]
        outbox.mark_sent([m])
        outbox.settle(m, OutboxState.ACKED, reply=["a", "b"], reply_args=["a", "b"])
        got = outbox.get(m.id)
        assert got.reply_args == ["a", "b"] and got.ack_timeout == 2.5
        assert store.page("outbox:/")[1].to_record()["reply"] == ["a", "b"]
    finally:
        store.close()


def test_bad_binary_is_refused_when_given(tmp_path):
    store = MessageStore.open(tmp_path)
    try:
        with pytest.raises(BinaryError):
            Outbox(store).enqueue("/", "x", [{"$binary": "no!"}])
        assert store.queue_info("outbox:/").total == 0
    finally:
        store.close()


@pytest.mark.parametrize(("fields", "why"), [
    ({"reply": {"ok": True}}, '"reply" must be a JSON array'),
    ({"ack_timeout": 0}, '"ack_timeout" must be a number of seconds above 0'),
    ({"ack_timeout": "5"}, '"ack_timeout" must be a number of seconds above 0'),
    ({"args": [{"file": {"$binary": "abc"}}]}, '"$binary" must be standard base64'),
])
def test_ndjson_reply_timeout_and_binary_checks(fields, why):
    rec = {"queue": "outbox:/", "direction": "out", "event": "e", "state": "acked", **fields}
    good, bad = read_ndjson(io.StringIO(json.dumps(rec) + "\n"))
    assert good == [] and len(bad) == 1 and why in bad[0][1]


def test_ndjson_keeps_the_reply_of_acked_outbox_rows_only(tmp_path):
    lines = [{"queue": "outbox:/", "direction": "out", "event": "a", "state": "acked",
              "reply": [{"ok": True}, {"$binary": "AA=="}], "ack_timeout": 1.5},
             {"queue": "outbox:/", "direction": "out", "event": "b", "state": "queued",
              "reply": [1]},
             {"queue": "event:/:c", "event": "c", "reply": [1]}]
    store = MessageStore.open(tmp_path)
    try:
        text = "".join(json.dumps(x) + "\n" for x in lines)
        assert import_ndjson(store, io.StringIO(text)).imported == 3
        a, b = store.page("outbox:/")
        assert a.reply == [{"ok": True}, {"$binary": "AA=="}] and a.ack_timeout == 1.5
        assert b.reply is None and b.state is None
        assert store.page("event:/:c")[0].reply is None
    finally:
        store.close()


@pytest.mark.parametrize(("msg", "line"), [
    (OutboxMessage("i", "/", "e", [], OutboxState.ACKED, reply_args=[{"ok": True}, 2]),
     'acked {"ok":true} 2'),
    (OutboxMessage("i", "/", "e", [], OutboxState.ACKED, reply_args=[]), "acked"),
    (OutboxMessage("i", "/", "e", [], OutboxState.ACKED, ack=False), "sent (no ack asked)"),
    (OutboxMessage("i", "/", "e", [], OutboxState.FAILED, error="refused"), "failed: refused"),
    (OutboxMessage("i", "/", "e", [], OutboxState.NO_ACK, error="no acknowledgement"),
     "no ack: no acknowledgement"),
    (OutboxMessage("i", "/", "e", []), "queued"),
])
def test_cli_outcome_lines(msg, line):
    assert outcome(msg) == line


async def test_a_foreign_server_gets_no_made_up_answer_where_the_app_says_so(tmp_path):
    """With `foreign_ack_default` set (the GUI sets it to HOLD), a request with no rule
    from a server not known to be SockDesk's waits for the user; a SockDesk server, a
    rule, or a default the user chose still answer at once. Without it (the CLI) the
    fallback answers as before."""
    cfg = ConnectionConfig(url="http://127.0.0.1:9", user="me")
    s = Session(cfg, tmp_path)
    try:
        assert s.event("/", "confirm", [1], True, ack_id=1) == [{"ok": True}]  # the CLI
        s.foreign_ack_default = AckRule(AckMode.HOLD)
        for known in (None, False):  # not introduced yet, or somebody else's
            s.extensions_on = known
            assert s.ack_default.mode == AckMode.HOLD
            held = s.event("/", "confirm", [2], True, ack_id=2)
            assert not isinstance(held, list) and len(s.pending_acks) == 1
            s.pending_acks[0].answer({"sure": True})
            assert await held == [{"sure": True}]
        s.ack_rules.set("ping", AckRule(AckMode.ANSWER, ["pong"]))
        assert s.event("/", "ping", [], True, ack_id=3) == ["pong"]   # a rule applies
        s.extensions_on = True                                     # a SockDesk server
        assert s.event("/", "confirm", [3], True, ack_id=4) == [{"ok": True}]
        s.extensions_on = False
        s.ack_rules.set_default(AckRule(AckMode.ANSWER, ["mine"]))  # the user's choice
        assert s.event("/", "confirm", [4], True, ack_id=5) == ["mine"]
    finally:
        await s.close()


def test_the_fallback_is_not_saved_as_a_choice():
    """Rules saved by an older version always held the fallback as their default; it
    reads back as "not chosen", and the fallback is not written out."""
    rules = AckRules()
    rules.set("x", AckRule(AckMode.HOLD))
    assert "default" not in json.loads(rules.dumps())
    old = json.dumps({"default": {"mode": "answer", "args": [{"ok": True}]}, "rules": []})
    assert AckRules.loads(old).chosen_default is None
    mine = json.dumps({"default": {"mode": "hold"}, "rules": []})
    assert AckRules.loads(mine).chosen_default == AckRule(AckMode.HOLD)
