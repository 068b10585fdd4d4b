"""/chat edits, deletes and replies against a real server (both backends): the acks and
broadcasts, who may change what, resends, and how history and ``since`` show changes."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.server_stub.conftest import ServerFactory
from tests.server_stub.peers import TIMEOUT, Peer, connected, unique


async def _pair(url: str, room: str) -> tuple[Peer, Peer]:
    alice = await connected(url, unique("alice"))
    bob = await connected(url, unique("bob"))
    await alice.call("join", {"room": room})
    await bob.call("join", {"room": room})
    return alice, bob


async def test_edit_and_delete_are_acked_and_reach_the_others(url: str) -> None:
    room = unique("edit")
    alice, bob = await _pair(url, room)
    try:
        sent = await alice.call("message", {"room": room, "text": "helo", "id": "m1"})
        await bob.next("message")
        edit = await alice.call("edit", {"room": room, "id": "m1", "text": "hello"})
        assert edit == {"ok": True, "id": "m1", "offset": sent["offset"] + 1,
                        "ts": edit["ts"]}
        assert await bob.next("edit") == {"room": room, "id": "m1", "user": alice.user,
                                          "text": "hello", "offset": edit["offset"],
                                          "ts": edit["ts"]}
        gone = await alice.call("delete", {"room": room, "id": "m1"})
        assert gone == {"ok": True, "id": "m1", "offset": edit["offset"] + 1,
                        "ts": gone["ts"]}
        assert await bob.next("delete") == {"room": room, "id": "m1", "user": alice.user,
                                            "offset": gone["offset"], "ts": gone["ts"]}
        # the changes took offsets: the next message comes after them
        nxt = await bob.call("message", {"room": room, "text": "after"})
        assert nxt["offset"] == gone["offset"] + 1
        assert (await alice.next("message"))["text"] == "after"
        assert alice.received("edit") == [] and alice.received("delete") == []
    finally:
        await alice.close()
        await bob.close()


async def test_only_the_author_may_change_a_message(url: str) -> None:
    room, elsewhere = unique("mine"), unique("other")
    alice, bob = await _pair(url, room)
    try:
        await alice.call("join", {"room": elsewhere})
        await alice.call("message", {"room": room, "text": "alice's", "id": "a1"})
        await alice.call("message", {"room": elsewhere, "text": "x", "id": "a2"})
        for event, extra in (("edit", {"text": "bob was here"}), ("delete", {})):
            ack = await bob.call(event, {"room": room, "id": "a1", **extra})
            assert ack["ok"] is False and ack["code"] == "forbidden", ack
            assert "only its author" in ack["error"]
            unknown = await bob.call(event, {"room": room, "id": "nope", **extra})
            assert unknown["ok"] is False and unknown["code"] == "not_found"
            # a message of another room is not in this one
            moved = await alice.call(event, {"room": room, "id": "a2", **extra})
            assert moved["ok"] is False and moved["code"] == "not_found"
        # bob may have a message with the same id: his own is the one he edits
        await bob.call("message", {"room": room, "text": "bob's", "id": "a1"})
        await alice.next("message")
        mine = await bob.call("edit", {"room": room, "id": "a1", "text": "bob's, edited"})
        assert mine["ok"] is True
        assert (await alice.next("edit"))["user"] == bob.user
        history = await alice.call("history", {"room": room})
        texts = {(m["user"], m.get("text")) for m in history["messages"] if "event" not in m}
        assert texts == {(alice.user, "alice's"), (bob.user, "bob's, edited")}
    finally:
        await alice.close()
        await bob.close()


async def test_changes_need_a_join_an_id_and_valid_text(url: str) -> None:
    room = unique("rules")
    alice, bob = await _pair(url, room)
    try:
        await alice.call("message", {"room": room, "text": "x", "id": "r1"})
        cases = [
            ("edit", {"room": room, "id": "r1"}, "invalid"),
            ("edit", {"room": room, "id": "r1", "text": ""}, "invalid"),
            ("edit", {"room": room, "id": "r1", "text": "y" * 4001}, "too_large"),
            ("edit", {"room": room, "text": "y"}, "invalid"),
            ("delete", {"room": room}, "invalid"),
            ("delete", {"room": room, "id": "i" * 129}, "invalid"),
            ("delete", {"room": "bad/name", "id": "r1"}, "invalid"),
            ("message", {"room": room, "text": "x", "reply_to": ""}, "invalid"),
            ("message", {"room": room, "text": "x", "reply_to": 7}, "invalid"),
        ]
        for event, payload, code in cases:
            ack = await alice.call(event, payload)
            assert ack["ok"] is False and ack["code"] == code, (event, payload, ack)
            assert ack["error"].strip()
        await alice.call("leave", {"room": room})
        ack = await alice.call("edit", {"room": room, "id": "r1", "text": "y"})
        assert ack["ok"] is False and ack["code"] == "not_found"
        await alice.call("join", {"room": room})
        await alice.call("delete", {"room": room, "id": "r1"})
        late = await alice.call("edit", {"room": room, "id": "r1", "text": "y"})
        assert late["ok"] is False and late["code"] == "not_found"
        assert "deleted" in late["error"]
    finally:
        await alice.close()
        await bob.close()


async def test_resent_changes_get_the_first_ack_and_store_nothing(url: str) -> None:
    room = unique("resend")
    alice, bob = await _pair(url, room)
    try:
        sent = await alice.call("message", {"room": room, "text": "same", "id": "s1"})
        # an edit to the text it has changes nothing: the message's own place
        same = await alice.call("edit", {"room": room, "id": "s1", "text": "same"})
        assert same == {"ok": True, "id": "s1", "offset": sent["offset"], "ts": sent["ts"]}
        edit = await alice.call("edit", {"room": room, "id": "s1", "text": "new"})
        again = await alice.call("edit", {"room": room, "id": "s1", "text": "new"})
        assert again == edit
        gone = await alice.call("delete", {"room": room, "id": "s1"})
        assert await alice.call("delete", {"room": room, "id": "s1"}) == gone
        marker = await alice.call("message", {"room": room, "text": "marker"})
        assert marker["offset"] == gone["offset"] + 1
        seen = [(e, d["offset"]) for ns, e, d in bob.events if e in ("message", "edit",
                                                                       "delete")]
        while not seen or seen[-1][1] != marker["offset"]:
            await bob.next("message")
            seen = [(e, d["offset"]) for ns, e, d in bob.events
                    if e in ("message", "edit", "delete")]
        assert seen == [("message", sent["offset"]), ("edit", edit["offset"]),
                        ("delete", gone["offset"]), ("message", marker["offset"])]
    finally:
        await alice.close()
        await bob.close()


async def test_history_shows_the_latest_state_and_since_recovers_the_changes(
        url: str) -> None:
    room = unique("recover")
    alice, bob = await _pair(url, room)
    try:
        first = await alice.call("message", {"room": room, "text": "one", "id": "h1"})
        await alice.call("message", {"room": room, "text": "two", "id": "h2"})
        await bob.close()  # bob is away from here on
        e1 = await alice.call("edit", {"room": room, "id": "h1", "text": "one!"})
        e2 = await alice.call("edit", {"room": room, "id": "h2", "text": "two!"})
        d2 = await alice.call("delete", {"room": room, "id": "h2"})
        bob = await connected(url, bob.user)
        back = await bob.call("join", {"room": room, "since": first["offset"] + 1})
        assert back["history"] == [
            {"room": room, "id": "h1", "user": alice.user, "text": "one!",
             "offset": e1["offset"], "ts": e1["ts"], "event": "edit"},
            # an edit of a message deleted later keeps no text
            {"room": room, "id": "h2", "user": alice.user, "offset": e2["offset"],
             "ts": e2["ts"], "event": "edit"},
            {"room": room, "id": "h2", "user": alice.user, "offset": d2["offset"],
             "ts": d2["ts"], "event": "delete"}]
        full = await bob.call("history", {"room": room})
        messages = [m for m in full["messages"] if "event" not in m]
        assert messages == [
            {"room": room, "user": alice.user, "text": "one!", "id": "h1",
             "offset": first["offset"], "ts": first["ts"], "edited": True},
            {"room": room, "user": alice.user, "id": "h2", "offset": first["offset"] + 1,
             "ts": messages[1]["ts"], "deleted": True}]
        assert [m["offset"] for m in full["messages"]] == list(range(1, d2["offset"] + 1))
        recent = await bob.call("join", {"room": room})
        assert recent["history"] == full["messages"] and recent["offset"] == d2["offset"]
    finally:
        await alice.close()
        await bob.close()


async def test_reply_to_is_stored_and_carried(url: str) -> None:
    room = unique("reply")
    alice, bob = await _pair(url, room)
    try:
        await alice.call("message", {"room": room, "text": "question?", "id": "q1"})
        await bob.next("message")
        answer = await bob.call("message", {"room": room, "text": "answer",
                                            "id": "a1", "reply_to": "q1"})
        live = await alice.next("message")
        assert live == {"room": room, "user": bob.user, "text": "answer", "id": "a1",
                        "offset": answer["offset"], "ts": answer["ts"], "reply_to": "q1"}
        # not checked for existence: it is an id, like any other
        loose = await bob.call("message", {"room": room, "text": "x", "reply_to": "gone"})
        assert loose["ok"] is True
        history = await alice.call("history", {"room": room})
        assert [m.get("reply_to") for m in history["messages"]] == [None, "q1", "gone"]
        again = await bob.call("message", {"room": room, "text": "answer", "id": "a1",
                                           "reply_to": "q1"})
        assert again == answer
    finally:
        await alice.close()
        await bob.close()


async def test_typing_to_a_user_reaches_each_of_their_sockets(url: str) -> None:
    alice = await connected(url, unique("alice"))
    bob_name = unique("bob")
    bob1 = await connected(url, bob_name)
    bob2 = await connected(url, bob_name)
    try:
        assert await alice.call("typing", {"to": bob_name}) == {"ok": True}
        expected = {"user": alice.user, "to": bob_name}
        assert await bob1.next("typing") == expected
        assert await bob2.next("typing") == expected
        for payload in ({}, {"room": "r", "to": bob_name}, {"to": "no spaces"}):
            ack = await alice.call("typing", payload)
            assert ack["ok"] is False and ack["code"] == "invalid", payload
        # to nobody online is fine (and goes nowhere)
        assert await alice.call("typing", {"to": unique("away")}) == {"ok": True}
        await alice.call("dm", {"to": bob_name, "text": "marker"})
        await bob1.next("dm")
        assert alice.received("typing") == [] and len(bob1.received("typing")) == 1
    finally:
        for peer in (alice, bob1, bob2):
            await peer.close()


async def test_users_lists_who_is_online_and_who_was_seen(url: str) -> None:
    alice = await connected(url, unique("alice"))
    bob = await connected(url, unique("bob"))
    try:
        for args in ((), ({},), (None,)):
            ack = await alice.call("users", *args)
            assert ack["ok"] is True
            names = [u["user"] for u in ack["users"]]
            assert names == sorted(names)
            mine = {u["user"]: u for u in ack["users"] if u["user"] in (alice.user,
                                                                       bob.user)}
            assert {n: u["online"] for n, u in mine.items()} == {alice.user: True,
                                                                 bob.user: True}
            assert all(u["last_seen"].endswith("Z") for u in mine.values())
        seen_before = mine[bob.user]["last_seen"]
        await bob.close()
        row = await _user_row(alice, bob.user, online=False)
        assert row["last_seen"] >= seen_before
    finally:
        await alice.close()


async def _user_row(peer: Peer, user: str, *, online: bool) -> dict[str, Any]:
    """``user``'s entry in ``users`` once it says ``online`` (a disconnect reaches the
    server a moment after the client has closed)."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while True:
        ack = await peer.call("users")
        row: dict[str, Any] = next(u for u in ack["users"] if u["user"] == user)
        if row["online"] is online or asyncio.get_running_loop().time() > deadline:
            assert row["online"] is online, row
            return row
        await asyncio.sleep(0.02)


