"""One timeline: the chat model's order, separators, edits, deletes and replies.

The model alone (no server): rooms by offset with pending own messages last, DMs by the
time they were sent, and day separators and grouping that stay right as rows move.
"""

from __future__ import annotations

import random
import time

import pytest
from PySide6.QtCore import Qt

from ui.models.chat import (
    DELETED_TEXT,
    KIND_DAY,
    ChatMessageModel,
    DeletedRole,
    EditedRole,
    HighlightRole,
    MentionRole,
    ReplyRole,
    ShowTimeRole,
)
from ui.text import day_key

DAY = 86400.0


def rows(model: ChatMessageModel) -> list[str]:
    """The rows as strings: "|day" for a separator, the text for a message."""
    model.flush()
    return ["|" + model.item_at(r).text if model.item_at(r).kind == KIND_DAY
            else model.item_at(r).text for r in range(model.rowCount())]


def expected_rows(model: ChatMessageModel, messages: list) -> list[str]:
    """The rows a model must show for these messages, built the obvious way."""
    out: list[str] = []
    prev = None
    for m in messages:
        if prev is None or day_key(prev.ts) != day_key(m.ts):
            out.append("|" + _label(model, m.ts))
        out.append(m.text)
        prev = m
    return out


def _label(model: ChatMessageModel, ts: float) -> str:
    from ui.text import day_label

    return day_label(day_key(ts))


def test_room_rows_follow_offsets_not_arrival(qtmodeltester):
    model = ChatMessageModel(order="offset")
    now = time.time()
    model.add_message(key="c", user="carol", text="third", ts=now, offset=3)
    model.flush()
    model.add_message(key="a", user="alice", text="first", ts=now + 5, offset=1)
    model.flush()
    model.add_message(key="b", user="bob", text="second", ts=now - 5, offset=2)
    model.add_message(key="e", user="bob", text="fifth", ts=now, offset=5)
    model.flush()
    assert [i.text for i in model.messages()] == ["first", "second", "third", "fifth"]
    qtmodeltester.check(model)


def test_pending_own_message_waits_at_the_end_then_moves_to_its_offset(qtmodeltester):
    model = ChatMessageModel(order="offset")
    now = time.time()
    model.add_message(key="m1", user="alice", text="one", ts=now, offset=1)
    model.add_message(key="mine", user="bob", text="mine", ts=now, own=True, state="queued")
    model.flush()
    # a later message from someone else arrives while ours is pending: ours stays last
    model.add_message(key="m3", user="carol", text="three", ts=now, offset=3)
    model.add_message(key="m4", user="carol", text="four", ts=now, offset=4)
    model.flush()
    assert [i.text for i in model.messages()] == ["one", "three", "four", "mine"]
    moved: list[int] = []
    model.rowsMoved.connect(lambda *a: moved.append(1))
    assert model.set_offset("mine", 2)
    assert [i.text for i in model.messages()] == ["one", "mine", "three", "four"]
    assert model.row_of("mine") == 2 and model.item("mine").offset == 2
    qtmodeltester.check(model)
    # the same offset again (the stored copy of the ack) changes nothing
    model.add_message(key="mine", user="bob", text="mine", own=True, state="acked", offset=2)
    model.flush()
    assert [i.text for i in model.messages()] == ["one", "mine", "three", "four"]
    assert model.item("mine").state == "acked"
    assert model.set_offset("nope", 9) is False


