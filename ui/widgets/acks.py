"""The server's ack requests: the ones held for an answer, and a rule per event.

When the server emits with a callback, the core applies the workspace's ``AckRules``
(``session.ack_rules``): answer at once with a saved payload (the default:
``{"ok": true}``), hold the request for a manual answer, or never answer (the server's
timeout fires). This panel lists the held requests (``session.pending_acks``) with
"Answer…" (any number of JSON arguments, binary notation allowed) and "Don't answer",
edits the rules, and logs what happened to every request. It knows nothing of the
session: ``ui.compose_controller`` feeds it and carries out what it asks.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import binary
from app.acks import DEFAULT_ANSWER, AckMode, AckRequest, AckRule, AckState
from ui import theme
from ui.text import format_time_precise, preview, to_json, without_base64
from ui.widgets.buttons import tool_button
from ui.widgets.jsonedit import JsonEdit

LOG_LIMIT = 200
#: how each rule mode is named in the panel
MODE_NAMES = {AckMode.ANSWER: "Answer at once", AckMode.HOLD: "Hold for a manual answer",
              AckMode.IGNORE: "Never answer"}


def shown(value: Any, limit: int = 80) -> str:
    """One-line preview; binary named by its size, not its base64."""
    return preview(without_base64(value) if binary.has_binary(value) else value, limit)


def rule_text(rule: AckRule) -> str:
    if rule.mode == AckMode.ANSWER:
        return f"answer {shown(rule.args, 60)} at once"
    return "hold for a manual answer" if rule.mode == AckMode.HOLD else "never answer"


def age_text(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s"


class ArgsEditor(QWidget):
    """Any number of JSON arguments (none, one, several), each validated as typed."""

    changed = Signal()

    def __init__(self, args: list[Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editors: list[JsonEdit] = []
        self._rows = QVBoxLayout()
        self._rows.setSpacing(4)
        self.add_button = QPushButton(theme.icon("plus"), "Add argument")
        self.add_button.clicked.connect(lambda: self.add("{}"))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self._rows)
        lay.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.set_values(DEFAULT_ANSWER if args is None else args)

    def set_values(self, args: list[Any]) -> None:
        while self.editors:
            self.remove(self.editors[-1])
        for a in args:
            self.add(to_json(a, indent=None))

    def add(self, text: str) -> JsonEdit:
        edit = JsonEdit(text, min_lines=1)
        edit.edit.setMaximumHeight(edit.edit.fontMetrics().lineSpacing() * 3 + 16)
        edit.changed.connect(self.changed.emit)
        row = QWidget()
        rl = QHBoxLayout(row)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(edit, 1)
        remove = tool_button("Remove this argument", icon="x")
        remove.clicked.connect(lambda: self.remove(edit))
        rl.addWidget(remove, 0, Qt.AlignmentFlag.AlignTop)
        edit.setProperty("row", row)
        self.editors.append(edit)
        self._rows.addWidget(row)
        self.changed.emit()
        return edit

    def remove(self, edit: JsonEdit) -> None:
        if edit in self.editors:
            self.editors.remove(edit)
            row = edit.property("row")
            self._rows.removeWidget(row)
            row.deleteLater()
            self.changed.emit()

    def values(self) -> list[Any]:
        """The arguments; ValueError naming the first one that is not valid."""
        out = []
        for i, e in enumerate(self.editors, 1):
            if not e.valid:
                raise ValueError(f"Argument {i}: {e.error}")
            value = e.value()
            try:
                binary.to_wire(value)
            except binary.BinaryError as exc:
                raise ValueError(f"Argument {i}: {exc}") from exc
            out.append(value)
        return out


class AnswerDialog(QDialog):
    """Answer one held request with any number of arguments. Opened with ``open()``."""

    answered = Signal(object, object)  # the AckRequest, the list of arguments

    def __init__(self, req: AckRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.req = req
        self.setWindowTitle(f"Answer {req.event}")
        what = QLabel(f"The server asks on {req.namespace} with “{req.event}” "
                      f"{shown(req.args, 200)}. Answer with these arguments:")
        what.setTextFormat(Qt.TextFormat.PlainText)
        what.setWordWrap(True)
        self.args = ArgsEditor(req.reply_args)
        self.error = QLabel("")
        self.error.setObjectName("errorLabel")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.answer_button = self.buttons.addButton(
            "Answer", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(what)
        lay.addWidget(self.args, 1)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)

    def accept(self) -> None:
        try:
            values = self.args.values()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.answered.emit(self.req, values)
        super().accept()


def fit_columns(table: QTableWidget, stretch: int) -> None:
    """Columns as wide as their contents and their header (a fixed default cut
    "Namespace" at a presenter's zoom), ``stretch`` taking the rest."""
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)


