"""The chat pane: message list, typing line, composer and member list of one conversation.

A widget only: it shows the model it is given (``ChatPane.show_conversation``) and says
what the user does through signals (send, reply, edit, delete, typing, retry, cancel,
leave, DM). Which conversation that is, and what is sent and received, is
``ui.conversations``. How a message is drawn is ``ui.widgets.chat_delegate``; the
composer (reply/edit bar, counter) is ``ui.widgets.chat_composer``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QDesktopServices,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.chat_text import links
from ui.models.chat import (
    ChatMessageModel,
    DeletedRole,
    EditedRole,
    GroupedRole,
    IdRole,
    KindRole,
    OwnRole,
    StateRole,
)
from ui.models.sidebar import IsYouRole, MemberListModel, OnlineRole
from ui.widgets.buttons import tool_button
from ui.widgets.chat_composer import Composer
from ui.widgets.chat_delegate import LEFT, RESENDABLE, RIGHT, ChatDelegate
from ui.widgets.elided import ElidedLabel

_IDX = QModelIndex | QPersistentModelIndex

#: below this pane width the member list folds away by itself: a window of ~800 px folds
#: its sidebar and its chat pane is about as wide, and gets the whole width for messages
MEMBERS_AUTO_COLLAPSE = 860
#: roles whose change can change a row's height: the view lays out again
_SIZE_ROLES = {Qt.ItemDataRole.DisplayRole, EditedRole, DeletedRole, GroupedRole,
               Qt.ItemDataRole.SizeHintRole}


def delete_box(parent: QWidget) -> tuple[QMessageBox, QPushButton]:
    """The question before deleting a message: "Delete" or "Cancel" (Cancel by default);
    the box and its Delete button."""
    box = QMessageBox(QMessageBox.Icon.Question, "Delete message",
                      "Delete this message for everyone? Its text cannot be brought back.",
                      QMessageBox.StandardButton.NoButton, parent)
    delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    return box, delete


def _ask_delete(parent: QWidget) -> bool:
    box, delete = delete_box(parent)
    box.exec()
    box.deleteLater()
    return box.clickedButton() is delete


class ChatView(QListView):
    """The message list; keeps to the bottom while the user is at the bottom."""

    retry_requested = Signal(str)
    cancel_requested = Signal(str)
    reply_requested = Signal(str)
    edit_requested = Signal(str)
    delete_requested = Signal(str)
    #: Esc in the list (find closes its bar on it)
    escape_pressed = Signal()

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
        #: reply, edit and delete are offered (rooms; the protocol has them only there)
        self.room_actions = False
        #: opens a clicked link; tests put a recorder here instead of the browser
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        #: asks before deleting; True deletes
        self.confirm_delete: Callable[[], bool] = lambda: _ask_delete(self)
        self._stick = True
        #: what an empty conversation shows: a title and a hint ("" for nothing)
        self._empty = ("", "")
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
            with contextlib.suppress(RuntimeError, TypeError):
                old.dataChanged.disconnect(self._data_changed)
        super().setModel(model)
        self._stick = True
        if model is not None:
            model.rowsInserted.connect(self._rows_inserted)
            model.dataChanged.connect(self._data_changed)
            self._scroll_timer.start()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.delegate.set_width(self.viewport().width())
        super().resizeEvent(event)

    def set_empty_text(self, title: str, hint: str = "") -> None:
        """What an empty conversation shows ("This is the start of #random")."""
        self._empty = (title, hint)
        self.viewport().update()

    @property
    def empty_text(self) -> str:
        return self._empty[0]

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if not self._empty[0] or model is None or model.rowCount() > 0:
            return
        painter = QPainter(self.viewport())
        title_font = QFont(self.font())
        title_font.setBold(True)
        title_font.setPointSizeF(self.font().pointSizeF() * 1.25)
        tfm = QFontMetrics(title_font)
        left, y = LEFT + 6, 24
        width = self.viewport().width() - 2 * left
        painter.setFont(title_font)
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        painter.drawText(QPointF(left, y + tfm.ascent()), tfm.elidedText(
            self._empty[0], Qt.TextElideMode.ElideRight, width))
        if self._empty[1]:
            fm = QFontMetrics(self.font())
            painter.setFont(self.font())
            painter.setPen(theme.muted(self.palette()))
            painter.drawText(QPointF(left, y + tfm.height() + 6 + fm.ascent()),
                             fm.elidedText(self._empty[1], Qt.TextElideMode.ElideRight, width))
        painter.end()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and event.modifiers() == \
                Qt.KeyboardModifier.NoModifier:
            self.escape_pressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def _scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick = value >= bar.maximum() - 4

    def _range_changed(self, _lo: int, _hi: int) -> None:
        if self._stick:
            self.scrollToBottom()

    def _rows_inserted(self, *_args: object) -> None:
        if self._stick:
            self._scroll_timer.start()

    def _data_changed(self, first: QModelIndex, last: QModelIndex,
                      roles: Sequence[int] = ()) -> None:
        """An edit, a delete, a regrouping or a failure line can change a row's height.
        (Most state changes, queued → sent → acked, cannot: no layout for those.)"""
        if not roles or _SIZE_ROLES.intersection(roles) or (
                StateRole in roles and first.isValid() and any(
                    first.model().index(r, 0).data(StateRole) in RESENDABLE
                    for r in range(first.row(), last.row() + 1))):
            self.scheduleDelayedItemsLayout()

    def scroll_to_row(self, row: int) -> None:
        """Select a row and bring it to the middle (the view stops following the end)."""
        model = self.model()
        if model is None or not 0 <= row < model.rowCount():
            return
        index = model.index(row, 0)
        self._stick = False
        self._scroll_timer.stop()
        self.setCurrentIndex(index)
        self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def ensure_visible(self, index: QModelIndex, tries: int = 100) -> None:
        """Scroll ``index`` into view, once the list has laid it out: rows are laid out
        in batches after a change, and scrolling to a row without a place does nothing."""
        target = QPersistentModelIndex(index)
        if not target.isValid() or target.model() is not self.model():
            return
        rect = self.visualRect(self.model().index(target.row(), 0))
        if rect.isValid():
            self.scrollTo(self.model().index(target.row(), 0),
                          QAbstractItemView.ScrollHint.EnsureVisible)
        elif tries > 0:
            QTimer.singleShot(10, self, lambda: self.ensure_visible(
                self.model().index(target.row(), 0) if target.isValid() else QModelIndex(),
                tries - 1))

    # -- links -------------------------------------------------------------------------------
    def link_at(self, pos: QPoint) -> str | None:
        """The URL drawn under ``pos`` (viewport coordinates), if any."""
        index = self.indexAt(pos)
        if not index.isValid():
            return None
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        option.rect = self.visualRect(index)
        return self.delegate.link_at(option, index, pos)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.link_at(event.position().toPoint()):
            self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.viewport().unsetCursor()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if event.button() == Qt.MouseButton.LeftButton:
            url = self.link_at(pos)
            if url:
                self.open_url(QUrl(url))
                event.accept()
                return
        index = self.indexAt(pos)
        if (index.isValid() and index.data(OwnRole) and index.data(StateRole) in RESENDABLE
                and event.position().x() > self.viewport().width() - RIGHT):
            self.retry_requested.emit(str(index.data(IdRole)))
        super().mouseReleaseEvent(event)

    # -- the menu ----------------------------------------------------------------------------
    def _menu(self, pos: QPoint) -> None:
        menu = self.message_menu(self.indexAt(pos), self.link_at(pos))
        if menu is not None:
            menu.popup(self.viewport().mapToGlobal(pos))

    def message_menu(self, index: QModelIndex, link: str | None = None) -> QMenu | None:
        """The context menu of a message row (None elsewhere): reply, edit, delete (own
        acked room messages), retry or send again, cancel, copy text and copy link."""
        if not index.isValid() or index.data(KindRole) != "message":
            return None
        menu = QMenu(self)
        menu.aboutToHide.connect(menu.deleteLater)
        key = str(index.data(IdRole))
        state = index.data(StateRole)
        own, deleted = bool(index.data(OwnRole)), bool(index.data(DeletedRole))

        def add(icon: str, label: str, slot: Callable[[], object]) -> None:
            action = QAction(theme.icon(icon), label, menu)
            action.triggered.connect(slot)
            menu.addAction(action)

        if self.room_actions and not deleted:
            add("reply", "Reply", lambda: self.reply_requested.emit(key))
            if own and state == "acked":
                add("edit", "Edit", lambda: self.edit_requested.emit(key))
                add("trash", "Delete…", lambda: self._delete(key))
        if own and state in RESENDABLE:
            add("retry", "Retry sending" if state == "failed" else "Send again",
                lambda: self.retry_requested.emit(key))
        if own and state in ("queued", *RESENDABLE):
            add("x", "Cancel sending (delete)", lambda: self.cancel_requested.emit(key))
        if not deleted:
            text = str(index.data() or "")
            add("copy", "Copy text", lambda: QGuiApplication.clipboard().setText(text))
            found = [url for _s, _e, url in links(text)]
            url = link if link in found else (found[0] if found else None)
            if url is not None:
                add("copy", "Copy link", lambda: QGuiApplication.clipboard().setText(url))
        return menu

    def _delete(self, key: str) -> None:
        if self.confirm_delete():
            self.delete_requested.emit(key)


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

    send_requested = Signal(str, str, str, str)    # kind, target, text, reply_to ("" none)
    edit_requested = Signal(str, str, str, str)    # kind, target, msg_id, new text
    delete_requested = Signal(str, str, str)       # kind, target, msg_id
    typing_activity = Signal(str, str)             # kind, target
    retry_requested = Signal(str)                  # message id
    cancel_requested = Signal(str)                 # message id
    leave_requested = Signal(str)                  # room
    dm_requested = Signal(str)                     # user

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = ""
        #: the window's sidebar is folded away (the empty chat says how to get it back)
        self.sidebar_folded = False
        self.target = ""
        self._last_typing_sent = 0.0
        self._members_wanted = True
        self._members_before = True     # the choice to restore when the pane widens again
        self._narrow = False

        self.title = QLabel("No conversation")
        self.title.setObjectName("roomTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        # cut with "…" (the whole line in its tooltip): clipped, "presence unknown w"
        # ran into Leave in a 715 px window
        self.subtitle = ElidedLabel("")
        self.subtitle.setObjectName("hint")
        self.subtitle.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.leave_button = tool_button("Leave this room", icon="log-out", text="Leave")
        self.leave_button.clicked.connect(lambda: self.leave_requested.emit(self.target))
        self.members_button = tool_button("Show or hide the member list", icon="users",
                                          checkable=True, name="membersToggle")
        self.members_button.setChecked(True)
        self.members_button.toggled.connect(self.set_members_visible)
        header = QHBoxLayout()
        header.setContentsMargins(16, 10, 12, 8)
        header.addWidget(self.title)
        header.addSpacing(8)
        header.addWidget(self.subtitle, 1)
        header.addWidget(self.leave_button)
        header.addWidget(self.members_button)

        self.banner = QLabel("")
        self.banner.setObjectName("chatBanner")
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setWordWrap(True)
        self.banner.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        warn = theme.state_color("reconnecting")
        self.banner.setStyleSheet(
            f"QLabel#chatBanner {{ background: rgba({warn.red()}, {warn.green()}, "
            f"{warn.blue()}, 40); border-left: 3px solid {warn.name()}; padding: 6px 12px; }}")
        self.banner.hide()

        self.view = ChatView()
        self.view.retry_requested.connect(self.retry_requested)
        self.view.cancel_requested.connect(self.cancel_requested)
        self.view.reply_requested.connect(self.reply_to)
        self.view.edit_requested.connect(self.edit_message)
        self.view.delete_requested.connect(
            lambda key: self.delete_requested.emit(self.kind, self.target, key))
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

        self.composer = Composer()
        self.editor = self.composer.editor
        self.send_button = self.composer.send_button
        self.composer.submitted.connect(self.submit)
        self.composer.edit_last_requested.connect(self.edit_last)
        # the message replied to or edited was selected (its menu): not any more after
        self.composer.ended.connect(self.view.clearSelection)
        self.editor.textChanged.connect(self._on_text_changed)

        self.members = MemberListModel(self)
        self.member_view = QListView()
        self.member_view.setObjectName("memberList")
        self.member_view.setModel(self.members)
        self.member_delegate = MemberDelegate(self.member_view)
        self.member_view.setItemDelegate(self.member_delegate)
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

        main = QWidget()
        ml = QVBoxLayout(main)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.setSpacing(0)
        ml.addLayout(header)
        ml.addWidget(self.banner)
        self._bars = QVBoxLayout()
        self._bars.setContentsMargins(0, 0, 0, 0)
        ml.addLayout(self._bars)
        ml.addWidget(self.view, 1)
        ml.addWidget(self.typing_label)
        bottom = QVBoxLayout()
        bottom.setContentsMargins(12, 2, 12, 12)
        bottom.addWidget(self.composer)
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
    @property
    def model(self) -> ChatMessageModel | None:
        model = self.view.model()
        return model if isinstance(model, ChatMessageModel) else None

    def show_conversation(self, kind: str, target: str, model: ChatMessageModel) -> None:
        if (kind, target) != (self.kind, self.target):
            self.composer.cancel()
        self.kind, self.target = kind, target
        self.view.setModel(model)
        self.view.room_actions = kind == "room"
        self.title.setText(("# " if kind == "room" else "@ ") + target)
        if kind == "room":
            self.view.set_empty_text(f"This is the start of #{target}",
                                     "No messages yet. What you write here, everyone in "
                                     "the room sees.")
        else:
            self.view.set_empty_text(f"This is the start of your conversation with {target}",
                                     "No messages yet. Only the two of you see what you "
                                     "write here.")
        self.leave_button.setVisible(kind == "room")
        self.members_button.setVisible(kind == "room")
        self._apply_members()
        self.set_enabled_input(True)
        self._refresh_typing()
        self.editor.setFocus()

    def clear_conversation(self) -> None:
        self.kind = self.target = ""
        self.composer.cancel()
        self.view.setModel(self.empty_model)
        self.view.room_actions = False
        self.title.setText("No conversation")
        self.view.set_empty_text("")
        self.subtitle.setText(self._empty_hint())
        self.leave_button.setVisible(False)
        self.members_button.setVisible(False)
        self.set_enabled_input(False)

    def _empty_hint(self) -> str:
        # the sidebar folds away in a narrow window: then say how to bring it back
        return "Join a room or pick one in the sidebar" + (
            " (Ctrl+B shows it)" if self.sidebar_folded else "")

    def set_sidebar_folded(self, folded: bool) -> None:
        """The window's sidebar was folded away or shown again."""
        self.sidebar_folded = folded
        if not self.kind:
            self.subtitle.setText(self._empty_hint())

    def set_enabled_input(self, enabled: bool) -> None:
        self.composer.set_input_enabled(enabled)

    def set_members(self, online: list[str], seen: list[str], me: str) -> None:
        self.members.me = me
        self.members.set_members(online, seen)
        self.editor.mentions.set_names([n for n in (*online, *seen) if n != me])
        n = len(self.members.online())
        self.subtitle.setText(f"{n} online" if self.kind == "room" else "direct message")

    # -- banner, find bar, member list ------------------------------------------------------
    def set_banner(self, text: str | None) -> None:
        """A notice above the messages ("You're offline — …"); None hides it."""
        self.banner.setText(text or "")
        self.banner.setVisible(bool(text))

    def set_members_offline(self, offline: bool) -> None:
        """Grey out the whole member list (you included): presence is unknown meanwhile."""
        self.members.set_offline(offline)
        if self.kind == "room":
            self.subtitle.setText("presence unknown while offline" if offline else
                                  f"{len(self.members.online())} online")

    @property
    def members_offline(self) -> bool:
        return self.members.offline

    def set_find_bar(self, widget: QWidget) -> None:
        """Put a bar (the find bar) above the message list; hidden until its owner shows it."""
        widget.hide()
        self._bars.addWidget(widget)

    def scroll_to_key(self, key: str) -> bool:
        """Select a message and scroll it into the middle; False when it is not loaded."""
        model = self.model
        row = model.row_of(key) if model is not None else None
        if row is None:
            return False
        self.view.scroll_to_row(row)
        return True

    @property
    def members_visible(self) -> bool:
        return not self.member_panel.isHidden()

    def set_members_visible(self, visible: bool) -> None:
        """Show or fold the member list (the header's toggle); only rooms have one. The
        choice sticks: it is also what a narrow pane comes back to when wide again."""
        self._members_wanted = visible
        self._members_before = visible
        self._apply_members()

    def _apply_members(self) -> None:
        shown = self.kind == "room" and self._members_wanted
        self.member_panel.setVisible(shown)
        with contextlib.suppress(RuntimeError):
            self.members_button.blockSignals(True)
            self.members_button.setChecked(self._members_wanted)
            self.members_button.blockSignals(False)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Under ~860 px the member list folds away by itself, and comes back (if it was
        shown) when the pane is wide again; the toggle still shows it on demand, and what
        the toggle chose last is what a wide pane shows."""
        narrow = event.size().width() < MEMBERS_AUTO_COLLAPSE
        if narrow != self._narrow:
            self._narrow = narrow
            if narrow:
                self._members_before = self._members_wanted
                self._members_wanted = False
            else:
                self._members_wanted = self._members_before
            self._apply_members()
        super().resizeEvent(event)

    # -- sending, replying, editing ---------------------------------------------------------------
    def submit(self) -> None:
        """Enter or Send: a new message, a reply, or the edit being made."""
        text = self.editor.toPlainText()
        if not text.strip() or not self.target or self.composer.too_long:
            return
        mode, text, ref, unchanged = self.composer.take()
        if mode == "edit":
            if not unchanged:
                self.edit_requested.emit(self.kind, self.target, ref, text)
            return
        self.send_requested.emit(self.kind, self.target, text, ref if mode == "reply" else "")

    def reply_to(self, key: str) -> None:
        """Start a reply quoting message ``key``."""
        model = self.model
        item = model.item(key) if model is not None else None
        if item is None or item.deleted:
            return
        self.composer.start_reply(key, item.user, item.text)

    def edit_message(self, key: str) -> None:
        """Load own message ``key`` into the composer to edit it."""
        model = self.model
        item = model.item(key) if model is not None else None
        if model is None or item is None or not item.own or item.deleted \
                or self.kind != "room":
            return
        self.composer.start_edit(key, item.text)
        row = model.row_of(key)
        if row is not None:   # Up edits a message maybe scrolled away: bring it in view
            self.view.ensure_visible(model.index(row, 0))

    def edit_last(self) -> None:
        """Up in an empty composer: edit your last message here (acked, not deleted)."""
        model = self.model
        if model is None or self.kind != "room":
            return
        for item in reversed(model.messages()):
            if item.own and item.state == "acked" and not item.deleted:
                self.edit_message(item.key)
                return

    def _on_text_changed(self) -> None:
        if self.composer.mode == "edit":
            return  # changing a message already sent: nobody waits for a new one
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
