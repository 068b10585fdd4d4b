"""The Learn tab (teaching mode): guided lessons played live by simulated users, a
sequence diagram of their packets, plain-words explanations with the current step lit
up, classroom controls (go offline, the outbox counter, the bundled server), and the
teacher's pacing: Pause holds the lesson itself, Next / Previous step (Space, →,
PageDown / ←, PageUp, so presenter clickers work), step by step; the checks run after
the lesson, in their own panel.

The lessons themselves are ``app.scenarios`` (Qt-free); this tab only shows a
``ScenarioRun`` through ``ui.learn.bridge.RunBridge``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QItemSelectionModel, QSize, Qt
from PySide6.QtGui import QActionGroup, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.scenarios import EndState, Scenario, ScenarioRun
from ui import theme
from ui.learn.bridge import RunBridge
from ui.learn.classroom import ClassroomBar
from ui.learn.diagram import SequenceDiagram
from ui.learn.models import ScenarioListModel, StepListModel
from ui.learn.pacing import PacingBar
from ui.learn.widgets import ChecksPanel, ScenarioDelegate, StepList
from ui.widgets.elided import ElidedLabel
from ui.widgets.fit_column import FitColumn
from ui.widgets.fit_page import FitPage
from ui.widgets.flip_splitter import FlipSplitter

log = logging.getLogger(__name__)

#: seconds between the steps of a lesson, by the speed chosen
PACES = (("Slow", 1.6), ("Normal", 0.9), ("Fast", 0.35))
YOU = "you"
#: the keys of a presenter clicker (and of a keyboard): next step, previous step
NEXT_KEYS = ("Space", "Right", "PgDown")
PREVIOUS_KEYS = ("Left", "PgUp")

LOCAL_STYLE = """
QFrame#learnBar { border: none; border-bottom: 1px solid palette(midlight); }
QFrame#learnSeparator { color: palette(midlight); }
QLabel#learnCounter {
    font-size: 22px; font-weight: 700; border-radius: 10px; padding: 2px 10px;
    background: palette(midlight);
}
QLabel#learnCounter[busy="true"] { background: #ef7d32; color: white; }
QLabel#learnResult {
    border-radius: 8px; padding: 8px 12px; font-weight: 600;
    background: @subtle;
}
QLabel#learnResult[state="running"] { background: @running; }
QLabel#learnResult[state="passed"] { background: @passed; color: @passedText; }
QLabel#learnResult[state="failed"] { background: @failed; color: @failedText; }
QLabel#learnTitle { font-weight: 700; font-size: 16px; }
QLabel#learnExplanation { line-height: 130%; }
QListView#lessonList, QListView#stepList { border: none; background: palette(window); outline: 0; }
QScrollArea#learnRight, QWidget#learnColumn { background: palette(window); }
QScrollArea#learnScroll, QWidget#learnPage { background: palette(window); }
QLabel#learnChecks { color: @muted; }
"""


def _tint(color: str, alpha: float) -> str:
    from PySide6.QtGui import QColor

    c = QColor(color)
    return f"rgba({c.red()}, {c.green()}, {c.blue()}, {int(alpha * 255)})"


class LearnTab(QWidget):
    """Teaching mode. `host` is the main window (see ClassroomBar for what it needs)."""

    def __init__(self, host: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("learnTab")
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)   # takes the clicker's keys
        self.host = host
        self.run: ScenarioRun | None = None
        self.pace = PACES[1][1]
        self._task: asyncio.Task[Any] | None = None
        self._closing = False
        self.bridge = RunBridge(self)

        # -- top: classroom controls ---------------------------------------------------------
        self.classroom = ClassroomBar(host)
        self.classroom.went_offline.connect(lambda: self._own_note("went offline", "offline"))
        self.classroom.came_online.connect(lambda: self._own_note("back online", "online"))
        self.classroom.server_changed.connect(self._server_changed)

        # -- left: the lessons -----------------------------------------------------------------
        self.lessons = ScenarioListModel(parent=self)
        self.lesson_list = QListView()
        self.lesson_list.setObjectName("lessonList")
        self.lesson_list.setModel(self.lessons)
        self.lesson_list.setItemDelegate(ScenarioDelegate(self.lesson_list))
        self.lesson_list.setMouseTracking(True)
        self.lesson_list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.lesson_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.lesson_list.selectionModel().currentChanged.connect(self._current_changed)
        lessons_title = QLabel("LESSONS")
        lessons_title.setObjectName("hint")
        f = lessons_title.font()
        f.setBold(True)
        lessons_title.setFont(f)
        left = QWidget()
        left.setObjectName("lessonPane")
        left.setMinimumWidth(170)
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(8, 12, 4, 8)
        left_lay.addWidget(lessons_title)
        left_lay.addWidget(self.lesson_list, 1)
        self.lesson_hint = QLabel("Each lesson runs live with simulated users in this app, "
                                  "against the server you are connected to.")
        self.lesson_hint.setObjectName("hint")
        self.lesson_hint.setWordWrap(True)
        left_lay.addWidget(self.lesson_hint)

        # -- centre: title, buttons, verdict, diagram ------------------------------------------
        # one line each, cut with "…" (the whole text in the tooltip and the lesson list):
        # wrapped beside the buttons, a title took four lines and squeezed the diagram
        # over its own controls on a 1280x720 projector
        self.title = ElidedLabel("")
        self.title.setObjectName("learnTitle")
        self.subtitle = ElidedLabel("")
        self.subtitle.setObjectName("hint")
        self.run_button = QPushButton(theme.icon("play"), "Run")
        self.run_button.setObjectName("runButton")
        self.run_button.setProperty("accent", True)
        self.run_button.clicked.connect(self.run_clicked)
        self.stop_button = QPushButton(theme.icon("stop"), "Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.clicked.connect(self.stop_clicked)
        self.speed = QComboBox()
        self.speed.setObjectName("speed")
        for label, pace in PACES:
            self.speed.addItem(label, pace)
        self.speed.setCurrentIndex(1)
        self.speed.setToolTip("How long each step stays on screen")
        self.speed.currentIndexChanged.connect(self._speed_changed)
        # the title has the column's width; the summary shares its line with the buttons
        head = QVBoxLayout()
        head.setSpacing(0)
        head.addWidget(self.title)
        # in presenter mode the lesson list folds away: this button picks another lesson
        self.lessons_button = QPushButton(theme.icon("learn"), "Lessons")
        self.lessons_button.setObjectName("lessonsButton")
        self.lessons_button.setToolTip("Choose another lesson (the list is folded away "
                                       "in presenter mode)")
        self.lessons_menu = QMenu(self.lessons_button)
        self.lessons_menu.aboutToShow.connect(self._fill_lessons_menu)
        self.lessons_button.setMenu(self.lessons_menu)
        #: one lesson ticked at a time (the menu's actions leave it when it is cleared)
        self._lesson_marks = QActionGroup(self.lessons_menu)
        self.lessons_button.hide()
        line = QHBoxLayout()
        line.setSpacing(8)
        line.addWidget(self.lessons_button)
        line.addWidget(self.subtitle, 1)
        # a cut summary ends in "…": a gap keeps it from running into the next word
        line.addSpacing(8)
        self.speed_label = QLabel("Speed")
        line.addWidget(self.speed_label)
        line.addWidget(self.speed)
        line.addWidget(self.run_button)
        line.addWidget(self.stop_button)
        head.addLayout(line)
        self.result = QLabel("")
        self.result.setObjectName("learnResult")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        self.diagram = SequenceDiagram()
        #: your own packets that came while the tab was hidden (drawn when it is shown)
        self._own_backlog: deque[Any] = deque(maxlen=self.diagram.canvas.capacity)
        centre = FitColumn()  # its wrapped lines keep their height (ui.widgets.fit_column)
        c_lay = QVBoxLayout(centre)
        c_lay.setContentsMargins(14, 8, 14, 8)
        c_lay.setSpacing(6)
        c_lay.addLayout(head)
        self.pacing = PacingBar()
        self.pacing.start_requested.connect(self.run_clicked)
        self.pacing.view_changed.connect(self._view_changed)
        c_lay.addWidget(self.pacing)
        c_lay.addWidget(self.result)
        c_lay.addWidget(self.diagram, 1)

        # -- right: explanation and steps --------------------------------------------------------
        what = QLabel("WHAT IS GOING ON")
        what.setObjectName("hint")
        what.setFont(f)
        self.explanation = QLabel("")
        self.explanation.setObjectName("learnExplanation")
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(Qt.TextFormat.PlainText)
        steps_title = QLabel("STEPS")
        steps_title.setObjectName("hint")
        steps_title.setFont(f)
        self.steps = StepListModel(self)
        self.step_list = StepList()
        self.step_list.setObjectName("stepList")
        self.step_list.setModel(self.steps)
        self.checks = ChecksPanel()
        column = QWidget()
        column.setObjectName("learnColumn")
        r_lay = QVBoxLayout(column)
        r_lay.setContentsMargins(10, 12, 12, 8)
        r_lay.setSpacing(6)
        r_lay.addWidget(what)
        r_lay.addWidget(self.explanation)
        r_lay.addSpacing(6)
        r_lay.addWidget(steps_title)
        r_lay.addWidget(self.step_list)
        r_lay.addWidget(self.checks)
        r_lay.addStretch(1)
        right = QScrollArea()
        right.setObjectName("learnRight")
        right.setWidget(column)
        right.setWidgetResizable(True)
        right.setFrameShape(QFrame.Shape.NoFrame)
        right.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right.setMinimumWidth(240)

        # the diagram and the explanation side by side where they fit, the explanation
        # under the diagram in a narrow window (ui.widgets.flip_splitter)
        self.body = FlipSplitter()
        self.body.setObjectName("learnBody")
        self.body.addWidget(centre)
        self.right = right
        self.body.addWidget(right)
        self.body.setStretchFactor(0, 1)
        self.body.setSizes([620, 330])
        self.body.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("learnSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.body)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([250, 950])
        self.splitter.setChildrenCollapsible(False)
        # in a window too short for the bar (wrapped onto two rows when narrow) and the
        # diagram, the tab scrolls rather than squeezing the diagram over its controls
        page = FitPage()  # scrolls only below its minimum (ui.widgets.fit_page)
        page.setObjectName("learnPage")
        page_lay = QVBoxLayout(page)
        page_lay.setContentsMargins(0, 0, 0, 0)
        page_lay.setSpacing(0)
        page_lay.addWidget(self.classroom)
        page_lay.addWidget(self.splitter, 1)
        self.page_scroll = QScrollArea()
        self.page_scroll.setObjectName("learnScroll")
        self.page_scroll.setWidget(page)
        self.page_scroll.setWidgetResizable(True)
        self.page_scroll.setFrameShape(QFrame.Shape.NoFrame)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.page_scroll)

        # -- wiring ------------------------------------------------------------------------------
        b = self.bridge
        b.state_changed.connect(self._on_run_state)
        b.step_changed.connect(self._on_step)
        b.lane_added.connect(self.diagram.canvas.add_lane)
        b.packet.connect(self._lesson_packet)
        b.pacing_changed.connect(self.pacing.refresh)
        b.checks_started.connect(self.checks.checking)
        b.note.connect(lambda n: self.diagram.add_note(n.lane, n.text, n.kind))
        b.finished.connect(self._on_finished)
        b.outbox_depth.connect(self.diagram.canvas.set_outbox)
        b.lane_state.connect(self.diagram.canvas.set_state)
        # packets the bridge still holds are in the log read below: pass them on first,
        # so that none is drawn twice
        host.bridge.flush_packets()
        host.bridge.packets_logged.connect(self._own_packets)
        host.bridge.state_changed.connect(self._own_state)
        host.bridge.outbox_changed.connect(self._own_outbox)
        self._restyle()
        self._show_you()
        # built on first use (see MainWindow.learn): what your connection did before
        log_so_far = getattr(getattr(host, "session", None), "packet_log", None)
        self._own_backlog.extend(log_so_far or ())
        self.lesson_list.selectionModel().setCurrentIndex(
            self.lessons.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self._bind_keys()
        self._refresh_buttons()

    # -- look ----------------------------------------------------------------------------------
    def _restyle(self) -> None:
        pal = self.palette()
        dark = theme.is_dark(pal)
        css = LOCAL_STYLE
        for token, value in (
                ("@subtle", theme.subtle_bg(pal, 0.07).name()),
                ("@running", _tint("#3e8ef7", 0.16)),
                ("@passedText", "#7be0a6" if dark else "#15703f"),
                ("@passed", _tint("#2fb36b", 0.18)),
                ("@failedText", "#ff8a8d" if dark else "#b4232a"),
                ("@failed", _tint("#e5484d", 0.16)),
                ("@muted", theme.muted(pal).name())):
            css = css.replace(token, value)
        css = theme.scale_css(css)  # the zoom (ui.zoom)
        if css != self.styleSheet():
            self.setStyleSheet(css)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # the theme went light / dark, or the zoom changed the font
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            self._restyle()

    def set_presenting(self, on: bool) -> None:
        """Presenter mode (ui.view_menu): the lesson list folds away so the diagram and
        the steps get the projector's width; the lesson shown stays."""
        pane = self.splitter.widget(0)
        if pane is not None:
            pane.setVisible(not on)
        self.lessons_button.setVisible(on)
        self.classroom.set_presenting(on)

    def _fill_lessons_menu(self) -> None:
        """Every lesson, the one shown ticked (the menu is built each time it opens)."""
        self.lessons_menu.clear()
        shown = self.lesson_list.currentIndex().row()
        for row in range(self.lessons.rowCount()):
            cls = self.lessons.scenario(row)
            act = self.lessons_menu.addAction(f"{cls.number}. {cls.title}")
            act.setCheckable(True)
            self._lesson_marks.addAction(act)
            act.setChecked(row == shown)
            act.triggered.connect(lambda _c=False, key=cls.key: self.select(key))

    def sizeHint(self) -> QSize:
        return QSize(1200, 760)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.classroom.refresh_server()
        self._catch_up()
        self._take_focus()

    def _take_focus(self) -> None:
        """Coming to the front, the tab takes the focus from a text field elsewhere in
        the window (the chat's box, the address bar): a presenter clicker's keys are for
        the lesson until the teacher clicks into a field."""
        focus = QApplication.focusWidget()
        if focus is None or (not self.isAncestorOf(focus)
                             and (self._is_text_field(focus) or not focus.isVisible())):
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- lessons -------------------------------------------------------------------------------
    @property
    def selected(self) -> type[Scenario]:
        row = max(0, self.lesson_list.currentIndex().row())
        return self.lessons.scenario(row)

    def select(self, key: str) -> None:
        row = self.lessons.row_of(key)
        if row >= 0:
            self.lesson_list.setCurrentIndex(self.lessons.index(row, 0))

    def _current_changed(self, current: Any, _previous: Any) -> None:
        self.show_lesson(current.row())

    def show_lesson(self, row: int) -> None:
        if row < 0:
            return
        cls = self.lessons.scenario(row)
        if self.run is not None:
            if self.run.scenario.__class__ is cls:
                return
            # another lesson: the finished one's users leave, the diagram starts over
            old = self._drop_run()
            if old is not None:
                self.host.spawn(old.close())
            self._show_you()
            self._refresh_buttons()
        self.title.setText(f"{cls.number}. {cls.title}")
        self.subtitle.setText(cls.summary)
        self.explanation.setText(cls.explanation)
        self.steps.set_steps(cls.steps)
        self.checks.clear()
        self.right.verticalScrollBar().setValue(0)  # a new lesson is read from its top
        self._set_result("idle", "Press Run: the users connect and play it out, step by step. "
                         "Watch the diagram below.")

    def _set_result(self, state: str, text: str) -> None:
        self.result.setText(text)
        self.result.setProperty("state", state)
        self.result.style().unpolish(self.result)
        self.result.style().polish(self.result)

    # -- running -------------------------------------------------------------------------------
    def run_clicked(self) -> None:
        self._task = self.host.spawn(self.start(self.selected))

    def stop_clicked(self) -> None:
        if self.running:
            self.host.spawn(self.stop())
        else:
            self.host.spawn(self.reset())

    @property
    def running(self) -> bool:
        return self.run is not None and self.run.state.value == "running"

    def _scenario_server(self) -> dict[str, Any]:
        """Where the simulated users connect: the window's server, reached as the
        window's own connection reaches it (token, certificate check, Socket.IO path)."""
        cfg = getattr(getattr(self.host, "session", None), "config", None)
        if cfg is not None:
            return {"url": cfg.url, "token": cfg.token or None, "tls": cfg.tls,
                    "socketio_path": cfg.socketio_path}
        opts = getattr(self.host, "options", {}) or {}  # not connected yet
        return {"url": str(opts.get("url") or ""), "token": opts.get("token") or None}

    async def start(self, cls: type[Scenario]) -> ScenarioRun | None:
        """Close any previous run, then play `cls` with fresh simulated users."""
        await self.close_run()
        server = self._scenario_server()
        if not server["url"]:
            self._set_result("failed", "✗ No server address: connect first.")
            return None
        data = Path(getattr(self.host, "data_root", Path.home() / ".sockdesk")) / "learn"
        run = ScenarioRun(cls(), server.pop("url"), data, pace=self.pace, **server)
        # students who joined a hosted workspace take part; the run's queues go afterwards
        ws = getattr(self.host, "workspace", None)
        run.invite_students = getattr(ws, "server", None) == "host"
        run.tidy_when_done = True
        self.run = run
        self.select(cls.key)
        self.steps.set_steps(cls.steps)
        self.checks.clear()
        suffix = f"-{run.run_id}"
        self.diagram.reset(list(cls.users), shorten=lambda s: s.replace(suffix, ""),
                           columns=list(cls.columns), servers=list(cls.server_lanes))
        self.diagram.set_lesson_mode(True)
        self.bridge.attach(run)
        self.pacing.attach(run)
        self.lessons.set_result(cls.key, "running")
        run.start()
        self._refresh_buttons()
        return run

    async def stop(self) -> None:
        if self.run is not None:
            await self.run.stop()
        self._refresh_buttons()

    async def reset(self) -> None:
        """Forget the run: clear the diagram and the steps at once, then close its users."""
        run = self._drop_run()
        self._show_you()
        cls = self.selected
        self.steps.set_steps(cls.steps)
        self.checks.clear()
        self._set_result("idle", "Press Run: the users connect and play it out, step by step. "
                         "Watch the diagram below.")
        self._refresh_buttons()
        if run is not None:
            try:
                await run.close()
            except Exception as exc:  # closing must not break the tab
                log.debug("closing the run failed: %s", exc)

    def _drop_run(self) -> ScenarioRun | None:
        """Stop showing the current run (it still has to be closed)."""
        run, self.run = self.run, None
        if run is not None:
            self.bridge.detach()
            self.pacing.attach(None)
            if run.state.value == "running":
                self.lessons.set_result(run.scenario.key, "stopped")
        return run

    async def close_run(self) -> None:
        run = self._drop_run()
        if run is None:
            return
        try:
            await run.close()
        except Exception as exc:  # closing must not stop the next run
            log.debug("closing the run failed: %s", exc)

    async def shutdown(self) -> None:
        """The window closes: close the simulated users too."""
        self._closing = True
        await self.close_run()

    def _refresh_buttons(self) -> None:
        if not shiboken6.isValid(self.run_button):
            return
        running = self.running
        has_run = self.run is not None
        self.run_button.setEnabled(not running)
        self.run_button.setText("Run again" if has_run and not running else "Run")
        self.stop_button.setText("Stop" if running or not has_run else "Reset")
        self.stop_button.setIcon(theme.icon("stop" if running or not has_run else "retry"))
        self.stop_button.setEnabled(has_run)
        self.lesson_list.setEnabled(not running)
        self.pacing.refresh()

    def _on_run_state(self, state: str, sentence: str) -> None:
        run = self.run
        if run is None:
            return
        if state == "running":
            self._set_result("running", f"Running: {run.scenario.title}…")
        elif state == "stopped":
            self._set_result("idle", "Stopped. Press Reset to clear, or Run again.")
            self.lessons.set_result(run.scenario.key, "stopped")
        self._refresh_buttons()

    def _on_step(self, index: int) -> None:
        run = self.run
        if run is None:
            return
        n = len(run.scenario.steps)
        self.diagram.canvas.set_step(min(index, n - 1))
        if run.viewing >= 0:  # looking back: the list stays on the step looked at
            return
        self.steps.set_current(index)
        if 0 <= index < n:
            self._set_result("running", f"Step {index + 1} of {n}: "
                             f"{run.scenario.steps[index].title}")
            rect = self.step_list.visualRect(self.steps.index(index, 0))
            parent = self.step_list.parentWidget()
            top = self.step_list.mapTo(parent, rect.topLeft()) if parent else rect.topLeft()
            self.right.ensureVisible(0, top.y() + rect.height(), 0, 40)

    def _on_finished(self, end: EndState) -> None:
        run = self.run
        if run is None:
            return
        self.lessons.set_result(run.scenario.key, "passed" if end.ok else "failed")
        self._set_result("passed" if end.ok else "failed", end.headline)
        self.checks.show_result(list(end.details), end.headline)
        self._refresh_buttons()

    # -- your own connection on the diagram --------------------------------------------------
    def _own_packets(self, pkts: list[Any]) -> None:
        """Draw packets of your connection; while the tab is hidden only keep them: under
        load, drawing every packet nobody sees held the GUI up."""
        if self.run is not None:
            return
        if self.isVisible():
            for pkt in pkts:
                self.diagram.add_packet(YOU, pkt)
        else:
            self._own_backlog.extend(pkts)

    def _catch_up(self) -> None:
        """Draw the packets kept while the tab was hidden, oldest first."""
        backlog = self._own_backlog
        if self.run is not None:  # a lesson has the diagram
            backlog.clear()
        while backlog:
            self.diagram.add_packet(YOU, backlog.popleft())

    def _own_state(self, state: str, _reason: str = "") -> None:
        if self.run is None:
            self.diagram.canvas.set_state(YOU, state)

    def _own_outbox(self, *_args: Any) -> None:
        if self.run is None:
            self.diagram.canvas.set_outbox(YOU, self.classroom.depth())

    def _show_you(self) -> None:
        """The diagram follows your own connection (no lesson on screen)."""
        self._own_backlog.clear()
        self.diagram.reset([YOU])
        self.diagram.set_lesson_mode(False)
        s = getattr(self.host, "session", None)
        self._own_state(getattr(getattr(s, "state", None), "value", None) or "offline")
        self._own_outbox()

    def _own_note(self, text: str, kind: str) -> None:
        if self.run is None:
            self._catch_up()  # the packets before the note come first
            self.diagram.add_note(YOU, text, kind)

    def _server_changed(self, running: bool) -> None:
        if self.run is not None:
            self.diagram.add_note(self.run.lanes[0] if self.run.lanes else YOU,
                                  "server started" if running else "server stopped", "info")
            if running:
                self.run.reconnect_now()
        else:
            self._own_note("server started" if running else "server stopped", "info")


    # -- teacher pacing ------------------------------------------------------------------------
    def _speed_changed(self, index: int) -> None:
        """Speed may change while a lesson plays: the next pause between steps uses it."""
        self.pace = float(self.speed.itemData(index))
        if self.run is not None:
            self.run.pace = self.pace

    def _lesson_packet(self, lane: str, pkt: Any) -> None:
        """A lesson's packet on the diagram with its step and role; what the checks sent
        stays off it (the checks panel says what they found)."""
        run = self.run
        # a packet the run did not log itself (a remote lane) is marked on arrival
        mark = (run.mark(lane, pkt) or run.mark_packet(lane, pkt)) if run is not None \
            else None
        if mark is not None and mark.role == "check":
            return
        self.diagram.add_packet(lane, pkt, mark)

    def _view_changed(self, viewing: int) -> None:
        """Previous / Next moved the step on view: its explanation, and the diagram's
        view of it (or back to following the lesson)."""
        run = self.run
        if run is None:
            return
        n = len(run.scenario.steps)
        self.diagram.canvas.show_step(viewing)
        if viewing >= 0:
            self.steps.set_current(viewing)
            self._set_result("running" if self.running else "idle",
                             f"Looking back at step {viewing + 1} of {n}: "
                             f"{run.scenario.steps[viewing].title}")
        else:
            self.steps.set_current(run.current)
            if self.running and 0 <= run.current < n:
                self._set_result("running", f"Step {run.current + 1} of {n}: "
                                 f"{run.scenario.steps[run.current].title}")
            elif run.end is not None:
                self._set_result("passed" if run.end.ok else "failed", run.end.headline)

    def _bind_keys(self) -> None:
        """Space, →, PageDown: next step; ←, PageUp: previous (presenter clickers send
        these). Window-wide, since after a click on the tab bar the focus is not in the
        tab, but only acted on while this tab is in front and no text field has focus."""
        self.shortcuts: list[QShortcut] = []
        for keys, action in ((NEXT_KEYS, self.next_key), (PREVIOUS_KEYS, self.previous_key)):
            for key in keys:
                sc = QShortcut(QKeySequence(key), self)
                sc.setContext(Qt.ShortcutContext.WindowShortcut)
                sc.activated.connect(action)
                self.shortcuts.append(sc)

    def keys_apply(self) -> bool:
        """Whether a clicker key is for this tab now: shown, and no text being typed."""
        if not self.isVisible():
            return False
        return not self._is_text_field(QApplication.focusWidget())

    @staticmethod
    def _is_text_field(widget: QWidget | None) -> bool:
        if isinstance(widget, QLineEdit | QTextEdit | QPlainTextEdit | QAbstractSpinBox):
            return not (isinstance(widget, QTextEdit | QPlainTextEdit) and widget.isReadOnly())
        return isinstance(widget, QComboBox) and widget.isEditable()

    def next_key(self) -> None:
        if self.keys_apply():
            self.pacing.next_step()

    def previous_key(self) -> None:
        if self.keys_apply():
            self.pacing.previous_step()
