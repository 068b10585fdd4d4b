"""Connection bar (toolbar) and the Connection dialog.

The bar is always in view: URL, user, a status light with the reason in its tooltip, the
outbox depth, Connect / Disconnect. The dialog edits every other connection option
(auth, headers, query, transports, reconnection, namespaces). ``DEFAULT_OPTIONS`` is the
shape of the options both hand to the main window.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.text import escape_controls, tooltip_text
from ui.widgets.jsonedit import JsonEdit

STATE_TITLES = {"offline": "Offline", "connecting": "Connecting…", "connected": "Connected",
                "reconnecting": "Reconnecting…", "starting": "Starting server…"}

DEFAULT_OPTIONS: dict[str, Any] = {
    "url": "http://127.0.0.1:5000", "user": "", "token": "",
    "auth": {}, "headers": {}, "query": {}, "transports": ["websocket", "polling"],
    "delay": 0.5, "delay_max": 5.0, "attempts": 0, "no_ack": False, "ack_timeout": 10.0,
    "namespaces": ["/chat", "/queue", "/"],
}


class StatusLight(QWidget):
    """A coloured dot and a word; the reason for the state is in the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dot = QLabel()
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 0, 6, 0)
        lay.setSpacing(6)
        lay.addWidget(self.dot)
        lay.addWidget(self.label)
        self.state = ""
        self.reason = ""
        self.set_state("offline", "Not connected yet")

    def set_state(self, state: str, reason: str = "") -> None:
        self.state = state
        self.reason = reason
        self.dot.setPixmap(theme.dot_pixmap(theme.state_color(state), 10))
        self.label.setText(STATE_TITLES.get(state, state.title()))
        tip = STATE_TITLES.get(state, state)
        if reason:
            tip += f"\n{escape_controls(reason)}"
        self.setToolTip(tooltip_text(tip))


class ConnectionBar(QToolBar):
    """URL, user, status light, outbox badge, Connect / Disconnect / Connection…"""

    connect_requested = Signal()
    disconnect_requested = Signal()
    options_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Connection", parent)
        self.setObjectName("connectionBar")
        self.setMovable(False)
        self.setFloatable(False)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

        logo = QLabel()
        logo.setPixmap(theme.icon("app").pixmap(22, 22))
        title = QLabel("SockDesk")
        title.setObjectName("sectionTitle")
        self.addWidget(logo)
        self.addWidget(title)
        self.addSeparator()

        self.url = QComboBox()
        self.url.setEditable(True)
        self.url.setLineEdit(QLineEdit(placeholderText="http://host:port"))
        self.url.setMinimumWidth(240)
        self.url.setToolTip("Server URL (recent connections in the list)")
        self.user = QLineEdit()
        self.user.setPlaceholderText("user")
        self.user.setMaximumWidth(120)
        self.user.setToolTip("Your user name on this server")
        self.addWidget(self.url)
        self.addWidget(self.user)

        self.connect_action = QAction(theme.icon("plug"), "Connect", self)
        self.connect_action.setShortcut(QKeySequence("Ctrl+K"))
        self.connect_action.setToolTip("Connect (Ctrl+K)")
        self.connect_action.triggered.connect(self.connect_requested)
        self.disconnect_action = QAction(theme.icon("plug-off"), "Disconnect", self)
        self.disconnect_action.setShortcut(QKeySequence("Ctrl+Shift+K"))
        self.disconnect_action.setToolTip("Go offline; the outbox keeps what you send "
                                          "(Ctrl+Shift+K)")
        self.disconnect_action.triggered.connect(self.disconnect_requested)
        self.options_action = QAction(theme.icon("settings"), "Connection…", self)
        self.options_action.setToolTip("Auth, headers, query, transports, reconnection, "
                                       "namespaces")
        self.options_action.triggered.connect(self.options_requested)
        self.addAction(self.connect_action)
        self.addAction(self.disconnect_action)
        self.addAction(self.options_action)

        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        self.addWidget(spacer)

        self.badge = QLabel("Outbox 0")
        self.badge.setObjectName("badge")
        self.badge.setToolTip("Messages waiting in the outbox (queued or sent, not yet acked)")
        self.light = StatusLight()
        self.addWidget(self.badge)
        self.addWidget(self.light)
        self.set_state("offline", "Not connected yet")

    def set_state(self, state: str, reason: str = "") -> None:
        self.light.set_state(state, reason)
        online = state in ("connected", "connecting", "reconnecting")
        # while the bundled server starts there is no address to connect to yet
        self.connect_action.setEnabled(not online and state != "starting")
        self.disconnect_action.setEnabled(online)

    def set_depth(self, depth: int) -> None:
        self.badge.setText(f"Outbox {depth}")
        busy = depth > 0
        if self.badge.property("busy") != busy:
            self.badge.setProperty("busy", busy)
            self.badge.style().unpolish(self.badge)
            self.badge.style().polish(self.badge)

    @property
    def depth_text(self) -> str:
        return self.badge.text()


