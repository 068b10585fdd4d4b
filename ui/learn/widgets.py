"""Small pieces of the Learn tab: a toggle switch, the delegates of the lesson list and of
the step list, and the panel of end-of-lesson checks."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QLabel,
    QListView,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.learn.models import (
    CheckListModel,
    NumberRole,
    ResultRole,
    StepStateRole,
    SummaryRole,
    TextRole,
)
from ui.text import breakable

_IDX = QModelIndex | QPersistentModelIndex

RESULT_COLORS = {"passed": "#2fb36b", "failed": "#e5484d", "running": "#3e8ef7",
                 "stopped": "#8a8f98"}


class ToggleSwitch(QAbstractButton):
    """An on/off switch (checkable button) painted as a track with a knob."""

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 on_color: str = "#ef7d32") -> None:
        super().__init__(parent)
        self.setCheckable(True)
        self.setText(text)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.on_color = on_color
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def sizeHint(self) -> QSize:
        fm = QFontMetrics(self.font())
        return QSize(46 + (fm.horizontalAdvance(self.text()) + 10 if self.text() else 0),
                     max(26, fm.height() + 6))

    def paintEvent(self, _e: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = theme.palette()
        h = 22.0
        track = QRectF(1, (self.height() - h) / 2, 42, h)
        on = self.isChecked()
        if not self.isEnabled():
            col = theme.subtle_bg(pal, 0.2)
        elif on:
            col = QColor(self.on_color)
        else:
            col = theme.subtle_bg(pal, 0.28)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(col)
        p.drawRoundedRect(track, h / 2, h / 2)
        knob_x = track.right() - h + 2 if on else track.left() + 2
        p.setBrush(QColor("white"))
        p.drawEllipse(QRectF(knob_x, track.top() + 2, h - 4, h - 4))
        if self.hasFocus():
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 1.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(track.adjusted(-1, -1, 1, 1), h / 2 + 1, h / 2 + 1)
        if self.text():
            p.setPen(pal.color(QPalette.ColorRole.WindowText))
            p.drawText(QRectF(track.right() + 10, 0, self.width() - track.right() - 10,
                              self.height()), Qt.AlignmentFlag.AlignVCenter, self.text())
        p.end()


class ScenarioDelegate(QStyledItemDelegate):
    """A lesson: number bubble, title, one line of summary, and the last result."""

    def sizeHint(self, option: QStyleOptionViewItem, index: _IDX) -> QSize:
        fm = QFontMetrics(option.font)
        return QSize(120, fm.height() * 2 + 22)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _IDX) -> None:
        # the application palette: the view's own may have a transparent Base (stylesheet)
        pal = theme.palette()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(option.rect).adjusted(4, 2, -4, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        enabled = bool(option.state & QStyle.StateFlag.State_Enabled)
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(rect, 8, 8)
        elif hover:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.subtle_bg(pal, 0.08))
            painter.drawRoundedRect(rect, 8, 8)
        fg = pal.color(QPalette.ColorRole.HighlightedText) if selected else \
            pal.color(QPalette.ColorRole.Text)
        sub = theme.mix(fg, pal.color(QPalette.ColorRole.Highlight), 0.8) if selected else \
            theme.muted(pal)
        if not enabled:
            fg = sub
        font = QFont(option.font)
        bold = QFont(font)
        bold.setBold(True)
        small = QFont(font)
        small.setPointSizeF(max(7.0, font.pointSizeF() * 0.88))
        fm = QFontMetrics(bold)
        bubble = QRectF(rect.left() + 8, rect.top() + 9, 22, 22)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 60) if selected else theme.subtle_bg(pal, 0.12))
        painter.drawEllipse(bubble)
        painter.setPen(fg)
        painter.setFont(bold)
        painter.drawText(bubble, Qt.AlignmentFlag.AlignCenter, str(index.data(NumberRole)))
        result = index.data(ResultRole) or ""
        right = rect.right() - 8
        if result:
            col = QColor(RESULT_COLORS.get(result, "#8a8f98"))
            mark = {"passed": "✓", "failed": "✗", "running": "●", "stopped": "■"}.get(result, "")
            painter.setPen(QColor("white") if selected else col)
            painter.drawText(QRectF(right - 16, rect.top() + 6, 16, fm.height() + 4),
                             Qt.AlignmentFlag.AlignCenter, mark)
            right -= 20
        text_left = bubble.right() + 10
        painter.setPen(fg)
        title = fm.elidedText(index.data() or "", Qt.TextElideMode.ElideRight,
                              int(right - text_left))
        painter.drawText(QRectF(text_left, rect.top() + 6, right - text_left, fm.height() + 4),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)
        painter.setFont(small)
        painter.setPen(sub)
        sfm = QFontMetrics(small)
        summary = sfm.elidedText(index.data(SummaryRole) or "", Qt.TextElideMode.ElideRight,
                                 int(rect.right() - 8 - text_left))
        painter.drawText(QRectF(text_left, rect.top() + 8 + fm.height(),
                                rect.right() - 8 - text_left, sfm.height() + 4),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, summary)
        painter.restore()


class StepDelegate(QStyledItemDelegate):
    """A step: number (✓ when done), title, and its explanation; the current one lit up."""

    PAD = 10
    BUBBLE = 24

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.width = 300

    def set_width(self, width: int) -> None:
        self.width = width

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        bold = QFont(option.font)
        bold.setBold(True)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.92))
        return bold, small

    def _text_rect_width(self) -> int:
        return max(80, self.width - self.PAD * 3 - self.BUBBLE - 8)

    def sizeHint(self, option: QStyleOptionViewItem, index: _IDX) -> QSize:
        bold, small = self._fonts(option)
        w = self._text_rect_width()
        title_h = QFontMetrics(bold).boundingRect(QRect(0, 0, w, 10_000),
                                                  Qt.TextFlag.TextWordWrap,
                                                  breakable(index.data() or "")).height()
        text_h = QFontMetrics(small).boundingRect(QRect(0, 0, w, 10_000),
                                                  Qt.TextFlag.TextWordWrap,
                                                  breakable(index.data(TextRole) or "")).height()
        return QSize(self.width, title_h + text_h + self.PAD * 2 + 4)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _IDX) -> None:
        pal = theme.palette()   # not option.palette: the list's Base is transparent
        state = index.data(StepStateRole) or "pending"
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(option.rect).adjusted(2, 2, -2, -2)
        hl = pal.color(QPalette.ColorRole.Highlight)
        text_col = pal.color(QPalette.ColorRole.Text)
        muted = theme.muted(pal)
        if state == "current":
            fill = QColor(hl)
            fill.setAlphaF(0.13)
            painter.setPen(QPen(theme.mix(hl, pal.color(QPalette.ColorRole.Base), 0.55), 1))
            painter.setBrush(fill)
            painter.drawRoundedRect(rect, 8, 8)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(hl)
            painter.drawRoundedRect(QRectF(rect.left(), rect.top() + 6, 4,
                                           rect.height() - 12), 2, 2)
        bold, small = self._fonts(option)
        bubble = QRectF(rect.left() + self.PAD, rect.top() + self.PAD, self.BUBBLE,
                        self.BUBBLE)
        painter.setPen(Qt.PenStyle.NoPen)
        if state == "done":
            painter.setBrush(QColor(theme.STATE_COLORS["connected"]))
        elif state == "current":
            painter.setBrush(hl)
        else:
            painter.setBrush(theme.subtle_bg(pal, 0.12))
        painter.drawEllipse(bubble)
        painter.setFont(bold)
        painter.setPen(QColor("white") if state in ("done", "current") else muted)
        painter.drawText(bubble, Qt.AlignmentFlag.AlignCenter,
                         "✓" if state == "done" else str(index.data(NumberRole)))
        left = bubble.right() + 8
        w = self._text_rect_width()
        title_rect = QFontMetrics(bold).boundingRect(QRect(0, 0, w, 10_000),
                                                     Qt.TextFlag.TextWordWrap,
                                                     breakable(index.data() or ""))
        painter.setPen(text_col if state != "pending" else theme.mix(text_col, muted, 0.5))
        top = rect.top() + self.PAD + 2
        painter.drawText(QRectF(left, top, w, title_rect.height()),
                         Qt.TextFlag.TextWordWrap, breakable(index.data() or ""))
        painter.setFont(small)
        painter.setPen(text_col if state == "current" else muted)
        painter.drawText(QRectF(left, top + title_rect.height() + 2, w, rect.height()),
                         Qt.TextFlag.TextWordWrap, breakable(index.data(TextRole) or ""))
        painter.restore()


class StepList(QListView):
    """The step list: wraps its items to the viewport's width (no sideways scrolling)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.delegate = StepDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setUniformItemSizes(False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWordWrap(True)

        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def setModel(self, model: Any) -> None:
        super().setModel(model)
        model.modelReset.connect(self._fit)
        model.dataChanged.connect(self._fit)

    def _fit(self, *_args: Any) -> None:
        """As tall as all the steps: the column around it scrolls, not the list."""
        self.scheduleDelayedItemsLayout()
        self.setFixedHeight(self.sizeHint().height())

    def sizeHint(self) -> QSize:
        model = self.model()
        rows = model.rowCount() if model is not None else 0
        h = sum(self.sizeHintForRow(i) for i in range(rows))
        return QSize(self.delegate.width, h + 2 * self.frameWidth() + 4)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        width = self.viewport().width()
        if width > 0 and width != self.delegate.width:
            self.delegate.set_width(width)
            self._fit()


