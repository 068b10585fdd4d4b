"""A table view that paints its visible rows in one pass, for the logs a flood repaints.

QTableView paints cell by cell through an item delegate: for each of the ~300 cells of
a full 1280 px viewport it builds a style option and calls the delegate, and from
Python every such call wraps the painter, the option and the index anew. A flood
repaints the Events tab and the Queues tab's message table up to ten times a second, and
a repaint was ~20 ms, most of it those calls (README, B5), more than a frame. Here the
view asks the model once per visible row for its texts, colours and fonts, and draws
them in a single Python loop: selection and alternate rows from the palette, the text
elided to its column, as the style would.

Models that do not offer `painted_row` (the queue list) are painted by Qt as usual.
Scrolling, selection, headers and keyboard handling stay QTableView's.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontInfo, QFontMetrics, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QStyle, QTableView, QWidget

from ui.models.painted import PaintedModel

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class TextFit:
    """Fits texts to a width in one font: most cells fit, which the widest glyph tells
    without measuring; in a fixed-pitch font an ASCII text is cut by counting, the way
    the Events tab's long JSON arguments are (measuring and eliding each through Qt was
    a third of a repaint)."""

    def __init__(self, font: QFont) -> None:
        self.metrics = QFontMetrics(font)
        self.widest = self.metrics.maxWidth()
        pitch = self.metrics.horizontalAdvance("x")
        fixed = QFontInfo(font).fixedPitch() and pitch == self.metrics.horizontalAdvance("W")
        self.pitch = pitch if fixed and pitch > 0 else 0
        self.ellipsis = "\u2026"
        self.ellipsis_fits = fixed and self.metrics.horizontalAdvance(self.ellipsis) == pitch

    def fitted(self, text: str, width: int, mode: Qt.TextElideMode) -> str:
        if len(text) * self.widest <= width:
            return text
        if self.pitch and self.ellipsis_fits and text.isascii() and \
                mode == Qt.TextElideMode.ElideRight:
            room = width // self.pitch
            return text if len(text) <= room else text[:max(0, room - 1)] + self.ellipsis
        if self.metrics.horizontalAdvance(text) <= width:
            return text
        return self.metrics.elidedText(text, mode, width)


class RowTable(QTableView):
    """A QTableView that paints rows itself when its model is a PaintedModel.

    Made for read-only logs: no grid, no spans, no editors, whole rows selected (what
    the Events and Queues tables are).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # a label too long for its column ends in "…" rather than being cut mid-word
        # (Qt's headers do not elide); its model gives it whole as the tooltip
        self.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideRight)
        self._painted: PaintedModel | None = None
        self._fits: dict[str, TextFit] = {}

    def setModel(self, model: QAbstractItemModel | None) -> None:
        super().setModel(model)
        self._painted = model if isinstance(model, PaintedModel) else None

    def text_margin(self) -> int:
        """The text's inset from the cell's edges, as Qt's item delegate has it."""
        return self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1

    def _fit_for(self, font: QFont) -> TextFit:
        key = font.key()
        fit = self._fits.get(key)
        if fit is None:
            if len(self._fits) > 16:  # fonts change with the zoom: keep only a few
                self._fits.clear()
            fit = self._fits[key] = TextFit(font)
        return fit

    def paintEvent(self, event: QPaintEvent) -> None:
        model = self._painted
        if model is None or self.model() is not model:
            super().paintEvent(event)
            return
        area = event.rect()
        rows = model.rowCount()  # type: ignore[attr-defined]
        first = self.rowAt(area.top())
        if rows == 0 or first < 0:
            return  # nothing but the viewport's background, which Qt has filled
        last = self.rowAt(area.bottom())
        if last < 0:
            last = rows - 1
        columns = self._columns(area)
        if not columns:
            return
        left = min(x for _, x, _ in columns)
        right = max(x + w for _, x, w in columns)
        vp = self.viewport()
        pal = vp.palette()
        group = (QPalette.ColorGroup.Active if self.isActiveWindow()
                 else QPalette.ColorGroup.Inactive)
        highlight = pal.brush(group, QPalette.ColorRole.Highlight)
        alternate = pal.brush(group, QPalette.ColorRole.AlternateBase)
        text_color = pal.color(group, QPalette.ColorRole.Text)
        selected_color = pal.color(group, QPalette.ColorRole.HighlightedText)
        view_font = self.font()
        alternating = self.alternatingRowColors()
        selection = self.selectionModel()
        margin = self.text_margin()
        right_aligned = model.right_aligned
        elide = self.textElideMode()
        fits: dict[int, TextFit] = {}  # by id(): the rows share a few font objects
        painter = QPainter(vp)
        pen_now: QColor | None = None
        font_now: QFont | None = None
        try:
            y = self.rowViewportPosition(first)
            for r in range(first, last + 1):
                h = self.rowHeight(r)
                selected = selection is not None and selection.isRowSelected(r)
                if selected:
                    painter.fillRect(QRect(left, y, right - left, h), highlight)
                elif alternating and r & 1:
                    painter.fillRect(QRect(left, y, right - left, h), alternate)
                row = model.painted_row(r)
                for col, x, w in columns:
                    text = row.cells[col]
                    if not text:
                        continue
                    font = row.fonts[col] or view_font
                    color = selected_color if selected else (row.colors[col] or text_color)
                    if font is not font_now:
                        painter.setFont(font)
                        font_now = font
                    if color is not pen_now:
                        painter.setPen(color)
                        pen_now = color
                    fit = fits.get(id(font))
                    if fit is None:
                        fit = fits[id(font)] = self._fit_for(font)
                    width = w - 2 * margin
                    painter.drawText(QRect(x + margin, y, width, h),
                                     _RIGHT if col in right_aligned else _LEFT,
                                     fit.fitted(text, width, elide))
                y += h
        finally:
            painter.end()

    def _columns(self, area: QRect) -> list[tuple[int, int, int]]:
        """(column, x, width) of the shown columns crossing ``area``, left to right."""
        header = self.horizontalHeader()
        out = []
        for visual in range(header.count()):
            col = header.logicalIndex(visual)
            if header.isSectionHidden(col):
                continue
            x = header.sectionViewportPosition(col)
            w = header.sectionSize(col)
            if w > 0 and x + w > area.left() and x <= area.right():
                out.append((col, x, w))
        return out
