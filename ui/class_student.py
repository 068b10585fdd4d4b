"""The student's side of the teacher's lessons, in the window: a ``StudentSeat``
(``app.class_student``) for a joined workspace, and the note that says so.

A student who joined a teacher's hosted workspace takes part in the lessons the teacher
runs, with no clicking: the seat answers the invitations by itself. Being part of
something without being told would be wrong, so while a lesson runs the status bar
says "Taking part in the teacher's lesson: …" with the step the teacher is at, and an
**Opt out** button (which leaves the lesson at once and declines the next ones until
**Take part** is pressed).

Only joined workspaces of SockDesk's own server get a seat: a private or hosted one is
the teacher's side (its Learn tab runs the lessons), and any other server knows no
``/class``. The seat follows the window's session: it starts once that session is
connected to a server that introduced itself as SockDesk's, and stops with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.class_protocol import Invitation
from app.workspace import ServerKind, Workspace
from ui.bridge import SessionBridge

if TYPE_CHECKING:  # the Socket.IO client: imported when a seat is taken, not at start-up
    from app.class_student import StudentSeat
    from app.session import Session


class SeatHost(Protocol):
    """What the controller needs of the window (``ui.window.MainWindow``)."""

    workspace: Workspace
    bridge: SessionBridge
    data_root: Path

    @property
    def session(self) -> Session | None: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...


class ClassNote(QWidget):
    """"Taking part in the teacher's lesson: …" and the Opt out / Take part button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("classNote")
        self.label = QLabel("")
        self.label.setObjectName("classNoteText")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.button = QPushButton("Opt out")
        self.button.setObjectName("classOptOut")
        self.button.setToolTip("Leave the teacher's lesson now and skip the next ones")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.button)
        self.setVisible(False)


class StudentClass(QObject):
    """The seat of the window's session, and its note (see the module doc)."""

    #: the note's text changed (tests and the status line follow it)
    changed = Signal(str)

    def __init__(self, host: SeatHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.seat: StudentSeat | None = None
        self._for: Session | None = None
        self.taking_part = True
        self.note = ClassNote()
        self.note.button.clicked.connect(self.toggle)
        self._lesson: Invitation | None = None
        host.bridge.state_changed.connect(self._session_state)

    # -- following the session -----------------------------------------------------------
    def _eligible(self, session: Session | None) -> bool:
        ws = self.host.workspace
        return (session is not None and ws.server == ServerKind.REMOTE
                and session.sockdesk_server and bool(session.config.user))

    def _session_state(self, state: str, _reason: str = "") -> None:
        session = self.host.session
        if self.seat is not None and session is not self._for:
            self.host.spawn(self.stop())   # takes the seat away now, closes it later
        if state == "connected" and self.seat is None and self._eligible(session):
            assert session is not None
            self._for = session
            from app.class_student import StudentSeat  # needs the Socket.IO client

            seat = StudentSeat(session.config, self.host.data_root / "class"
                               / self.host.workspace.id)
            seat.taking_part = self.taking_part
            seat.invited.connect(self._invited)
            seat.step.connect(self._step)
            seat.ended.connect(self._ended)
            seat.failed.connect(self._ended)
            self.seat = seat
            self.host.spawn(seat.start())

    async def stop(self) -> None:
        """Leave any lesson and stop listening (the session went, or the window closes)."""
        seat, self.seat, self._for = self.seat, None, None
        self._lesson = None
        self._show("" if self.taking_part else "Not taking part in the teacher's lessons")
        if seat is not None:
            with contextlib.suppress(Exception):
                await seat.close()

    # -- what the seat says --------------------------------------------------------------
    def _invited(self, inv: Invitation) -> None:
        self._lesson = inv
        self._show(f"Taking part in the teacher's lesson: {inv.title}")

    def _step(self, data: dict[str, Any]) -> None:
        inv = self._lesson
        if inv is None:
            return
        index, count = data.get("index"), data.get("count")
        title = str(data.get("title") or "")
        where = (f"step {index + 1} of {count}" if isinstance(index, int)
                 and isinstance(count, int) and index < count else "your turn")
        self._show(f"Taking part in the teacher's lesson: {inv.title} · {where}: {title}")
        self.note.setToolTip(str(data.get("text") or ""))

    def _ended(self, sentence: str) -> None:
        self._lesson = None
        self._show("" if self.taking_part else "Not taking part in the teacher's lessons")
        if sentence and "over" not in sentence:
            self._show(sentence)

    def _show(self, text: str) -> None:
        self.note.label.setText(text)
        self.note.button.setText("Opt out" if self.taking_part else "Take part")
        self.note.setVisible(bool(text))
        self.changed.emit(text)

    # -- the button ----------------------------------------------------------------------
    def toggle(self) -> None:
        """Opt out (leaving a running lesson) or take part again."""
        self.taking_part = not self.taking_part
        if self.seat is not None:
            self.host.spawn(self.seat.set_taking_part(self.taking_part))
        self._lesson = None
        self._show("" if self.taking_part else "Not taking part in the teacher's lessons")
