"""The sidebar: namespaces (with readiness), rooms (with unread counts) and direct messages.

The entry at the top joins a room, or starts a DM with ``@user``; the tree shows
``ui.models.sidebar.SidebarModel``. What selecting, joining and leaving do is
``ui.conversations`` (rooms, DMs) and the main window (namespaces).

Above the tree: a notice when chat is off (a server that is not SockDesk's has no rooms),
and one line per namespace the server refused, with its reason and a Retry button, so a
refused namespace is seen next to the others that work.
"""

from __future__ import annotations

import re

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.models.sidebar import (
    KeyRole,
    KindRole,
    MentionsRole,
    MutedRole,
    ReadyRole,
    SidebarModel,
    UnreadRole,
)
from ui.widgets.buttons import tool_button

_IDX = QModelIndex | QPersistentModelIndex
ROOM_RE = re.compile(r"^[A-Za-z0-9 ._-]{1,64}$")
USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


def badge(kind: str, unread: int, mentions: int) -> tuple[str, QColor]:
    """The unread pill of an entry: text and colour. A room's plain unread count is
    grey; one with messages that mention you shows "@" and is red, like a direct
    message, so what asks *you* stands out."""
    count = str(unread) if unread < 1000 else "999+"
    if kind == "room" and mentions:
        return "@" + count, theme.state_color("failed")
    if kind == "dm":
        return count, theme.state_color("failed")
    return count, theme.state_color("offline")


class SidebarDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: _IDX) -> QSize:
        h = QFontMetrics(option.font).height()
        return QSize(180, h + (16 if index.data(KindRole) == "section" else 10))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _IDX) -> None:
        pal: QPalette = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(option.rect)
        kind = index.data(KindRole)
        font = QFont(option.font)
        if kind == "section":
            font.setBold(True)
            font.setPointSizeF(font.pointSizeF() * 0.82)
            font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 108)
            painter.setFont(font)
            painter.setPen(theme.muted(pal))
            painter.drawText(rect.adjusted(4, 6, 0, 0),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             index.data() or "")
            painter.restore()
            return
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        bg = rect.adjusted(2, 1, -6, -1)
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(bg, 6, 6)
        elif hover:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.subtle_bg(pal, 0.07))
            painter.drawRoundedRect(bg, 6, 6)
        fg = pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        unread = int(index.data(UnreadRole) or 0)
        if index.data(MutedRole) and not selected:
            fg = theme.muted(pal)  # muted: dimmed; its only badge is a mention of you
        icon_name = {"namespace": "layers", "room": "hash", "dm": "at"}.get(kind, "hash")
        px = theme.pixmap(icon_name, 15, fg if (selected or unread) else theme.muted(pal))
        painter.drawPixmap(QPointF(bg.left() + 8, bg.center().y() - 7.5), px)
        if unread and not selected:
            font.setBold(True)
        painter.setFont(font)
        painter.setPen(fg)
        right = bg.right() - 8
        if kind == "namespace":
            ready = bool(index.data(ReadyRole))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.state_color("connected" if ready else "offline"))
            painter.drawEllipse(QPointF(right - 4, bg.center().y()), 4, 4)
            right -= 14
        elif unread:
            small = QFont(option.font)
            small.setBold(True)
            small.setPointSizeF(small.pointSizeF() * 0.82)
            fm = QFontMetrics(small)
            text, colour = badge(kind, unread, int(index.data(MentionsRole) or 0))
            w = max(fm.height() + 2, fm.horizontalAdvance(text) + 12)
            pill = QRectF(right - w, bg.center().y() - fm.height() / 2 - 1, w, fm.height() + 2)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
            painter.setFont(small)
            painter.setPen(Qt.GlobalColor.white)
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
            painter.setFont(font)
            right = pill.left() - 6
        painter.setPen(fg)
        text_rect = QRectF(bg.left() + 30, bg.top(), right - bg.left() - 30, bg.height())
        text = QFontMetrics(font).elidedText(index.data() or "", Qt.TextElideMode.ElideRight,
                                             int(text_rect.width()))
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         text)
        painter.restore()