async def test_users_survive_a_restart(server_factory: ServerFactory) -> None:
    srv = server_factory()
    carol = await connected(srv.url, unique("carol"))
    await carol.close()
    dave = await connected(srv.url, unique("dave"))
    row = await _user_row(dave, carol.user, online=False)
    await dave.close()
    srv.stop()
    srv.restart()
    erin = await connected(srv.url, unique("erin"))
    try:
        ack = await erin.call("users")
        assert [u["user"] for u in ack["users"]] == sorted([carol.user, dave.user,
                                                            erin.user])
        rows = {u["user"]: u for u in ack["users"]}
        assert rows[carol.user] == row
        assert rows[dave.user]["online"] is False and rows[erin.user]["online"] is True
    finally:
        await erin.close()


async def test_a_clean_stop_says_nobody_left(server_factory: ServerFactory) -> None:
    """SIGTERM closes every connection; the others must not be told that people left
    their rooms (they did not, the server went away)."""
    srv = server_factory()
    room = unique("stop")
    peers = [await connected(srv.url, unique(name)) for name in ("a", "b", "c", "d")]
    gone = [asyncio.Event() for _ in peers]
    for peer, event in zip(peers, gone, strict=True):
        peer.client.on("disconnect", event.set, namespace="/chat")
        await peer.call("join", {"room": room})
    for peer in peers[:-1]:  # each has seen everyone after it join
        while len(peer.received("presence")) < len(peers) - 1 - peers.index(peer):
            await peer.next("presence")
    await asyncio.to_thread(srv.stop)
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in gone)), TIMEOUT)
    for peer in peers:
        assert [p["event"] for p in peer.received("presence")] == ["joined"] * (
            len(peers) - 1 - peers.index(peer))
        await peer.close()
