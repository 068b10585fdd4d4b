"""MessageStore without a server: batching, counters, keyset paging, FTS search."""

from __future__ import annotations

import asyncio
import os
import stat

import pytest

from app.keys import queue_key
from app.store import MessageStore, fts_query
from tests.app.helpers import msg, room_rows, until


def test_data_dir_and_files_are_private(tmp_path):
    d = tmp_path / "data" / "nested"
    store = MessageStore.open(d)
    store.add(msg("room:/chat:a", "hello", 1))
    store.flush()
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for f in d.iterdir():
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


async def test_inbound_is_batched_and_signalled_once_per_batch(tmp_path):
    store = MessageStore.open(tmp_path)
    batches = []
    store.stored.connect(batches.append)
    for i in range(1, 301):
        store.add(msg("room:/chat:a", f"m{i}", i))
    assert batches == []  # nothing committed yet: the batch waits for the tick
    await until(lambda: batches, what="the batch commit")
    assert len(batches) == 1 and len(batches[0]) == 300
    assert [m.rowid for m in batches[0]] == sorted(m.rowid for m in batches[0])
    assert store.count("room:/chat:a") == 300
    store.close()


def test_duplicate_room_offsets_are_dropped(tmp_path):
    store = MessageStore.open(tmp_path)
    store.insert([msg("room:/chat:a", "one", 1), msg("room:/chat:a", "two", 2)])
    again = store.insert([msg("room:/chat:a", "one", 1), msg("room:/chat:a", "three", 3)])
    assert [m.offset for m in again] == [3]
    assert store.count("room:/chat:a") == 3
    assert [m.text for m in store.page("room:/chat:a")] == ["one", "two", "three"]
    # the same offset in another room is another message
    assert store.insert([msg("room:/chat:b", "one", 1)])
    store.close()


def test_a_committed_only_read_leaves_the_buffer_to_its_own_commit(tmp_path):
    store = MessageStore.open(tmp_path)
    q = "room:/chat:a"
    store.insert([msg(q, "one", 1)])
    stored: list[int] = []
    store.stored.connect(lambda batch: stored.append(len(batch)))

    async def flood() -> None:
        store.add(msg(q, "two", 2))  # buffered: committed on a loop turn ~10 ms later
        assert [m.text for m in store.page(q, committed_only=True)] == ["one"]
        assert [m.text for m in store.page_end(q, committed_only=True)] == ["one"]
        assert stored == []  # the reads committed nothing
        assert [m.text for m in store.page_end(q)] == ["one", "two"]
        assert stored == [1]

    asyncio.run(flood())
    store.close()


def test_rowids_match_the_inserted_rows_when_some_are_repeats(tmp_path):
    store = MessageStore.open(tmp_path)
    store.insert([msg("room:/chat:a", "one", 1)])
    batch = [msg("room:/chat:a", "one again", 1),   # stored before: ignored
             msg("event:/:tick", "no offset", None),
             msg("room:/chat:a", "two", 2),
             msg("room:/chat:a", "two again", 2),   # repeat within the batch: ignored
             msg("room:/chat:b", "b one", 1),
             msg("event:/:tick", "no offset either", None)]
    inserted = store.insert(batch)
    assert [m.text for m in inserted] == ["no offset", "two", "b one", "no offset either"]
    for m in inserted:
        row = store.conn.execute("SELECT text FROM messages WHERE id = ?",
                                 (m.rowid,)).fetchone()
        assert row == (m.text,)
    assert batch[0].rowid == 0 and batch[3].rowid == 0  # the ignored ones got none
    store.close()


def test_queue_keys():
    assert queue_key("/chat", "message", [{"room": "r", "text": "x"}]) == "room:/chat:r"
    assert queue_key("/chat", "dm", [{"user": "bob", "to": "me"}], "in", me="me") == \
        "dm:/chat:bob"
    assert queue_key("/chat", "dm", [{"to": "bob"}], "out") == "dm:/chat:bob"
    assert queue_key("/queue", "deliver", [{"queue": "jobs", "seq": 1}]) == "work:jobs"
    assert queue_key("/", "hello", [1, 2]) == "event:/:hello"


def test_fts_query_is_safe():
    assert fts_query('he said "AND (x' ) == '"he"* "said"* "AND"* "(x"*'
    assert fts_query("   ") is None


