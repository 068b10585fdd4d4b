"""A one-line label that elides ("Connected to https://…") instead of widening its window.

A plain QLabel's minimum width is its whole text: one long status sentence (an error,
the Queues tab's live line) made the main window wider than an 800 px half screen. This
label asks for little, shows what fits with "…", and keeps the whole text in
``text()`` and, while cut, in its tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QStyle, QStyleOption, QWidget

#: the least width it asks for: a word or two before the ellipsis
MIN_WIDTH = 60


class ElidedLabel(QLabel):
    """Plain text on one line, elided at the right when it does not fit."""

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
        super().__init__(text, parent)
        self.mode = mode
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._own_tip = ""

    def setToolTip(self, tip: str) -> None:
        """A tooltip set from outside wins over the elided text's."""
        self._own_tip = tip
        super().setToolTip(tip)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), MIN_WIDTH), hint.height())

    def is_elided(self) -> bool:
        """Part of the text is cut off right now."""
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        fm = self.fontMetrics()
        shown = fm.elidedText(self.text(), self.mode, rect.width())
        if not self._own_tip:
            super().setToolTip(self.text() if shown != self.text() else "")
        p = QPainter(self)
        opt = QStyleOption()
        opt.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, opt, p, self)
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawText(rect, int(self.alignment()) | int(Qt.AlignmentFlag.AlignVCenter), shown)
        p.end()
