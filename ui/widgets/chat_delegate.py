"""How one chat message is drawn, and what is under the mouse in it.

Messages are painted as plain text with QTextLayout (never rich text), so markup in a
message is shown, not interpreted. Links, @mentions, search hits, "(edited)" and the
"deleted" placeholder are only character formats over that plain text; the same layout
answers which link is under the mouse, so what is drawn as a link is what a click opens.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QPainter,
    QPalette,
    QPen,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
)

from ui import theme
from ui.chat_text import hits, links, mentions
from ui.models.chat import (
    DELETED_TEXT,
    AuthorRole,
    ChatItem,
    ChatMessageModel,
    CurrentHitRole,
    DeletedRole,
    EditedRole,
    ErrorRole,
    GroupedRole,
    HighlightRole,
    KindRole,
    MentionRole,
    NewRole,
    OwnRole,
    RecoveredRole,
    ReplyRole,
    ShowTimeRole,
    StateRole,
    TimeRole,
)
from ui.text import format_time, tooltip_text

_IDX = QModelIndex | QPersistentModelIndex

AVATAR = 34
LEFT = 14
#: the "New" line above the first unread message (red in both themes, as in Slack)
NEW_LINE = QColor("#c4323b")  # white on it: 5.4:1
GAP = 12
RIGHT = 40
EDITED_SUFFIX = " (edited)"
#: heights of rows of other models than ChatMessageModel (whose rows keep their own)
OTHER_HEIGHTS = 2_000
#: search hits: a yellow-ish marker that reads on light and dark palettes
HIGHLIGHT = QColor(255, 200, 0, 120)
#: find's current hit: its words in a strong orange, its row tinted
CURRENT_HIT = QColor(255, 140, 0, 230)
CURRENT_ROW = QColor(255, 170, 0, 48)
STATE_LABELS = {"queued": "Queued: waiting for the connection", "sent": "Sent, waiting for the ack",
                "acked": "Delivered (acknowledged by the server)", "failed": "Failed",
                "no_ack": "No ack: sent once, the server never confirmed it"}
#: own messages the user may send again: failed, or sent once with no ack ("no ack" is
#: neither failed nor pending: it may have arrived, so it is never resent on its own)
RESENDABLE = ("failed", "no_ack")
#: the time's tooltip on a message recovered after a reconnection
RECOVERED_NOTE = "Recovered: sent while you were disconnected, fetched when you reconnected"
#: a link's tooltip shows this much of a URL at most (the middle is cut)
URL_TIP_CHARS = 200
#: a mention of you: background alpha and accent bar width, the same focused or not
MENTION_ALPHA = 70
MENTION_BAR = 4
#: a reply's quote: its bar's width and the space above and below its line
QUOTE_BAR = 3
QUOTE_PAD = 2


def _layout_text(text: str, font: QFont, width: float,
                 formats: list[QTextLayout.FormatRange] | None = None
                 ) -> tuple[QTextLayout, float]:
    """Lay out plain text (never markup) wrapped to ``width``; returns the layout and height.
    ``formats`` colour ranges of it (links, mentions, hits); they never add content."""
    layout = QTextLayout(text.replace("\n", "\u2028"), font)
    opt = QTextOption()
    opt.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(opt)
    if formats:
        layout.setFormats(formats)
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


def _item_of(index: _IDX) -> ChatItem | None:
    """The row's item when the view shows a ChatMessageModel (None for another model)."""
    model = index.model()
    if isinstance(model, ChatMessageModel) and 0 <= index.row() < model.rowCount():
        return model.item_at(index.row())
    return None


def _range(start: int, end: int, fmt: QTextCharFormat) -> QTextLayout.FormatRange:
    r = QTextLayout.FormatRange()
    r.start, r.length, r.format = start, end - start, fmt
    return r


def message_text(index: _IDX) -> str:
    """The text a message row lays out: its text, "(edited)" after an edited one."""
    text = str(index.data() or "")
    if index.data(EditedRole) and not index.data(DeletedRole):
        text += EDITED_SUFFIX
    return text


def time_tip(index: _IDX) -> str:
    """The tooltip of a message's time: the full date and time, and "recovered"."""
    ts = float(index.data(TimeRole) or time.time())
    text = _dt.datetime.fromtimestamp(ts).strftime("%A %d %B %Y, %H:%M:%S")
    if index.data(RecoveredRole):
        text += "\n" + RECOVERED_NOTE
    return text


def url_tip(url: str) -> str:
    """A link's tooltip: the URL on one line (its middle cut when very long)."""
    if len(url) > URL_TIP_CHARS:
        url = url[:URL_TIP_CHARS * 2 // 3] + "…" + url[-URL_TIP_CHARS // 3:]
    return tooltip_text(url, wrap=False)


def mention_color(pal: QPalette) -> QColor:
    """The accent of a mention of you: the active highlight, also in an inactive window
    (whose palette greys its highlight)."""
    return QColor(pal.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight))