class AckPanel(QWidget):
    """Held ack requests with Answer…/Don't answer, the rules per event, and a log."""

    answer_requested = Signal(object, object)   # AckRequest, list of arguments
    ignore_requested = Signal(object)           # AckRequest
    rule_set = Signal(str, str, object)         # namespace ("*" = all), event, AckRule
    rule_removed = Signal(str, str)             # namespace, event

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Ack requests from the server")
        title.setObjectName("sectionTitle")
        self.summary = QLabel("")
        self.summary.setObjectName("hint")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)

        self.pending = QTableWidget(0, 4)
        self.pending.setHorizontalHeaderLabels(["Event", "Namespace", "Arguments", "Age"])
        self.pending.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.pending.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.pending.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.pending.verticalHeader().hide()
        fit_columns(self.pending, stretch=2)
        self.pending.setMinimumHeight(70)
        self.pending.itemSelectionChanged.connect(self._update_buttons)
        self.pending.itemDoubleClicked.connect(lambda _i: self.open_answer())
        self.answer_button = QPushButton(theme.icon("reply"), "Answer…")
        self.answer_button.clicked.connect(self.open_answer)
        self.ignore_button = QPushButton("Don't answer")
        self.ignore_button.setToolTip("Never answer this request: the server's timeout fires")
        self.ignore_button.clicked.connect(self.ignore_selected)
        self.rule_button = QPushButton("Rule for this event…")
        self.rule_button.clicked.connect(self._rule_from_selected)
        self.error = QLabel("")
        self.error.setObjectName("errorLabel")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.hide()

        # -- rules -------------------------------------------------------------------
        self.default_label = QLabel("")
        self.default_label.setObjectName("hint")
        self.default_label.setTextFormat(Qt.TextFormat.PlainText)
        self.rules = QTableWidget(0, 3)
        self.rules.setHorizontalHeaderLabels(["Namespace", "Event", "Rule"])
        self.rules.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rules.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rules.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.rules.verticalHeader().hide()
        fit_columns(self.rules, stretch=2)
        self.rules.setMinimumHeight(60)
        self.rules.itemSelectionChanged.connect(self._rule_selected)
        self.rule_event = QLineEdit()
        self.rule_event.setPlaceholderText("event")
        self.rule_ns = QComboBox()
        self.rule_ns.setEditable(True)
        self.rule_ns.addItems(["*", "/"])
        self.rule_ns.setToolTip("The namespace the rule is for (* = every namespace)")
        self.rule_mode = QComboBox()
        for mode, name in MODE_NAMES.items():
            self.rule_mode.addItem(name, mode)
        self.rule_mode.currentIndexChanged.connect(self._mode_changed)
        self.rule_args = ArgsEditor()
        self.save_rule_button = QPushButton("Save rule")
        self.save_rule_button.clicked.connect(self.save_rule)
        self.remove_rule_button = QPushButton("Remove rule")
        self.remove_rule_button.clicked.connect(self.remove_rule)

        self.log = QListWidget()
        self.log.setMinimumHeight(50)
        self.log.setUniformItemSizes(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.answer_button)
        buttons.addWidget(self.ignore_button)
        buttons.addWidget(self.rule_button)
        buttons.addStretch(1)
        form = QHBoxLayout()
        form.addWidget(QLabel("Event"))
        form.addWidget(self.rule_event, 1)
        form.addWidget(QLabel("Namespace"))
        form.addWidget(self.rule_ns)
        form.addWidget(self.rule_mode)
        form_buttons = QHBoxLayout()
        form_buttons.addStretch(1)
        form_buttons.addWidget(self.remove_rule_button)
        form_buttons.addWidget(self.save_rule_button)
        rules_title = QLabel("Rules per event")
        rules_title.setObjectName("sectionTitle")
        self.args_title = QLabel("Answer with these arguments")
        log_title = QLabel("What happened")
        log_title.setObjectName("sectionTitle")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.summary)
        lay.addLayout(head)
        lay.addWidget(self.pending, 2)
        lay.addLayout(buttons)
        lay.addWidget(self.error)
        lay.addWidget(rules_title)
        lay.addWidget(self.default_label)
        lay.addWidget(self.rules, 1)
        lay.addLayout(form)
        lay.addWidget(self.args_title)
        lay.addWidget(self.rule_args)
        lay.addLayout(form_buttons)
        lay.addWidget(log_title)
        lay.addWidget(self.log, 1)

        self._requests: list[AckRequest] = []
        self._rules: list[tuple[str, str, AckRule]] = []
        self._ages = QTimer(self)
        self._ages.setInterval(1000)
        self._ages.timeout.connect(self._refresh_ages)
        self.set_rules([], AckRule())
        self.set_pending([])

    # -- held requests -------------------------------------------------------------------
    def set_pending(self, requests: list[AckRequest]) -> None:
        """The held requests, oldest first (keeps the selection on the same request)."""
        current = self.selected_request()
        self._requests = list(requests)
        self.pending.setRowCount(len(self._requests))
        for row, req in enumerate(self._requests):
            for col, text in enumerate((req.event, req.namespace, shown(req.args), "")):
                self.pending.setItem(row, col, QTableWidgetItem(text))
            if req is current:
                self.pending.selectRow(row)
        if current is None and self._requests and not self.pending.selectedItems():
            self.pending.selectRow(0)
        self._refresh_ages()
        n = len(self._requests)
        self.summary.setText(f"{n} waiting for an answer" if n else "none waiting")
        if n and not self._ages.isActive():
            self._ages.start()
        elif not n:
            self._ages.stop()
        self._update_buttons()

    def _refresh_ages(self) -> None:
        now = time.time()
        for row, req in enumerate(self._requests):
            item = self.pending.item(row, 3)
            if item is not None:
                item.setText(age_text(now - req.at))

    def selected_request(self) -> AckRequest | None:
        rows = self.pending.selectionModel().selectedRows() if self.pending.model() else []
        if not rows or not 0 <= rows[0].row() < len(self._requests):
            return None
        return self._requests[rows[0].row()]

    def _update_buttons(self) -> None:
        has = self.selected_request() is not None
        buttons = (self.answer_button, self.ignore_button, self.rule_button)
        if not has and any(b.hasFocus() for b in buttons):
            # a button disabled with the focus hands it to the next widget, and the
            # scroll area this panel sits in scrolled to that one: the rule form, with
            # the requests' list out of view, after every last answer
            self.pending.setFocus()
        for b in buttons:
            b.setEnabled(has)

    def open_answer(self) -> AnswerDialog | None:
        req = self.selected_request()
        if req is None:
            return None
        dlg = AnswerDialog(req, self)
        dlg.answered.connect(self.answer_requested.emit)
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    def ignore_selected(self) -> None:
        req = self.selected_request()
        if req is not None:
            self.ignore_requested.emit(req)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def record(self, req: AckRequest) -> None:
        """Log what became of a request (answered, ignored, dropped)."""
        if req.state == AckState.ANSWERED:
            outcome = f"→ {shown(req.answer_args, 80)}"
        elif req.state == AckState.IGNORED:
            outcome = "not answered (on purpose)"
        elif req.state == AckState.DROPPED:
            outcome = f"dropped: {req.dropped_because or 'the connection ended'}"
        elif req.state == AckState.HELD:
            outcome = "held for an answer"
        else:
            return
        text = (f"{format_time_precise(time.time())}  {req.namespace} {req.event} "
                f"{shown(req.args, 60)}  {outcome}")
        item = QListWidgetItem(theme.icon("reply"), text)
        item.setData(Qt.ItemDataRole.UserRole, req.state.value)
        self.log.insertItem(0, item)
        while self.log.count() > LOG_LIMIT:
            self.log.takeItem(self.log.count() - 1)

    # -- rules ---------------------------------------------------------------------------
    def set_rules(self, items: list[tuple[str, str, AckRule]], default: AckRule) -> None:
        self._rules = list(items)
        self.default_label.setText(f"Events without a rule: {rule_text(default)}.")
        self.rules.setRowCount(len(self._rules))
        for row, (ns, event, rule) in enumerate(self._rules):
            for col, text in enumerate((ns, event, rule_text(rule))):
                self.rules.setItem(row, col, QTableWidgetItem(text))

    def _rule_selected(self) -> None:
        rows = self.rules.selectionModel().selectedRows()
        if rows and 0 <= rows[0].row() < len(self._rules):
            ns, event, rule = self._rules[rows[0].row()]
            self.edit_rule(event, ns, rule)

    def _rule_from_selected(self) -> None:
        req = self.selected_request()
        if req is not None:
            self.edit_rule(req.event, "*", AckRule(AckMode.HOLD, list(req.reply_args)))
            self.rule_event.setFocus()

    def edit_rule(self, event: str, namespace: str, rule: AckRule) -> None:
        """Fill the rule form (then "Save rule" applies it)."""
        self.rule_event.setText(event)
        self.rule_ns.setCurrentText(namespace)
        self.rule_mode.setCurrentIndex(self.rule_mode.findData(rule.mode))
        self.rule_args.set_values(rule.args if rule.args else [])
        self._mode_changed()

    def _mode_changed(self, *_a: Any) -> None:
        answer = self.rule_mode.currentData() == AckMode.ANSWER
        self.rule_args.setEnabled(answer)
        self.args_title.setEnabled(answer)

    def save_rule(self) -> bool:
        event = self.rule_event.text().strip()
        if not event:
            self.show_error("Give the event the rule is for")
            return False
        mode = AckMode(self.rule_mode.currentData())
        try:
            args = self.rule_args.values() if mode == AckMode.ANSWER else []
        except ValueError as exc:
            self.show_error(str(exc))
            return False
        self.show_error("")
        ns = self.rule_ns.currentText().strip() or "*"
        self.rule_set.emit(ns, event, AckRule(mode, args) if mode == AckMode.ANSWER
                           else AckRule(mode))
        return True

    def remove_rule(self) -> None:
        event = self.rule_event.text().strip()
        if event:
            self.rule_removed.emit(self.rule_ns.currentText().strip() or "*", event)
