"""Chat search in the store: the text column only, change rows never hits, bounded."""

from __future__ import annotations

import time
from pathlib import Path

from app.chat_search import conversation_rows, find_everywhere, find_in_conversation, text_query
from app.keys import dm_key, outbox_key, room_key
from app.store import MessageStore, StoredMessage, describe


def own(event: str, payload: dict[str, str], state: str, ts: float) -> StoredMessage:
    """An own message as the outbox keeps it (queue outbox:/chat, its id, a state)."""
    m = describe("/chat", event, [payload], "out", outbox_key("/chat"), ts=ts, me="alice")
    m.msg_id, m.state = payload["id"], state
    return m


def test_hits_are_messages_people_read(tmp_path: Path) -> None:
    """250 room hits list as 200 of N; a change entry (an edit) is no hit; own DMs and
    own waiting room messages, kept in the outbox only, are found under their ids; an
    acked own room message is found once (its room-queue copy)."""
    store = MessageStore.open(tmp_path)
    now = time.time()
    rows = [describe("/chat", "message", [{"room": "r", "user": "bob", "id": f"x{i}",
                                           "text": f"apple {i}", "offset": i + 1}],
                     "in", room_key("/chat", "r"), ts=now + i) for i in range(250)]
    rows.append(describe("/chat", "edit", [{"room": "r", "user": "bob", "id": "x1",
                                            "text": "apple edited", "offset": 251}],
                         "in", room_key("/chat", "r"), ts=now + 300))
    rows.append(describe("/chat", "dm", [{"user": "bob", "to": "alice", "id": "d1",
                                          "text": "apple by dm"}],
                         "in", dm_key("/chat", "bob"), ts=now + 301))
    rows.append(own("dm", {"to": "bob", "text": "apple of mine", "id": "o1"}, "acked",
                    now + 302))
    rows.append(own("message", {"room": "r", "text": "apple waiting", "id": "o2"}, "queued",
                    now + 303))
    rows.append(own("message", {"room": "r", "text": "apple acked", "id": "x0"}, "acked",
                    now + 304))
    store.bulk_insert(rows)

    hits, total = find_everywhere(store, "apple", me="alice")
    assert total == 253 and len(hits) == 200
    assert [(h.kind, h.target, h.key, h.own) for h in hits[:3]] == [
        ("room", "r", "o2", True), ("dm", "bob", "o1", True), ("dm", "bob", "d1", False)]
    assert not any(h.text == "apple edited" for h in hits)

    room = find_in_conversation(store, "room", "r", "apple", me="alice")
    assert len(room) == 251
    assert [h.key for h in room[:3]] == ["o2", "x249", "x248"]  # waiting, then by offset
    dm = find_in_conversation(store, "dm", "bob", "apple", me="alice")
    assert [h.key for h in dm] == ["o1", "d1"]
    assert find_in_conversation(store, "room", "r", "bob") == []  # authors are not text
    store.close()


def test_bad_syntax_is_no_query_and_no_error(tmp_path: Path) -> None:
    store = MessageStore.open(tmp_path)
    store.bulk_insert([describe("/chat", "message", [{"room": "r", "user": "bob", "id": "a",
                                                      "text": 'say "NEAR(x) AND -y*"'}],
                                "in", room_key("/chat", "r"))])
    assert text_query('* - "') is None
    for term in ('"', "NEAR(", "AND", "-y*", "x)", "{text}:", "say OR"):
        find_in_conversation(store, "room", "r", term)
        find_everywhere(store, term)
    assert [h.key for h in find_in_conversation(store, "room", "r", '"near(x')] == ["a"]
    store.close()


def test_conversation_rows_read_a_dm_in_time_order(tmp_path: Path) -> None:
    store = MessageStore.open(tmp_path)
    now = time.time()
    store.bulk_insert([
        describe("/chat", "dm", [{"user": "bob", "to": "alice", "id": "b1", "text": "1"}],
                 "in", dm_key("/chat", "bob"), ts=now),
        own("dm", {"to": "bob", "text": "2", "id": "a1"}, "acked", now + 1),
        describe("/chat", "dm", [{"user": "bob", "to": "alice", "id": "b2", "text": "3"}],
                 "in", dm_key("/chat", "bob"), ts=now + 2),
        own("dm", {"to": "carol", "text": "elsewhere", "id": "a2"}, "acked", now + 3),
    ])
    first = conversation_rows(store, "dm", "bob", now, 0, 2)
    assert [m.text for m in first] == ["1", "2"]
    rest = conversation_rows(store, "dm", "bob", first[-1].ts, first[-1].rowid + 1, 10)
    assert [m.text for m in rest] == ["3"]
    store.close()
