"""The composer under a conversation: text box, reply/edit bar, character counter, Send.

It knows what the next Enter means (a new message, a reply to a message, or an edit of
one) and refuses what the server would refuse anyway: a text over ``MAX_TEXT_CHARS``
cannot be sent (the counter turns red and Send says why), instead of failing after it
was sent with a retry that could never succeed.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.keys import MAX_TEXT_CHARS
from ui import theme
from ui.chat_text import first_line
from ui.text import tooltip_text
from ui.widgets.buttons import tool_button
from ui.widgets.mention_completer import MentionCompleter

#: the counter shows from this many characters on
COUNTER_FROM = 3500
EDIT_BAR_TEXT = "Editing message — Esc to cancel"
SEND_TIP = "Send (Enter)"

Mode = Literal["send", "reply", "edit"]


class MessageEdit(QPlainTextEdit):
    """Composer text box: Enter sends, Shift+Enter makes a new line; grows up to 6 lines.
    Esc cancels a reply or an edit; Up in an empty box edits your last message."""

    submitted = Signal()
    cancelled = Signal()
    edit_last_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        #: "@na" + Tab or Enter completes a name (ui.widgets.mention_completer)
        self.mentions = MentionCompleter(self)
        self.document().contentsChanged.connect(self._fit)
        # a paste is laid out after contentsChanged: fit again when the size is known
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def event(self, event: QEvent) -> bool:
        # Tab never reaches keyPressEvent (it moves the focus first): while the list of
        # names is open, it and Enter and Esc are left to the list (choose, close)
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) \
                and self.mentions.wants(event):
            event.ignore()
            return False
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.submitted.emit()
            return
        if key == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        if key == Qt.Key.Key_Up and not self.toPlainText() and \
                event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.edit_last_requested.emit()
            return
        super().keyPressEvent(event)
        if event.text() or key in (Qt.Key.Key_Backspace, Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.mentions.refresh()

    def set_placeholders(self, *texts: str) -> None:
        """Placeholders from the longest to the shortest: the longest that fits on one
        line is shown (wrapped, the long one's second line was cut off at 715 px)."""
        self._placeholders = texts
        self._fit_placeholder()

    def _fit_placeholder(self) -> None:
        texts = getattr(self, "_placeholders", ())
        if not texts:
            return
        room = self.viewport().width() - 2 * int(self.document().documentMargin())
        fm = self.fontMetrics()
        self.setPlaceholderText(next((t for t in texts if fm.horizontalAdvance(t) <= room),
                                     texts[-1]))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()     # as many lines as the text wraps to at the new width
            self._fit_placeholder()

    def _fit(self) -> None:
        total = int(self.document().size().height())  # lines, for a plain-text document
        lines = max(1, min(6, total))
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded if total > 6
                                        else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        fm = self.fontMetrics()
        self.setFixedHeight(int(lines * fm.lineSpacing() + 2 * self.document().documentMargin()
                                + 8))


class ComposerBar(QFrame):
    """"Replying to alice: …" or "Editing message — Esc to cancel", with × to cancel."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerBar")
        self.label = QLabel("")
        self.label.setObjectName("hint")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        # a long quote is cut, never widening the window
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.close_button = tool_button("Cancel (Esc)", icon="x")
        self.close_button.clicked.connect(self.closed)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 2, 4, 2)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.close_button)
        self.hide()

    def show_text(self, text: str) -> None:
        self.label.setText(text)
        self.label.setToolTip(text)
        self.show()


class Composer(QWidget):
    """Text box, Send button, reply/edit bar and counter; ``mode`` says what Enter does."""

    submitted = Signal()
    edit_last_requested = Signal()
    #: a reply or an edit is over (sent or cancelled)
    ended = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode: Mode = "send"
        #: the message replied to or edited ("" when sending a new one)
        self.ref = ""
        self._original = ""
        self._enabled = True
        self.bar = ComposerBar()
        self.bar.closed.connect(self.cancel)
        self.editor = MessageEdit()
        self.editor.set_placeholders(
            "Write a message…  (Enter to send, Shift+Enter for a new line)",
            "Write a message…  (Enter sends)", "Write a message…")
        self.editor.submitted.connect(self._enter)
        self.editor.cancelled.connect(self.cancel)
        self.editor.edit_last_requested.connect(self.edit_last_requested)
        self.editor.textChanged.connect(self._count)
        accent = theme.palette().color(QPalette.ColorRole.Highlight)
        self.send_button = tool_button(SEND_TIP, icon="send", icon_color=accent)
        self.send_button.clicked.connect(self.submitted)
        self.counter = QLabel("")
        self.counter.setObjectName("charCounter")
        self.counter.setTextFormat(Qt.TextFormat.PlainText)
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.counter.hide()
        #: under the counter, past the limit: "100 characters over the limit"
        self.over_label = QLabel("")
        self.over_label.setObjectName("charOver")
        self.over_label.setTextFormat(Qt.TextFormat.PlainText)
        self.over_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.over_label.hide()

        box = QFrame()
        box.setObjectName("composer")
        bl = QHBoxLayout(box)
        bl.setContentsMargins(6, 4, 6, 4)
        bl.addWidget(self.editor, 1)
        bl.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.bar)
        lay.addWidget(box)
        lay.addWidget(self.counter)
        lay.addWidget(self.over_label)

    # -- what Enter does ------------------------------------------------------------------
    def start_reply(self, key: str, user: str, text: str) -> None:
        """The next message answers ``key`` (shown as "Replying to user: first line…")."""
        if self.mode == "edit":
            self.editor.clear()
        self.mode, self.ref, self._original = "reply", key, ""
        self.bar.show_text(f"Replying to {user}: {first_line(text, 60)}")
        self.editor.setFocus()

    def start_edit(self, key: str, text: str) -> None:
        """Load a message's text; the next Enter saves it as that message's new text."""
        self.mode, self.ref, self._original = "edit", key, text
        self.bar.show_text(EDIT_BAR_TEXT)
        self.editor.setPlainText(text)
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)
        self.editor.setFocus()

    def cancel(self) -> None:
        """Back to writing a new message (an edit's text is dropped, a draft is kept)."""
        was = self.mode
        if self.mode == "edit":
            self.editor.clear()
        self.mode, self.ref, self._original = "send", "", ""
        self.bar.hide()
        if was != "send":
            self.ended.emit()

    def take(self) -> tuple[Mode, str, str, bool]:
        """What to do now: (mode, text, ref, unchanged edit); the composer starts over."""
        mode, ref, text = self.mode, self.ref, self.editor.toPlainText()
        unchanged = mode == "edit" and text == self._original
        self.editor.clear()
        self.mode, self.ref, self._original = "send", "", ""
        self.bar.hide()
        if mode != "send":
            self.ended.emit()
        return mode, text, ref, unchanged

    # -- limits ----------------------------------------------------------------------------
    @property
    def length(self) -> int:
        return len(self.editor.toPlainText())

    @property
    def too_long(self) -> bool:
        return self.length > MAX_TEXT_CHARS

    def set_input_enabled(self, enabled: bool) -> None:
        self._enabled = enabled
        self.editor.setEnabled(enabled)
        self._count()

    @property
    def over_text(self) -> str:
        """"100 characters over the limit" ("" within it)."""
        extra = self.length - MAX_TEXT_CHARS
        if extra <= 0:
            return ""
        return f"{extra:,} character{'' if extra == 1 else 's'} over the limit"

    def _enter(self) -> None:
        """Enter: submit, or say why not when the text is too long (never silence)."""
        if self.too_long:
            self.refuse()
            return
        self.submitted.emit()

    def refuse(self) -> str:
        """Say, at the text box, why this text cannot be sent; returns what was said."""
        text = (f"Too long to send: {self.over_text} (the limit is {MAX_TEXT_CHARS:,} "
                "characters). Shorten it first.")
        QToolTip.showText(self.editor.mapToGlobal(self.editor.rect().topLeft()),
                          tooltip_text(text), self.editor)
        return text

    def _count(self) -> None:
        n = self.length
        over = n > MAX_TEXT_CHARS
        self.counter.setVisible(n >= COUNTER_FROM)
        self.counter.setText(f"{n:,} / {MAX_TEXT_CHARS:,}")
        colour = theme.state_color("failed") if over else theme.muted()
        style = f"color: {colour.name()}; padding-right: 6px;"
        self.counter.setStyleSheet(style)
        self.over_label.setText(self.over_text)
        self.over_label.setStyleSheet(style)
        self.over_label.setVisible(over)
        self.send_button.setEnabled(self._enabled and not over)
        self.send_button.setToolTip(
            f"Too long to send: {n:,} characters, the limit is {MAX_TEXT_CHARS:,}. "
            "Shorten it first." if over else SEND_TIP)
