"""What the user asks of a queue's messages: outbox edits, replays, work queue admin.

Outbox messages still waiting can be retried, cancelled, or edited in place (they keep
their id and their place); any message can be replayed, as captured or as edited, through
this session's outbox or into another server's (``app.inspector.replay_elsewhere``: its
own durable outbox, so nothing is lost if that server is down); a server work queue can
get a new message, its dead letters can be requeued, and it can be purged after a
question. Each action reads the selection and the editor of the message pane
(ui/inspector/messages.py) and refreshes through the controller (controller.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app.inspector import ElsewhereResult, WorkQueueError, base_queue, peek_item
from app.outbox import Outbox
from app.store import StoredMessage
from ui.inspector.controller import InspectorController
from ui.inspector.messages import MessagePane

if TYPE_CHECKING:
    from app.outbox import OutboxMessage
    from app.replay import ReplayItem
    from app.session import Session
    from ui.inspector.host import InspectorHost


class QueueActions(QObject):
    """The Queues tab's actions on messages (see the module); each says how it went."""

    replayed = Signal(object)          # list of outbox messages, or ElsewhereResult
    purged = Signal(str, int)          # queue, removed
    requeued = Signal(str, int)        # queue, how many

    def __init__(self, host: InspectorHost, view: QWidget, inspector: InspectorController,
                 messages: MessagePane) -> None:
        """`view` is the tab: it parents the purge question (and this object)."""
        super().__init__(view)
        self.host = host
        self.view = view
        self.inspector = inspector
        self.messages = messages
        self.purge_box: QMessageBox | None = None
        messages.retry_requested.connect(self.retry_selected)
        messages.cancel_requested.connect(self.cancel_selected)
        messages.requeue_requested.connect(lambda: self.host.spawn(self.requeue_selected()))
        messages.purge_requested.connect(self.confirm_purge)
        detail = messages.detail
        detail.replay_selected.connect(lambda: self.host.spawn(self.replay(False)))
        detail.replay_edited.connect(lambda: self.host.spawn(self.replay(True)))
        detail.publish.connect(lambda: self.host.spawn(self.publish_edited()))
        detail.save_edit.connect(self.save_outbox_edit)

    # -- outbox actions -----------------------------------------------------------------------
    def _outbox_op(self, verb: str, op: Callable[[Outbox, str], object],
                   states: tuple[str, ...]) -> int:
        s = self.host.session
        if s is None:
            return 0
        done = 0
        for r in self.messages.selected_rows():
            if r.state not in states or not r.msg_id:
                continue
            try:
                op(s.outbox, r.msg_id)
                done += 1
            except Exception as exc:
                self.host.show_error(f"Could not {verb} message: {exc}")
        self.inspector.apply_changes()
        return done

    def retry_selected(self) -> int:
        """Failed and "no ack" messages go back in the queue (no ack: sent once, never
        confirmed; only the user sends such a message again)."""
        return self._outbox_op("retry", Outbox.retry, ("failed", "no_ack"))

    def cancel_selected(self) -> int:
        return self._outbox_op("cancel", Outbox.cancel, ("queued", "failed", "no_ack"))

    def save_outbox_edit(self) -> bool:
        s = self.host.session
        rows = self.messages.selected_rows()
        if s is None or not rows:
            return False
        r = rows[0]
        try:
            value = self.messages.detail.edited()
            args = value.get("args") if isinstance(value, dict) else None
            if not isinstance(args, list):
                raise ValueError('The editor must hold {"args": [...]} to save it')
            if not r.msg_id:
                raise ValueError("This message has no outbox id")
            s.outbox.edit(r.msg_id, args)
        except Exception as exc:
            self.host.show_error(f"Not saved: {exc}")
            return False
        self.host.show_info("Saved: the outbox message will be sent with the new arguments")
        return True

    # -- replay -------------------------------------------------------------------------------
    def _items(self, edited: bool) -> list[ReplayItem | StoredMessage]:
        from app.replay import ReplayItem

        q = self.messages.queue
        if edited:
            value = self.messages.detail.edited()
            if not isinstance(value, dict) or not isinstance(value.get("event"), str):
                raise ValueError('The editor must hold {"namespace": ..., "event": ..., '
                                 '"args": [...]}')
            args = value.get("args", [])
            if not isinstance(args, list):
                raise ValueError('"args" must be a JSON array')
            ns = value.get("namespace") or "/"
            return [ReplayItem(str(ns), value["event"], args, 0.0)]
        rows = self.messages.selected_rows()
        if q is not None and q.is_server:
            return [peek_item(q.work_queue or "", r.source) for r in rows
                    if isinstance(r.source, dict)]
        return [r.source for r in rows if isinstance(r.source, StoredMessage)]

    async def replay(self, edited: bool = False
                     ) -> list[OutboxMessage] | ElsewhereResult | None:
        """Replay the selection (or the editor's message) to the targets of the form."""
        s = self.host.session
        if s is None:
            self.host.show_error("Connect first: replays go through a session's outbox")
            return None
        try:
            items = self._items(edited)
        except ValueError as exc:
            self.host.show_error(f"Not replayed: {exc}")
            return None
        if not items:
            self.host.show_error("Select one or more messages to replay")
            return None
        t = self.messages.detail.targets()
        url = t.pop("url")
        if url and url != s.config.url:
            return await self._replay_elsewhere(s, url, items, t)
        from app.replay import Replayer

        msgs = await Replayer(s).replay(items, **t)
        n = len(msgs)
        self.host.show_info(f"Replayed {n} message{'s' if n != 1 else ''} through the outbox")
        self.replayed.emit(msgs)
        self.inspector.apply_changes()
        return msgs

    async def _replay_elsewhere(self, s: Session, url: str,
                                items: list[ReplayItem | StoredMessage],
                                t: dict[str, Any]) -> ElsewhereResult:
        from app.inspector import replay_elsewhere

        cfg = dataclasses.replace(s.config, url=url)
        profile = self.host.profile_dir({**self.host.options, "url": url})
        self.host.show_info(f"Replaying {len(items)} message(s) to {url}…")
        result = await replay_elsewhere(cfg, profile, items, **t)
        if result.delivered:
            self.host.show_info(f"Replayed {len(result.messages)} message(s) to {url}")
        else:
            self.host.show_error(f"Replay to {url}: {result.error}; the messages are kept "
                                 "in that server's outbox and sent when it is reachable")
        self.replayed.emit(result)
        return result

    # -- work queue actions -------------------------------------------------------------------
    async def publish_edited(self) -> OutboxMessage | None:
        wq = self.inspector.work()
        if wq is None:
            self.host.show_error("Connect first")
            return None
        try:
            value = self.messages.detail.edited()
            if not isinstance(value, dict) or not isinstance(value.get("queue"), str) \
                    or "payload" not in value:
                raise ValueError('The editor must hold {"queue": "name", "payload": ...}')
        except ValueError as exc:
            self.host.show_error(f"Not published: {exc}")
            return None
        msg = wq.publish(value["queue"], value["payload"],
                         value.get("id") if isinstance(value.get("id"), str) else None)
        self.host.show_info(f"Publishing to {value['queue']} (through the outbox)")
        self.inspector.apply_changes()
        return msg

    async def requeue_selected(self) -> int:
        q = self.messages.queue
        wq = self.inspector.work()
        if q is None or q.kind != "dead" or wq is None:
            return 0
        name = q.work_queue or ""
        done = 0
        for r in self.messages.selected_rows():
            try:
                await wq.requeue(name, r.key)
                done += 1
            except WorkQueueError as exc:
                self.host.show_error(f"Could not requeue seq {r.key}: {exc}")
        if done:
            self.host.show_info(f"Requeued {done} message{'s' if done != 1 else ''} to "
                                f"{base_queue(name)}")
        if shiboken6.isValid(self):
            await self.inspector.refresh_stats()
            self.inspector.load_peek()
            self.requeued.emit(name, done)
        return done

    def confirm_purge(self) -> QMessageBox | None:
        """Ask first (open() + finished: never exec() under the event loop)."""
        q = self.messages.queue
        if q is None or not q.is_server:
            return None
        name = q.work_queue or ""
        what = "all dead letters of" if q.kind == "dead" else "every waiting message of"
        box = QMessageBox(QMessageBox.Icon.Warning, "Purge queue",
                          f"Remove {what} “{name}”?", QMessageBox.StandardButton.Cancel,
                          self.view)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(f"{q.depth:,} message(s) will be deleted on the server. "
                               "Messages in flight stay with their consumers. This cannot "
                               "be undone.")
        purge = box.addButton("Purge", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def finished(_result: int) -> None:
            if box.clickedButton() is purge:
                self.host.spawn(self.purge(name))
            box.deleteLater()

        box.finished.connect(finished)
        box.open()
        self.purge_box = box
        return box

    async def purge(self, name: str) -> int:
        wq = self.inspector.work()
        if wq is None:
            return 0
        try:
            removed = await wq.purge(name)
        except WorkQueueError as exc:
            self.host.show_error(f"Could not purge {name}: {exc}")
            return 0
        self.host.show_info(f"Purged {removed:,} message{'s' if removed != 1 else ''} "
                            f"from {name}")
        if shiboken6.isValid(self):
            await self.inspector.refresh_stats()
            self.inspector.load_peek()
            self.purged.emit(name, removed)
        return removed