class ChecksPanel(QWidget):
    """The end-of-lesson checks, apart from the diagram: they run after its last step and
    are not something the class watches happen. One line per check, ✓ or ✗."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("checksPanel")
        self.model = CheckListModel(self)
        self.title = QLabel("CHECKS, AFTER THE LESSON")
        self.title.setObjectName("hint")
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)
        self.status = QLabel("")
        self.status.setObjectName("learnChecks")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.list = QListView()
        self.list.setObjectName("checkList")
        self.list.setModel(self.model)
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(False)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.title)
        lay.addWidget(self.status)
        lay.addWidget(self.list)
        self.model.modelReset.connect(self._fit)
        self.setVisible(False)

    def checking(self) -> None:
        self.model.set_checking()
        self.status.setText("The lesson is over; checking the result from the data…")
        self.setVisible(True)

    def show_result(self, lines: list[str], headline: str) -> None:
        """The findings of a finished run; a run that stopped before its checks says why."""
        self.model.set_lines(lines, "" if lines else headline)
        if lines:
            self.status.setText(f"{self.model.passed} of {len(lines)} held.")
        else:
            self.status.setText("The lesson stopped before its checks could run:")
        self.setVisible(bool(lines) or bool(headline))

    def clear(self) -> None:
        self.model.clear()
        self.status.setText("")
        self.setVisible(False)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """As tall as its lines: the column around it scrolls, not the list."""
        self.list.doItemsLayout()
        h = sum(self.list.sizeHintForRow(i) for i in range(self.model.rowCount()))
        self.list.setFixedHeight(h + 2 * self.list.frameWidth() + 4)
