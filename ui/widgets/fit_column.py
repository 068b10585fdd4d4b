"""A column whose minimum height follows its width.

A layout with wrapped labels needs more height the narrower it is, and says so through
height-for-width. A QSplitter never asks: it gives each pane at least its
``minimumSizeHint()``, which a plain widget computes for no particular width. In an
800 px window the Learn tab's centre column (the pacing hint and the verdict wrap onto
several lines there) was given less height than its lines need, and the diagram's rows
were drawn over its scrubber. This column answers its minimum for the width it has, and
asks its parents to lay out again whenever that width changes, so the page above it
scrolls instead.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QWidget


class FitColumn(QWidget):
    """A pane for a splitter: its minimum height is its layout's for its current width."""

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        lay = self.layout()
        if lay is None or not lay.hasHeightForWidth() or self.width() <= 0:
            return hint
        return QSize(hint.width(), max(hint.height(), lay.totalMinimumHeightForWidth(self.width())))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()  # the minimum above changed with the width
