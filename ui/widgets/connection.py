"""Connection bar (toolbar) and the Connection dialog, which edits a workspace.

The bar is always in view: which workspace is shown (a button whose menu switches), the
URL, the user, a status light with the reason in its tooltip, the outbox depth, Connect /
Disconnect. The dialog edits every field a workspace holds (``app.workspace.Workspace``):
name, addresses, path, namespaces, who you are, auth with the fields that are secret,
headers, query, transports, reconnection, the ack timeout, the delivery rule and TLS.
``DEFAULT_OPTIONS`` is the shape of the option dicts windows were built from before
workspaces (``ui.workspaces.build_config`` still reads it).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QMouseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.config import TlsSettings
from app.errors import check_url
from app.invite import normalize_fingerprint
from app.workspace import Delivery, Workspace
from ui import theme
from ui.text import escape_controls, tooltip_text
from ui.widgets.dialog_size import fit_screen
from ui.widgets.fit_page import FitPage, scrolled
from ui.widgets.jsonedit import JsonEdit

if TYPE_CHECKING:
    from app.workspace import WorkspaceStore

#: widest the workspace name in the bar gets (pixels); the full name is in its tooltip
WORKSPACE_NAME_WIDTH = 160
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
    #: the outbox badge was clicked: show what waits in it
    outbox_requested = Signal()

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
        self._title_action = self.addWidget(title)
        self.addSeparator()

        self.workspace_button = QToolButton()
        self.workspace_button.setObjectName("workspaceButton")
        self.workspace_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.workspace_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.workspace_button.setIcon(theme.icon("layers"))
        self.workspace_button.setToolTip("The workspace shown; click to switch to another")
        self.addWidget(self.workspace_button)

        self.url = QComboBox()
        self.url.setEditable(True)
        self.url.setLineEdit(QLineEdit(placeholderText="http://host:port"))
        self.url.setMinimumWidth(160)
        self.url.setToolTip("Server URL (recent connections in the list)")
        self.user = QLineEdit()
        self.user.setPlaceholderText("user")
        self.user.setMaximumWidth(120)
        self.user.setToolTip("Your user name on this server (Enter connects as it)")
        # a name typed here takes effect with Enter too, not only with Connect
        self.user.returnPressed.connect(self.connect_requested)
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
        self.options_action.setToolTip("Edit this workspace: addresses, auth, headers, "
                                       "query, transports, delivery, TLS, namespaces")
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
        self.badge.setToolTip("Messages waiting in the outbox (queued or sent, not yet "
                              "acked): click to see them in the Queues tab")
        self.badge.setCursor(Qt.CursorShape.PointingHandCursor)
        self.badge.installEventFilter(self)  # it looks like a button: a click opens it
        self.light = StatusLight()
        self.addWidget(self.badge)
        self.addWidget(self.light)
        self.set_state("offline", "Not connected yet")

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.badge and event.type() == QEvent.Type.MouseButtonRelease \
                and isinstance(event, QMouseEvent) \
                and event.button() == Qt.MouseButton.LeftButton:
            self.outbox_requested.emit()
            return True
        return super().eventFilter(obj, event)

    def set_compact(self, compact: bool) -> None:
        """A narrow window: Connect, Disconnect and Connection… show their icons alone
        (their names stay in the tooltips) and the app's name goes, so the outbox badge
        and the connection light stay in view rather than in the overflow menu."""
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly if compact
                                else Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._title_action.setVisible(not compact)

    @property
    def compact(self) -> bool:
        return self.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly

    def set_state(self, state: str, reason: str = "") -> None:
        self.light.set_state(state, reason)
        online = state in ("connected", "connecting", "reconnecting")
        # while the bundled server starts there is no address to connect to yet
        self.connect_action.setEnabled(not online and state != "starting")
        self.disconnect_action.setEnabled(online)

    def set_workspace(self, name: str, embedded: bool, menu: QMenu | None = None) -> None:
        """Show which workspace this is (a long name elided: the bar must not grow the
        window); the URL is not typed for one SockDesk runs."""
        fm = self.workspace_button.fontMetrics()
        self.workspace_button.setText(fm.elidedText(name, Qt.TextElideMode.ElideRight,
                                                    WORKSPACE_NAME_WIDTH))
        self.workspace_button.setToolTip(f"Workspace {name}; click to switch to another")
        if menu is not None and self.workspace_button.menu() is not menu:
            self.workspace_button.setMenu(menu)
        self.url.setEnabled(not embedded)
        self.url.setToolTip("SockDesk runs this workspace's server on this computer"
                            if embedded else "Server URL of this workspace")

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


DELIVERY_TEXT = {
    Delivery.AUTO: "Resend until acked where the server drops repeats (SockDesk's own "
                   "does); anywhere else send once.",
    Delivery.ONCE: "Send once; when no ack comes the message shows \"no ack\" and only "
                   "you send it again.",
    Delivery.UNTIL_ACKED: "Resend until acked, whatever the server: one that keeps repeats "
                          "may get a message twice.",
}
DELIVERY_LABELS = {Delivery.AUTO: "Automatic", Delivery.ONCE: "Once",
                   Delivery.UNTIL_ACKED: "Until acked"}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _namespaces(text: str) -> list[str]:
    out: list[str] = []
    for n in text.replace("\n", ",").split(","):
        n = n.strip()
        if n:
            n = n if n.startswith("/") else "/" + n
            if n not in out:
                out.append(n)
    return out


class ConnectionDialog(QDialog):
    """Every field of a workspace; JSON fields and addresses are checked as they are
    typed and keep "Save" disabled while wrong. ``workspace()`` is the edited copy (same
    id, so the same data folder); the window saves it and decides what happens to
    messages waiting for an old address (it asks)."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None, *,
                 store: WorkspaceStore | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Workspace — {workspace.name}")
        self.setMinimumWidth(560)
        self.original = workspace
        self.store = store
        ws = workspace

        self.name = QLineEdit(ws.name)
        self.urls = QPlainTextEdit("\n".join(ws.urls))
        self.urls.setTabChangesFocus(True)
        self.urls.setPlaceholderText("http://host:port\n(one per line: the next is tried when "
                                     "one cannot be reached)")
        self.urls.setFixedHeight(self.urls.fontMetrics().lineSpacing() * 3 + 14)
        self.path = QLineEdit(ws.path)
        self.path.setPlaceholderText("/socket.io")
        self.namespaces = QLineEdit(", ".join(ws.namespaces))
        self.namespaces.setPlaceholderText("automatic: /, and /chat and /queue on a SockDesk "
                                           "server")
        self.namespaces.setToolTip("Namespaces opened together, comma separated; empty "
                                   "opens / and, once the server says it is SockDesk's, "
                                   "/chat and /queue")
        self.user = QLineEdit(ws.user or "")
        self.token = QLineEdit(ws.token or "")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.websocket = QCheckBox("WebSocket")
        self.polling = QCheckBox("HTTP long-polling")
        self.websocket.setChecked("websocket" in ws.transports)
        self.polling.setChecked("polling" in ws.transports)
        self.ack_timeout = QDoubleSpinBox()
        self.ack_timeout.setRange(0.1, 600)
        self.ack_timeout.setSuffix(" s")
        self.ack_timeout.setValue(float(ws.ack_timeout))
        self.delivery = QComboBox()
        for rule in Delivery:
            self.delivery.addItem(DELIVERY_LABELS[rule], rule.value)
        self.delivery.setCurrentIndex(self.delivery.findData(ws.delivery.value))
        self.delivery_hint = QLabel("")
        self.delivery_hint.setObjectName("hint")
        self.delivery_hint.setWordWrap(True)
        self.delivery.currentIndexChanged.connect(lambda _i: self._delivery_changed())
        self._delivery_changed()
        self.parser = QComboBox()
        self.parser.addItem("JSON (default)", "default")
        self.parser.addItem("MessagePack", "msgpack")
        self.parser.setCurrentIndex(max(0, self.parser.findData(ws.parser)))

        self.delay = QDoubleSpinBox()
        self.delay.setRange(0.05, 60)
        self.delay.setSuffix(" s")
        self.delay.setValue(float(ws.reconnect.delay))
        self.delay_max = QDoubleSpinBox()
        self.delay_max.setRange(0.1, 600)
        self.delay_max.setSuffix(" s")
        self.delay_max.setValue(float(ws.reconnect.delay_max))
        self.attempts = QSpinBox()
        self.attempts.setRange(0, 10_000)
        self.attempts.setSpecialValueText("forever")
        self.attempts.setValue(int(ws.reconnect.attempts))

        self.auth = JsonEdit(json.dumps(ws.auth, indent=2), require_object=True,
                             allow_empty=True)
        self.secret_keys = QListWidget()
        self.secret_keys.setToolTip("Tick the auth fields that are secrets: they are kept "
                                    "with the token, not in the workspace file's clear part")
        self.secret_keys.setMaximumHeight(110)
        self._secret: set[str] = set(ws.secret_auth)
        self.secret_keys.itemChanged.connect(self._secret_toggled)
        self.auth.changed.connect(self._fill_secret_keys)
        self._fill_secret_keys()
        self.headers = JsonEdit(json.dumps(ws.headers, indent=2), require_object=True,
                                allow_empty=True)
        self.query = JsonEdit(json.dumps(ws.query, indent=2), require_object=True,
                              allow_empty=True)

        self.verify = QCheckBox("Check the server's certificate")
        self.verify.setChecked(ws.tls.verify)
        self.verify.setToolTip("Off accepts any certificate: only for your own test server")
        self.ca_file = QLineEdit(ws.tls.ca_file or "")
        self.ca_file.setPlaceholderText("the system's certificate authorities")
        self.ca_browse = QPushButton("Browse…")
        self.ca_browse.clicked.connect(self._browse_ca)
        self.fingerprint = QLineEdit(ws.tls.fingerprint or "")
        self.fingerprint.setPlaceholderText("SHA-256, 64 hex digits (pins exactly that "
                                            "certificate)")

        where = store.secrets_where if store is not None else "nowhere yet (not saved)"
        self.secrets_label = QLabel(f"Secrets (the token and the auth fields ticked as "
                                    f"secret) are kept {where}.")
        self.secrets_label.setObjectName("hint")
        self.secrets_label.setWordWrap(True)
        self.secrets_label.setTextFormat(Qt.TextFormat.PlainText)

        # the form scrolls in a dialog too short for it (its wrapped hints need more
        # height than a form asks for: the rows were drawn over each other)
        general = FitPage()
        form = QFormLayout(general)
        form.addRow("Name", self.name)
        if ws.embedded:
            self.urls.setEnabled(False)
            note = QLabel("SockDesk runs this workspace's server on this computer; its "
                          "address is chosen when it starts.")
            note.setObjectName("hint")
            note.setWordWrap(True)
            form.addRow("Server", note)
        else:
            form.addRow("Server URLs", self.urls)
        form.addRow("Path", self.path)
        form.addRow("Namespaces", self.namespaces)
        form.addRow("User", self.user)
        form.addRow("Token", self.token)
        tr = QHBoxLayout()
        tr.addWidget(self.websocket)
        tr.addWidget(self.polling)
        tr.addStretch(1)
        form.addRow("Transports", tr)
        form.addRow("Ack timeout", self.ack_timeout)
        form.addRow("Delivery", self.delivery)
        form.addRow("", self.delivery_hint)
        form.addRow("Parser", self.parser)

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

        auth = QWidget()
        al = QVBoxLayout(auth)
        label = QLabel("Extra auth fields, a JSON object (user, token and the name-claim "
                       "key are added)")
        label.setObjectName("hint")
        al.addWidget(label)
        al.addWidget(self.auth, 1)
        keep = QLabel("Keep secret:")
        keep.setObjectName("hint")
        al.addWidget(keep)
        al.addWidget(self.secret_keys)

        tls = QWidget()
        tf = QFormLayout(tls)
        tf.addRow("", self.verify)
        ca = QHBoxLayout()
        ca.addWidget(self.ca_file, 1)
        ca.addWidget(self.ca_browse)
        tf.addRow("CA file", ca)
        tf.addRow("Pinned certificate", self.fingerprint)
        tls_hint = QLabel("A pinned fingerprint accepts exactly that certificate, self-signed "
                          "or not, and nothing else.")
        tls_hint.setObjectName("hint")
        tls_hint.setWordWrap(True)
        tf.addRow(tls_hint)

        self.tabs = QTabWidget()
        self.tabs.addTab(scrolled(general), "General")
        self.tabs.addTab(auth, "Auth")
        self.tabs.addTab(self._wrap(self.headers, "Extra HTTP headers, as a JSON object"),
                         "Headers")
        self.tabs.addTab(self._wrap(self.query, "Query parameters, as a JSON object"),
                         "Query")
        self.tabs.addTab(reconnect, "Reconnection")
        self.tabs.addTab(tls, "TLS")

        self.error = QLabel("")
        self.error.setObjectName("errorLabel")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                        QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Save and connect")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs)
        lay.addWidget(self.secrets_label)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)

        for w in (self.auth, self.headers, self.query):
            w.validity_changed.connect(lambda _v: self.validate())
        for le in (self.name, self.user, self.namespaces, self.fingerprint, self.ca_file,
                   self.path):
            le.textChanged.connect(lambda _t: self.validate())
        self.urls.textChanged.connect(self.validate)
        self.websocket.toggled.connect(lambda _c: self.validate())
        self.polling.toggled.connect(lambda _c: self.validate())
        self.validate()
        fit_screen(self, self.sizeHint().expandedTo(self.minimumSize()))

    @staticmethod
    def _wrap(editor: QWidget, text: str) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        label = QLabel(text)
        label.setObjectName("hint")
        lay.addWidget(label)
        lay.addWidget(editor, 1)
        return w

    def _delivery_changed(self) -> None:
        self.delivery_hint.setText(DELIVERY_TEXT[Delivery(self.delivery.currentData())])

    def _fill_secret_keys(self) -> None:
        """One tickable line per top-level auth field (while the JSON is valid)."""
        if not self.auth.valid:
            return
        keys = [str(k) for k in (self.auth.value() or {})]
        if keys == [self.secret_keys.item(i).text()
                    for i in range(self.secret_keys.count())]:
            return
        self.secret_keys.blockSignals(True)
        self.secret_keys.clear()
        for k in keys:
            item = QListWidgetItem(k)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if k in self._secret
                               else Qt.CheckState.Unchecked)
            self.secret_keys.addItem(item)
        self.secret_keys.blockSignals(False)

    def _secret_toggled(self, item: QListWidgetItem) -> None:
        if item.checkState() == Qt.CheckState.Checked:
            self._secret.add(item.text())
        else:
            self._secret.discard(item.text())

    def set_secret(self, key: str, secret: bool) -> None:
        """Tick (or untick) an auth field as secret."""
        for i in range(self.secret_keys.count()):
            item = self.secret_keys.item(i)
            if item.text() == key:
                item.setCheckState(Qt.CheckState.Checked if secret
                                   else Qt.CheckState.Unchecked)

    def _browse_ca(self) -> QFileDialog:
        dlg = QFileDialog(self, "CA certificates", self.ca_file.text() or "",
                          "Certificates (*.pem *.crt *.cer);;All files (*)")
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
        dlg.fileSelected.connect(self.ca_file.setText)
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    def problems(self) -> list[str]:
        out: list[str] = []
        name = self.name.text().strip()
        if not name:
            out.append("A workspace needs a name.")
        elif self.store is not None:
            other = self.store.find(name)
            if other is not None and other.id != self.original.id:
                out.append(f"A workspace named {name!r} exists already.")
        if not self.original.embedded:
            urls = _lines(self.urls.toPlainText())
            if not urls:
                out.append("Type the server's URL, like http://127.0.0.1:5000")
            for url in urls:
                bad = check_url(url)
                if bad:
                    out.append(bad)
                    break
        for label, w in (("Auth", self.auth), ("Headers", self.headers),
                         ("Query", self.query)):
            if not w.valid:
                out.append(f"{label}: {w.error}")
        if not (self.websocket.isChecked() or self.polling.isChecked()):
            out.append("Choose at least one transport")
        fp = self.fingerprint.text().strip()
        if fp:
            try:
                normalize_fingerprint(fp)
            except ValueError as exc:
                out.append(str(exc))
        ca = self.ca_file.text().strip()
        if ca and not Path(ca).expanduser().is_file():
            out.append(f"The CA file {ca} does not exist.")
        return out

    def validate(self) -> bool:
        problems = self.problems()
        self.error.setText(problems[0] if problems else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problems)
        return not problems

    def workspace(self) -> Workspace:
        """The workspace as edited: the same id (so the same data folder and outbox)."""
        o = self.original
        auth = dict(self.auth.value() or {}) if self.auth.valid else dict(o.auth)
        fp = self.fingerprint.text().strip()
        ca = self.ca_file.text().strip()
        return dataclasses.replace(
            o, name=self.name.text().strip(),
            urls=list(o.urls) if o.embedded else _lines(self.urls.toPlainText()),
            path="/" + (self.path.text().strip().strip("/") or "socket.io"),
            namespaces=_namespaces(self.namespaces.text()),
            user=self.user.text().strip() or None, token=self.token.text() or None,
            auth=auth, secret_auth=[k for k in auth if k in self._secret],
            headers={str(k): str(v) for k, v in (self.headers.value() or {}).items()}
            if self.headers.valid else dict(o.headers),
            query={str(k): str(v) for k, v in (self.query.value() or {}).items()}
            if self.query.valid else dict(o.query),
            transports=[t for t, b in (("websocket", self.websocket),
                                       ("polling", self.polling)) if b.isChecked()],
            reconnect=dataclasses.replace(o.reconnect, delay=self.delay.value(),
                                          delay_max=self.delay_max.value(),
                                          attempts=self.attempts.value()),
            ack_timeout=self.ack_timeout.value(),
            delivery=Delivery(self.delivery.currentData()),
            parser=str(self.parser.currentData()),
            tls=TlsSettings(verify=self.verify.isChecked(),
                            ca_file=str(Path(ca).expanduser()) if ca else None,
                            fingerprint=normalize_fingerprint(fp) if fp else None),
            host=dataclasses.replace(o.host))
