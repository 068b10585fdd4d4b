"""A splitter that puts its panes side by side when they fit, one above the other when
they do not.

The Learn tab shows a diagram and, beside it, the explanation and the steps: side by
side they need about 700 px, more than a window 800 px wide leaves next to the sidebar.
Rather than clip either pane or make the window that wide, the splitter stacks them
when it is narrower than both need side by side, and puts them back when it is wide
again. Its minimum width is the stacked one, so the window can always be made narrow.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter, QWidget

#: extra width needed before going back to side by side (no flapping at the edge)
HYSTERESIS = 24


class FlipSplitter(QSplitter):
    """Horizontal when ``width() >= side_by_side_width()``, vertical below it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)

    def _panes(self) -> list[QWidget]:
        return [w for w in (self.widget(i) for i in range(self.count()))
                if w is not None and not w.isHidden()]

    def side_by_side_width(self) -> int:
        """The least width with every pane beside the others."""
        panes = self._panes()
        handles = max(0, len(panes) - 1) * self.handleWidth()
        return sum(max(p.minimumSizeHint().width(), p.minimumWidth()) for p in panes) + handles

    def minimumSizeHint(self) -> QSize:
        """Stacked: as wide as the widest pane; as high as the arrangement shown needs
        (stacked panes add up, side by side the highest counts)."""
        panes = self._panes()
        if not panes:
            return super().minimumSizeHint()
        mins = [p.minimumSizeHint().expandedTo(p.minimumSize()) for p in panes]
        width = max(m.width() for m in mins)
        if self.orientation() == Qt.Orientation.Vertical:
            height = sum(m.height() for m in mins) + (len(panes) - 1) * self.handleWidth()
        else:
            height = max(m.height() for m in mins)
        return QSize(width, height)

    @property
    def stacked(self) -> bool:
        return self.orientation() == Qt.Orientation.Vertical

    def resizeEvent(self, event: QResizeEvent) -> None:
        need = self.side_by_side_width()
        width = event.size().width()
        if not self.stacked and width < need:
            self.setOrientation(Qt.Orientation.Vertical)
        elif self.stacked and width >= need + HYSTERESIS:
            self.setOrientation(Qt.Orientation.Horizontal)
        super().resizeEvent(event)