def test_day_separators_stay_right_when_rows_move():
    model = ChatMessageModel(order="offset")
    today = time.time()
    yesterday = today - DAY
    model.add_message(key="y1", user="alice", text="y1", ts=yesterday, offset=1)
    model.add_message(key="t3", user="alice", text="t3", ts=today, offset=3)
    model.add_message(key="mine", user="bob", text="mine", ts=today, own=True, state="sent")
    model.flush()
    y, t = "|" + _label(model, yesterday), "|" + _label(model, today)
    assert rows(model) == [y, "y1", t, "t3", "mine"]
    # acked as offset 2, sent yesterday (late at night): it joins yesterday's rows
    model.set_offset("mine", 2, ts=yesterday + 1)
    assert rows(model) == [y, "y1", "mine", t, "t3"]
    # and back to today's: the separator stays before it
    model.set_offset("mine", 4, ts=today + 1)
    assert rows(model) == [y, "y1", t, "t3", "mine"]
    model.remove("t3")
    assert rows(model) == [y, "y1", t, "mine"]
    model.remove("y1")
    assert rows(model) == [t, "mine"]
    model.remove("mine")
    assert rows(model) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_arrival_order_gives_the_sorted_rows(seed, qtmodeltester):
    """Messages over three days arriving in a random order, some in batches, some moved
    (pending → acked) or removed: the rows are always what sorting them would give."""
    rnd = random.Random(seed)
    base = time.time() - 2 * DAY
    model = ChatMessageModel(order="offset")
    offsets = list(range(1, 121))
    ts_of = {o: base + o * (3 * DAY / 130) for o in offsets}
    rnd.shuffle(offsets)
    pending: list[str] = []
    while offsets:
        for o in offsets[:rnd.randint(1, 8)]:
            if rnd.random() < 0.2:   # arrives as our own pending message, acked later
                key = f"own{o}"
                model.add_message(key=key, user="me", text=f"m{o:03d}", ts=ts_of[o],
                                  own=True, state="queued")
                pending.append(key)
            else:
                model.add_message(key=f"k{o}", user=rnd.choice("ab"), text=f"m{o:03d}",
                                  ts=ts_of[o], offset=o)
        offsets = offsets[rnd.randint(1, 8):]
        model.flush()
        if pending and rnd.random() < 0.5:
            key = pending.pop(rnd.randrange(len(pending)))
            model.set_offset(key, int(key[3:]))
    for key in pending:
        model.set_offset(key, int(key[3:]))
    for o in rnd.sample(range(1, 121), 15):
        model.remove(f"k{o}") or model.remove(f"own{o}")
    msgs = model.messages()
    assert [m.offset for m in msgs] == sorted(m.offset for m in msgs)
    assert rows(model) == expected_rows(model, msgs)
    for r in range(1, model.rowCount()):
        item, prev = model.item_at(r), model.item_at(r - 1)
        if item.kind != KIND_DAY:
            assert item.grouped == (prev.kind != KIND_DAY and prev.user == item.user
                                    and abs(item.ts - prev.ts) < 300)
    qtmodeltester.check(model)


def test_direct_messages_are_ordered_by_sent_time():
    model = ChatMessageModel()  # order="ts" is the default
    now = time.time()
    model.add_message(key="late", user="bob", text="sent last", ts=now)
    model.flush()
    model.add_message(key="early", user="bob", text="sent first", ts=now - 100)
    model.add_message(key="mine", user="me", text="mine", ts=now + 5, own=True, state="sent")
    model.flush()
    assert [i.text for i in model.messages()] == ["sent first", "sent last", "mine"]
    model.set_ts("mine", now - 50)  # the server's time for it
    assert [i.text for i in model.messages()] == ["sent first", "mine", "sent last"]


