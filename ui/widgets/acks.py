"""Answering the server's ack requests: a default answer, answers per event, and a log.

The core asks for the answer synchronously (``Session.ack_requested`` observers set
``AckRequest.reply`` before the ACK goes out), so the answer is chosen ahead of time
here: a default JSON value, optionally overridden per event name.
"""

from __future__ import annotations

import json
import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ui import theme
from ui.settings import Settings
from ui.text import format_time_precise, preview
from ui.widgets.jsonedit import JsonEdit

DEFAULT_ANSWER = '{"ok": true}'
LOG_LIMIT = 200


class AckPanel(QWidget):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        title = QLabel("Ack requests from the server")
        title.setObjectName("sectionTitle")
        hint = QLabel("When the server emits with a callback, SockDesk answers at once with "
                      "the answer for that event if there is one, else with the default.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.default = JsonEdit(str(settings.get("acks/default", DEFAULT_ANSWER)), min_lines=2)
        self.default.changed.connect(self._save)
        self.rules = JsonEdit(str(settings.get("acks/rules", "{}")), min_lines=2,
                              require_object=True, allow_empty=True)
        self.rules.edit.setPlaceholderText('{"ping": "pong", "confirm": {"ok": false}}')
        self.rules.changed.connect(self._save)
        for editor in (self.default, self.rules):
            editor.edit.setMaximumHeight(editor.edit.fontMetrics().lineSpacing() * 4 + 16)
        self.log = QListWidget()
        self.log.setMinimumHeight(60)
        self.log.setMaximumHeight(160)
        self.log.setUniformItemSizes(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 10, 0, 0)
        lay.addWidget(title)
        lay.addWidget(hint)
        lay.addWidget(QLabel("Default answer"))
        lay.addWidget(self.default)
        lay.addWidget(QLabel("Answers per event (JSON object: event name → answer)"))
        lay.addWidget(self.rules)
        lay.addWidget(QLabel("Answered"))
        lay.addWidget(self.log)

    def _save(self) -> None:
        if self.default.valid:
            self.settings.set("acks/default", self.default.text())
        if self.rules.valid:
            self.settings.set("acks/rules", self.rules.text())

    def answer_for(self, event: str) -> Any:
        """The answer to give for ``event`` (falls back to {"ok": true} if a field is wrong)."""
        if self.rules.valid:
            try:
                rules = self.rules.value() or {}
            except ValueError:
                rules = {}
            if isinstance(rules, dict) and event in rules:
                return rules[event]
        if self.default.valid:
            try:
                return self.default.value()
            except ValueError:
                pass
        return json.loads(DEFAULT_ANSWER)

    def record(self, namespace: str, event: str, args: list[Any], answer: Any) -> None:
        text = (f"{format_time_precise(time.time())}  {namespace} {event} "
                f"{preview(args, 60)}  →  {preview(answer, 60)}")
        item = QListWidgetItem(theme.icon("reply"), text)
        item.setData(Qt.ItemDataRole.UserRole, answer)
        self.log.insertItem(0, item)
        while self.log.count() > LOG_LIMIT:
            self.log.takeItem(self.log.count() - 1)
