"""A layout that lays its items out in a row and wraps them onto more rows when the row
is too narrow, like words in a paragraph.

For bars of several groups (the Learn tab's classroom bar: your connection, the outbox
counter, the server): one row on a wide window, two or three on a narrow one, where a
single row made the whole window more than 900 px wide. Its minimum width is its widest
item; its height for a width is what the wrapped rows need (``heightForWidth``).
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    """Items left to right, wrapped; each row as high as its highest item, items
    vertically centred in it."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 8,
                 row_spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._h = spacing
        self._v = row_spacing

    # -- QLayout's item list -----------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    # -- sizes -------------------------------------------------------------------------------
    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def sizeHint(self) -> QSize:
        """Everything on one row."""
        shown = self._shown()
        w = sum(i.sizeHint().width() for i in shown) + self._h * max(0, len(shown) - 1)
        h = max((i.sizeHint().height() for i in shown), default=0)
        return QSize(w, h).grownBy(self.contentsMargins())

    def minimumSize(self) -> QSize:
        """The widest item (one item a row at worst); as high as one row."""
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        return size.grownBy(self.contentsMargins())

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def _shown(self) -> list[QLayoutItem]:
        return [i for i in self._items if not i.isEmpty()]

    def _arrange(self, rect: QRect, apply: bool) -> int:
        """Place the items in rows within ``rect``; the height used."""
        m: QMargins = self.contentsMargins()
        area = rect.marginsRemoved(m)
        rows: list[list[tuple[QLayoutItem, QSize]]] = [[]]
        x = 0
        for item in self._shown():
            want = item.sizeHint().expandedTo(item.minimumSize())
            width = min(want.width(), area.width())
            if rows[-1] and x + width > area.width():
                rows.append([])
                x = 0
            rows[-1].append((item, QSize(width, want.height())))
            x += width + self._h
        y = area.y()
        for row in rows:
            if not row:
                continue
            height = max(size.height() for _i, size in row)
            if apply:
                left = area.x()
                spare = area.width() - sum(s.width() for _i, s in row) \
                    - self._h * (len(row) - 1)
                for n, (item, size) in enumerate(row):
                    # the last item of a row takes what is left when it can grow
                    grow = spare if n == len(row) - 1 and item.expandingDirections() \
                        & Qt.Orientation.Horizontal else 0
                    top = y + (height - size.height()) // 2
                    item.setGeometry(QRect(QPoint(left, top),
                                           QSize(size.width() + max(0, grow), size.height())))
                    left += size.width() + self._h
            y += height + self._v
        return y - self._v - area.y() + m.top() + m.bottom() if rows[0] else \
            m.top() + m.bottom()
