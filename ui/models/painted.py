"""What a model offers a view that paints whole rows itself (ui/widgets/row_table.py):
each row's texts, colours and fonts in one call, instead of a `data()` call per cell and
role. The models of the logs a flood repaints (Events, the Queues tab's messages) offer it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

#: the roles a RowTable's model answers with a column's label: its header cuts a label
#: it has no room for with "…" (an 800 px window), and the tooltip gives it whole
HEADER_TEXT_ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)


class PaintedRow(NamedTuple):
    """One row as a RowTable draws it; ``colors`` and ``fonts`` hold one entry per
    column, None where the view's own colour or font applies."""

    cells: Sequence[str]
    colors: Sequence[QColor | None]
    fonts: Sequence[QFont | None]


@runtime_checkable
class PaintedModel(Protocol):
    """A table model a RowTable can paint without going through `data()`."""

    #: the columns whose text is right-aligned (numbers)
    right_aligned: frozenset[int]

    def painted_row(self, row: int) -> PaintedRow: ...
