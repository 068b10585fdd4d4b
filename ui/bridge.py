"""The one bridge between the Qt-free core and the widgets.

The core notifies through ``app.signals.Signal`` callbacks, called synchronously on the
asyncio loop thread, which under qasync is the Qt GUI thread. ``SessionBridge`` connects
to every core signal of a ``Session`` and re-emits each as a Qt signal, so widgets never
hold core callbacks (a closed widget cannot break delivery) and the session can be
swapped (a new URL or user) without rewiring the window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


def state_name(state: Any) -> str:
    """'connected' from ConnectionState.CONNECTED, 'CONNECTED', or 'connected'."""
    value = getattr(state, "value", None)
    if isinstance(value, str):
        return value.lower()
    name = getattr(state, "name", None)
    return (name or str(state)).lower()


class SessionBridge(QObject):
    """Qt signals mirroring the core session's callbacks."""

    state_changed = Signal(str, str)        # state name, reason
    namespace_ready = Signal(str, bool)
    namespace_refused = Signal(str, str)    # namespace, the sentence why (with err.data)
    event_received = Signal(object)         # StoredMessage
    packet_logged = Signal(object)          # Packet
    error = Signal(str)                     # a sentence for the user
    ack_requested = Signal(object)          # AckRequest
    outbox_changed = Signal(object)         # OutboxMessage
    room_joined = Signal(str, object)       # room, the join ack (members, history, ...)
    room_left = Signal(str)
    presence = Signal(object)               # {"room", "user", "event", "members"}
    typing = Signal(str, str)               # room, user
    chat_message = Signal(object)           # StoredMessage of a room (live, history, own)
    dm = Signal(object)                     # StoredMessage of a direct message
    recovered = Signal(str, int)            # room, messages recovered on re-join

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session: Any = None
        self._links: list[tuple[Any, Callable[..., Any]]] = []

    def attach(self, session: Any) -> None:
        """Follow ``session`` (and stop following the previous one)."""
        self.detach()
        self.session = session
        self._link(session, "state_changed", self._on_state)
        self._link(session, "namespace_ready", lambda ns, ready: self.namespace_ready.emit(
            str(ns), bool(ready)))
        self._link(session, "namespace_refused", lambda ns, why: self.namespace_refused.emit(
            str(ns), str(why)))
        self._link(session, "event_received", self.event_received.emit)
        self._link(session, "errors", lambda text: self.error.emit(str(text)))
        self._link(session, "ack_requested", self.ack_requested.emit)
        self._link(getattr(session, "packet_log", None), "packet_logged",
                   self.packet_logged.emit)
        self._link(getattr(session, "outbox", None), "changed", self.outbox_changed.emit)
        chat = getattr(session, "chat", None)
        self._link(chat, "room_joined", lambda room, ack=None: self.room_joined.emit(
            str(room), ack))
        self._link(chat, "room_left", lambda room: self.room_left.emit(str(room)))
        self._link(chat, "presence", self.presence.emit)
        typing_name = "typing_seen" if hasattr(getattr(chat, "typing_seen", None),
                                               "connect") else "typing"
        self._link(chat, typing_name, lambda room, user: self.typing.emit(
            str(room or ""), str(user or "")))
        self._link(chat, "message", self.chat_message.emit)
        self._link(chat, "dm", self.dm.emit)
        self._link(chat, "recovered", lambda room, n: self.recovered.emit(str(room), int(n)))

    def detach(self) -> None:
        for core_signal, callback in self._links:
            try:
                core_signal.disconnect(callback)
            except Exception:  # a core signal that is gone is as good as disconnected
                log.debug("could not disconnect %r", core_signal)
        self._links.clear()
        self.session = None

    def _link(self, owner: Any, name: str, callback: Callable[..., Any]) -> None:
        sig = getattr(owner, name, None) if owner is not None else None
        if sig is None or not hasattr(sig, "connect"):
            return
        sig.connect(callback)
        self._links.append((sig, callback))

    def _on_state(self, change: Any, *rest: Any) -> None:
        state = getattr(change, "state", change)
        reason = getattr(change, "reason", rest[0] if rest else "") or ""
        self.state_changed.emit(state_name(state), str(reason))
