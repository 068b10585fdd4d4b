"""What the Compose tab sends, and the answers to the server's ack requests.

The Compose tab (``ui.widgets.compose``) and its ack panel (``ui.widgets.acks``) are
widgets that know nothing of the session; this controller is what they talk to, so the
main window stays a shell. It owns:

- sending: an acked emit on a ready namespace is a ``Session.call`` (a request whose
  answer is shown with its round-trip time); anything else goes through the outbox (or
  is written at once when volatile);
- following the outbox messages it sent until they are acked or fail, to show the reply;
- the server's ack requests: the ack panel lists the held ones (``session.pending_acks``,
  refreshed on ``ack_changed``), and its Answer…/Don't answer and rule edits are carried
  out here (``AckRequest.answer``/``ignore``, ``session.ack_rules``). The core applies the
  rules itself (default: answer ``{"ok": true}`` at once).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from app.config import namespace_path
from app.errors import AckError

if TYPE_CHECKING:
    from app.acks import AckRule
    from app.outbox import OutboxMessage
    from app.session import AckRequest
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
        #: the acked emit the Response panel shows, and when Send was pressed
        #: (perf_counter): the one under "Sent" (an earlier one's answer, coming later,
        #: is in its queue, not in this panel)
        self._shown: tuple[str, float] | None = None
        compose.send_requested.connect(self.send_compose)
        bridge.outbox_changed.connect(self._on_outbox_changed)
        bridge.ack_changed.connect(self._on_ack_changed)
        bridge.ack_rules_changed.connect(self.refresh_acks)
        acks.answer_requested.connect(self.answer)
        acks.ignore_requested.connect(self.ignore)
        acks.rule_set.connect(self.set_rule)
        acks.rule_removed.connect(self.remove_rule)

    def send_compose(self, ns: str, event: str, args: list[Any], ack: bool, timeout: float,
                     volatile: bool) -> None:
        """Emit what the Compose tab holds; the tab shows the state, then the answer."""
        session = self.host.session
        if session is None:
            self.compose.show_state("not connected")
            self.host.show_error("Not connected to any server yet: press Connect (Ctrl+K)")
            return
        opening = namespace_path(ns) not in session.namespaces
        if opening and not volatile:
            # a namespace this connection has not opened: open it, and the message waits
            # in the outbox until it is (a refusal shows beside it in the sidebar)
            self.host.spawn(session.add_namespace(ns))
            self.compose.set_namespaces([namespace_path(ns)])
        ready = session.is_ready(ns)
        # through the outbox even when connected, acked ones too: every emit is in its
        # queue (Queues tab), and one that gets no answer can be sent again from there
        started = time.perf_counter()
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
        self._shown = (msg.id, started) if ack else None
        path = namespace_path(ns)
        if ready:
            waits = ""
        elif opening:
            waits = f" — opening {path} first, then it is sent"
        elif session.is_connected():
            waits = f" — will be sent when {path} is open"
        else:
            waits = " — will be sent when connected"
        self.compose.show_state(msg.state.value + waits)
        self.host.refresh_depth()

    def _on_outbox_changed(self, msg: OutboxMessage) -> None:
        if self._shown is None or self._shown[0] != msg.id:
            return
        started = self._shown[1]
        # compared as text: app.outbox is not loaded before the window first paints
        state = msg.state.value
        if state == "acked":
            self._shown = None
            ms = (time.perf_counter() - started) * 1000
            self.compose.show_response(msg.reply, f"acked in {ms:.0f} ms")
        elif state in ("failed", "no_ack"):
            self._shown = None
            what = state.replace("_", " ")
            # why, in the answer's place (it has none), and in short above it
            self.compose.show_response({"error": msg.error or what}, what)
        else:
            self.compose.show_state(state)

    # -- the server's ack requests -----------------------------------------------------------
    def refresh_acks(self) -> None:
        """Show the session's held requests and rules (after a session opens or changes)."""
        session = self.host.session
        if session is None:
            self.acks.set_pending([])
            return
        self.acks.set_pending(session.pending_acks)
        self.acks.set_rules(session.ack_rules.items(), session.ack_default)

    def _on_ack_changed(self, req: AckRequest) -> None:
        session = self.host.session
        self.acks.set_pending(session.pending_acks if session is not None else [])
        self.acks.record(req)

    def answer(self, req: AckRequest, args: list[Any]) -> None:
        try:
            req.answer(*args)
        except (AckError, ValueError) as exc:  # dropped, done already, invalid base64
            self.acks.show_error(str(exc))
            return
        self.acks.show_error("")

    def ignore(self, req: AckRequest) -> None:
        try:
            req.ignore()
        except AckError as exc:
            self.acks.show_error(str(exc))
            return
        self.acks.show_error("")

    def set_rule(self, namespace: str, event: str, rule: AckRule) -> None:
        session = self.host.session
        if session is None:
            self.acks.show_error("Rules belong to a workspace: connect first")
            return
        session.ack_rules.set(event, rule, namespace=namespace)

    def remove_rule(self, namespace: str, event: str) -> None:
        session = self.host.session
        if session is not None and not session.ack_rules.remove(event, namespace=namespace):
            self.acks.show_error(f"No rule for {event!r} on {namespace}")
