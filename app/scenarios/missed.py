"""Lesson 5: a missed event, lost and then recovered. The same conversation runs twice.
First on a plain relay namespace, without the outbox and `since`: what carol misses while
offline, and what she types meanwhile, is lost. Then in a /chat room: `since` recovers
exactly what she missed (each recovered message drawn as its own arrow), and her outbox
sends what she wrote."""

from __future__ import annotations

import time
from collections import Counter
from functools import partial
from typing import Any

from app.outbox import OutboxState
from app.packets import Packet
from app.scenarios.engine import (
    Checks,
    EndState,
    Scenario,
    ScenarioRun,
    Step,
    acked,
    first_arg,
    holds_at_least,
    packets_of,
    received,
    room_messages,
)
from app.session import Session

CHAT = "/chat"
#: the socket.io tutorial's event name, for the plain half
PLAIN_EVENT = "chat message"

BEFORE = (("alice", "Hi everyone!"), ("bob", "Hi alice."), ("carol", "Hello, I'm here too."))
WHILE_AWAY = (("alice", "Did everyone read chapter 3?"), ("bob", "Yes, the part on acks."),
              ("alice", "Quiz on Friday then."), ("bob", "Noted!"))
OFFLINE_WRITES = ("Sorry, my wifi dropped.", "What did I miss?")
BACK = ("alice", "Welcome back, carol!")


