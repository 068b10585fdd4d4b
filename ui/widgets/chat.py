"""The chat pane: message list, typing line, composer and member list of one conversation.

A widget only: it shows the model it is given (``ChatPane.show_conversation``) and says
what the user does through signals (send, typing, retry, cancel, leave, DM). Which
conversation that is, and what is sent and received, is ``ui.conversations``. Messages
are painted as plain text with QTextLayout (never rich text), so markup in a message is
shown, not interpreted.
"""

from __future__ import annotations

import contextlib
import time

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPalette,
    QPen,
    QResizeEvent,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPlainTextEdit,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.models.chat import (
    AuthorRole,
    ChatMessageModel,
    ErrorRole,
    GroupedRole,
    IdRole,
    KindRole,
    OwnRole,
    RecoveredRole,
    StateRole,
    TimeRole,
)
from ui.models.sidebar import IsYouRole, MemberListModel, OnlineRole
from ui.text import format_time
from ui.widgets.buttons import tool_button

_IDX = QModelIndex | QPersistentModelIndex

AVATAR = 34
LEFT = 14
GAP = 12
RIGHT = 40
STATE_LABELS = {"queued": "Queued: waiting for the connection", "sent": "Sent, waiting for the ack",
                "acked": "Delivered (acknowledged by the server)", "failed": "Failed",
                "no_ack": "No ack: sent once, the server never confirmed it"}
#: own messages the user may send again: failed, or sent once with no ack ("no ack" is
#: neither failed nor pending: it may have arrived, so it is never resent on its own)
RESENDABLE = ("failed", "no_ack")


def _layout_text(text: str, font: QFont, width: float) -> tuple[QTextLayout, float]:
    """Lay out plain text (never markup) wrapped to ``width``; returns the layout and height."""
    layout = QTextLayout(text.replace("\n", "\u2028"), font)
    opt = QTextOption()
    opt.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(opt)
    layout.beginLayout()
    y = 0.0
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(max(20.0, width))
        line.setPosition(QPointF(0, y))
        y += line.height()
    layout.endLayout()
    return layout, y


def _highlights(text: str, term: str) -> list[QTextLayout.FormatRange]:
    """Where find's words occur in a message (case-insensitive), as marked ranges."""
    fmt = QTextCharFormat()
    fmt.setBackground(QColor(255, 214, 0, 150))
    ranges: list[QTextLayout.FormatRange] = []
    low = text.lower()
    if len(low) != len(text):  # a letter whose lower case is longer: positions shift
        return ranges
    for word in {w.lower() for w in term.split() if w}:
        start = low.find(word)
        while start >= 0:
            r = QTextLayout.FormatRange()
            r.start, r.length, r.format = start, len(word), fmt
            ranges.append(r)
            start = low.find(word, start + len(word))
    return ranges


