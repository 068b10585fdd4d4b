"""/chat ``forget`` (a lesson's rooms deleted after the lesson) and ``transient``
connections (a lesson's simulated users, never recorded in ``users``), on both backends."""

from __future__ import annotations

import uuid
from typing import Any

from tests.server_stub.peers import Peer, connected


def _marker() -> str:
    return uuid.uuid4().hex[:8]


async def _rooms(peer: Peer) -> dict[str, Any]:
    return {r["room"]: r for r in (await peer.call("rooms"))["rooms"]}


async def test_a_run_forgets_its_empty_room_for_good(url: str) -> None:
    m = _marker()
    room = f"team-{m}"
    alice = await connected(url, f"alice-{m}")
    bob = await connected(url, f"bob-{m}")
    try:
        await alice.call("join", {"room": room})
        await bob.call("join", {"room": room})
        await alice.call("message", {"room": room, "text": "one", "id": "m1"})
        await bob.call("message", {"room": room, "text": "two", "id": "m2"})
        await alice.call("edit", {"room": room, "id": "m1", "text": "one!"})
        assert (await _rooms(alice))[room]["offset"] == 3
        busy = await alice.call("forget", {"room": room})
        assert busy["ok"] is False and busy["code"] == "busy", busy
        await alice.call("leave", {"room": room})
        busy = await alice.call("forget", {"room": room})      # bob is still in it
        assert busy["ok"] is False and busy["code"] == "busy", busy
        await bob.call("leave", {"room": room})
        assert await alice.call("forget", {"room": room}) == {
            "ok": True, "room": room, "removed": 3}
        assert room not in await _rooms(bob)
        assert await bob.call("history", {"room": room}) == {
            "ok": True, "room": room, "messages": [], "offset": 0, "more": False}
        # forgotten for good: again is a no-op, and its ids are free for a new message
        assert await alice.call("forget", {"room": room}) == {
            "ok": True, "room": room, "removed": 0}
        await alice.call("join", {"room": room})
        again = await alice.call("message", {"room": room, "text": "new", "id": "m1"})
        assert again["ok"] is True and again["offset"] == 1
    finally:
        await alice.close()
        await bob.close()


async def test_only_a_room_of_the_callers_run_with_only_its_users(url: str) -> None:
    m = _marker()
    room = f"team-{m}"
    alice = await connected(url, f"alice-{m}")
    carol = await connected(url, f"carol{m}")            # no marker of her own
    other = await connected(url, f"bob-{_marker()}")      # another run's user
    try:
        await carol.call("join", {"room": room})
        await carol.call("message", {"room": room, "text": "I was here"})
        await carol.call("leave", {"room": room})
        for peer, what in ((alice, "a message by a user without the marker"),
                           (other, "another run's room"), (carol, "a caller without one")):
            ack = await peer.call("forget", {"room": room})
            assert ack["ok"] is False and ack["code"] == "forbidden", (what, ack)
        plain = await alice.call("forget", {"room": "general"})
        assert plain["ok"] is False and plain["code"] == "forbidden"
        short = await connected(url, "dev-ops")               # too short to be a marker
        try:
            ack = await short.call("forget", {"room": "team-ops"})
            assert ack["ok"] is False and ack["code"] == "forbidden"
        finally:
            await short.close()
        assert (await _rooms(alice))[room]["offset"] == 1     # nothing was deleted
        bad = await alice.call("forget", {})
        assert bad["ok"] is False and bad["code"] == "invalid"
    finally:
        for peer in (alice, carol, other):
            await peer.close()


async def test_transient_users_are_online_but_never_listed_after(url: str) -> None:
    m = _marker()
    lesson = await connected(url, f"alice-{m}", auth={"user": f"alice-{m}",
                                                      "transient": True})
    person = await connected(url, f"erin-{m}")
    try:
        online = {u["user"]: u["online"] for u in (await person.call("users"))["users"]}
        assert online.get(lesson.user) is True and online.get(person.user) is True
        await lesson.close()
        # the server saw the disconnect once `online` no longer lists the lesson user
        for _ in range(200):
            listed = {u["user"] for u in (await person.call("users"))["users"]}
            if lesson.user not in listed:
                break
        assert lesson.user not in listed and person.user in listed
    finally:
        await person.close()
