"""A student's seat in the teacher's lesson: the student side of ``app.class_protocol``.

A SockDesk app joined to a teacher's workspace listens on ``/class`` with a small
connection of its own (the student's chat session is left alone: a lesson's namespaces,
rooms and queues never show up in it). When an invitation comes, the seat opens a second
connection for that lesson only, under the student's own name and key: it connects to
the lesson's namespace, joins its room, subscribes to its queue (one job at a time,
acked once done) and then says ``lesson:here``. Every packet of that connection is
reported to the teacher (``lesson:packet``), whose diagram draws it on the student's
lane. ``lesson:end`` closes the lesson connection after leaving the room and the queue,
so nothing of the lesson is left on the server; ``lesson:left`` says so.

Opting out (``set_taking_part(False)``) leaves a running lesson the same way and answers
later invitations with ``lesson:declined``, so the teacher does not wait for this app.

Qt-free: ``ui.class_student`` shows it, tests drive it as "a student's app".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
from pathlib import Path
from typing import Any

from app.class_protocol import (
    CLASS_NAMESPACE,
    DECLINED,
    END,
    HELLO,
    HERE,
    INVITE,
    LEFT,
    PACKET,
    REPORTED_KINDS,
    STEP,
    Invitation,
    packet_report,
)
from app.config import ConnectionConfig
from app.packets import Packet
from app.session import Session
from app.signals import Signal

log = logging.getLogger(__name__)

#: how long the lesson connection may take to be ready
READY_WAIT = 15.0


class StudentSeat:
    """See the module doc. ``config`` is the student's own connection (URL, user, token,
    key, TLS pins); ``data_dir`` a folder the seat may fill and empty.

    Signals: ``invited(Invitation)`` (taking part now), ``step(dict)`` (the teacher's
    step: index, count, title, text), ``ended(str)`` (the lesson is over; a sentence),
    ``failed(str)`` (could not take part; a sentence).
    """

    def __init__(self, config: ConnectionConfig, data_dir: Path | str) -> None:
        self.config = config
        self.user = config.user or ""
        self.data_dir = Path(data_dir)
        self.taking_part = True
        self.bus: Session | None = None
        self.lesson: Session | None = None
        self.invitation: Invitation | None = None
        self.jobs_done = 0
        self.invited: Signal[Invitation] = Signal("invited")
        self.step: Signal[dict[str, Any]] = Signal("step")
        self.ended: Signal[str] = Signal("ended")
        self.failed: Signal[str] = Signal("failed")
        self._busy = asyncio.Lock()

    async def start(self) -> bool:
        """Listen on /class (retrying in the background like any session); True once
        connected."""
        cfg = dataclasses.replace(self.config, namespaces=[CLASS_NAMESPACE])
        bus = Session(cfg, self.data_dir / "bus")
        self.bus = bus
        bus.on(CLASS_NAMESPACE, INVITE, self._on_invite)
        bus.on(CLASS_NAMESPACE, STEP, self._on_step)
        bus.on(CLASS_NAMESPACE, END, self._on_end)
        bus.on(CLASS_NAMESPACE, "welcome", self._on_welcome)
        return await bus.connect()

    async def close(self) -> None:
        await self.leave("closed")
        bus, self.bus = self.bus, None
        if bus is not None:
            await bus.close()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: shutil.rmtree(self.data_dir, ignore_errors=True))

    async def set_taking_part(self, on: bool) -> None:
        """Opt in or out (out: leave a lesson that runs now)."""
        self.taking_part = on
        if not on and self.invitation is not None:
            run = self.invitation.run
            await self.leave("you opted out")
            await self._say(DECLINED, {"run": run, "user": self.user})

    # ---- the teacher's messages --------------------------------------------------------

    def _on_welcome(self, data: Any = None, *_rest: Any) -> None:
        """Connected to /class: a lesson may be running already; ask for its invitation."""
        if isinstance(data, dict) and isinstance(data.get("user"), str):
            self.user = data["user"]
        if self.bus is not None:
            self.bus.spawn(self._say(HELLO, {"run": "", "user": self.user}))

    def _on_invite(self, data: Any = None, *_rest: Any) -> None:
        inv = Invitation.parse(data)
        if inv is None or self.bus is None:
            return
        if self.invitation is not None and self.invitation.run == inv.run:
            return       # the same lesson again (it answered another student's hello)
        if not self.taking_part:
            self.bus.spawn(self._say(DECLINED, {"run": inv.run, "user": self.user}))
            return
        self.bus.spawn(self.join(inv))

    def _on_step(self, data: Any = None, *_rest: Any) -> None:
        inv = self.invitation
        if inv is not None and isinstance(data, dict) and data.get("run") == inv.run:
            self.step.emit(data)

    def _on_end(self, data: Any = None, *_rest: Any) -> None:
        inv = self.invitation
        if inv is not None and isinstance(data, dict) and data.get("run") == inv.run \
                and self.bus is not None:
            self.bus.spawn(self.leave("the lesson is over"))

    # ---- taking part -------------------------------------------------------------------

    async def join(self, inv: Invitation) -> bool:
        """Take part in ``inv``'s lesson (leaving any other first); True when in."""
        async with self._busy:
            await self._leave_now("another lesson started")
            self.invitation = inv
            self.jobs_done = 0
            cfg = dataclasses.replace(self.config, namespaces=inv.namespaces)
            lesson = Session(cfg, self.data_dir / f"lesson-{inv.run}")
            self.lesson = lesson
            lesson.packet_log.packet_logged.connect(self._report)
            lesson.queue.handled.connect(self._handled)
            if inv.queue:
                await lesson.queue.subscribe(inv.queue, None, prefetch=1, auto_ack=True)
            try:
                ok = await asyncio.wait_for(lesson.connect(), READY_WAIT)
                for ns in inv.namespaces:
                    ok = ok and await lesson.wait_ready(ns, READY_WAIT)
                if ok and inv.room:
                    ack = await lesson.chat.join(inv.room)
                    ok = bool(isinstance(ack, dict) and ack.get("ok"))
            except Exception as exc:   # a refusal, a timeout: say it, stay out
                log.info("could not take part in %s: %s", inv.run, exc)
                ok = False
            if not ok:
                why = lesson.last_error or "the lesson's connection did not open"
                await self._leave_now("could not take part")
                self.failed.emit(f"Could not take part in the teacher's lesson: {why}")
                return False
        self.invited.emit(inv)
        await self._say(HERE, {"run": inv.run, "user": self.user})
        return True

    async def leave(self, why: str) -> None:
        """Leave the lesson (room, queue, connection) and tell the teacher."""
        async with self._busy:
            await self._leave_now(why)

    async def _leave_now(self, why: str) -> None:
        inv, lesson = self.invitation, self.lesson
        self.invitation, self.lesson = None, None
        if lesson is None or inv is None:
            return
        with contextlib.suppress(Exception):
            if inv.queue and lesson.is_ready("/queue"):
                await lesson.queue.unsubscribe(inv.queue)
            if inv.room and lesson.is_ready("/chat"):
                await lesson.chat.leave(inv.room)
        lesson.packet_log.packet_logged.disconnect(self._report)
        lesson.queue.handled.disconnect(self._handled)
        await lesson.close()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: shutil.rmtree(self.data_dir / f"lesson-{inv.run}",
                                        ignore_errors=True))
        await self._say(LEFT, {"run": inv.run, "user": self.user})
        self.ended.emit(f"The teacher's lesson is over ({why}).")

    def _report(self, pkt: Packet) -> None:
        inv = self.invitation
        if inv is None or self.bus is None or pkt.kind not in REPORTED_KINDS \
                or pkt.event == "welcome":
            return
        if self.bus.is_ready(CLASS_NAMESPACE):
            self.bus.emit(CLASS_NAMESPACE, PACKET, packet_report(inv.run, self.user, pkt),
                          volatile=True)

    def _handled(self, _delivery: Any, ok: bool, _error: Any = None) -> None:
        if ok:
            self.jobs_done += 1

    async def _say(self, event: str, body: dict[str, Any]) -> None:
        bus = self.bus
        if bus is None or not bus.is_ready(CLASS_NAMESPACE):
            return
        try:
            await bus.call(CLASS_NAMESPACE, event, body, timeout=5)
        except Exception as exc:   # the teacher hears of it on the next hello
            log.info("could not say %s on %s: %s", event, CLASS_NAMESPACE, exc)