class ChatDelegate(QStyledItemDelegate):
    """Paints messages Slack-style: avatar, coloured name, time, text, delivery state."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.width = 600
        self._heights: dict[tuple[str, int, bool], int] = {}

    def set_width(self, width: int) -> None:
        if width != self.width:
            self.width = width
            self._heights.clear()

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont, QFont]:
        base = QFont(option.font)
        name = QFont(base)
        name.setBold(True)
        small = QFont(base)
        small.setPointSizeF(max(7.0, base.pointSizeF() * 0.85))
        return base, name, small

    def _text_width(self) -> int:
        return max(60, self.width - LEFT - AVATAR - GAP - RIGHT)

    def sizeHint(self, option: QStyleOptionViewItem, index: _IDX) -> QSize:
        kind = index.data(KindRole)
        base, name_font, small = self._fonts(option)
        if kind == "day":
            return QSize(self.width, QFontMetrics(small).height() + 22)
        grouped = bool(index.data(GroupedRole))
        failed = index.data(StateRole) in RESENDABLE
        key = (str(index.data(IdRole)), self.width, failed)
        h = self._heights.get(key)
        if h is None:
            _, text_h = _layout_text(index.data() or "", base, self._text_width())
            h = int(text_h) + (4 if grouped else QFontMetrics(name_font).height() + 11)
            if failed:
                h += QFontMetrics(small).height() + 2
            if not grouped:
                h = max(h, AVATAR + 12)
            if len(self._heights) > 50_000:
                self._heights.clear()
            self._heights[key] = h
        return QSize(self.width, h)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _IDX) -> None:
        pal: QPalette = option.palette
        kind = index.data(KindRole)
        base, name_font, small = self._fonts(option)
        rect: QRect = option.rect
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        muted = theme.muted(pal)
        if kind == "day":
            fm = QFontMetrics(small)
            label = index.data() or ""
            tw = fm.horizontalAdvance(label) + 20
            cy = rect.center().y()
            painter.setPen(QPen(theme.mix(pal.color(QPalette.ColorRole.Text),
                                          pal.color(QPalette.ColorRole.Base), 0.12), 1))
            painter.drawLine(rect.left() + LEFT, cy, rect.right() - LEFT, cy)
            pill = QRectF(rect.center().x() - tw / 2, cy - fm.height() / 2 - 3, tw, fm.height() + 6)
            painter.setBrush(pal.color(QPalette.ColorRole.Base))
            painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
            painter.setFont(small)
            painter.setPen(muted)
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)
            painter.restore()
            return

        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, theme.subtle_bg(pal, 0.10))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, theme.subtle_bg(pal, 0.04))

        user = index.data(AuthorRole) or "?"
        colour = theme.author_color(user, pal)
        grouped = bool(index.data(GroupedRole))
        x_text = rect.left() + LEFT + AVATAR + GAP
        y: float = rect.top() + (2 if grouped else 7)
        if not grouped:
            # avatar: a disc in the author's colour with the initial
            av = QRectF(rect.left() + LEFT, rect.top() + 8, AVATAR, AVATAR)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(av)
            af = QFont(name_font)
            af.setPointSizeF(base.pointSizeF() * 1.05)
            painter.setFont(af)
            painter.setPen(QColor("white"))
            painter.drawText(av, Qt.AlignmentFlag.AlignCenter, user[:1].upper())
            # name, time and tags on one line
            painter.setFont(name_font)
            painter.setPen(colour)
            nfm = QFontMetrics(name_font)
            name = user
            painter.drawText(QPointF(x_text, y + nfm.ascent()), name)
            x = x_text + nfm.horizontalAdvance(name) + 8
            painter.setFont(small)
            painter.setPen(muted)
            sfm = QFontMetrics(small)
            stamp = format_time(float(index.data(TimeRole) or time.time()))
            painter.drawText(QPointF(x, y + nfm.ascent()), stamp)
            x += sfm.horizontalAdvance(stamp) + 8
            if index.data(RecoveredRole):
                self._pill(painter, pal, small, "recovered", x,
                           y + (nfm.height() - sfm.height()) / 2)
            y += nfm.height() + 3
        elif index.data(RecoveredRole):
            self._pill(painter, pal, small, "recovered", rect.right() - RIGHT - 70, y)

        text = index.data() or ""
        layout, text_h = _layout_text(text, base, self._text_width())
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        term = getattr(index.model(), "highlight", "")
        layout.draw(painter, QPointF(x_text, y), _highlights(text, term) if term else [])
        y += text_h

        if index.data(OwnRole):
            state = index.data(StateRole)
            if state:
                icon_name = {"queued": "clock", "sent": "check", "acked": "check-check",
                             "failed": "alert", "no_ack": "check"}.get(state, "clock")
                col = theme.state_color(state) if state in ("acked", "failed", "no_ack") \
                    else muted
                px = theme.pixmap(icon_name, 14, col)
                painter.drawPixmap(QPointF(rect.right() - RIGHT + 14, rect.top() + (
                    5 if grouped else 10)), px)
            if state in RESENDABLE:
                painter.setFont(small)
                painter.setPen(theme.state_color(state))
                err = index.data(ErrorRole)
                line = (f"Failed: {err or 'not delivered'}. Right-click to retry."
                        if state == "failed" else
                        "No ack: sent once, the server never confirmed it (it may have "
                        "arrived). Right-click to send again.")
                fm = QFontMetrics(small)
                painter.drawText(QPointF(x_text, y + fm.ascent() + 1), fm.elidedText(
                    line, Qt.TextElideMode.ElideRight, self._text_width()))
        painter.restore()

    def _pill(self, painter: QPainter, pal: QPalette, font: QFont, text: str, x: float,
              y: float) -> None:
        fm = QFontMetrics(font)
        r = QRectF(x, y - 1, fm.horizontalAdvance(text) + 12, fm.height() + 2)
        painter.setPen(QPen(theme.state_color("reconnecting"), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(r, r.height() / 2, r.height() / 2)
        painter.setFont(font)
        painter.setPen(theme.state_color("reconnecting"))
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)


class ChatView(QListView):
    """The message list; keeps to the bottom while the user is at the bottom."""

    retry_requested = Signal(str)
    cancel_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.delegate = ChatDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(False)
        self.setMouseTracking(True)
        self.setWordWrap(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self._stick = True
        self._scroll_timer = QTimer(self)
        self._scroll_timer.setSingleShot(True)
        self._scroll_timer.setInterval(0)
        self._scroll_timer.timeout.connect(self.scrollToBottom)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().rangeChanged.connect(self._range_changed)

    def setModel(self, model: QAbstractItemModel | None) -> None:
        old = self.model()
        if old is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                old.rowsInserted.disconnect(self._rows_inserted)
        super().setModel(model)
        self._stick = True
        if model is not None:
            model.rowsInserted.connect(self._rows_inserted)
            self._scroll_timer.start()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.delegate.set_width(self.viewport().width())
        super().resizeEvent(event)

    def show_row(self, row: int) -> None:
        """Select ``row`` and scroll it to the middle (no longer following the end)."""
        model = self.model()
        if model is None:
            return
        self.stop_sticking()
        index = model.index(row, 0)
        self.setCurrentIndex(index)
        self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def stop_sticking(self) -> None:
        """Stay where the view is put, even at the bottom, until the user scrolls: a
        message jumped to is not scrolled away by the next one arriving."""
        self._stick = False
        self._scroll_timer.stop()

    def _scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick = value >= bar.maximum() - 4

    def _range_changed(self, _lo: int, _hi: int) -> None:
        if self._stick:
            self.scrollToBottom()

    def _rows_inserted(self, *_args: object) -> None:
        if self._stick:
            self._scroll_timer.start()

    def _menu(self, pos: QPoint) -> None:
        menu = self.message_menu(self.indexAt(pos))
        if menu is not None:
            menu.popup(self.viewport().mapToGlobal(pos))

    def message_menu(self, index: QModelIndex) -> QMenu | None:
        """The context menu of a message row (None elsewhere): retry or send again,
        cancel, copy."""
        if not index.isValid() or index.data(KindRole) != "message":
            return None
        menu = QMenu(self)
        menu.aboutToHide.connect(menu.deleteLater)
        key = str(index.data(IdRole))
        state = index.data(StateRole)
        if index.data(OwnRole) and state in RESENDABLE:
            retry = QAction(theme.icon("retry"),
                            "Retry sending" if state == "failed" else "Send again", menu)
            retry.triggered.connect(lambda: self.retry_requested.emit(key))
            menu.addAction(retry)
        if index.data(OwnRole) and state in ("queued", *RESENDABLE):
            cancel = QAction(theme.icon("x"), "Cancel sending (delete)", menu)
            cancel.triggered.connect(lambda: self.cancel_requested.emit(key))
            menu.addAction(cancel)
        copy = QAction(theme.icon("copy"), "Copy text", menu)
        text = index.data() or ""
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(text))
        menu.addAction(copy)
        return menu

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if (index.isValid() and index.data(OwnRole) and index.data(StateRole) in RESENDABLE
                and event.position().x() > self.viewport().width() - RIGHT):
            self.retry_requested.emit(str(index.data(IdRole)))
        super().mouseReleaseEvent(event)


class MessageEdit(QPlainTextEdit):
    """Composer text box: Enter sends, Shift+Enter makes a new line; grows up to 6 lines."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.document().contentsChanged.connect(self._fit)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.submitted.emit()
            return
        super().keyPressEvent(event)

    def _fit(self) -> None:
        total = int(self.document().size().height())  # lines, for a plain-text document
        lines = max(1, min(6, total))
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded if total > 6
                                        else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        fm = self.fontMetrics()
        self.setFixedHeight(int(lines * fm.lineSpacing() + 2 * self.document().documentMargin()
                                + 8))


