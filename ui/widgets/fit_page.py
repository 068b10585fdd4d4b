"""A page for a QScrollArea that scrolls only when its minimum does not fit.

QScrollArea sizes a resizable page that has a height-for-width (wrapped labels, flow
layouts) to its *preferred* height for the width: a page whose diagram would like 420 px
scrolled in any window shorter than that, cutting off the controls under the diagram on
a 1280x720 projector although everything fitted at its minimum. This page answers its
minimum height for the width instead, so the area scrolls only when the page really
cannot shrink any further.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


class FitPage(QWidget):
    """The widget of a resizable scroll area: grows to fill it, scrolls below minimum."""

    def heightForWidth(self, width: int) -> int:
        lay = self.layout()
        if lay is None or not lay.hasHeightForWidth():
            return super().heightForWidth(width)
        margins = self.contentsMargins()
        return lay.minimumHeightForWidth(width) + margins.top() + margins.bottom()


def scrolled(page: FitPage) -> QScrollArea:
    """``page`` in a frameless scroll area of its width: it fills the area, and scrolls
    (only up and down) where the area is shorter than the page's minimum for its width."""
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area
