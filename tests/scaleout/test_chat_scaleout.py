"""/chat with clients on different server processes sharing one Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.scaleout.conftest import Cluster
from tests.server_stub.peers import Peer, connected, unique

pytestmark = pytest.mark.redis

#: Generous: two shared cores, several server processes and a redis-server.
WAIT = 20.0


async def messages(peer: Peer, n: int) -> list[dict[str, Any]]:
    return [await peer.next("message", timeout=WAIT) for _ in range(n)]


async def close_all(*peers: Peer) -> None:
    for peer in peers:
        await peer.close()


async def test_room_live_presence_and_offsets_across_three_processes(cluster: Cluster) -> None:
    a, b, c = cluster(3)
    room = unique("room")
    alice = await connected(a.url, "alice")
    bob1 = await connected(b.url, "bob")
    bob2 = await connected(c.url, "bob")
    try:
        assert (await alice.call("join", {"room": room}))["members"] == ["alice"]
        assert (await bob1.call("join", {"room": room}))["members"] == ["alice", "bob"]
        assert await alice.next("presence", timeout=WAIT) == {
            "room": room, "user": "bob", "event": "joined", "members": ["alice", "bob"]}
        # bob's second socket, on a third process: already a member, no presence event
        assert (await bob2.call("join", {"room": room}))["members"] == ["alice", "bob"]

        sent = await alice.call("message", {"room": room, "text": "hello", "id": "h1"})
        assert sent["offset"] == 1
        for peer in (bob1, bob2):
            assert await peer.next("message", timeout=WAIT) == {
                "room": room, "user": "alice", "text": "hello", "id": "h1", "offset": 1,
                "ts": sent["ts"]}

        # Senders on all three processes at once: one gapless offset sequence, and every
        # socket gets every message of the other two sockets exactly once.
        peers = (alice, bob1, bob2)
        acks = await asyncio.gather(*(p.call("message", {"room": room, "text": f"{i}-{n}"})
                                      for i, p in enumerate(peers) for n in range(20)))
        assert sorted(ack["offset"] for ack in acks) == list(range(2, 62))
        own = {i: {ack["offset"] for ack in acks[i * 20:(i + 1) * 20]} for i in range(3)}
        for i, peer in enumerate(peers):
            got = [m["offset"] for m in await messages(peer, 40)]
            assert sorted(got) == sorted(set(range(2, 62)) - own[i])

        await alice.call("typing", {"room": room})
        for peer in (bob1, bob2):
            assert await peer.next("typing", timeout=WAIT) == {"room": room, "user": "alice"}

        rooms = await bob2.call("rooms")
        assert {"room": room, "members": 2, "offset": 61} in rooms["rooms"]

        # Presence is per user over every process: bob leaves on B but stays through C.
        await bob1.call("leave", {"room": room})
        marker = await bob2.call("message", {"room": room, "text": "marker"})
        assert (await alice.next("message", timeout=WAIT))["offset"] == marker["offset"]
        assert len(alice.received("presence")) == 1
        await bob2.close()  # bob's last socket anywhere
        assert await alice.next("presence", timeout=WAIT) == {
            "room": room, "user": "bob", "event": "left", "members": ["alice"]}
    finally:
        await close_all(alice, bob1, bob2)


async def test_since_recovery_and_a_join_mid_burst_on_another_process(
        cluster: Cluster) -> None:
    a, b = cluster(2)
    room = unique("recover")
    sender = await connected(a.url, "sender")
    dave = await connected(b.url, "dave")
    joiner = await connected(b.url, "joiner")
    try:
        await sender.call("join", {"room": room})
        await dave.call("join", {"room": room})
        for i in range(5):
            await sender.call("message", {"room": room, "text": f"m{i}"})
        seen = [m["offset"] for m in await messages(dave, 5)]
        assert seen == [1, 2, 3, 4, 5]
        await dave.close()
        for i in range(5, 12):
            await sender.call("message", {"room": room, "text": f"m{i}"})
        again = await connected(a.url, "dave")  # back, on the other process
        try:
            ack = await again.call("join", {"room": room, "since": seen[-1]})
            assert [m["offset"] for m in ack["history"]] == list(range(6, 13))
            assert ack["offset"] == 12 and ack["more"] is False
        finally:
            await again.close()

        # The sender's broadcasts reach B through pub/sub while B reads the history from
        # Redis: every message is in the join's history or live, never both or neither.
        first_ack = asyncio.Event()

        async def send(i: int) -> dict[str, Any]:
            ack = await sender.call("message", {"room": room, "text": f"burst{i}"})
            first_ack.set()
            return ack

        burst = asyncio.gather(*(send(i) for i in range(300)))
        await asyncio.wait_for(first_ack.wait(), WAIT)
        join = await joiner.call("join", {"room": room, "since": 0})
        await burst
        marker = await sender.call("message", {"room": room, "text": "marker"})
        while not joiner.received("message") or \
                joiner.received("message")[-1]["offset"] != marker["offset"]:
            await joiner.next("message", timeout=WAIT)
        history = [m["offset"] for m in join["history"]]
        live = [m["offset"] for m in joiner.received("message")]
        assert sorted(history + live) == list(range(1, marker["offset"] + 1))
        assert live, "the join did not overlap the burst"
    finally:
        await close_all(sender, dave, joiner)


async def test_dms_reach_every_socket_on_any_process_and_wait_for_offline_users(
        cluster: Cluster) -> None:
    a, b, c = cluster(3)
    bob, erin = unique("bob"), unique("erin")
    alice = await connected(a.url, "alice")
    alice_elsewhere = await connected(c.url, "alice")
    bob1 = await connected(b.url, bob)
    bob2 = await connected(c.url, bob)
    try:
        ack = await alice.call("dm", {"to": bob, "text": "hi", "id": "d1"})
        for peer in (bob1, bob2):
            got = await peer.next("dm", timeout=WAIT)
            assert got == {"user": "alice", "to": bob, "text": "hi", "id": "d1",
                           "ts": ack["ts"]}
        # A resend through another process: the first ack, no second delivery.
        assert await alice_elsewhere.call("dm", {"to": bob, "text": "hi", "id": "d1"}) == ack
        await alice.call("dm", {"to": bob, "text": "marker"})
        assert (await bob1.next("dm", timeout=WAIT))["text"] == "marker"
        assert alice.received("dm") == [] and alice_elsewhere.received("dm") == []

        await alice.call("dm", {"to": erin, "text": "while you were out", "id": "o1"})
        late = await connected(c.url, erin)
        try:
            got = await late.next("dm", timeout=WAIT)
            assert got["id"] == "o1" and got["user"] == "alice"
        finally:
            await late.close()
        again = await connected(b.url, erin)  # delivered once: not again elsewhere
        try:
            await alice.call("dm", {"to": erin, "text": "marker"})
            assert (await again.next("dm", timeout=WAIT))["text"] == "marker"
            assert len(again.received("dm")) == 1
        finally:
            await again.close()
    finally:
        await close_all(alice, alice_elsewhere, bob1, bob2)


async def test_the_same_message_id_sent_to_two_processes_at_once_is_stored_once(
        cluster: Cluster) -> None:
    a, b = cluster(2)
    room = unique("dedupe")
    one = await connected(a.url, "carol")
    two = await connected(b.url, "carol")
    try:
        await one.call("join", {"room": room})
        await two.call("join", {"room": room})
        acks = await asyncio.gather(*(peer.call("message", {"room": room, "text": "once",
                                                            "id": f"same-{n}"})
                                      for n in range(20) for peer in (one, two)))
        for n in range(20):
            assert acks[2 * n] == acks[2 * n + 1]
        history = await one.call("history", {"room": room})
        assert [m["offset"] for m in history["messages"]] == list(range(1, 21))
        assert sorted(m["id"] for m in history["messages"]) == sorted(
            f"same-{n}" for n in range(20))
    finally:
        await close_all(one, two)


async def test_edits_deletes_dm_typing_and_users_across_processes(cluster: Cluster) -> None:
    """Changes, DM typing and the user list are shared state like messages: one offset
    sequence, broadcasts to every process, one list of who is online anywhere."""
    a, b = cluster(2)
    room = unique("room")
    alice = await connected(a.url, "alice")
    bob = await connected(b.url, "bob")
    try:
        await alice.call("join", {"room": room})
        await bob.call("join", {"room": room})
        sent = await alice.call("message", {"room": room, "text": "helo", "id": "m1"})
        await bob.next("message", timeout=WAIT)
        edit = await alice.call("edit", {"room": room, "id": "m1", "text": "hello"})
        assert (await bob.next("edit", timeout=WAIT))["offset"] == sent["offset"] + 1
        refused = await bob.call("delete", {"room": room, "id": "m1"})
        assert refused["ok"] is False and refused["code"] == "forbidden"
        gone = await alice.call("delete", {"room": room, "id": "m1"})
        assert (await bob.next("delete", timeout=WAIT))["offset"] == edit["offset"] + 1
        history = await bob.call("history", {"room": room})
        assert history["messages"][0] == {
            "room": room, "user": "alice", "id": "m1", "offset": sent["offset"],
            "ts": sent["ts"], "deleted": True}
        assert history["offset"] == gone["offset"]

        await alice.call("typing", {"to": "bob"})
        assert await bob.next("typing", timeout=WAIT) == {"user": "alice", "to": "bob"}
        users = await bob.call("users")
        assert [(u["user"], u["online"]) for u in users["users"]] == [
            ("alice", True), ("bob", True)]
    finally:
        await close_all(alice, bob)
