"""The lesson protocol on the ``/class`` namespace: how a lesson running on the teacher's
computer invites the students' apps, tells them its steps, and hears back what their
connections saw (docs/PROTOCOL.md, "The class namespace").

A lesson on the teacher's machine cannot drive a student's app, so students take part
by themselves: their app answers an invitation by connecting to the lesson's own
namespace, room and queue, and reports each packet of that connection, which the
teacher's diagram draws as the student's lane. ``/class`` is an ordinary sandbox
namespace of the bundled server (relayed to every other socket, nothing stored), so
this module is only names and the checks both sides make on what they receive.
Qt-free: the lessons (``app.scenarios.classroom``) and the student's seat
(``app.class_student``) share it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from app.packets import Packet

CLASS_NAMESPACE = "/class"
#: teacher -> class
INVITE = "lesson:invite"
STEP = "lesson:step"
END = "lesson:end"
#: student -> teacher (relayed to the whole class, like everything on /class)
HELLO = "lesson:hello"
HERE = "lesson:here"
DECLINED = "lesson:declined"
PACKET = "lesson:packet"
LEFT = "lesson:left"
#: packet kinds a student reports (the handshake is setup, not the lesson)
REPORTED_KINDS = frozenset({"EVENT", "ACK", "BINARY_EVENT", "BINARY_ACK"})


@dataclass(frozen=True, slots=True)
class Invitation:
    """What the teacher's lesson asks of the students: listen on ``namespace``, join the
    /chat ``room``, consume the /queue ``queue`` (each may be None)."""

    run: str
    lesson: str
    title: str
    namespace: str | None = None
    room: str | None = None
    queue: str | None = None

    def wire(self) -> dict[str, Any]:
        return {"run": self.run, "lesson": self.lesson, "title": self.title,
                "namespace": self.namespace, "room": self.room, "queue": self.queue}

    @classmethod
    def parse(cls, data: Any) -> Invitation | None:
        """An invitation from a payload, or None when it is not a usable one (anyone on
        /class may send anything: a bad one is ignored, never obeyed halfway)."""
        if not isinstance(data, dict):
            return None
        run, lesson, title = data.get("run"), data.get("lesson"), data.get("title")
        if not (isinstance(run, str) and run and isinstance(lesson, str)
                and isinstance(title, str)):
            return None
        ns, room, queue = data.get("namespace"), data.get("room"), data.get("queue")
        if ns is not None and not (isinstance(ns, str) and ns.startswith("/")
                                   and ns not in ("/chat", "/queue", CLASS_NAMESPACE)):
            return None
        for name in (room, queue):
            if name is not None and not (isinstance(name, str) and 0 < len(name) <= 64):
                return None
        if ns is None and room is None and queue is None:
            return None
        return cls(run, lesson, title[:200], ns, room, queue)

    @property
    def namespaces(self) -> list[str]:
        """The namespaces a student's lesson connection opens."""
        out = [self.namespace] if self.namespace else []
        if self.room:
            out.append("/chat")
        if self.queue:
            out.append("/queue")
        return out


def packet_report(run: str, user: str, pkt: Packet) -> dict[str, Any]:
    """A student's packet as it is reported to the teacher."""
    return {"run": run, "user": user, "direction": pkt.direction,
            "namespace": pkt.namespace, "kind": pkt.kind, "event": pkt.event,
            "args": pkt.args}


def packet_from_report(data: Any) -> tuple[str, str, Packet] | None:
    """(run, user, Packet) from a report, or None when it is not one."""
    if not isinstance(data, dict):
        return None
    run, user = data.get("run"), data.get("user")
    direction, ns, kind = data.get("direction"), data.get("namespace"), data.get("kind")
    event, args = data.get("event"), data.get("args")
    if not (isinstance(run, str) and isinstance(user, str) and 0 < len(user) <= 32
            and direction in ("in", "out") and isinstance(ns, str)
            and kind in REPORTED_KINDS and (event is None or isinstance(event, str))
            and isinstance(args, list)):
        return None
    pkt = Packet(seq=0, ts=time.time(), direction=direction, namespace=ns, kind=kind,
                 event=event, args=args, ack_id=None, latency_ms=None, size=0)
    return run, user, pkt


def who(data: Any) -> tuple[str, str] | None:
    """(run, user) of a here/declined/left/hello message, or None."""
    if not isinstance(data, dict):
        return None
    run, user = data.get("run"), data.get("user")
    if isinstance(run, str) and isinstance(user, str) and 0 < len(user) <= 32:
        return run, user
    return None