class ConnectionDialog(QDialog):
    """Every connection option; JSON fields are validated inline and block OK while wrong."""

    def __init__(self, options: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connection")
        self.setMinimumWidth(520)
        opts = {**DEFAULT_OPTIONS, **options}

        self.url = QLineEdit(str(opts["url"]))
        self.user = QLineEdit(str(opts["user"] or ""))
        self.token = QLineEdit(str(opts["token"] or ""))
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.namespaces = QLineEdit(", ".join(opts["namespaces"]))
        self.namespaces.setToolTip("Namespaces opened together, comma separated")
        self.websocket = QCheckBox("WebSocket")
        self.polling = QCheckBox("HTTP long-polling")
        self.websocket.setChecked("websocket" in opts["transports"])
        self.polling.setChecked("polling" in opts["transports"])
        self.delay = QDoubleSpinBox()
        self.delay.setRange(0.05, 60)
        self.delay.setSuffix(" s")
        self.delay.setValue(float(opts["delay"]))
        self.delay_max = QDoubleSpinBox()
        self.delay_max.setRange(0.1, 600)
        self.delay_max.setSuffix(" s")
        self.delay_max.setValue(float(opts["delay_max"]))
        self.attempts = QSpinBox()
        self.attempts.setRange(0, 10_000)
        self.attempts.setSpecialValueText("forever")
        self.attempts.setValue(int(opts["attempts"]))
        self.ack_timeout = QDoubleSpinBox()
        self.ack_timeout.setRange(0.1, 600)
        self.ack_timeout.setSuffix(" s")
        self.ack_timeout.setValue(float(opts["ack_timeout"]))
        self.no_ack = QCheckBox("No-ack mode (the server never acks: sent counts as done)")
        self.no_ack.setChecked(bool(opts["no_ack"]))

        self.auth = JsonEdit(json.dumps(opts["auth"], indent=2), require_object=True,
                             allow_empty=True)
        self.headers = JsonEdit(json.dumps(opts["headers"], indent=2), require_object=True,
                                allow_empty=True)
        self.query = JsonEdit(json.dumps(opts["query"], indent=2), require_object=True,
                              allow_empty=True)

        general = QWidget()
        form = QFormLayout(general)
        form.addRow("Server URL", self.url)
        form.addRow("User", self.user)
        form.addRow("Token", self.token)
        form.addRow("Namespaces", self.namespaces)
        tr = QHBoxLayout()
        tr.addWidget(self.websocket)
        tr.addWidget(self.polling)
        tr.addStretch(1)
        form.addRow("Transports", tr)
        form.addRow("Ack timeout", self.ack_timeout)
        form.addRow("", self.no_ack)

        reconnect = QWidget()
        rf = QFormLayout(reconnect)
        rf.addRow("First delay", self.delay)
        rf.addRow("Longest delay", self.delay_max)
        rf.addRow("Attempts", self.attempts)
        hint = QLabel("The delay doubles after each failed attempt, up to the longest delay. "
                      "Nothing is lost while offline: the outbox keeps every message.")
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        rf.addRow(hint)

        tabs = QTabWidget()
        tabs.addTab(general, "General")
        tabs.addTab(self._wrap(self.auth, "Extra auth fields (user and token are added)"),
                    "Auth")
        tabs.addTab(self._wrap(self.headers, "Extra HTTP headers, as a JSON object"), "Headers")
        tabs.addTab(self._wrap(self.query, "Query parameters, as a JSON object"), "Query")
        tabs.addTab(reconnect, "Reconnection")

        self.error = QLabel("")
        self.error.setObjectName("errorLabel")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                        QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Save and connect")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(tabs)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)

        for w in (self.auth, self.headers, self.query):
            w.validity_changed.connect(lambda _v: self.validate())
        for le in (self.url, self.user, self.namespaces):
            le.textChanged.connect(lambda _t: self.validate())
        self.websocket.toggled.connect(lambda _c: self.validate())
        self.polling.toggled.connect(lambda _c: self.validate())
        self.validate()

    @staticmethod
    def _wrap(editor: QWidget, text: str) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        label = QLabel(text)
        label.setObjectName("hint")
        lay.addWidget(label)
        lay.addWidget(editor, 1)
        return w

    def problems(self) -> list[str]:
        out = []
        if not self.url.text().strip().startswith(("http://", "https://", "ws://", "wss://")):
            out.append("The URL must start with http:// or https://")
        for name, w in (("Auth", self.auth), ("Headers", self.headers), ("Query", self.query)):
            if not w.valid:
                out.append(f"{name}: {w.error}")
        if not (self.websocket.isChecked() or self.polling.isChecked()):
            out.append("Choose at least one transport")
        if not [n for n in self.namespaces.text().split(",") if n.strip()]:
            out.append("Open at least one namespace")
        return out

    def validate(self) -> bool:
        problems = self.problems()
        self.error.setText(problems[0] if problems else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problems)
        return not problems

    def options(self) -> dict[str, Any]:
        namespaces = []
        for n in self.namespaces.text().split(","):
            n = n.strip()
            if n:
                namespaces.append(n if n.startswith("/") else "/" + n)
        return {
            "url": self.url.text().strip(), "user": self.user.text().strip(),
            "token": self.token.text(), "auth": self.auth.value() or {},
            "headers": {str(k): str(v) for k, v in (self.headers.value() or {}).items()},
            "query": {str(k): str(v) for k, v in (self.query.value() or {}).items()},
            "transports": [t for t, b in (("websocket", self.websocket),
                                          ("polling", self.polling)) if b.isChecked()],
            "delay": self.delay.value(), "delay_max": self.delay_max.value(),
            "attempts": self.attempts.value(), "no_ack": self.no_ack.isChecked(),
            "ack_timeout": self.ack_timeout.value(), "namespaces": namespaces,
        }