def test_search_paging_and_end(tmp_path):
    store = MessageStore.open(tmp_path)
    store.insert([msg("room:/chat:a", f"hello world {i}" if i % 3 else f"other {i}", i)
                  for i in range(1, 31)])
    assert store.count("room:/chat:a", search="hello") == 20
    assert store.count("room:/chat:a", search="hel wor") == 20   # prefix terms, ANDed
    assert store.count("room:/chat:a", search="nothing-like-this") == 0
    page = store.page("room:/chat:a", limit=7, search="other")
    assert [m.offset for m in page] == [3, 6, 9, 12, 15, 18, 21]
    nxt = store.page("room:/chat:a", after=page[-1].rowid, limit=7, search="other")
    assert [m.offset for m in nxt] == [24, 27, 30]
    end = store.page_end("room:/chat:a", limit=4)
    assert [m.offset for m in end] == [27, 28, 29, 30]
    before = store.page_end("room:/chat:a", limit=3, before=end[0].rowid)
    assert [m.offset for m in before] == [24, 25, 26]
    store.close()


def test_queues_counters(tmp_path):
    store = MessageStore.open(tmp_path)
    store.insert([msg("room:/chat:a", "x", 1), msg("event:/:ping", "y", event="ping", ns="/")])
    infos = {q.queue: q for q in store.queues()}
    assert infos["room:/chat:a"].total == 1 and infos["room:/chat:a"].depth == 1
    assert infos["event:/:ping"].total == 1
    store.close()


@pytest.mark.timeout(90)
def test_two_hundred_thousand_rows_count_page_search(tmp_path):
    """Correctness at scale (timings live in tests/perf/bench_store.py, with 1M rows)."""
    n = 200_000
    store = MessageStore.open(tmp_path)
    assert store.bulk_insert(room_rows(n)) == n
    q = "room:/chat:big"
    assert store.count(q) == n
    first = store.page(q, limit=500)
    assert [m.offset for m in first] == list(range(1, 501))
    second = store.page(q, after=first[-1].rowid, limit=500)
    assert second[0].offset == 501 and second[-1].offset == 1000
    last = store.page_end(q, limit=500)
    assert [m.offset for m in last] == list(range(n - 499, n + 1))
    # "needle" is in offsets 7 and 100007
    assert store.count(q, search="needle") == 2
    assert [m.offset for m in store.page(q, search="needle")] == [7, 100_007]
    assert store.count(q, search="alpha") == n // 5
    assert store.page(q, search="msg 123456")[0].offset == 123_456
    info = {i.queue: i for i in store.queues()}[q]
    assert info.total == n
    store.close()


def test_no_write_path_statement_walks_the_whole_messages_table(tmp_path):
    """Every statement run while storing, enqueueing, sending, acking, requeueing and
    cancelling is planned as a rowid or index search, never a scan of messages (or of
    one of its indexes; only the pending rows' index may be walked): with a million
    rows stored, one such scan per commit made each commit take ~80 ms instead of ~1 ms."""
    from app.outbox import Outbox, OutboxState

    store = MessageStore.open(tmp_path)
    outbox = Outbox(store)
    store.insert([msg("room:/chat:a", "first", 1)])
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        store.insert([msg("room:/chat:a", "second", 2), msg("room:/chat:a", "again", 2)])
        store.add(msg("room:/chat:b", "buffered", 1))
        store.flush()
        queued = [outbox.enqueue("/chat", "message", {"room": "a", "text": str(i)})
                  for i in range(4)]
        batch = outbox.next_queued("/chat", 3)
        outbox.mark_sent(batch)
        outbox.settle(batch[0], OutboxState.ACKED, reply={"ok": True})
        outbox.requeue(batch[1])
        outbox.cancel(queued[3].id)
        outbox.depth("/chat")
        outbox.requeue_sent(None)                  # these two may walk the pending rows
        outbox.expire_due()
    finally:
        store.conn.set_trace_callback(None)
    planned = [s for s in statements
               if s.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE"))]
    assert len(planned) > 10
    for sql in planned:
        for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql):
            detail = row[3]
            assert not detail.startswith("SCAN messages") or detail.startswith(
                ("SCAN messages_fts", "SCAN messages USING INDEX messages_pending")), \
                (sql, detail)
    store.close()
