"""The /chat core API for edits, deletes, replies, people and DM typing, against the real
bundled server: through the outbox, live and recovered with `since`, and in the store."""

from __future__ import annotations

from typing import Any

import pytest

from app.chat_changes import MessageChange
from app.keys import MAX_TEXT_CHARS, parse_ts
from app.outbox import OutboxState
from app.session import Session
from tests.app.helpers import until

ROOM = "team"
QUEUE = f"room:/chat:{ROOM}"


def changes_of(session: Session) -> list[MessageChange]:
    seen: list[MessageChange] = []
    session.chat.changed.connect(seen.append)
    return seen


def message_row(session: Session, msg_id: str) -> Any:
    rows = [m for m in session.store.page(QUEUE) if m.event == "message"
            and m.msg_id == msg_id]
    assert len(rows) == 1, rows
    return rows[0]


async def acked(session: Session, msg_id: str) -> Any:
    return await until(lambda: (m := session.outbox.get(msg_id)) is not None
                       and m.state in (OutboxState.ACKED, OutboxState.FAILED) and m,
                       what=f"the ack of {msg_id}")


async def two(make_session: Any, url: str) -> tuple[Session, Session]:
    alice = make_session(url, user="alice")
    bob = make_session(url, user="bob")
    assert await alice.connect() and await bob.connect()
    await alice.chat.join(ROOM)
    await bob.chat.join(ROOM)
    return alice, bob


@pytest.mark.timeout(60)
async def test_edit_and_delete_reach_another_session_live(server, make_session):
    alice, bob = await two(make_session, server.url)
    bob_saw, alice_saw = changes_of(bob), changes_of(alice)
    first = alice.chat.send(ROOM, "the meeting is at 3 oclock")
    await until(lambda: any(m.msg_id == first.id for m in bob.store.page(QUEUE)))
    edit = alice.chat.edit(ROOM, first.id, "the meeting is at 4 sharp")
    await until(lambda: bob_saw, what="bob sees the edit")
    ack = (await acked(alice, edit.id)).reply
    assert ack["ok"] is True and ack["id"] == first.id
    assert bob_saw == [MessageChange(room=ROOM, id=first.id, user="alice", kind="edit",
                                     text="the meeting is at 4 sharp", offset=ack["offset"],
                                     ts=parse_ts(ack["ts"]))]
    await until(lambda: alice_saw, what="alice's own edit, once acked")
    assert alice_saw == bob_saw
    for session in (alice, bob):
        row = message_row(session, first.id)
        assert row.text == "the meeting is at 4 sharp"
        assert row.args[0]["text"] == row.text and row.args[0]["edited"] is True
        assert session.store.count(QUEUE, "sharp") == 1
        assert session.store.count(QUEUE, "oclock") == 0

    gone = alice.chat.delete(ROOM, first.id)
    await until(lambda: len(bob_saw) == 2 and len(alice_saw) == 2, what="the delete")
    assert (await acked(alice, gone.id)).state == OutboxState.ACKED
    assert bob_saw[1].kind == "delete" and bob_saw[1].text is None
    for session in (alice, bob):
        row = message_row(session, first.id)
        assert row.text is None and "text" not in row.args[0]
        assert row.args[0]["deleted"] is True
        # nothing of it can be found any more, in the room or in our own outbox
        assert session.store.count(QUEUE, "meeting") == 0
        assert session.store.count("outbox:/chat", "meeting") == 0
        # the changes are rows of the room at their offsets, without text
        kept = [(m.event, m.offset, m.text) for m in session.store.page(QUEUE)
                if m.event != "message"]
        assert kept == [("edit", ack["offset"], None), ("delete", ack["offset"] + 1, None)]
        assert session.chat.last_offset(ROOM) == ack["offset"] + 1


