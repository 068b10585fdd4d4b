"""Editing and deleting chat messages, and what the chat shows of others' changes.

Kept apart from ``ui.conversations`` (which decides which conversation is which) because
it is one flow of its own: the pane asks to edit or delete a message, the core sends the
change through the outbox like a message, and every change — ours once acked, others'
live, and those found in history — reaches the message models the same way
(``apply_change``). A change is shown once the server has it, so every member sees the
same text; while it waits in the outbox, the user is told it will be saved.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject

from ui.models.chat import ChatMessageModel

if TYPE_CHECKING:
    from app.chat_changes import MessageChange
    from app.outbox import OutboxMessage
    from ui.bridge import SessionBridge
    from ui.host import WindowHost
    from ui.widgets.chat import ChatPane

log = logging.getLogger(__name__)

#: the ``event`` of a history entry that is a change, not a message
CHANGE_EVENTS = ("edit", "delete")
#: where edits and deletes are sent
CHAT_NS = "/chat"


class ModelSource(Protocol):
    def existing(self, kind: str, key: str) -> ChatMessageModel | None: ...


def change_of(payload: dict[str, Any], event: str) -> tuple[str, str, str | None] | None:
    """(kind, message id, new text) when a stored room row is a change entry, else None.
    Change rows are history entries with ``event`` edit/delete, or live edit/delete
    events kept in the room queue."""
    kind = payload.get("event") if payload.get("event") in CHANGE_EVENTS else (
        event if event in CHANGE_EVENTS else None)
    msg_id = payload.get("id")
    if kind is None or not isinstance(msg_id, str):
        return None
    text = payload.get("text")
    return str(kind), msg_id, text if isinstance(text, str) else None


def apply_change(model: ChatMessageModel, kind: str, msg_id: str, text: str | None) -> bool:
    """Show an edit or a delete in a conversation; False when the message is not there."""
    if kind == "delete":
        return model.apply_delete(msg_id)
    return model.apply_edit(msg_id, text)  # None: the text is the message row's already


class ChatActions(QObject):
    """Edit and delete requests from the pane, and changes from the server, for one window."""

    def __init__(self, host: WindowHost, models: ModelSource, chat: ChatPane,
                 bridge: SessionBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.models = models
        #: outbox id of an edit/delete not yet acked -> what it was ("edit"/"delete")
        self._waiting: dict[str, str] = {}
        chat.edit_requested.connect(self.edit)
        chat.delete_requested.connect(self.delete)
        bridge.message_changed.connect(self.on_changed)
        bridge.outbox_changed.connect(self._on_outbox_changed)

    def reset(self) -> None:
        self._waiting.clear()

    def edit(self, kind: str, target: str, msg_id: str, text: str) -> None:
        """Save a new text for own message ``msg_id`` (rooms only)."""
        session = self.host.session
        if session is None:
            self.host.show_error("Not connected to any server yet: press Connect (Ctrl+K)")
            return
        if kind != "room":
            self.host.show_error("Only room messages can be edited.")
            return
        try:
            msg = session.chat.edit(target, msg_id, text)
        except ValueError as exc:
            self.host.show_error(f"Not edited: {exc}")
            return
        self._sent(msg, "edit")

    def delete(self, kind: str, target: str, msg_id: str) -> None:
        """Delete own message ``msg_id`` for everyone (rooms only)."""
        session = self.host.session
        if session is None:
            self.host.show_error("Not connected to any server yet: press Connect (Ctrl+K)")
            return
        if kind != "room":
            self.host.show_error("Only room messages can be deleted.")
            return
        try:
            msg = session.chat.delete(target, msg_id)
        except ValueError as exc:
            self.host.show_error(f"Not deleted: {exc}")
            return
        self._sent(msg, "delete")

    def _sent(self, msg: OutboxMessage, what: str) -> None:
        self._waiting[msg.id] = what
        self.host.refresh_depth()
        if msg.state.value == "queued":
            self.host.show_info(f"The {what} will be saved when the server is back.")

    def _on_outbox_changed(self, msg: OutboxMessage) -> None:
        what = self._waiting.get(msg.id)
        if what is None and msg.namespace == CHAT_NS and msg.event in CHANGE_EVENTS:
            # asked for before a restart or another session (a name change reopens it):
            # its outcome is news all the same (a refused edit went unnoticed)
            what = msg.event
        if what is None:
            return
        state = msg.state.value
        if state in ("acked", "cancelled"):
            self._waiting.pop(msg.id, None)
        elif state in ("failed", "no_ack"):
            self._waiting.pop(msg.id, None)
            reason = msg.error or "the server did not confirm it"
            self.host.show_error(f"The {what} was not saved: {reason}")

    def on_changed(self, change: MessageChange) -> None:
        """An edit or delete the server has (ours acked, others' live or from history)."""
        model = self.models.existing("room", change.room)
        if model is None:
            return
        model.flush()
        apply_change(model, change.kind, change.id, change.text)