def message_formats(index: _IDX, pal: QPalette) -> list[QTextLayout.FormatRange]:
    """Character formats of a message row's text: links, mentions, "(edited)", and
    find's words, each occurrence, case-insensitive."""
    text = str(index.data() or "")
    muted = theme.muted(pal)
    out: list[QTextLayout.FormatRange] = []
    if index.data(DeletedRole):
        fmt = QTextCharFormat()
        fmt.setFontItalic(True)
        fmt.setForeground(muted)
        return [_range(0, len(text), fmt)]
    link_fmt = QTextCharFormat()
    link_fmt.setForeground(pal.color(QPalette.ColorRole.Link))
    link_fmt.setFontUnderline(True)
    out += [_range(s, e, link_fmt) for s, e, _url in links(text)]
    mention_fmt = QTextCharFormat()
    mention_fmt.setFontWeight(QFont.Weight.Bold)
    mention_fmt.setForeground(mention_color(pal))
    out += [_range(s, e, mention_fmt) for s, e, _name in mentions(text)]
    if index.data(EditedRole):
        fmt = QTextCharFormat()
        fmt.setForeground(muted)
        out.append(_range(len(text), len(text) + len(EDITED_SUFFIX), fmt))
    term = str(index.data(HighlightRole) or "")
    if term:  # find searches words (the store's FTS): each word is marked
        hit_fmt = QTextCharFormat()
        hit_fmt.setBackground(CURRENT_HIT if index.data(CurrentHitRole) else HIGHLIGHT)
        for word in set(term.split()):
            out += [_range(s, e, hit_fmt) for s, e in hits(text, word)]
    return out


