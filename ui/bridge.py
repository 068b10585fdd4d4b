"""The one bridge between the Qt-free core and the widgets.

The core notifies through ``app.signals.Signal`` callbacks, called synchronously on the
asyncio loop thread, which under qasync is the Qt GUI thread. ``SessionBridge`` connects
to every core signal of a ``Session`` and re-emits each as a Qt signal, so widgets never
hold core callbacks (a closed widget cannot break delivery) and the session can be
swapped (a new URL or user) without rewiring the window.

Two streams come a batch at a time, because a Qt signal per item is what held the GUI
up under a flood of tens of thousands of events a second: the inbound messages of one
store commit (``events_received``), and the packets logged since the last loop turn
(``packets_logged``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

if TYPE_CHECKING:
    from app.session import Session, StateChange
    from app.signals import Signal as CoreSignal

log = logging.getLogger(__name__)


class SessionBridge(QObject):
    """Qt signals mirroring the core session's callbacks."""

    state_changed = Signal(str, str)        # state name, reason
    connection_changed = Signal(object)     # the same change in full (StateChange)
    namespace_ready = Signal(str, bool)
    namespace_refused = Signal(str, str)    # namespace, the sentence why (with err.data)
    events_received = Signal(object)        # list[StoredMessage]: one commit's inbound ones
    packets_logged = Signal(object)         # list[Packet], oldest first
    error = Signal(str)                     # a sentence for the user
    ack_requested = Signal(object)          # AckRequest
    ack_changed = Signal(object)            # AckRequest (HELD, ANSWERED, IGNORED, DROPPED)
    ack_rules_changed = Signal()            # session.ack_rules changed
    outbox_changed = Signal(object)         # OutboxMessage
    room_joined = Signal(str, object)       # room, the join ack (members, history, ...)
    room_left = Signal(str)
    presence = Signal(object)               # {"room", "user", "event", "members"}
    typing = Signal(str, str)               # room, user
    chat_message = Signal(object)           # StoredMessage of a room (live, history, own)
    dm = Signal(object)                     # StoredMessage of a direct message
    recovered = Signal(str, int)            # room, messages recovered on re-join
    message_changed = Signal(object)        # MessageChange: an edit or delete of a message
    dm_typing = Signal(str)                 # user writing us a direct message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self._links: list[tuple[CoreSignal[Any], Callable[..., Any]]] = []
        self._packets: list[Any] = []  # logged, not yet passed on (see _packet)

    def attach(self, session: Session) -> None:
        """Follow ``session`` (and stop following the previous one)."""
        self.detach()
        self.session = session
        chat = session.chat
        links: list[tuple[CoreSignal[Any], Callable[..., Any]]] = [
            (session.state_changed, self._on_state),
            (session.namespace_ready,
             lambda ns, ready: self.namespace_ready.emit(str(ns), bool(ready))),
            (session.namespace_refused,
             lambda ns, why: self.namespace_refused.emit(str(ns), str(why))),
            (session.events_stored, self.events_received.emit),
            (session.errors, lambda text: self.error.emit(str(text))),
            (session.ack_requested, self.ack_requested.emit),
            (session.ack_changed, self.ack_changed.emit),
            (session.ack_rules.changed, lambda _rules: self.ack_rules_changed.emit()),
            (session.packet_log.packet_logged, self._packet),
            (session.outbox.changed, self.outbox_changed.emit),
            (chat.room_joined, lambda room, ack=None: self.room_joined.emit(str(room), ack)),
            (chat.room_left, lambda room: self.room_left.emit(str(room))),
            (chat.presence, self.presence.emit),
            (chat.typing_seen,
             lambda room, user: self.typing.emit(str(room or ""), str(user or ""))),
            (chat.message, self.chat_message.emit),
            (chat.dm, self.dm.emit),
            (chat.recovered, lambda room, n: self.recovered.emit(str(room), int(n))),
            (chat.changed, self.message_changed.emit),
            (chat.dm_typing_seen, lambda user: self.dm_typing.emit(str(user))),
        ]
        for signal, callback in links:
            signal.connect(callback)
        self._links = links

    def _packet(self, packet: Any) -> None:
        """Gather the packets of this loop turn; they are passed on together next turn."""
        self._packets.append(packet)
        if len(self._packets) == 1:
            QTimer.singleShot(0, self, self.flush_packets)

    def flush_packets(self) -> None:
        """Pass on the packets gathered so far (at once: before the session changes)."""
        batch, self._packets = self._packets, []
        if batch:
            self.packets_logged.emit(batch)

    def detach(self) -> None:
        self.flush_packets()
        for core_signal, callback in self._links:
            try:
                core_signal.disconnect(callback)
            except Exception:  # a core signal that is gone is as good as disconnected
                log.debug("could not disconnect %r", core_signal)
        self._links.clear()
        self.session = None

    def _on_state(self, change: StateChange) -> None:
        self.state_changed.emit(change.state.value, change.reason)
        self.connection_changed.emit(change)
