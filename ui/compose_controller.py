"""What the Compose tab sends, and the answers to the server's ack requests.

The Compose tab (``ui.widgets.compose``) and its ack panel (``ui.widgets.acks``) are
widgets that know nothing of the session; this controller is what they talk to, so the
main window stays a shell. It owns:

- sending: an acked emit on a ready namespace is a ``Session.call`` (a request whose
  answer is shown with its round-trip time); anything else goes through the outbox (or
  is written at once when volatile);
- following the outbox messages it sent until they are acked or fail, to show the reply;
- answering the server's ack requests with the answer the ack panel holds for the event.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

if TYPE_CHECKING:
    from app.outbox import OutboxMessage
    from app.session import AckRequest, Session
    from ui.bridge import SessionBridge
    from ui.host import WindowHost
    from ui.widgets.acks import AckPanel
    from ui.widgets.compose import ComposeTab


class ComposeController(QObject):
    """Sends for the Compose tab and answers ack requests from its ack panel."""

    def __init__(self, host: WindowHost, bridge: SessionBridge, compose: ComposeTab,
                 acks: AckPanel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.compose = compose
        self.acks = acks
        self._pending: set[str] = set()  # ids of acked emits waiting in the outbox
        compose.send_requested.connect(self.send_compose)
        bridge.outbox_changed.connect(self._on_outbox_changed)
        bridge.ack_requested.connect(self._on_ack_requested)

    def send_compose(self, ns: str, event: str, args: list[Any], ack: bool, timeout: float,
                     volatile: bool) -> None:
        """Emit what the Compose tab holds; the tab shows the state, then the answer."""
        session = self.host.session
        if session is None:
            self.compose.show_state("not connected")
            self.host.show_error("Not connected to any server yet: press Connect (Ctrl+K)")
            return
        ready = session.is_ready(ns)
        if ack and not volatile and ready:
            self.host.spawn(self._call(session, ns, event, args, timeout))
            return
        try:
            msg = session.emit(ns, event, *args, ack=ack, volatile=volatile,
                               ack_timeout=timeout if ack else None)
        except Exception as exc:
            self.compose.show_state(f"not sent: {exc}")
            return
        if volatile or not msg.id:
            self.compose.show_state(f"not sent: {msg.error}" if msg.error
                                    else "sent (volatile, no ack)")
            return
        if ack:
            self._pending.add(msg.id)
        self.compose.show_state(msg.state.value + ("" if ready else
                                                   " — will be sent when connected"))
        self.host.refresh_depth()

    async def _call(self, session: Session, ns: str, event: str, args: list[Any],
                    timeout: float) -> None:
        started = time.perf_counter()
        try:
            result = await session.call(ns, event, *args, timeout=timeout)
        except Exception as exc:  # timeout, not connected, refused: say it in words
            self.compose.show_response({"error": str(exc) or type(exc).__name__},
                                       "no answer")
            return
        ms = (time.perf_counter() - started) * 1000
        self.compose.show_response(result, f"acked in {ms:.0f} ms")

    def _on_outbox_changed(self, msg: OutboxMessage) -> None:
        if msg.id not in self._pending:
            return
        state = msg.state.value
        if state == "acked":
            self._pending.discard(msg.id)
            self.compose.show_response(msg.reply, "acked")
        elif state == "failed":
            self._pending.discard(msg.id)
            self.compose.show_response(msg.reply, f"failed: {msg.error or ''}")
        else:
            self.compose.show_state(state)

    def _on_ack_requested(self, req: AckRequest) -> None:
        """Answer now (the core sends the ACK as soon as observers return)."""
        answer = self.acks.answer_for(req.event)
        req.reply = answer
        self.acks.record(req.namespace, req.event, req.args, answer)