class SelfStatus(QWidget):
    """One line at the bottom of the sidebar: your presence dot and what it means."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.online = False
        self.label = QLabel("offline")
        self.label.setObjectName("hint")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(20, 2, 4, 0)
        lay.addWidget(self.label, 1)
        self.setToolTip("Your presence as the others see it")

    def set_online(self, online: bool) -> None:
        self.online = online
        self.label.setText("you are online" if online else "you are offline")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.state_color("connected" if self.online else "offline"))
        painter.drawEllipse(QPointF(10, self.height() / 2), 4.5, 4.5)
        painter.end()


class Sidebar(QWidget):
    conversation_selected = Signal(str, str)   # kind ("room"|"dm"), key
    namespace_selected = Signal(str)
    join_requested = Signal(str)
    leave_requested = Signal(str)
    dm_requested = Signal(str)
    namespace_retry_requested = Signal(str)
    browse_requested = Signal()                # the room directory
    people_requested = Signal()                # the people list
    mute_requested = Signal(str, bool)         # room, mute (True) or unmute (False)

    def __init__(self, model: SidebarModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.notice = QLabel("")
        self.notice.setObjectName("hint")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.ns_errors = QWidget()
        self._ns_errors_layout = QVBoxLayout(self.ns_errors)
        self._ns_errors_layout.setContentsMargins(0, 0, 0, 0)
        self._ns_errors_layout.setSpacing(4)
        self._ns_rows: dict[str, tuple[QWidget, QLabel]] = {}
        self.ns_errors.hide()
        self.error = QLabel("")
        self.error.setObjectName("errorLabel")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.hide()
        self.entry = QLineEdit()
        # short enough for the sidebar's width (the longer one was cut at every width)
        self.entry.setPlaceholderText("#room or @user…")
        self.entry.setToolTip("A room's name joins it (or creates it); @name starts a "
                              "direct message")
        self.entry.setClearButtonEnabled(True)
        self.entry.returnPressed.connect(self._submit_entry)
        self.entry.textChanged.connect(lambda _t: self.error.hide())
        self.go = tool_button("Join or create the room, or start a direct message with @user",
                              icon="plus")
        self.go.clicked.connect(self._submit_entry)

        self.tree = QTreeView()
        self.tree.setObjectName("sidebar")
        self.tree.setModel(model)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setItemsExpandable(False)
        self.tree.setIndentation(0)
        self.tree.setUniformRowHeights(False)
        self.tree.setItemDelegate(SidebarDelegate(self.tree))
        self.tree.setMouseTracking(True)
        # a right-click opens the entry's menu without switching to the entry
        self.tree.viewport().installEventFilter(self)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.expandAll()
        model.rowsInserted.connect(lambda *_a: self.tree.expandAll())
        model.modelReset.connect(self.tree.expandAll)
        self.tree.selectionModel().currentChanged.connect(self._current_changed)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.entry, 1)
        top.addWidget(self.go)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 10, 4, 8)
        lay.setSpacing(6)
        lay.addLayout(top)
        lay.addWidget(self.error)
        lay.addWidget(self.notice)
        lay.addWidget(self.ns_errors)
        lay.addWidget(self.tree, 1)
        self.self_status = SelfStatus()
        lay.addWidget(self.self_status)
        self.setMinimumWidth(190)

    def set_self_online(self, online: bool) -> None:
        """Your own dot at the bottom: grey while your connection is down."""
        self.self_status.set_online(online)

    def focus_entry(self) -> None:
        self.entry.setFocus()

    def _start_dm(self) -> None:
        self.entry.setText("@")
        self.focus_entry()

    def _submit_entry(self) -> None:
        text = self.entry.text().strip()
        if not text:
            return
        if text.startswith("@"):
            user = text[1:].strip()
            if not USER_RE.match(user):
                self.show_error("User names are 1-32 letters, digits, '.', '_' or '-'")
                return
            self.entry.clear()
            self.dm_requested.emit(user)
            return
        room = text.lstrip("#").strip()
        if not ROOM_RE.match(room):
            self.show_error("Room names are 1-64 letters, digits, spaces, '.', '_' or '-'")
            return
        self.entry.clear()
        self.join_requested.emit(room)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def set_notice(self, text: str) -> None:
        """A standing sentence above the tree (empty: none)."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def set_chat_enabled(self, enabled: bool) -> None:
        """Joining rooms and starting DMs, on or off (off on a foreign server)."""
        self.entry.setEnabled(enabled)
        self.go.setEnabled(enabled)

    def set_namespace_error(self, ns: str, sentence: str | None) -> None:
        """Show why the server refused ``ns`` (with a Retry button), or stop showing it."""
        row = self._ns_rows.get(ns)
        if sentence is None:
            if row is not None:
                del self._ns_rows[ns]
                row[0].deleteLater()
            self.ns_errors.setVisible(bool(self._ns_rows))
            return
        if row is None:
            box = QWidget()
            line = QHBoxLayout(box)
            line.setContentsMargins(0, 0, 0, 0)
            label = QLabel()
            label.setObjectName("errorLabel")
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
            retry = QPushButton("Retry")
            retry.setToolTip(f"Ask the server for {ns} again now")
            retry.clicked.connect(lambda: self.namespace_retry_requested.emit(ns))
            line.addWidget(label, 1)
            line.addWidget(retry, 0, Qt.AlignmentFlag.AlignTop)
            self._ns_errors_layout.addWidget(box)
            row = self._ns_rows[ns] = (box, label)
        row[1].setText(sentence)
        self.ns_errors.show()

    def namespace_error(self, ns: str) -> str | None:
        """The refusal shown for ``ns``, if any."""
        row = self._ns_rows.get(ns)
        return row[1].text() if row is not None else None

    def retry_button(self, ns: str) -> QPushButton | None:
        row = self._ns_rows.get(ns)
        return row[0].findChild(QPushButton) if row is not None else None

    def clear_namespace_errors(self) -> None:
        for ns in list(self._ns_rows):
            self.set_namespace_error(ns, None)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Right-button presses on the list do not make an entry current (the context
        menu still opens: it comes as its own event)."""
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick) \
                and isinstance(event, QMouseEvent) \
                and event.button() == Qt.MouseButton.RightButton:
            return True
        return super().eventFilter(watched, event)

    def select(self, kind: str, key: str) -> None:
        idx = self.model.index_of(kind, key)
        if idx.isValid():
            self.tree.setCurrentIndex(idx)

    def clear_current(self) -> None:
        """Nothing is the current row (and nothing is shown for it): removing the rows
        after this moves no selection onto a neighbour."""
        self.tree.selectionModel().clearCurrentIndex()
        self.tree.clearSelection()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        kind = current.data(KindRole)
        key = current.data(KeyRole)
        if kind in ("room", "dm"):
            self.conversation_selected.emit(kind, key)
        elif kind == "namespace":
            self.namespace_selected.emit(key)

    def _menu(self, pos: QPoint) -> None:
        index = self.tree.indexAt(pos)
        kind = index.data(KindRole)
        key = index.data(KeyRole)
        menu = QMenu(self)
        menu.aboutToHide.connect(menu.deleteLater)
        if kind == "room":
            name = key.replace('&', '&&')
            muted = bool(index.data(MutedRole))
            mute = QAction(theme.icon("bell" if muted else "bell-off"),
                           f"Unmute #{name}" if muted else f"Mute #{name}", menu)
            mute.setToolTip("A muted room neither notifies nor counts unread messages, "
                            "except those that mention you")
            mute.triggered.connect(lambda: self.mute_requested.emit(key, not muted))
            menu.addAction(mute)
            leave = QAction(theme.icon("log-out"), f"Leave #{name}", menu)
            leave.triggered.connect(lambda: self.leave_requested.emit(key))
            menu.addAction(leave)
            menu.addSeparator()
        join = QAction(theme.icon("plus"), "Join or create a room…", menu)
        join.triggered.connect(self.focus_entry)
        menu.addAction(join)
        browse = QAction(theme.icon("hash"), "Browse rooms…", menu)
        browse.triggered.connect(self.browse_requested)
        menu.addAction(browse)
        dm = QAction(theme.icon("at"), "Direct message…", menu)
        dm.triggered.connect(self._start_dm)
        menu.addAction(dm)
        people = QAction(theme.icon("users"), "People…", menu)
        people.triggered.connect(self.people_requested)
        menu.addAction(people)
        self.last_menu = menu
        menu.popup(self.tree.viewport().mapToGlobal(pos))
