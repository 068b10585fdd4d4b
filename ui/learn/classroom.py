"""The Learn tab's top bar: a "go offline" switch for your own connection, the outbox
counter that shows events piling up and flushing, and start/stop of the bundled server."""

from __future__ import annotations

import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

import shiboken6
from PySide6.QtCore import QProcess, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.workspace import ServerKind
from ui import theme
from ui.learn.widgets import ToggleSwitch
from ui.widgets.flow import FlowLayout

log = logging.getLogger(__name__)

STATE_WORDS = {
    "connected": "Online: what you send goes out at once.",
    "offline": "Offline: what you send waits in your outbox.",
    "connecting": "Connecting…",
    "reconnecting": "Connection lost: trying again. Your outbox keeps everything.",
}
HOSTED = ("This is the server you host for others: stopping it here would cut everybody "
          "off. Use Hosting → Stop hosting.")
EXTERNAL = ("SockDesk does not run this workspace's server: start and stop it where it "
            "runs.")


class ClassroomBar(QFrame):
    """Offline switch, outbox counter, test emit, and the bundled server's controls.

    `host` is the main window (duck-typed): ``session``, ``bridge``, ``bundled_url``,
    ``embedded_server`` (may be missing), ``spawn``, ``show_error``, ``show_info``.
    """

    went_offline = Signal()
    came_online = Signal()
    server_changed = Signal(bool)        # running?

    def __init__(self, host: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.setObjectName("learnBar")
        self._state = "offline"
        self._sent_since_online = 0
        self._test_n = 0
        self._server_busy = False
        self._watched_proc: QProcess | None = None

        self.switch = ToggleSwitch("Go offline")
        self.switch.setObjectName("offlineSwitch")
        self.switch.setToolTip("Drop your connection without closing the app. Messages you "
                               "send meanwhile wait in the outbox and go out when you "
                               "switch back.")
        self.switch.toggled.connect(self._switch_toggled)
        self.state_label = QLabel(STATE_WORDS["offline"])
        self.state_label.setObjectName("hint")
        self.state_label.setWordWrap(True)
        self.state_label.setMinimumWidth(160)
        left = QVBoxLayout()
        left.setSpacing(2)
        left.addWidget(self.switch)
        left.addWidget(self.state_label)

        self.counter = QLabel("0")
        self.counter.setObjectName("learnCounter")
        self.counter.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.counter.setMinimumWidth(44)
        self.counter_caption = QLabel("in your outbox")
        self.counter_caption.setObjectName("sectionTitle")
        self.flushed_label = QLabel("")
        self.flushed_label.setObjectName("hint")
        for label in (self.counter_caption, self.flushed_label):
            label.setWordWrap(True)  # two short lines rather than a wide bar
            label.setMinimumWidth(120)
        self.test_button = QPushButton(theme.icon("send"), "Emit a test event")
        self.test_button.setObjectName("testEmit")
        self.test_button.setToolTip("Emit a 'note' event through your outbox (on / when "
                                    "you have it). Try it while offline.")
        self.test_button.clicked.connect(self.emit_test_event)
        words = QVBoxLayout()
        words.setSpacing(0)
        words.addWidget(self.counter_caption)
        words.addWidget(self.flushed_label)

        self.server_dot = QLabel()
        self.server_title = QLabel("Bundled server")
        self.server_title.setObjectName("sectionTitle")
        self.server_label = QLabel("")
        self.server_label.setObjectName("hint")
        self.server_label.setWordWrap(True)
        self.server_label.setSizePolicy(QSizePolicy.Policy.Expanding,
                                        QSizePolicy.Policy.Preferred)
        self.server_button = QPushButton()
        self.server_button.setObjectName("serverButton")
        self.server_button.clicked.connect(self._server_clicked)
        server_words = QVBoxLayout()
        server_words.setSpacing(0)
        title_row = QHBoxLayout()
        title_row.setSpacing(6)
        title_row.addWidget(self.server_dot)
        title_row.addWidget(self.server_title)
        title_row.addStretch(1)
        server_words.addLayout(title_row)
        server_words.addWidget(self.server_label)

        # three groups that wrap onto more rows in a narrow window (ui.widgets.flow)
        you = QWidget()
        you_lay = QHBoxLayout(you)
        you_lay.setContentsMargins(0, 0, 0, 0)
        you_lay.addLayout(left)
        outbox = QWidget()
        outbox_lay = QHBoxLayout(outbox)
        outbox_lay.setContentsMargins(0, 0, 0, 0)
        outbox_lay.setSpacing(10)
        outbox_lay.addWidget(self.counter)
        outbox_lay.addLayout(words, 1)
        outbox_lay.addWidget(self.test_button)
        server = QWidget()
        server.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        server_lay = QHBoxLayout(server)
        server_lay.setContentsMargins(0, 0, 0, 0)
        server_lay.setSpacing(10)
        server_lay.addLayout(server_words, 1)
        server_lay.addWidget(self.server_button)
        lay = FlowLayout(self, spacing=24, row_spacing=8)
        lay.setContentsMargins(14, 10, 14, 10)
        for group in (you, outbox, server):
            lay.addWidget(group)

        bridge = host.bridge
        bridge.state_changed.connect(self._on_state)
        bridge.outbox_changed.connect(self._on_outbox)
        self.refresh()

    def set_presenting(self, on: bool) -> None:
        """Presenter mode: one row on the projector. The sentences that guide the teacher
        at the desk (state, what to try, where the server runs) fold away; the switch,
        the counter and the buttons stay."""
        for label in (self.state_label, self.flushed_label, self.server_label):
            label.setVisible(not on)
        self.counter_caption.setWordWrap(not on)

    # -- your connection ---------------------------------------------------------------------
    @property
    def session(self) -> Any:
        return getattr(self.host, "session", None)

    def refresh(self) -> None:
        s = self.session
        state = getattr(getattr(s, "state", None), "value", None) or "offline"
        self._on_state(str(state), "")
        self.refresh_depth()
        self.refresh_server()

    def depth(self) -> int:
        s = self.session
        if s is None:
            return 0
        try:
            return int(s.outbox.depth())
        except Exception:  # a closed session
            return 0

    def refresh_depth(self) -> None:
        n = self.depth()
        self.counter.setText(str(n))
        self.counter.setProperty("busy", n > 0)
        self.counter.style().unpolish(self.counter)
        self.counter.style().polish(self.counter)
        self.counter_caption.setText("event waiting in your outbox" if n == 1 else
                                     "events waiting in your outbox")
        if self._state == "connected" and self._sent_since_online:
            self.flushed_label.setText(f"{self._sent_since_online} delivered since you "
                                       "came back online")
        elif self._state != "connected" and n:
            self.flushed_label.setText("They go out when you are back online.")
        else:
            self.flushed_label.setText("Go offline, emit a few, then come back.")

    def _on_state(self, state: str, _reason: str) -> None:
        was = self._state
        self._state = state
        self.switch.blockSignals(True)
        self.switch.setChecked(state == "offline")
        self.switch.blockSignals(False)
        self.switch.setEnabled(self.session is not None)
        self.state_label.setText(STATE_WORDS.get(state, state))
        self.refresh_server()
        if state == "connected" and was != "connected":
            self._sent_since_online = 0
        self.refresh_depth()

    def _on_outbox(self, msg: Any) -> None:
        state = getattr(getattr(msg, "state", None), "value", None)
        if state == "acked" and self._state == "connected":
            self._sent_since_online += 1
        self.refresh_depth()

    def _switch_toggled(self, offline: bool) -> None:
        s = self.session
        if s is None:
            self.host.show_error("Not connected to any server yet: press Connect (Ctrl+K)")
            self.switch.blockSignals(True)
            self.switch.setChecked(False)
            self.switch.blockSignals(False)
            return
        if offline:
            self.went_offline.emit()
            self.host.spawn(s.disconnect(reason="went offline from the Learn tab"))
        else:
            self.came_online.emit()
            self.host.spawn(s.connect())

    def test_namespace(self) -> str:
        s = self.session
        nss = list(getattr(s, "namespaces", []) or ["/"])
        return "/" if "/" in nss else nss[0]

    def emit_test_event(self) -> Any:
        s = self.session
        if s is None:
            self.host.show_error("Not connected to any server yet: press Connect (Ctrl+K)")
            return None
        self._test_n += 1
        try:
            msg = s.emit(self.test_namespace(), "note",
                         {"text": f"test event {self._test_n}", "n": self._test_n})
        except Exception as exc:  # outbox full, closed
            self.host.show_error(f"Not sent: {exc}")
            return None
        self.refresh_depth()
        return msg

    # -- the bundled server --------------------------------------------------------------------
    def hosts_team_server(self) -> bool:
        """The window shows a workspace hosted for others: its server is theirs too."""
        ws = getattr(self.host, "workspace", None)
        return getattr(ws, "server", None) == ServerKind.HOST

    def server(self) -> Any:
        if not getattr(self.host, "bundled_url", None) or self.hosts_team_server():
            return None
        return getattr(self.host, "embedded_server", None)

    def refresh_server(self) -> None:
        srv = self.server()
        if srv is None:
            self.server_dot.setPixmap(theme.dot_pixmap(theme.state_color("offline"), 10))
            self.server_title.setText("Server")
            self.server_button.setText("Stop server")
            self.server_button.setIcon(theme.icon("server"))
            self.server_button.setEnabled(False)
            why = HOSTED if self.hosts_team_server() else EXTERNAL if not getattr(
                self.host, "bundled_url", None) else (
                "The bundled server was started outside this window; it cannot be "
                "controlled from here.")
            self.server_label.setText(why)
            self.server_button.setToolTip(why)
            return
        self._watch(srv)
        running = bool(srv.running)
        where = urlsplit(self.host.bundled_url).netloc
        self.server_title.setText("Bundled server")
        self.server_dot.setPixmap(theme.dot_pixmap(
            theme.state_color("connected" if running else "failed"), 10))
        if self._server_busy:
            self.server_label.setText("Stopping…" if running else "Starting…")
        elif running:
            self.server_label.setText(f"Running on {where}. Stop it and watch every client "
                                      "reconnect and catch up when it is back.")
        else:
            self.server_label.setText(f"Stopped. Clients keep trying {where}; start it "
                                      "again on the same address.")
        self.server_button.setText("Stop server" if running else "Start server")
        self.server_button.setIcon(theme.icon("stop" if running else "play"))
        self.server_button.setToolTip("")
        self.server_button.setEnabled(not self._server_busy)

    def _watch(self, srv: Any) -> None:
        proc = getattr(srv, "proc", None)
        if proc is None or proc is self._watched_proc:
            return
        self._watched_proc = proc
        proc.stateChanged.connect(self._proc_state)   # a slot: gone with this widget

    def _proc_state(self, *_args: object) -> None:
        if shiboken6.isValid(self) and shiboken6.isValid(self.server_label):
            self.refresh_server()

    def _server_clicked(self) -> None:
        srv = self.server()
        if srv is None or self._server_busy:
            return
        self.host.spawn(self.stop_server() if srv.running else self.start_server())

    async def stop_server(self) -> None:
        srv = self.server()
        if srv is None:
            return
        self._server_busy = True
        self.refresh_server()
        try:
            await srv.stop()
        finally:
            self._server_busy = False
            self.refresh_server()
            self.server_changed.emit(False)
        self.host.show_info("The bundled server is stopped: clients keep trying to reconnect")

    async def start_server(self) -> None:
        """Start the bundled server again on the port it had, so every client's URL still
        works; then skip the clients' back-off wait."""
        srv = self.server()
        if srv is None:
            return
        port = urlsplit(self.host.bundled_url).port
        if port:
            extra = list(srv.extra)
            with contextlib.suppress(ValueError):
                i = extra.index("--port")
                del extra[i:i + 2]
            srv.extra = [*extra, "--port", str(port)]
        self._server_busy = True
        self.refresh_server()
        try:
            await srv.start()
        except Exception as exc:
            self.host.show_error(f"Could not start the bundled server: {exc}")
            return
        finally:
            self._server_busy = False
            self.refresh_server()
        s = self.session
        if s is not None and getattr(getattr(s, "state", None), "value", "") == "reconnecting":
            s.reconnect_now()
        self.server_changed.emit(True)
        self.host.show_info("The bundled server is running again")
