"""Outbox without a server: durability, limits, ttl, cancel/edit/retry, crash recovery,
and the flusher's window, order, ack outcomes and requeue on disconnect."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.flusher import NamespaceFlusher
from app.outbox import Outbox, OutboxError, OutboxFull, OutboxState
from app.store import MessageStore
from tests.app.helpers import until


def open_outbox(path, **kw) -> Outbox:
    return Outbox(MessageStore.open(path), **kw)


def test_enqueue_is_committed_and_survives_reopen(tmp_path):
    ob = open_outbox(tmp_path)
    m = ob.enqueue("/chat", "message", {"room": "r", "text": "hi"})
    assert m.state == OutboxState.QUEUED and len(m.id) == 32
    assert m.args == [{"room": "r", "text": "hi"}]   # stored as given; id added on the wire
    # a second connection (another process) sees it without any close/commit call
    other = open_outbox(tmp_path)
    assert [x.id for x in other.list()] == [m.id]
    other.store.close()
    ob.store.close()


def test_sent_rows_are_requeued_after_a_crash(tmp_path):
    ob = open_outbox(tmp_path)
    msgs = ob.enqueue_many([("/", "e", [i]) for i in range(5)])
    ob.mark_sent(msgs[:3])
    assert ob.store.queue_info("outbox:/").sent == 3
    # no close(): simulate the process dying, then a new process opening the outbox
    again = open_outbox(tmp_path)
    assert [m.state for m in again.list()] == [OutboxState.QUEUED] * 5
    info = again.store.queue_info("outbox:/")
    assert (info.queued, info.sent) == (5, 0)
    again.store.close()
    ob.store.close()


def test_limit_raises_outbox_full(tmp_path):
    ob = open_outbox(tmp_path, limit=3)
    ob.enqueue_many([("/", "e", [i]) for i in range(3)])
    with pytest.raises(OutboxFull, match="limit is 3"):
        ob.enqueue("/", "e", 4)
    assert ob.depth() == 3
    ob.store.close()


def test_cancel_edit_retry(tmp_path):
    ob = open_outbox(tmp_path)
    seen: list[tuple[str, OutboxState]] = []
    ob.changed.connect(lambda m: seen.append((m.id, m.state)))
    a = ob.enqueue("/chat", "message", {"room": "r", "text": "first"})
    b = ob.enqueue("/chat", "message", {"room": "r", "text": "second"})
    ob.cancel(a.id)
    assert ob.get(a.id) is None and (a.id, OutboxState.CANCELLED) in seen
    edited = ob.edit(b.id, [{"room": "r", "text": "second, edited"}])
    assert edited.args[0] == {"room": "r", "text": "second, edited"}
    assert ob.get(b.id).args == edited.args
    assert ob.store.count("outbox:/chat", search="edited") == 1
    assert ob.store.count("outbox:/chat", search="first") == 0
    with pytest.raises(OutboxError, match="only failed"):
        ob.retry(b.id)
    ob.mark_sent([edited])
    with pytest.raises(OutboxError, match="it is sent"):
        ob.edit(b.id, [{"room": "r", "text": "x"}])
    ob.settle(edited, OutboxState.FAILED, error="boom")
    ob.write_pending_acks()
    assert ob.get(b.id).state == OutboxState.FAILED and ob.get(b.id).error == "boom"
    ob.retry(b.id)
    assert ob.get(b.id).state == OutboxState.QUEUED and ob.get(b.id).error is None
    with pytest.raises(OutboxError, match="no message"):
        ob.cancel("nope")
    info = ob.store.queue_info("outbox:/chat")
    assert (info.total, info.queued, info.failed) == (1, 1, 0)
    ob.store.close()


async def test_ttl_marks_expired_not_dropped(tmp_path):
    ob = open_outbox(tmp_path, ttl=0.2)
    m = ob.enqueue("/", "e", 1)
    keep = ob.enqueue("/", "e", 2, ttl=3600)
    expired = []
    ob.changed.connect(lambda x: expired.append(x.id) if x.error == "expired" else None)
    await until(lambda: expired, what="the ttl timer")
    got = ob.get(m.id)
    assert got.state == OutboxState.FAILED and got.error == "expired"
    assert ob.get(keep.id).state == OutboxState.QUEUED
    ob.close()
    ob.store.close()


class FakeTransport:
    """Records writes; acks on demand; can go 'offline'."""

    def __init__(self) -> None:
        self.ready = True
        self.writes: list[tuple[str, list[Any], Any]] = []
        self.max_inflight = 0
        self.callbacks: list[Any] = []

    def is_ready(self, ns: str) -> bool:
        return self.ready

    async def write(self, ns, event, args, callback) -> None:
        if not self.ready:
            raise ConnectionError("offline")
        self.writes.append((event, args, callback))
        if callback is not None:
            self.callbacks.append(callback)

    async def before_send(self, msg) -> None:
        return None

    def wire_args(self, msg) -> list[Any]:
        return msg.args


async def test_flusher_window_order_and_ack_outcomes(tmp_path):
    ob = open_outbox(tmp_path)
    t = FakeTransport()
    fl = NamespaceFlusher(ob, "/", t, window=4, ack_timeout=30)
    msgs = ob.enqueue_many([("/", "e", [i]) for i in range(10)])
    fl.start()
    fl.set_ready(True)
    await until(lambda: len(t.writes) == 4, what="the first window")
    assert fl.inflight == 4
    ob.wakeup.emit("/")           # as new work does: the flusher looks and finds no room
    await until(lambda: not fl._wake.is_set(), what="the flusher to look")
    assert len(t.writes) == 4     # the window is full: nothing more goes out
    t.callbacks[0]({"ok": True, "n": 0})
    t.callbacks[1]({"ok": False, "error": "nope", "code": "invalid"})
    await until(lambda: len(t.writes) == 6, what="two more sends")
    for cb in t.callbacks[2:]:
        cb({"ok": True})
    await until(lambda: len(t.writes) == 10 and fl.inflight == 4, what="the rest")
    for cb in t.callbacks[6:]:
        cb("plain ack")
    await until(lambda: ob.depth("/") == 0, what="everything settled")
    assert [w[1] for w in t.writes] == [[i] for i in range(10)]
    states = {m.id: m for m in ob.list("/")}
    assert states[msgs[1].id].state == OutboxState.FAILED
    assert states[msgs[1].id].error == "nope"
    assert states[msgs[0].id].reply == {"ok": True, "n": 0}
    assert sum(m.state == OutboxState.ACKED for m in states.values()) == 9
    await fl.stop()
    ob.store.close()


async def test_flusher_refills_by_half_windows_and_writes_acks_in_batches(tmp_path):
    ob = open_outbox(tmp_path)
    t = FakeTransport()
    fl = NamespaceFlusher(ob, "/", t, window=8, ack_timeout=30)
    ob.enqueue_many([("/", "e", [i]) for i in range(16)])
    commits: list[str] = []
    ob.store.conn.set_trace_callback(lambda s: commits.append(s) if s == "COMMIT" else None)
    fl.start()
    fl.set_ready(True)
    await until(lambda: len(t.writes) == 8, what="the first window")
    assert len(commits) == 1  # the whole window marked sent in one transaction
    for cb in t.callbacks[:3]:
        cb({"ok": True})
    await until(lambda: ob.store.queue_info("outbox:/").acked == 3, what="3 acks written")
    assert len(t.writes) == 8  # 3 free slots: less than half the window, keep waiting
    t.callbacks[3]({"ok": True})
    await until(lambda: len(t.writes) == 12, what="a refill of half the window")
    commits.clear()
    for cb in t.callbacks[4:12]:
        cb({"ok": True})
    await until(lambda: ob.store.queue_info("outbox:/").acked == 12, what="8 more acks")
    await until(lambda: len(t.writes) == 16, what="the rest sent")
    assert len(commits) <= 2  # one for the 8 acks, one marking the last 4 sent
    assert [w[1][0] for w in t.writes] == list(range(16))
    await fl.stop()
    ob.store.close()


async def test_a_full_batch_of_acks_is_written_at_once(tmp_path):
    ob = open_outbox(tmp_path)
    msgs = ob.enqueue_many([("/", "e", [i]) for i in range(64)])
    ob.mark_sent(msgs)
    for m in msgs[:-1]:
        ob.settle(m, OutboxState.ACKED)
    assert ob.store.queue_info("outbox:/").acked == 0  # waiting for more, briefly
    ob.settle(msgs[-1], OutboxState.ACKED)
    assert ob.store.queue_info("outbox:/").acked == 64  # the batch filled: written
    late = ob.enqueue("/", "e", "late")
    ob.mark_sent([late])
    ob.settle(late, OutboxState.ACKED)
    assert ob.get(late.id).state == OutboxState.ACKED  # readers write pending acks first
    ob.store.close()


async def test_disconnect_requeues_in_order_and_stale_acks_are_ignored(tmp_path):
    ob = open_outbox(tmp_path)
    t = FakeTransport()
    fl = NamespaceFlusher(ob, "/", t, window=3, ack_timeout=30)
    ob.enqueue_many([("/", "e", [i]) for i in range(5)])
    fl.start()
    fl.set_ready(True)
    await until(lambda: len(t.writes) == 3)
    stale = list(t.callbacks)
    t.ready = False
    fl.set_ready(False)          # disconnect: 0,1,2 back to queued
    assert ob.store.queue_info("outbox:/").queued == 5
    stale[0]({"ok": True})       # a late ack from the dead connection changes nothing
    assert ob.store.queue_info("outbox:/").acked == 0
    t.ready = True
    fl.set_ready(True)
    await until(lambda: len(t.writes) == 6)
    assert [w[1][0] for w in t.writes] == [0, 1, 2, 0, 1, 2]
    for cb in t.callbacks[3:]:
        cb({"ok": True})
    await until(lambda: len(t.writes) == 8)
    for cb in t.callbacks[6:]:
        cb({"ok": True})
    await until(lambda: ob.depth() == 0)
    assert ob.store.queue_info("outbox:/").acked == 5
    await fl.stop()
    ob.store.close()


async def test_ack_timeout_resends_then_fails(tmp_path):
    ob = open_outbox(tmp_path)
    t = FakeTransport()
    fl = NamespaceFlusher(ob, "/", t, window=2, ack_timeout=0.05, max_attempts=3)
    m = ob.enqueue("/", "e", 1)
    fl.start()
    fl.set_ready(True)
    await until(lambda: ob.get(m.id).state == OutboxState.FAILED, what="final failure")
    assert len(t.writes) == 3
    assert "no acknowledgement after 3 attempts" in ob.get(m.id).error
    await fl.stop()
    ob.store.close()


async def test_rate_limited_is_held_back_then_resent(tmp_path):
    """An overloaded server's `rate_limited` + `retry_after`: the message was not
    processed, so it is sent again (even where resends are off), and nothing is sent
    before the hint has passed."""
    ob = open_outbox(tmp_path)
    t = FakeTransport()
    fl = NamespaceFlusher(ob, "/", t, window=1, ack_timeout=30, resends=lambda: False)
    first, second = ob.enqueue_many([("/", "e", ["a"]), ("/", "e", ["b"])])
    fl.start()
    fl.set_ready(True)
    await until(lambda: len(t.writes) == 1, what="the first send")
    loop = asyncio.get_running_loop()
    refused_at = loop.time()
    t.callbacks[0]({"ok": False, "code": "rate_limited", "retry_after": 0.3,
                    "error": "The server is overloaded; retry in 0.3 s."})
    await until(lambda: len(t.writes) == 2, what="the resend")
    assert loop.time() - refused_at >= 0.3
    assert t.writes[1][1] == ["a"]  # the refused one again, first
    assert ob.get(first.id).state == OutboxState.SENT
    t.callbacks[1]({"ok": True})
    await until(lambda: len(t.writes) == 3, what="the next message")
    t.callbacks[2]({"ok": True})
    await until(lambda: ob.depth("/") == 0, what="both acked")
    assert ob.get(first.id).state == ob.get(second.id).state == OutboxState.ACKED
    await fl.stop()
    ob.store.close()


async def test_no_ack_mode_counts_written_as_done(tmp_path):
    ob = open_outbox(tmp_path)
    t = FakeTransport()
    fl = NamespaceFlusher(ob, "/", t, window=2, no_ack=True)
    ob.enqueue_many([("/", "e", [i]) for i in range(5)])
    fl.start()
    fl.set_ready(True)
    await until(lambda: ob.depth() == 0)
    assert all(w[2] is None for w in t.writes) and len(t.writes) == 5
    assert ob.store.queue_info("outbox:/").acked == 5
    await fl.stop()
    ob.store.close()


def test_enqueue_many_is_one_transaction(tmp_path):
    ob = open_outbox(tmp_path)
    commits = []
    ob.store.conn.set_trace_callback(lambda s: commits.append(s) if s == "COMMIT" else None)
    ob.enqueue_many([("/", "e", [i]) for i in range(10_000)])
    ob.store.conn.set_trace_callback(None)
    assert len(commits) == 1
    assert ob.depth("/") == 10_000
    ob.store.close()


async def test_wait_until_checks_once_per_loop_turn_however_often_the_signal_fires() -> None:
    from app.signals import Signal, wait_until

    changed: Signal[int] = Signal("changed")
    state = {"left": 3, "checks": 0}

    def drained() -> bool:
        state["checks"] += 1
        return state["left"] == 0

    async def work() -> None:
        while state["left"]:
            await asyncio.sleep(0)
            state["left"] -= 1
            for i in range(100):  # a flush fires once per message
                changed.emit(i)

    worker = asyncio.ensure_future(work())
    assert await wait_until(drained, changed, timeout=5)
    await worker
    assert state["checks"] <= 1 + 3                # the first check, then one per turn
    assert not await wait_until(lambda: False, changed, timeout=0.05)   # a timeout


def test_no_ack_messages_are_counted_and_leave_the_count_when_sent_again(tmp_path):
    """The Queues tab's counters had no place for a message sent once with no ack:
    "Failed 0" beside a message waiting for Send again."""
    from app.keys import outbox_key

    ob = open_outbox(tmp_path)
    m = ob.enqueue("/", "confirm", {"n": 1})
    ob.mark_sent([m])
    assert ob.give_up_sent("the connection dropped before the ack") == 1
    info = ob.store.queue_info(outbox_key("/"))
    assert (info.no_ack, info.failed, info.depth) == (1, 0, 0)
    ob.retry(m.id)
    info = ob.store.queue_info(outbox_key("/"))
    assert (info.no_ack, info.queued) == (0, 1)
    ob.store.close()


def test_an_older_database_gets_its_no_ack_messages_counted(tmp_path):
    """A database from before the no_ack counter: the column is added and counted from
    the rows once, when it is opened."""
    from app import db as dbmod
    from app.keys import outbox_key

    ob = open_outbox(tmp_path)
    for n in range(2):
        m = ob.enqueue("/", "confirm", {"n": n})
        ob.mark_sent([m])
    ob.give_up_sent("lost")
    ob.store.close()
    conn = dbmod.connect(tmp_path)              # as an older version left it
    conn.execute("ALTER TABLE queue_counts DROP COLUMN no_ack")
    conn.close()
    store = MessageStore.open(tmp_path)
    assert store.queue_info(outbox_key("/")).no_ack == 2
    store.close()