def test_grouped_messages_show_their_minute_when_it_changes():
    model = ChatMessageModel(order="offset")
    t0 = (time.time() // 3600) * 3600 + 10   # hh:00:10
    for n, dt in enumerate([0, 20, 70, 200, 900]):
        model.add_message(key=f"k{n}", user="alice", text=f"m{n}", ts=t0 + dt, offset=n + 1)
    model.flush()
    items = model.messages()
    assert [i.grouped for i in items] == [False, True, True, True, False]
    # same minute as the one before: no time; a new minute inside a group: its time
    assert [i.show_time for i in items] == [False, False, True, True, False]
    row = model.row_of("k2")
    assert model.index(row, 0).data(ShowTimeRole) is True


def test_edit_delete_and_reply_roles(qtmodeltester):
    model = ChatMessageModel(order="offset", me="bob")
    now = time.time()
    model.add_message(key="q", user="alice", text="the question\nsecond line", ts=now, offset=1)
    model.add_message(key="r", user="carol", text="an answer, @bob", ts=now, offset=2,
                      reply_to="q")
    model.add_message(key="x", user="carol", text="a reply to something old", ts=now,
                      offset=3, reply_to="gone")
    model.flush()

    def role(key: str, r: int):
        return model.index(model.row_of(key), 0).data(r)

    assert role("r", ReplyRole) == "alice: the question"
    assert role("q", ReplyRole) == ""
    assert role("x", ReplyRole) == "an earlier message"
    assert role("r", MentionRole) is True and role("q", MentionRole) is False

    changed: list[list[int]] = []
    model.dataChanged.connect(lambda a, b, roles: changed.append(list(roles)))
    assert model.apply_edit("q", "better question")
    assert role("q", Qt.ItemDataRole.DisplayRole) == "better question"
    assert role("q", EditedRole) is True
    assert role("r", ReplyRole) == "alice: better question"
    assert any(ReplyRole in roles for roles in changed)  # the reply repaints its quote

    assert model.apply_delete("q")
    assert role("q", DeletedRole) is True and role("q", EditedRole) is False
    assert role("q", Qt.ItemDataRole.DisplayRole) == DELETED_TEXT
    assert model.item("q").text == ""              # nothing of the text is kept
    assert role("r", ReplyRole) == f"alice: {DELETED_TEXT}"
    assert model.apply_edit("q", "back from the dead") is False   # deleted stays deleted
    assert model.apply_edit("unknown", "x") is False
    assert model.apply_delete("unknown") is False
    qtmodeltester.check(model)


def test_history_flags_and_highlight():
    model = ChatMessageModel(order="offset", me="bob")
    now = time.time()
    model.add_message(key="a", user="alice", text="edited text", ts=now, offset=1, edited=True)
    model.add_message(key="b", user="alice", text="secret", ts=now, offset=2, deleted=True)
    model.flush()
    assert model.item("a").edited and model.item("b").deleted and model.item("b").text == ""
    seen: list[list[int]] = []
    model.dataChanged.connect(lambda a, b, roles: seen.append(list(roles)))
    model.set_highlight("TEXT")
    assert seen and HighlightRole in seen[0]
    assert model.index(0, 0).data(HighlightRole) == "TEXT"


def test_prepend_history_keeps_order_with_one_insert():
    model = ChatMessageModel(order="offset")
    now = (time.time() // DAY) * DAY + DAY / 2   # midday: all of them on one day
    model.add_message(key="k100", user="a", text="100", ts=now, offset=100)
    model.flush()
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserts.append((first, last)))
    n = model.prepend_history({"key": f"k{o}", "user": "a", "text": str(o),
                               "ts": now - (100 - o), "offset": o} for o in range(1, 100))
    assert n == 99
    assert [i.offset for i in model.messages()] == list(range(1, 101))
    assert inserts == [(0, 99)]      # 99 messages and their day row, in one insert
    assert rows(model) == expected_rows(model, model.messages())


def test_the_read_marker_puts_the_new_line_above_the_next_message(qtmodeltester, qtbot):
    from ui.models.chat import BEFORE_FIRST, GroupedRole, NewRole

    model = ChatMessageModel(order="offset", me="bob")
    now = time.time()
    for i, key in enumerate("abc", start=1):
        model.add_message(key=key, user="alice", text=f"line {key}", ts=now + i, offset=i)
    model.flush()
    qtmodeltester.check(model)

    def new_at() -> list[str]:
        return [model.item_at(r).key for r in range(model.rowCount())
                if model.index(r, 0).data(NewRole)]

    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))
    assert new_at() == []
    model.set_read_marker("a")
    assert new_at() == ["b"] and model.first_new().key == "b"
    assert changed == [model.row_of("b")]                      # its height is asked again
    assert not model.index(model.row_of("b"), 0).data(GroupedRole)  # a group of its own
    assert model.index(model.row_of("c"), 0).data(GroupedRole)      # the rest as before
    model.set_read_marker("c")                                 # the newest: nothing new yet
    assert new_at() == [] and model.first_new() is None
    model.add_message(key="d", user="alice", text="arrives", ts=now + 9, offset=4)
    model.flush()
    assert new_at() == ["d"]                                   # what arrives comes under it
    model.set_read_marker(BEFORE_FIRST)
    assert new_at() == ["a"]
    model.set_read_marker(None)
    assert new_at() == []