@pytest.mark.timeout(60)
async def test_changes_made_while_away_are_recovered_with_since(server, make_session):
    alice, bob = await two(make_session, server.url)
    keep = alice.chat.send(ROOM, "keep me", reply_to="nothing-yet")
    drop = alice.chat.send(ROOM, "drop me")
    await until(lambda: len([m for m in bob.store.page(QUEUE)]) == 2)
    messages: list[Any] = []
    bob.chat.message.connect(messages.append)
    bob_saw = changes_of(bob)
    await bob.disconnect()
    alice.chat.edit(ROOM, keep.id, "kept, edited")
    alice.chat.delete(ROOM, drop.id)
    late = alice.chat.send(ROOM, "after the changes")
    assert await alice.wait_flushed(timeout=20)
    assert await bob.connect()
    assert await bob.wait_ready("/chat", timeout=10)
    await until(lambda: len(bob_saw) == 2 and messages, what="the recovered changes")
    assert [(c.kind, c.id, c.text) for c in bob_saw] == [
        ("edit", keep.id, "kept, edited"), ("delete", drop.id, None)]
    assert [m.msg_id for m in messages] == [late.id]  # changes are not messages
    kept = message_row(bob, keep.id)
    assert kept.text == "kept, edited" and kept.args[0]["reply_to"] == "nothing-yet"
    assert message_row(bob, drop.id).args[0]["deleted"] is True
    assert bob.chat.last_offset(ROOM) == 5
    assert bob.store.count(QUEUE, "drop") == 0


@pytest.mark.timeout(60)
async def test_editing_someone_elses_message_fails_with_the_servers_sentence(
        server, make_session):
    alice, bob = await two(make_session, server.url)
    mine = alice.chat.send(ROOM, "alice wrote this")
    assert await alice.wait_flushed(timeout=20)
    attempt = bob.chat.edit(ROOM, mine.id, "bob rewrote it")
    failed = await acked(bob, attempt.id)
    assert failed.state == OutboxState.FAILED
    assert "only its author may edit it" in failed.error
    deleting = await acked(bob, bob.chat.delete(ROOM, mine.id).id)
    assert deleting.state == OutboxState.FAILED and "only its author" in deleting.error
    assert message_row(alice, mine.id).text == "alice wrote this"


@pytest.mark.timeout(60)
async def test_an_edit_that_cannot_be_sent_is_refused_before_it_is_queued(server,
                                                                          make_session):
    alice = make_session(server.url, user="alice")
    for bad in ("", "x" * (MAX_TEXT_CHARS + 1)):
        with pytest.raises(ValueError, match=r"empty|limit is 4,000"):
            alice.chat.edit(ROOM, "some-id", bad)
    with pytest.raises(ValueError, match="message id"):
        alice.chat.delete(ROOM, "")
    with pytest.raises(ValueError, match="message id"):
        alice.chat.send(ROOM, "a reply", reply_to="i" * 129)
    assert alice.outbox.depth() == 0
    assert alice.chat.edit(ROOM, "some-id", "x" * MAX_TEXT_CHARS).state == OutboxState.QUEUED


@pytest.mark.timeout(60)
async def test_people_known_users_and_dm_typing(server, make_session):
    alice, bob = await two(make_session, server.url)
    people = await alice.chat.list_people()
    assert [(p.user, p.online) for p in people] == [("alice", True), ("bob", True)]
    assert all(p.last_seen is not None for p in people)
    assert await alice.chat.known_user("bob") is True
    assert await alice.chat.known_user("carl") is False

    typing: list[str] = []
    bob.chat.dm_typing_seen.connect(typing.append)
    alice.chat.typing_dm("bob")
    await until(lambda: typing, what="bob sees alice typing")
    assert typing == ["alice"]

    await bob.disconnect()
    assert await bob.chat.known_user("alice") is None  # cannot say while offline
    later = {p.user: p for p in await alice.chat.list_people()}
    assert later["alice"].online is True


@pytest.mark.timeout(60)
async def test_a_dm_kept_for_later_is_stored_with_the_time_it_was_sent(server,
                                                                       make_session):
    alice = make_session(server.url, user="alice")
    assert await alice.connect()
    sent = alice.chat.send_dm("dave", "sent while dave was away")
    reply = (await acked(alice, sent.id)).reply
    dave = make_session(server.url, user="dave")
    got: list[Any] = []
    dave.chat.dm.connect(got.append)
    assert await dave.connect()
    await until(lambda: got, what="the kept DM")
    assert got[0].text == "sent while dave was away"
    assert got[0].ts == parse_ts(reply["ts"])
