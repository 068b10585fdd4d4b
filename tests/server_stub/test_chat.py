"""/chat against a real server: rooms, history, offsets, presence, typing, DMs, dedupe."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

from tests.server_stub.peers import connected, unique

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


async def test_welcome_has_the_contract_fields(url: str) -> None:
    user = unique("w")
    peer = await connected(url, user, "/chat")
    try:
        welcome = peer.received("welcome")[0]
        assert welcome["server"] == "sockdesk"
        assert re.fullmatch(r"\d+\.\d+\.\d+", welcome["version"])
        assert welcome["sid"] == peer.client.get_sid("/chat")
        assert welcome["user"] == user and welcome["namespace"] == "/chat"
    finally:
        await peer.close()


async def test_join_message_broadcast_and_ack(url: str) -> None:
    room = unique("room")
    alice = await connected(url, unique("alice"))
    bob = await connected(url, unique("bob"))
    try:
        ack = await alice.call("join", {"room": room})
        assert ack == {"ok": True, "room": room, "members": [alice.user], "history": [],
                       "offset": 0, "more": False}
        ack = await bob.call("join", {"room": room})
        assert ack["members"] == sorted([alice.user, bob.user])

        sent = await alice.call("message", {"room": room, "text": "hello", "id": "m-1"})
        assert sent["ok"] is True and sent["id"] == "m-1" and sent["offset"] == 1
        assert ISO.match(sent["ts"]) and datetime.fromisoformat(sent["ts"])
        got = await bob.next("message")
        assert got == {"room": room, "user": alice.user, "text": "hello", "id": "m-1",
                       "offset": 1, "ts": sent["ts"]}

        # The sender does not get its own message: bob's reply is the next thing alice sees.
        await bob.call("message", {"room": room, "text": "hi back"})
        reply = await alice.next("message")
        assert reply["text"] == "hi back" and reply["offset"] == 2
        assert [m["text"] for m in alice.received("message")] == ["hi back"]
    finally:
        await alice.close()
        await bob.close()


async def test_server_makes_an_id_when_absent(url: str) -> None:
    room = unique("room")
    peer = await connected(url, unique("u"))
    try:
        await peer.call("join", {"room": room})
        first = await peer.call("message", {"room": room, "text": "a"})
        second = await peer.call("message", {"room": room, "text": "a"})
        assert re.fullmatch(r"[0-9a-f]{32}", first["id"])
        assert first["id"] != second["id"] and second["offset"] == first["offset"] + 1
    finally:
        await peer.close()


async def test_join_since_and_history_paging(url: str) -> None:
    room = unique("room")
    peer = await connected(url, unique("u"))
    try:
        await peer.call("join", {"room": room})
        for i in range(1, 13):
            assert (await peer.call("message", {"room": room, "text": f"t{i}"}))["offset"] == i
        other = await connected(url, unique("late"))
        try:
            ack = await other.call("join", {"room": room, "since": 9})
            assert [m["offset"] for m in ack["history"]] == [10, 11, 12]
            assert ack["offset"] == 12 and ack["more"] is False
            assert ack["history"][0]["text"] == "t10"
        finally:
            await other.close()

        page = await peer.call("history", {"room": room, "since": 2, "limit": 4})
        assert page["ok"] is True and page["room"] == room
        assert [m["offset"] for m in page["messages"]] == [3, 4, 5, 6]
        assert page["more"] is True and page["offset"] == 12
        rest = await peer.call("history", {"room": room, "since": 6})
        assert [m["offset"] for m in rest["messages"]] == list(range(7, 13))
        assert rest["more"] is False
        everything = await peer.call("history", {"room": room})
        assert [m["offset"] for m in everything["messages"]] == list(range(1, 13))
    finally:
        await peer.close()


async def test_history_needs_no_join_and_empty_room_is_empty(url: str) -> None:
    peer = await connected(url, unique("u"))
    try:
        ack = await peer.call("history", {"room": unique("never")})
        assert ack == {"ok": True, "room": ack["room"], "messages": [], "offset": 0,
                       "more": False}
    finally:
        await peer.close()


async def test_join_without_since_gives_last_50_and_since_caps_at_500(url: str) -> None:
    room = unique("big")
    peer = await connected(url, unique("u"))
    try:
        await peer.call("join", {"room": room})
        acks = await asyncio.gather(*(peer.call("message", {"room": room, "text": str(i)})
                                      for i in range(520)))
        assert sorted(a["offset"] for a in acks) == list(range(1, 521))
        fresh = await connected(url, unique("fresh"))
        try:
            recent = await fresh.call("join", {"room": room})
            assert [m["offset"] for m in recent["history"]] == list(range(471, 521))
            assert recent["offset"] == 520
            full = await fresh.call("join", {"room": room, "since": 0})
            assert [m["offset"] for m in full["history"]] == list(range(1, 501))
            assert full["more"] is True
            tail = await fresh.call("join", {"room": room, "since": 500})
            assert len(tail["history"]) == 20 and tail["more"] is False
        finally:
            await fresh.close()
    finally:
        await peer.close()


async def test_offsets_have_no_gaps_under_concurrent_senders(url: str) -> None:
    room = unique("busy")
    peers = [await connected(url, unique(f"p{i}")) for i in range(3)]
    try:
        for p in peers:
            await p.call("join", {"room": room})
        acks = await asyncio.gather(*(p.call("message", {"room": room, "text": f"{n}"})
                                      for p in peers for n in range(30)))
        assert sorted(a["offset"] for a in acks) == list(range(1, 91))
        history = await peers[0].call("history", {"room": room})
        assert [m["offset"] for m in history["messages"]] == list(range(1, 91))
    finally:
        for p in peers:
            await p.close()


async def test_duplicate_message_id_gets_first_ack_and_is_not_rebroadcast(url: str) -> None:
    room = unique("dup")
    alice = await connected(url, unique("alice"))
    bob = await connected(url, unique("bob"))
    try:
        await alice.call("join", {"room": room})
        await bob.call("join", {"room": room})
        first = await alice.call("message", {"room": room, "text": "once", "id": "same"})
        again = await alice.call("message", {"room": room, "text": "changed", "id": "same"})
        assert again == first
        # Sent concurrently (the second arrives while the first is being committed).
        racing = await asyncio.gather(*(alice.call("message", {"room": room, "text": "r",
                                                               "id": "race"})
                                        for _ in range(5)))
        assert all(r == racing[0] for r in racing)
        await alice.call("message", {"room": room, "text": "marker"})
        texts = []
        while not texts or texts[-1] != "marker":
            texts.append((await bob.next("message"))["text"])
        assert texts == ["once", "r", "marker"]
        history = await bob.call("history", {"room": room})
        assert [m["text"] for m in history["messages"]] == ["once", "r", "marker"]
    finally:
        await alice.close()
        await bob.close()


async def test_spoofed_user_field_is_ignored(url: str) -> None:
    room = unique("spoof")
    alice = await connected(url, unique("alice"))
    bob = await connected(url, unique("bob"))
    try:
        await alice.call("join", {"room": room, "user": "mallory"})
        ack = await bob.call("join", {"room": room, "user": "mallory"})
        assert ack["members"] == sorted([alice.user, bob.user])
        await alice.call("message", {"room": room, "text": "x", "user": "mallory"})
        assert (await bob.next("message"))["user"] == alice.user
        await alice.call("dm", {"to": bob.user, "text": "psst", "user": "mallory"})
        assert (await bob.next("dm"))["user"] == alice.user
    finally:
        await alice.close()
        await bob.close()


async def test_message_and_typing_need_membership(url: str) -> None:
    room = unique("closed")
    peer = await connected(url, unique("u"))
    try:
        for event, payload in (("message", {"room": room, "text": "x"}),
                               ("typing", {"room": room})):
            ack = await peer.call(event, payload)
            assert ack["ok"] is False and ack["code"] == "not_found"
            assert isinstance(ack["error"], str) and ack["error"]
        await peer.call("join", {"room": room})
        assert (await peer.call("leave", {"room": room})) == {"ok": True}
        ack = await peer.call("message", {"room": room, "text": "x"})
        assert ack["code"] == "not_found"
        assert (await peer.call("leave", {"room": room})) == {"ok": True}  # harmless
    finally:
        await peer.close()


async def test_typing_goes_to_the_others_only(url: str) -> None:
    room = unique("typing")
    alice = await connected(url, unique("alice"))
    bob = await connected(url, unique("bob"))
    try:
        await alice.call("join", {"room": room})
        await bob.call("join", {"room": room})
        assert (await alice.call("typing", {"room": room})) == {"ok": True}
        assert (await bob.next("typing")) == {"room": room, "user": alice.user}
        await bob.call("typing", {"room": room})
        assert (await alice.next("typing")) == {"room": room, "user": bob.user}
        assert alice.received("typing") == [{"room": room, "user": bob.user}]
        # typing is not stored
        assert (await alice.call("history", {"room": room}))["messages"] == []
    finally:
        await alice.close()
        await bob.close()


async def test_presence_is_per_user(url: str) -> None:
    room = unique("presence")
    alice = await connected(url, unique("alice"))
    bob_name = unique("bob")
    bob1 = await connected(url, bob_name)
    bob2 = await connected(url, bob_name)
    try:
        await alice.call("join", {"room": room})
        await bob1.call("join", {"room": room})
        assert (await alice.next("presence")) == {
            "room": room, "user": bob_name, "event": "joined",
            "members": sorted([alice.user, bob_name])}
        ack = await bob2.call("join", {"room": room})
        assert ack["members"] == sorted([alice.user, bob_name])
        await bob1.call("leave", {"room": room})  # bob is still there through bob2
        await bob2.call("message", {"room": room, "text": "marker"})
        await alice.next("message")
        assert len(alice.received("presence")) == 1
        await bob2.close()  # last bob socket gone: left
        assert (await alice.next("presence")) == {
            "room": room, "user": bob_name, "event": "left", "members": [alice.user]}
        carol = await connected(url, unique("carol"))
        try:
            await carol.call("join", {"room": room})
            joined = await alice.next("presence")
            assert joined["user"] == carol.user and joined["event"] == "joined"
            await carol.call("leave", {"room": room})
            left = await alice.next("presence")
            assert left["event"] == "left" and left["members"] == [alice.user]
        finally:
            await carol.close()
    finally:
        await alice.close()
        await bob1.close()


async def test_rooms_lists_members_and_offsets(url: str) -> None:
    room = unique("listed")
    alice = await connected(url, unique("alice"))
    try:
        await alice.call("join", {"room": room})
        await alice.call("message", {"room": room, "text": "1"})
        await alice.call("message", {"room": room, "text": "2"})
        for args in ((), ({},), (None,)):
            ack = await alice.call("rooms", *args)
            assert ack["ok"] is True
            mine = [r for r in ack["rooms"] if r["room"] == room]
            assert mine == [{"room": room, "members": 1, "offset": 2}]
    finally:
        await alice.close()


async def test_dm_live_to_every_socket_of_the_recipient(url: str) -> None:
    alice = await connected(url, unique("alice"))
    bob_name = unique("bob")
    bob1 = await connected(url, bob_name)
    bob2 = await connected(url, bob_name)
    try:
        ack = await alice.call("dm", {"to": bob_name, "text": "hi", "id": "d1"})
        assert ack["ok"] is True and ack["id"] == "d1" and ISO.match(ack["ts"])
        expected = {"user": alice.user, "to": bob_name, "text": "hi", "id": "d1",
                    "ts": ack["ts"]}
        assert await bob1.next("dm") == expected
        assert await bob2.next("dm") == expected
        again = await alice.call("dm", {"to": bob_name, "text": "hi", "id": "d1"})
        assert again == ack
        await alice.call("dm", {"to": bob_name, "text": "marker"})
        assert (await bob1.next("dm"))["text"] == "marker"
        assert alice.received("dm") == []
    finally:
        for p in (alice, bob1, bob2):
            await p.close()


async def test_dm_to_offline_user_is_delivered_on_next_connection(url: str) -> None:
    alice = await connected(url, unique("alice"))
    dave = unique("dave")
    try:
        first = await alice.call("dm", {"to": dave, "text": "while you were out", "id": "o1"})
        dup = await alice.call("dm", {"to": dave, "text": "while you were out", "id": "o1"})
        assert dup == first
        await alice.call("dm", {"to": dave, "text": "second", "id": "o2"})
        peer = await connected(url, dave)
        try:
            one = await peer.next("dm")
            two = await peer.next("dm")
            assert [one["id"], two["id"]] == ["o1", "o2"]
            assert one["user"] == alice.user and one["to"] == dave
        finally:
            await peer.close()
        # Delivered once: the next connection does not get them again.
        again = await connected(url, dave)
        try:
            await alice.call("dm", {"to": dave, "text": "marker"})
            assert (await again.next("dm"))["text"] == "marker"
            assert len(again.received("dm")) == 1
        finally:
            await again.close()
    finally:
        await alice.close()


async def test_unknown_event_and_bad_input_get_an_error_ack(url: str) -> None:
    room = unique("bad")
    peer = await connected(url, unique("u"))
    try:
        await peer.call("join", {"room": room})
        cases = [
            ("message", ("not an object",), "invalid"),
            ("message", ({"room": room},), "invalid"),
            ("message", ({"room": room, "text": ""},), "invalid"),
            ("message", ({"room": room, "text": 5},), "invalid"),
            ("message", ({"room": room, "text": "x" * 4001},), "too_large"),
            ("message", ({"room": room, "text": "x", "id": ""},), "invalid"),
            ("message", ({"room": room, "text": "x", "id": "i" * 129},), "invalid"),
            ("message", ({"room": room, "text": "x" * 70_000},), "too_large"),
            ("join", ({"room": "r" * 65},), "invalid"),
            ("join", ({"room": "bad/name"},), "invalid"),
            ("join", ({"room": room, "since": -1},), "invalid"),
            ("join", ({"room": room, "since": True},), "invalid"),
            ("history", ({"room": room, "limit": 0},), "invalid"),
            ("history", ({"room": room, "limit": 501},), "invalid"),
            ("dm", ({"to": "no spaces allowed", "text": "x"},), "invalid"),
            ("join", (), "invalid"),
            ("join", ({"room": room}, {"room": room}), "invalid"),
            ("frobnicate", ({},), "invalid"),
        ]
        for event, args, code in cases:
            ack = await peer.call(event, *args)
            assert ack["ok"] is False, (event, args, ack)
            assert ack["code"] == code, (event, args, ack)
            assert isinstance(ack["error"], str) and ack["error"].strip()
        # An id of exactly 128 characters and text of exactly 4000 are fine.
        ok = await peer.call("message", {"room": room, "text": "x" * 4000, "id": "i" * 128})
        assert ok["ok"] is True
    finally:
        await peer.close()


async def test_join_during_a_burst_sees_every_message_exactly_once(url: str) -> None:
    """History covers what was committed before the join, live delivery the rest: no
    message is missed and none arrives twice (by offset), even mid-burst."""
    room = unique("burst")
    sender = await connected(url, unique("sender"))
    joiner = await connected(url, unique("joiner"))
    try:
        await sender.call("join", {"room": room})
        burst = asyncio.gather(*(sender.call("message", {"room": room, "text": str(i)})
                                 for i in range(300)))
        await asyncio.sleep(0)  # let the burst start before the join goes out
        join = await joiner.call("join", {"room": room, "since": 0})
        await burst
        marker = await sender.call("message", {"room": room, "text": "marker"})
        while not joiner.received("message") or \
                joiner.received("message")[-1]["offset"] != marker["offset"]:
            await joiner.next("message")
        history = [m["offset"] for m in join["history"]]
        live = [m["offset"] for m in joiner.received("message")]
        assert sorted(history + live) == list(range(1, marker["offset"] + 1))
    finally:
        await sender.close()
        await joiner.close()