class ChatDelegate(QStyledItemDelegate):
    """Paints messages Slack-style: avatar, coloured name, time, text, delivery state."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.width = 600
        #: heights by every input of the height (width, font, grouping, reply, failure
        #: line, text): a row whose grouping changes gets its new height, never a stale one.
        #: A ChatMessageModel's row keeps its height on its item (ChatItem.height), so
        #: those go with the rows; this dict is only for other models, and small.
        self._heights: dict[tuple[Any, ...], int] = {}

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

    def _text_origin(self, option: QStyleOptionViewItem, index: _IDX) -> QPointF:
        """Where a message's text layout starts (below name line and reply quote)."""
        _base, name_font, _small = self._fonts(option)
        rect: QRect = option.rect
        grouped = bool(index.data(GroupedRole))
        y = rect.top() + (2 if grouped else 7 + QFontMetrics(name_font).height() + 3)
        if index.data(ReplyRole):
            y += self._quote_height(option)
        return QPointF(rect.left() + LEFT + AVATAR + GAP, y)

    def _quote_height(self, option: QStyleOptionViewItem) -> int:
        """A reply's quote line: the message font (muted, with a bar on its left)."""
        return QFontMetrics(option.font).height() + QUOTE_PAD * 2 + 2

    def _time_rect(self, option: QStyleOptionViewItem, index: _IDX) -> QRectF:
        """Where a message's time is (the header's, or the gutter's of a grouped one)."""
        _base, name_font, small = self._fonts(option)
        rect: QRect = option.rect
        sfm = QFontMetrics(small)
        if index.data(GroupedRole):
            return QRectF(rect.left() + 2, rect.top() + 3, LEFT + AVATAR + GAP - 6,
                          sfm.height())
        nfm = QFontMetrics(name_font)
        user = str(index.data(AuthorRole) or "?")
        stamp = format_time(float(index.data(TimeRole) or time.time()))
        x = rect.left() + LEFT + AVATAR + GAP + nfm.horizontalAdvance(user) + 8
        return QRectF(x, rect.top() + 7, sfm.horizontalAdvance(stamp), nfm.height())

    def sizeHint(self, option: QStyleOptionViewItem, index: _IDX) -> QSize:
        kind = index.data(KindRole)
        base, _name, small = self._fonts(option)
        if kind == "day":
            return QSize(self.width, QFontMetrics(small).height() + 22)
        grouped = bool(index.data(GroupedRole))
        failed = index.data(StateRole) in RESENDABLE
        quote = bool(index.data(ReplyRole))
        item = _item_of(index)
        if item is not None:
            # the item's own text object (no copy of it is kept): an edit replaces it
            shown = DELETED_TEXT if item.deleted else item.text
            suffix = item.edited and not item.deleted
            key: tuple[Any, ...] = (self.width, base.key(), grouped, failed, quote, shown,
                                    suffix)
            if item.height is not None and item.height[0] == key:
                return QSize(self.width, item.height[1])
            h = self._measure(option, shown + EDITED_SUFFIX if suffix else shown,
                              grouped, failed, quote)
            item.height = (key, h)
            return QSize(self.width, h)
        text = message_text(index)
        key = (self.width, base.key(), grouped, failed, quote, text)
        cached = self._heights.get(key)
        if cached is None:
            cached = self._measure(option, text, grouped, failed, quote)
            if len(self._heights) >= OTHER_HEIGHTS:
                self._heights.clear()
            self._heights[key] = cached
        return QSize(self.width, cached)

    def _measure(self, option: QStyleOptionViewItem, text: str, grouped: bool, failed: bool,
                 quote: bool) -> int:
        base, name_font, small = self._fonts(option)
        _, text_h = _layout_text(text, base, self._text_width())
        h = int(text_h) + (4 if grouped else QFontMetrics(name_font).height() + 11)
        if quote:
            h += self._quote_height(option)
        if failed:
            h += QFontMetrics(small).height() + 2
        if not grouped:
            h = max(h, AVATAR + 12)
        return h

    # -- what is under the mouse -------------------------------------------------------------
    def char_at(self, option: QStyleOptionViewItem, index: _IDX, pos: QPoint) -> int | None:
        """The character of the message text under ``pos`` (viewport coordinates)."""
        if index.data(KindRole) != "message":
            return None
        base, _n, _s = self._fonts(option)
        origin = self._text_origin(option, index)
        layout, text_h = _layout_text(message_text(index), base, self._text_width())
        x, y = pos.x() - origin.x(), pos.y() - origin.y()
        if y < 0 or y >= text_h or x < 0:
            return None
        for i in range(layout.lineCount()):
            line = layout.lineAt(i)
            if line.y() <= y < line.y() + line.height():
                if x > line.naturalTextWidth():
                    return None
                cursor = line.xToCursor(x, line.CursorPosition.CursorOnCharacter)
                return int(cursor) if isinstance(cursor, int) else int(cursor[0])
        return None

    def link_at(self, option: QStyleOptionViewItem, index: _IDX, pos: QPoint) -> str | None:
        """The http(s) URL drawn under ``pos``, if any."""
        if index.data(DeletedRole):
            return None
        at = self.char_at(option, index, pos)
        if at is None:
            return None
        for start, end, url in links(str(index.data() or "")):
            if start <= at < end:
                return url
        return None

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView,
                  option: QStyleOptionViewItem, index: _IDX) -> bool:
        """The full URL as the tooltip of a link; the full time (and "recovered") as the
        tooltip of a message's time; the delivery state of an own message."""
        if event is not None and event.type() == QEvent.Type.ToolTip and index.isValid() \
                and index.data(KindRole) == "message":
            url = self.link_at(option, index, event.pos())
            if url:
                QToolTip.showText(event.globalPos(), url_tip(url), view)
                return True
            if self._time_rect(option, index).adjusted(-2, -2, 2, 2).contains(
                    QPointF(event.pos())):
                QToolTip.showText(event.globalPos(), tooltip_text(time_tip(index)), view)
                return True
            state = index.data(StateRole)
            if index.data(OwnRole) and state in STATE_LABELS:
                QToolTip.showText(event.globalPos(), STATE_LABELS[str(state)], view)
                return True
        return bool(super().helpEvent(event, view, option, index))

    # -- painting -----------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _IDX) -> None:
        pal: QPalette = option.palette
        kind = index.data(KindRole)
        base, name_font, small = self._fonts(option)
        rect: QRect = option.rect
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        muted = theme.muted(pal)
        if kind == "day":
            self._paint_day(painter, pal, small, rect, str(index.data() or ""))
            painter.restore()
            return

        if index.data(MentionRole):   # the same whether the window has the focus or not
            accent = mention_color(pal)
            painter.fillRect(rect, QColor(accent.red(), accent.green(), accent.blue(),
                                          MENTION_ALPHA))
            painter.fillRect(QRect(rect.left(), rect.top(), MENTION_BAR, rect.height()), accent)
        if index.data(CurrentHitRole):   # find's current hit: tinted, with a bar
            painter.fillRect(rect, CURRENT_ROW)
            painter.fillRect(QRect(rect.left(), rect.top(), MENTION_BAR, rect.height()),
                             CURRENT_HIT)
        elif option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, theme.subtle_bg(pal, 0.10))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, theme.subtle_bg(pal, 0.04))

        if index.data(NewRole):
            self._paint_new_line(painter, rect, small)

        user = index.data(AuthorRole) or "?"
        colour = theme.author_color(user, pal)
        grouped = bool(index.data(GroupedRole))
        x_text = rect.left() + LEFT + AVATAR + GAP
        y: float = rect.top() + (2 if grouped else 7)
        if not grouped:
            self._paint_header(painter, pal, index, rect, y, user, colour,
                               (base, name_font, small))
            y += QFontMetrics(name_font).height() + 3
        elif index.data(ShowTimeRole):
            # a group spanning minutes: the minute of this message, in the gutter
            painter.setFont(small)
            painter.setPen(muted)
            stamp = format_time(float(index.data(TimeRole) or time.time()))
            painter.drawText(self._time_rect(option, index), Qt.AlignmentFlag.AlignRight
                             | Qt.AlignmentFlag.AlignTop, stamp)

        quote = str(index.data(ReplyRole) or "")
        if quote:   # a bar on the left, then the quote in the message font, muted
            bfm = QFontMetrics(base)
            qh = self._quote_height(option)
            painter.fillRect(QRectF(x_text, y + 1, QUOTE_BAR, qh - 4), theme.mix(
                pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base), 0.3))
            painter.setFont(base)
            painter.setPen(muted)
            qx = x_text + QUOTE_BAR + 8
            painter.drawText(QPointF(qx, y + QUOTE_PAD + bfm.ascent()), bfm.elidedText(
                quote, Qt.TextElideMode.ElideRight, int(self._text_width() - (qx - x_text))))
            y += qh

        layout, text_h = _layout_text(message_text(index), base, self._text_width(),
                                      message_formats(index, pal))
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        layout.draw(painter, QPointF(x_text, y))
        y += text_h

        if index.data(OwnRole):
            self._paint_state(painter, pal, index, rect, x_text, y, grouped, small)
        painter.restore()

    @staticmethod
    def _paint_new_line(painter: QPainter, rect: QRect, small: QFont) -> None:
        """Slack's and Element's marker of where reading stopped: a red line along the
        top of the first new message (which starts a group, so its top margin is free)
        and "New" at its right end, in the header line's empty right part."""
        fm = QFontMetrics(small)
        label = "New"
        w, h = fm.horizontalAdvance(label) + 12, fm.height() + 2
        # 3 px down: a gap from the row above (its read tick touched the pill)
        pill = QRectF(rect.right() - LEFT - w, rect.top() + 3, w, h)
        painter.setPen(QPen(NEW_LINE, 1))
        painter.drawLine(rect.left() + LEFT, rect.top() + 1, int(pill.left()), rect.top() + 1)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(NEW_LINE)
        painter.drawRoundedRect(pill, 4, 4)
        painter.setFont(small)
        painter.setPen(QColor("white"))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_day(self, painter: QPainter, pal: QPalette, small: QFont, rect: QRect,
                   label: str) -> None:
        fm = QFontMetrics(small)
        tw = fm.horizontalAdvance(label) + 20
        cy = rect.center().y()
        painter.setPen(QPen(theme.mix(pal.color(QPalette.ColorRole.Text),
                                      pal.color(QPalette.ColorRole.Base), 0.12), 1))
        painter.drawLine(rect.left() + LEFT, cy, rect.right() - LEFT, cy)
        pill = QRectF(rect.center().x() - tw / 2, cy - fm.height() / 2 - 3, tw, fm.height() + 6)
        painter.setBrush(pal.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
        painter.setFont(small)
        painter.setPen(theme.muted(pal))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_header(self, painter: QPainter, pal: QPalette, index: _IDX, rect: QRect,
                      y: float, user: str, colour: QColor,
                      fonts: tuple[QFont, QFont, QFont]) -> None:
        """Avatar, name and time of the first message of a group."""
        base, name_font, small = fonts
        av = QRectF(rect.left() + LEFT, rect.top() + 8, AVATAR, AVATAR)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(av)
        af = QFont(name_font)
        af.setPointSizeF(base.pointSizeF() * 1.05)
        painter.setFont(af)
        painter.setPen(QColor("white"))
        painter.drawText(av, Qt.AlignmentFlag.AlignCenter, user[:1].upper())
        painter.setFont(name_font)
        painter.setPen(colour)
        nfm = QFontMetrics(name_font)
        x_text = rect.left() + LEFT + AVATAR + GAP
        painter.drawText(QPointF(x_text, y + nfm.ascent()), user)
        x = x_text + nfm.horizontalAdvance(user) + 8
        painter.setFont(small)
        painter.setPen(theme.muted(pal))
        stamp = format_time(float(index.data(TimeRole) or time.time()))
        painter.drawText(QPointF(x, y + nfm.ascent()), stamp)

    def _paint_state(self, painter: QPainter, pal: QPalette, index: _IDX, rect: QRect,
                     x_text: float, y: float, grouped: bool, small: QFont) -> None:
        """The delivery state of an own message: an icon, and a line when it failed."""
        state = index.data(StateRole)
        if state:
            icon_name = {"queued": "clock", "sent": "check", "acked": "check-check",
                         "failed": "alert", "no_ack": "check"}.get(state, "clock")
            col = theme.state_color(state) if state in ("acked", "failed", "no_ack") \
                else theme.muted(pal)
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