class MissedEventScenario(Scenario):
    key = "missed"
    number = 5
    title = "A missed event: lost, then recovered"
    short = "A missed event"
    summary = ("carol drops out twice: a plain chat loses what she missed; the outbox and "
               "'since' lose nothing.")
    explanation = (
        "What happens to messages sent while someone is offline? First a plain chat: the "
        "server relays each event to whoever is connected (socket.broadcast.emit) and "
        "keeps nothing, so carol never gets what was said while she was away, and what "
        "she typed offline never leaves her app. Then SockDesk's way: every message in a "
        "room gets a number, its offset (1, 2, 3, ... with no gaps). carol's app "
        "remembers the highest offset it has seen; back online it re-joins the room with "
        "'since 3', and the server answers with exactly the messages after 3. What she "
        "typed offline waited in her outbox, a queue on her own disk. Socket.IO has "
        "in-memory versions of both: on the server, connectionStateRecovery keeps a "
        "disconnected socket's missed packets for a short window (2 minutes by default) "
        "and replays them if the same session comes back in time; in the client, the "
        "send buffer (socket.sendBuffer) holds emits made while disconnected and sends "
        "them on reconnect. Both live in memory: a server restart, a longer absence or a "
        "page reload loses them. 'since' is the durable version of connection state "
        "recovery, the outbox the durable version of the send buffer.")
    users = ("alice", "bob", "carol")
    steps = (
        Step("Everyone connects",
             "alice, bob and carol connect to /plain, a plain namespace where the server "
             "relays each event to the others and keeps nothing (like the socket.io "
             "tutorial's chat), and to /chat, whose rooms keep a numbered history."),
        Step("A plain chat",
             "Each says something on /plain. The server passes it on to the other two "
             "(socket.broadcast.emit): the ack says delivered: 2."),
        Step("carol drops out",
             "Her connection is gone. In this plain chat nobody keeps anything for her."),
        Step("The others keep talking",
             "alice and bob send 4 messages. The server relays them to whoever is "
             "connected, and keeps nothing: there is no copy anywhere for carol."),
        Step("carol writes while offline, with no outbox",
             "She types 2 messages. Without an outbox they have nowhere to wait: they are "
             "not sent, and nobody will ever see them. (The browser's socket.io-client "
             "would keep them in memory, socket.sendBuffer, until it reconnects; a page "
             "reload loses them.)"),
        Step("carol comes back: 6 messages lost",
             "She reconnects, with nothing to ask for: the 4 she missed and the 2 she wrote "
             "are gone for good. Only what is said from now on reaches her."),
        Step("Again, with the outbox and since",
             "The same conversation in a room of /chat. Every message gets the next "
             "offset: 1, 2, 3."),
        Step("carol drops out again",
             "Her connection is gone. Her app still knows the last offset she saw: 3."),
        Step("The others keep talking",
             "alice and bob send the same 4 messages (offsets 4 to 7). carol cannot get "
             "them now: they are missed events, but the server keeps them."),
        Step("carol writes while offline, into her outbox",
             "She types the same 2 messages. They cannot be sent, so they wait in her "
             "outbox: see the badge under her name."),
        Step("carol comes back: every message recovered",
             "Her app re-joins the room with since = 3. The server sends exactly the 4 "
             "missed messages in the join's ack; each is drawn as its own arrow. Then her "
             "outbox sends the 2 she wrote (offsets 8 and 9)."),
    )

    async def play(self, run: ScenarioRun) -> None:
        plain, room = run.namespace("plain"), run.name("lobby")
        run.memo.update(plain=plain, room=room)
        await run.step(0)
        users = {name: await run.user(name, [plain, CHAT]) for name in self.users}
        await self._lose(run, users)
        await self._recover(run, users)

    # ---- the first half: a plain relay, no outbox, no since ---------------------------

    async def _lose(self, run: ScenarioRun, users: dict[str, Session]) -> None:
        plain, carol = run.memo["plain"], users["carol"]
        run.memo["plain_acks"] = []
        await run.step(1)
        await self._say(run, users, BEFORE)
        others = sum(1 for name, _ in BEFORE if name != "carol")
        await run.until(lambda: len(received(carol, plain, PLAIN_EVENT)) >= others,
                        "carol to hear the others on /plain")

        await run.step(2)
        await run.go_offline("carol")

        await run.step(3)
        await self._say(run, users, WHILE_AWAY)

        await run.step(4)
        unsent: list[dict[str, Any]] = []
        for text in OFFLINE_WRITES:
            # a plain emit: nothing to keep it in while there is no connection
            msg = carol.emit(plain, PLAIN_EVENT, {"text": text}, volatile=True)
            unsent.append({"text": text, "state": msg.state.value, "error": msg.error})
            run.remark("carol", f"not sent, no outbox: “{text}”", "offline")
            await run.beat(0.5)
        run.memo["plain_unsent"] = unsent

        await run.step(5)
        run.remark("carol", "back online, nothing to ask for", "online")
        await run.connect("carol")
        await self._say(run, users, (BACK,))
        await run.until(lambda: any(first_arg(a).get("text") == BACK[1]
                                    for a in received(carol, plain, PLAIN_EVENT)),
                        "carol to hear the welcome back")
        await run.beat()

    @staticmethod
    async def _say(run: ScenarioRun, users: dict[str, Session], lines: tuple) -> None:
        """Plain emits with an ack, outside the outbox; the ack says how many got it."""
        for name, text in lines:
            reply = await users[name].call(run.memo["plain"], PLAIN_EVENT, {"text": text},
                                           timeout=run.wait)
            delivered = reply.get("delivered") if isinstance(reply, dict) else None
            run.memo["plain_acks"].append((name, text, delivered))
            await run.beat(0.6)

    # ---- the second half: a /chat room, the outbox and since --------------------------

    async def _recover(self, run: ScenarioRun, users: dict[str, Session]) -> None:
        room, carol = run.memo["room"], users["carol"]
        await run.step(6)
        for s in users.values():
            await s.chat.join(room)
        await self._talk(run, users, BEFORE)
        await run.until(lambda: carol.chat.last_offset(room) == len(BEFORE),
                        "carol to see the first messages")

        await run.step(7)
        run.memo["since"] = carol.chat.last_offset(room)
        await run.go_offline("carol")

        await run.step(8)
        await self._talk(run, users, WHILE_AWAY)

        await run.step(9)
        run.memo["offline_ids"] = []
        for text in OFFLINE_WRITES:
            run.memo["offline_ids"].append(carol.chat.send(room, text).id)
            await run.beat(0.5)
        run.memo["outbox_while_offline"] = carol.outbox.depth(CHAT)

        await run.step(10)
        recovered: list[int] = []
        arrows: list[int] = []

        def on_recovered(r: str, n: int) -> None:
            if r == room:
                recovered.append(n)
                arrows.extend(draw_recovered(run, "carol", carol, room))

        carol.chat.recovered.connect(on_recovered)
        try:
            run.remark("carol", "back online", "online")
            await run.connect("carol")
            await run.until(lambda: recovered, "carol's recovery")
        finally:
            carol.chat.recovered.disconnect(on_recovered)
        run.memo["recovered_signal"] = recovered[0]
        run.memo["recovered_arrows"] = arrows
        # run.until, not carol.wait_flushed: a paused lesson's wait must not time out
        await run.until(lambda: carol.outbox.depth(CHAT) == 0, "carol's outbox to flush")
        total = len(BEFORE) + len(WHILE_AWAY) + len(OFFLINE_WRITES)
        for name in ("alice", "bob", "carol"):
            s = users[name]
            await run.until(partial(holds_at_least, s, room, total),
                            f"{name} to hold all {total} messages")
        await run.beat()

    @staticmethod
    async def _talk(run: ScenarioRun, users: dict, lines: tuple) -> None:
        for name, text in lines:
            msg = users[name].chat.send(run.memo["room"], text)
            s = users[name]
            await run.until(partial(acked, s, msg.id),
                            f"the ack of {name}'s message")
            await run.beat(0.6)

    # ---- the end state ---------------------------------------------------------------

    async def check(self, run: ScenarioRun) -> EndState:
        c = Checks()
        lost = self._check_lost(run, c)
        await self._check_recovered(run, c)
        return c.end("every message exactly once: "
                     f"{len(WHILE_AWAY)} recovered, {len(OFFLINE_WRITES)} flushed "
                     f"(the plain chat lost {lost})")

    @staticmethod
    def _check_lost(run: ScenarioRun, c: Checks) -> int:
        """The plain half, from what each user's store holds: carol lacks exactly what
        was said while she was away, and what she wrote offline reached nobody."""
        plain = run.memo["plain"]

        def heard(name: str) -> list[str]:
            return [str(first_arg(a).get("text")) for a in
                    received(run.sessions[name], plain, PLAIN_EVENT)]

        carol_heard = heard("carol")
        said_away = [text for _, text in WHILE_AWAY]
        said_present = [text for name, text in (*BEFORE, BACK) if name != "carol"]
        missed = [text for text in said_away if text not in carol_heard]
        c.facts["plain_carol_heard"] = carol_heard
        c.facts["plain_missed"] = missed
        c.expect(missed == said_away and carol_heard == said_present,
                 f"without since, carol missed exactly the {len(said_away)} messages said "
                 "while she was away, and heard the others")
        # what the relay's acks said (the server may count carol's socket for a moment
        # after her goodbye, until it has read it: shown, not judged)
        c.facts["plain_delivered_while_away"] = [
            n for name, text, n in run.memo["plain_acks"] if text in said_away]
        unsent = run.memo["plain_unsent"]
        reached = {name: [t for t in heard(name) if t in OFFLINE_WRITES]
                   for name in ("alice", "bob")}
        c.facts["plain_unsent"] = [u["text"] for u in unsent
                                   if u["state"] == OutboxState.FAILED.value]
        c.facts["plain_unsent_reached"] = reached
        c.expect(c.facts["plain_unsent"] == list(OFFLINE_WRITES)
                 and reached == {"alice": [], "bob": []},
                 f"without an outbox, the {len(OFFLINE_WRITES)} messages carol wrote "
                 "offline were never sent and reached nobody")
        lost = missed + c.facts["plain_unsent"]
        c.facts["plain_lost"] = lost
        return len(lost)

    @staticmethod
    async def _check_recovered(run: ScenarioRun, c: Checks) -> None:
        room = run.memo["room"]
        carol = run.sessions["carol"]
        # the server's own record of the room
        history = await carol.chat.history(room, since=0, limit=500)
        server = [(m["offset"], m["id"]) for m in history.get("messages", [])]
        total = len(BEFORE) + len(WHILE_AWAY) + len(OFFLINE_WRITES)
        c.expect(len(server) == total and [o for o, _ in server] == list(range(1, total + 1)),
                 f"the server holds {total} messages with offsets 1..{total}")
        for name, s in run.sessions.items():
            rows = room_messages(s, room)
            offsets = Counter(m.offset for m in rows)
            ids = Counter(m.msg_id for m in rows)
            once = all(n == 1 for n in offsets.values()) and all(n == 1 for n in ids.values())
            same = sorted((m.offset, m.msg_id) for m in rows) == server
            c.facts[f"{name}_offsets"] = sorted(offsets)
            c.expect(once and same, f"{name} holds every message exactly once "
                     f"({len(rows)} of {len(server)}, same ids and offsets as the server)")
        since = run.memo["since"]
        joins = [p.args[0].get("since") for p in packets_of(run, "carol")
                 if p.kind == "EVENT" and p.event == "join" and p.direction == "out"
                 and p.args and isinstance(p.args[0], dict)]
        c.facts["join_since"] = joins
        c.expect(since in joins, f"carol re-joined with since = {since}")
        rows = room_messages(carol, room)
        recovered = sorted(m.offset for m in rows if m.recovered)
        missed = list(range(since + 1, since + 1 + len(WHILE_AWAY)))
        c.facts["recovered"] = recovered
        c.facts["recovered_texts"] = [m.text for m in sorted(rows, key=lambda m: m.offset or 0)
                                      if m.recovered]
        c.expect(recovered == missed and run.memo["recovered_signal"] == len(WHILE_AWAY),
                 f"with since, exactly the {len(WHILE_AWAY)} missed messages were recovered "
                 f"(offsets {missed[0]}–{missed[-1]})")
        c.facts["recovered_arrows"] = run.memo["recovered_arrows"]
        c.expect(run.memo["recovered_arrows"] == missed,
                 "each recovered message was drawn as its own arrow")
        mine = [carol.outbox.get(i) for i in run.memo["offline_ids"]]
        c.facts["outbox_while_offline"] = run.memo["outbox_while_offline"]
        c.expect(run.memo["outbox_while_offline"] == len(OFFLINE_WRITES)
                 and all(m is not None and m.state == OutboxState.ACKED for m in mine)
                 and carol.outbox.depth(CHAT) == 0,
                 f"with the outbox, her {len(OFFLINE_WRITES)} offline messages waited, "
                 "then were acked")
        offs = [m.reply.get("offset") for m in mine if m and isinstance(m.reply, dict)]
        c.expect(offs == [total - 1, total], "they came after the missed ones (offsets "
                 f"{total - 1} and {total}), in the order she wrote them")


def draw_recovered(run: ScenarioRun, lane: str, session: Session, room: str) -> list[int]:
    """Show each message a re-join recovered as its own arrow on `lane`.

    On the wire they all came in one packet, the join's ack (drawn as such); a class
    should see each missed message arrive, so each gets a row of our own kind RECOVERY
    (as the packet log's recovery rows), with the message as the server sent it, through
    `ScenarioRun.hop`: to the run's packets and observers only, never to the session's
    packet log.
    Returns the offsets drawn, in order."""
    rows = sorted((m for m in room_messages(session, room) if m.recovered),
                  key=lambda m: m.offset or 0)
    for m in rows:
        entry = first_arg(m.args) or {"room": room, "offset": m.offset, "text": m.text}
        pkt = Packet(0, time.time(), "in", CHAT, "RECOVERY", "message", [entry], None, None,
                     0)
        run.hop(lane, pkt)
    return [m.offset for m in rows if m.offset is not None]
