"""The namespace extensions on their own (no server): what /chat and /queue add to the
plain session, when they are on, and the queue keys they classify into."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

from app.base_session import BaseSession
from app.config import ConnectionConfig
from app.inspector import describe_key
from app.keys import (
    Kind,
    QueueKey,
    dm_key,
    event_key,
    outbox_key,
    parse_key,
    parse_ts,
    room_key,
    work_key,
)
from app.outbox import OutboxMessage
from app.session import Session


@pytest.fixture
async def sessions(tmp_path: Path):
    made: list[BaseSession] = []

    def make(extensions: str = "on", url: str = "http://127.0.0.1:9",
             cls: type[BaseSession] = Session, name: str = "s") -> Any:
        cfg = ConnectionConfig(url=url, user="me", namespaces=["/chat", "/queue", "/"],
                               extensions=extensions)
        s = cls(cfg, tmp_path / name)
        made.append(s)
        return s

    yield make
    for s in made:
        await s.close()


def wire(s: BaseSession, ns: str, event: str, args: list[Any], msg_id: str = "abc"
         ) -> list[Any]:
    return s.wire_args(OutboxMessage(id=msg_id, namespace=ns, event=event, args=args))


async def test_ids_only_for_bundled_server_payloads(sessions) -> None:
    s = sessions("on")
    assert wire(s, "/queue", "publish", [{"queue": "q"}]) == [{"queue": "q", "id": "abc"}]
    assert wire(s, "/chat", "dm", [{"to": "b"}, 2]) == [{"to": "b", "id": "abc"}, 2]
    assert wire(s, "/sandbox", "message", [{"room": "r"}]) == [{"room": "r"}]
    assert wire(s, "/chat", "message", ["plain text"]) == ["plain text"]
    assert wire(s, "/chat", "message", [{"id": "x"}]) == [{"id": "x"}]
    own = s.emit("/chat", "dm", {"to": "bob", "text": "x", "id": "mine-1"})
    assert own.id == "mine-1" and own.args[0]["id"] == "mine-1"
    published = s.emit("/queue", "publish", {"queue": "q", "payload": 1, "id": "p-1"})
    assert published.id == "p-1"


async def test_a_foreign_server_gets_payloads_as_written(sessions) -> None:
    """Extensions off: no id in the payload, no room remembered, no id lifted."""
    s = sessions("off")
    assert wire(s, "/chat", "message", [{"room": "r", "text": "t"}]) == [
        {"room": "r", "text": "t"}]
    assert wire(s, "/queue", "publish", [{"queue": "q"}]) == [{"queue": "q"}]
    m = s.emit("/chat", "message", {"room": "r", "text": "t", "id": "given"})
    assert m.id != "given"
    assert s.chat.rooms == []
    assert s.extension("/chat") is None


async def test_a_room_message_remembers_its_room_when_accepted(sessions) -> None:
    """Offline, before the server has introduced itself: the room is remembered at once,
    so it is re-joined (and the message sent) after a restart."""
    s = sessions("auto")
    assert s.extensions_on is None
    s.chat.send("general", "hello")
    s.emit("/chat", "message", {"room": "ops", "text": "x"})
    s.emit("/chat", "typing", {"room": "not-a-message"}, volatile=True)
    assert s.chat.rooms == ["general", "ops"]


async def test_welcome_switches_extensions_on_and_is_remembered(sessions) -> None:
    url = "http://127.0.0.1:9"
    s = sessions("auto", url=url, name="a")
    assert s.extension("/chat") is None
    s.event("/chat", "welcome", [{"server": "other"}], False)
    assert s.extensions_on is None and s.extension("/chat") is None
    s.event("/chat", "welcome", [{"server": "sockdesk", "user": "me"}], False)
    assert s.extensions_on is True and s.extension("/chat") is s.chat
    s.store.flush()
    await s.close()
    again = sessions("auto", url=url, name="a")
    assert again.extensions_on is True
    elsewhere = sessions("auto", url="http://127.0.0.1:10", name="a2")
    assert elsewhere.extensions_on is None


async def test_a_plain_session_recognises_nobody(sessions) -> None:
    s = sessions("auto", cls=BaseSession)
    s.event("/chat", "welcome", [{"server": "sockdesk"}], False)
    assert s.extensions_on is None
    s.store.flush()
    assert s.store.count(event_key("/chat", "welcome")) == 1


async def test_chat_classifies_rooms_and_dms(sessions) -> None:
    s = sessions("on")
    chat = s.chat
    assert chat.classify("message", [{"room": "r", "text": "x"}], "in", "me") == \
        "room:/chat:r"
    assert chat.classify("dm", [{"user": "bob", "to": "me"}], "in", "me") == "dm:/chat:bob"
    assert chat.classify("dm", [{"to": "bob"}], "out", "me") == "dm:/chat:bob"
    assert chat.classify("presence", [{"room": "r"}], "in", "me") == "event:/chat:presence"
    s.event("/chat", "message", [{"room": "r", "text": "hi", "offset": 1}], False)
    s.event("/chat", "presence", [{"room": "r", "members": ["me", "bob"]}], False)
    s.store.flush()
    assert [m.text for m in s.store.page("room:/chat:r")] == ["hi"]
    assert s.chat.members("r") == ["me", "bob"]


async def test_events_of_a_foreign_chat_namespace_are_plain_events(sessions) -> None:
    s = sessions("off")
    s.event("/chat", "message", [{"room": "r", "text": "hi"}], False)
    s.store.flush()
    assert s.store.count("room:/chat:r") == 0
    assert s.store.count("event:/chat:message") == 1


async def test_queue_consumer_hands_deliveries_to_its_subscription(sessions) -> None:
    s = sessions("on")
    seen: list[dict[str, Any]] = []
    done = asyncio.Event()

    def handler(d: dict[str, Any]) -> None:
        seen.append(d)
        done.set()

    await s.queue.subscribe("jobs", handler, auto_ack=False)  # offline: pending
    assert s.queue.classify("deliver", [{"queue": "jobs", "seq": 1}], "in", "me") == \
        "work:jobs"
    s.event("/queue", "deliver", [{"queue": "jobs", "seq": 1, "payload": 7}], False)
    await asyncio.wait_for(done.wait(), 5)
    assert seen == [{"queue": "jobs", "seq": 1, "payload": 7}]
    s.store.flush()
    assert s.store.count("work:jobs") == 1


def test_keys_round_trip_any_event_name() -> None:
    for key in (event_key("/orders", "order:update"), room_key("/chat", "a:b:c"),
                dm_key("/chat", "bob"), outbox_key("/a:b"), work_key("q:1"),
                event_key("/", ""), room_key("/100%", "x")):
        parsed = parse_key(key)
        assert parsed is not None and str(parsed) == key
    assert parse_key(event_key("/orders", "order:update")) == QueueKey(
        Kind.EVENT, "/orders", "order:update")
    assert parse_key(outbox_key("/a:b")) == QueueKey(Kind.OUTBOX, "/a:b")
    assert parse_key("room:/chat:general") == QueueKey(Kind.ROOM, "/chat", "general")
    assert parse_key("nonsense") is None and parse_key("blob:/x:y") is None
    assert describe_key(event_key("/orders", "order:update")) == (
        "event", "order:update  ·  /orders", "/orders")


def test_one_timestamp_parser() -> None:
    assert parse_ts("2026-12-03T10:00:00Z") == parse_ts("2026-12-03T10:00:00+00:00") \
        == 1796292000.0
    assert parse_ts(1796292000) == 1796292000.0
    assert parse_ts(1796292000123) == pytest.approx(1796292000.123)   # milliseconds
    for bad in (math.nan, math.inf, True, None, "yesterday", 10**400, {"ts": 1}):
        assert parse_ts(bad) is None


async def test_presence_changes_during_a_join_are_applied_to_its_ack(sessions) -> None:
    """Re-joining after an outage, bob joins at the same moment. The server counts us a
    moment after we entered the room, so his `presence` may list only him and come
    before our ack; or it comes after the ack was computed without him. Either way both
    of us are members once the join is done (he looked offline until he typed)."""
    s = sessions("on")
    acks = iter([["me", "bob"], ["me"], ["me", "bob", "carol"]])
    events: list[list[dict[str, Any]]] = [
        [{"event": "joined", "user": "bob", "members": ["bob"]}],         # before us
        [{"event": "joined", "user": "bob", "members": ["me", "bob"]}],   # after the ack
        [{"event": "left", "user": "carol", "members": ["me", "bob"]}],   # left meanwhile
    ]

    async def call(namespace: str, event: str, payload: Any, **_: Any) -> Any:
        assert (namespace, event) == ("/chat", "join")
        for p in events.pop(0):
            s.event("/chat", "presence", [{"room": payload["room"], **p}], False)
        return {"ok": True, "members": next(acks), "history": [], "offset": 0}

    s.call = call
    for room in ("r1", "r2", "r3"):
        await s.chat._join_now(room)  # what the re-joins after a connect do
    assert sorted(s.chat.members("r1")) == ["bob", "me"]
    assert sorted(s.chat.members("r2")) == ["bob", "me"]
    assert sorted(s.chat.members("r3")) == ["bob", "me"]
    # later presence replaces the list as before
    s.event("/chat", "presence", [{"room": "r1", "event": "left", "user": "bob",
                                   "members": ["me"]}], False)
    assert s.chat.members("r1") == ["me"]
