"""How the Events tab paints a packet cell: straight from the model's row.

Qt's default delegate asks the model for seven roles a cell (seven calls into Python)
and draws through the style sheet's per-item rules; the packet log, following the
bottom of a flood, repaints its whole viewport up to ten times a second, and that was
~30 ms a frame (README, B5). This delegate makes one Python call a cell: the cell's
text, colour and font come from the row the model already made, and it draws the
selection and alternate rows from the palette as the style does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ui.models.packets import COL_LATENCY, COL_SIZE

if TYPE_CHECKING:
    from ui.models.packets import PacketTableModel

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_SELECTED = QStyle.StateFlag.State_Selected
_ACTIVE = QStyle.StateFlag.State_Active
_ALTERNATE = QStyleOptionViewItem.ViewItemFeature.Alternate


class PacketDelegate(QStyledItemDelegate):
    """Paints the cells of a view on a PacketTableModel or a PacketFilterModel over it
    (``source`` gives the colours and fonts)."""

    def __init__(self, source: PacketTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        style = parent.style() if parent is not None else None
        # the text margin of Qt's own item delegate (QCommonStyle: focus margin + 1)
        self.margin = (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1
                       if style is not None else 3)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        model = index.model()
        row_of = getattr(model, "row_of", None)
        if row_of is None:  # not a packet model: as Qt would
            super().paint(painter, option, index)
            return
        row = row_of(index.row())
        col = index.column()
        rect = option.rect
        pal = option.palette
        state = option.state
        group = QPalette.ColorGroup.Active if state & _ACTIVE \
            else QPalette.ColorGroup.Inactive
        selected = bool(state & _SELECTED)
        if selected:
            painter.fillRect(rect, pal.brush(group, QPalette.ColorRole.Highlight))
        elif option.features & _ALTERNATE:
            painter.fillRect(rect, pal.brush(group, QPalette.ColorRole.AlternateBase))
        text = row.cells[col]
        if not text:
            return
        src = self.source
        color = None if selected else src.foreground(row, col)
        if color is None:
            color = pal.color(group, QPalette.ColorRole.HighlightedText if selected
                              else QPalette.ColorRole.Text)
        # no save()/restore(): every cell of the view sets the font and pen it draws with
        font = src.font_for(row, col)
        painter.setFont(font if font is not None else option.font)
        painter.setPen(color)
        m = self.margin
        r = rect.adjusted(m, 0, -m, 0)
        width = r.width()
        # a string fits when its length times the widest glyph does (most cells): only
        # the others are measured and elided
        fm = painter.fontMetrics()
        if len(text) * fm.maxWidth() > width and fm.horizontalAdvance(text) > width:
            text = fm.elidedText(text, Qt.TextElideMode.ElideRight, width)
        painter.drawText(r, _RIGHT if col in (COL_LATENCY, COL_SIZE) else _LEFT, text)
