"""NDJSON records of messages peeked from a server work queue (the Queues tab's export of
a ``server:<Q>`` or ``server:<Q>.dead`` selection)."""

from __future__ import annotations

import io

from app import jsonmod
from app.ndjson import import_ndjson, peek_record, record_to_message
from app.store import MessageStore

PEEKED = {"seq": 7, "id": "m-7", "payload": {"job": 42}, "attempt": 2,
          "ts": "2024-05-01T12:00:00Z"}


def test_a_peeked_message_is_recorded_as_the_delivery_a_consumer_receives():
    rec = peek_record("jobs", PEEKED, 1714564800.0, "m-7")
    assert rec == {"queue": "work:jobs", "direction": "in", "namespace": "/queue",
                   "event": "deliver", "args": [PEEKED], "ts": 1714564800.0,
                   "msg_id": "m-7"}
    assert list(rec) == ["queue", "direction", "namespace", "event", "args", "ts", "msg_id"]
    assert rec["args"][0] is not PEEKED        # the record never aliases the peeked dict


def test_dead_letters_are_recorded_under_their_queue_and_an_id_is_optional():
    assert peek_record("jobs.dead", PEEKED, 0.0)["queue"] == "work:jobs"
    assert "msg_id" not in peek_record("jobs", {"seq": 1}, 0.0)
    assert "msg_id" not in peek_record("jobs", {"seq": 1}, 0.0, "")


def test_a_peek_record_imports_into_the_work_inbox(tmp_path):
    rec = peek_record("jobs.dead", PEEKED, 1714564800.0, "m-7")
    m = record_to_message(jsonmod.loads(jsonmod.dumps(rec)))
    assert (m.queue, m.direction, m.namespace, m.event) == ("work:jobs", "in", "/queue",
                                                            "deliver")
    assert m.args == [PEEKED] and m.ts == 1714564800.0 and m.msg_id == "m-7"
    store = MessageStore.open(tmp_path)
    try:
        lines = io.StringIO(jsonmod.dumps(rec) + "\n" + jsonmod.dumps(
            peek_record("jobs", {"seq": 8, "payload": 1}, 0.0)) + "\n")
        report = import_ndjson(store, lines)
        assert report.ok and report.imported == 2
        assert store.count("work:jobs") == 2
    finally:
        store.close()