class MemberDelegate(QStyledItemDelegate):
    """Member row: presence dot, name in the author's colour, "(you)"."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _IDX) -> None:
        pal = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = option.rect
        if option.state & QStyle.StateFlag.State_Selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.subtle_bg(pal, 0.12))
            painter.drawRoundedRect(rect.adjusted(4, 1, -4, -1), 6, 6)
        online = bool(index.data(OnlineRole))
        dot = theme.state_color("connected" if online else "offline")
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(dot)
        cy = rect.center().y()
        painter.drawEllipse(QPointF(rect.left() + 16, cy + 1), 4.5, 4.5)
        name = index.data() or ""
        font = QFont(option.font)
        painter.setFont(font)
        col = theme.author_color(name, pal) if online else theme.muted(pal)
        painter.setPen(col)
        fm = QFontMetrics(font)
        text = fm.elidedText(name, Qt.TextElideMode.ElideRight, rect.width() - 70)
        painter.drawText(QRectF(rect.left() + 28, rect.top(), rect.width() - 30, rect.height()),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        if index.data(IsYouRole):
            painter.setPen(theme.muted(pal))
            painter.drawText(QPointF(rect.left() + 32 + fm.horizontalAdvance(text),
                                     cy + fm.ascent() / 2 - 1), "(you)")
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _IDX) -> QSize:
        return QSize(160, QFontMetrics(option.font).height() + 10)


class ChatPane(QWidget):
    """Everything of one conversation; the models are swapped as the user changes room."""

    send_requested = Signal(str, str, str)   # kind ("room"|"dm"), target, text
    typing_activity = Signal(str, str)       # kind, target
    retry_requested = Signal(str)            # message id
    cancel_requested = Signal(str)           # message id
    leave_requested = Signal(str)            # room
    dm_requested = Signal(str)               # user

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = ""
        self.target = ""
        self._last_typing_sent = 0.0

        self.title = QLabel("No conversation")
        self.title.setObjectName("roomTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.subtitle = QLabel("")
        self.subtitle.setObjectName("hint")
        self.subtitle.setTextFormat(Qt.TextFormat.PlainText)
        self.leave_button = tool_button("Leave this room", icon="log-out", text="Leave")
        self.leave_button.clicked.connect(lambda: self.leave_requested.emit(self.target))
        header = QHBoxLayout()
        header.setContentsMargins(16, 10, 12, 8)
        header.addWidget(self.title)
        header.addSpacing(8)
        header.addWidget(self.subtitle, 1)
        header.addWidget(self.leave_button)

        self.view = ChatView()
        self.view.retry_requested.connect(self.retry_requested)
        self.view.cancel_requested.connect(self.cancel_requested)
        self.empty_model = ChatMessageModel(self)
        self.view.setModel(self.empty_model)

        self.typing_label = QLabel(" ")
        self.typing_label.setObjectName("typingLabel")
        self.typing_label.setTextFormat(Qt.TextFormat.PlainText)
        self.typing_label.setContentsMargins(18, 0, 0, 0)
        self._typing: dict[str, dict[str, float]] = {}
        self._typing_timer = QTimer(self)
        self._typing_timer.setInterval(500)
        self._typing_timer.timeout.connect(self._refresh_typing)

        self.editor = MessageEdit()
        self.editor.setPlaceholderText(
            "Write a message…  (Enter to send, Shift+Enter for a new line)")
        self.editor.submitted.connect(self.submit)
        self.editor.textChanged.connect(self._on_text_changed)
        accent = theme.palette().color(QPalette.ColorRole.Highlight)
        self.send_button = tool_button("Send (Enter)", icon="send", icon_color=accent)
        self.send_button.clicked.connect(self.submit)
        composer = QFrame()
        composer.setObjectName("composer")
        cl = QHBoxLayout(composer)
        cl.setContentsMargins(6, 4, 6, 4)
        cl.addWidget(self.editor, 1)
        cl.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)

        self.members = MemberListModel(self)
        self.member_view = QListView()
        self.member_view.setObjectName("memberList")
        self.member_view.setModel(self.members)
        self.member_view.setItemDelegate(MemberDelegate(self.member_view))
        self.member_view.setUniformItemSizes(True)
        self.member_view.doubleClicked.connect(
            lambda idx: self.dm_requested.emit(str(idx.data(Qt.ItemDataRole.DisplayRole))))
        self.member_view.setToolTip("Double-click someone to start a direct message")
        members_title = QLabel("MEMBERS")
        members_title.setObjectName("hint")
        side = QWidget()
        side.setMinimumWidth(150)
        sl = QVBoxLayout(side)
        sl.setContentsMargins(8, 12, 8, 8)
        sl.addWidget(members_title)
        sl.addWidget(self.member_view, 1)
        self.member_panel = side

        self.banner = QLabel("")
        self.banner.setObjectName("chatBanner")
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setWordWrap(True)
        self.banner.setContentsMargins(16, 6, 16, 6)
        self.banner.setStyleSheet(
            f"#chatBanner {{ background: {theme.state_color('reconnecting').name()};"
            " color: white; }")
        self.banner.hide()

        main = QWidget()
        ml = QVBoxLayout(main)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.setSpacing(0)
        ml.addLayout(header)
        ml.addWidget(self.banner)
        ml.addWidget(self.view, 1)
        self._main_layout = ml
        ml.addWidget(self.typing_label)
        bottom = QVBoxLayout()
        bottom.setContentsMargins(12, 2, 12, 12)
        bottom.addWidget(composer)
        ml.addLayout(bottom)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("chatSplitter")
        self.splitter.addWidget(main)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([700, 180])
        self.splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.splitter)
        self.set_enabled_input(False)

    # -- which conversation -------------------------------------------------------------------
    def show_conversation(self, kind: str, target: str, model: ChatMessageModel) -> None:
        self.kind, self.target = kind, target
        self.view.setModel(model)
        self.title.setText(("# " if kind == "room" else "@ ") + target)
        self.leave_button.setVisible(kind == "room")
        self.member_panel.setVisible(kind == "room")
        self.set_enabled_input(True)
        self._refresh_typing()
        self.editor.setFocus()

    def set_find_bar(self, widget: QWidget) -> None:
        """Put a bar (find's) right above the messages; its owner shows and hides it."""
        widget.hide()
        self._main_layout.insertWidget(self._main_layout.indexOf(self.view), widget)

    def scroll_to_key(self, key: str) -> bool:
        """Select the message ``key`` and scroll it into the middle of the view; False
        when the conversation shown does not hold it (yet)."""
        model = self.view.model()
        if not isinstance(model, ChatMessageModel):
            return False
        model.flush()
        row = model.row_of(key)
        if row is None:
            return False
        self.view.show_row(row)
        return True

    def clear_conversation(self) -> None:
        self.kind = self.target = ""
        self.view.setModel(self.empty_model)
        self.title.setText("No conversation")
        self.subtitle.setText("Join a room or pick one in the sidebar")
        self.leave_button.setVisible(False)
        self.set_enabled_input(False)

    def set_enabled_input(self, enabled: bool) -> None:
        self.editor.setEnabled(enabled)
        self.send_button.setEnabled(enabled)

    def set_members(self, online: list[str], seen: list[str], me: str) -> None:
        self.members.me = me
        self.members.set_members(online, seen)
        n = len(self.members.online())
        self.subtitle.setText(f"{n} online" if self.kind == "room" else "direct message")

    def set_banner(self, text: str | None) -> None:
        """A standing line above the messages (offline, server unreachable); None hides it."""
        self.banner.setText(text or "")
        self.banner.setVisible(bool(text))

    def set_members_offline(self, offline: bool) -> None:
        """Grey out the whole member list (you included): presence is unknown meanwhile."""
        self.members.set_offline(offline)
        if self.kind == "room":
            self.subtitle.setText("presence unknown while offline" if offline else
                                  f"{len(self.members.online())} online")

    # -- sending ---------------------------------------------------------------------------------
    def submit(self) -> None:
        text = self.editor.toPlainText()
        if not text.strip() or not self.target:
            return
        self.editor.clear()
        self.send_requested.emit(self.kind, self.target, text)

    def _on_text_changed(self) -> None:
        now = time.monotonic()
        if self.target and self.editor.toPlainText() and now - self._last_typing_sent > 2.0:
            self._last_typing_sent = now
            self.typing_activity.emit(self.kind, self.target)

    # -- typing --------------------------------------------------------------------------------
    def someone_typing(self, kind: str, target: str, user: str) -> None:
        self._typing.setdefault(f"{kind}:{target}", {})[user] = time.monotonic() + 4.0
        self._refresh_typing()
        if not self._typing_timer.isActive():
            self._typing_timer.start()

    def stopped_typing(self, kind: str, target: str, user: str) -> None:
        self._typing.get(f"{kind}:{target}", {}).pop(user, None)
        self._refresh_typing()

    def _refresh_typing(self) -> None:
        now = time.monotonic()
        names: list[str] = []
        for key, users in list(self._typing.items()):
            for u, until in list(users.items()):
                if until < now:
                    del users[u]
            if not users:
                del self._typing[key]
        users = self._typing.get(f"{self.kind}:{self.target}", {})
        names = sorted(users)
        if not names:
            text = " "
        elif len(names) == 1:
            text = f"{names[0]} is typing…"
        elif len(names) == 2:
            text = f"{names[0]} and {names[1]} are typing…"
        else:
            text = "Several people are typing…"
        self.typing_label.setText(text)
        if not self._typing:
            self._typing_timer.stop()
