"""Painting a lesson's own rows on the sequence diagram (ui.learn.diagram): the step on
show's key packets on a band, folds of setup packets, and the hint that newer rows wait
below a key packet held in view. Apart from the canvas so the diagram module stays about
lanes and arrows."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen

from ui import theme
from ui.learn.models import DiagramRow

#: the accent of the step on show's key packets
KEY_COLOR = "#e0a526"


def paint_key_bands(canvas: Any, p: QPainter, rows: list[DiagramRow], head: float,
                    row_h: float) -> None:
    """The step on show: its key packets on a tinted band, the first one (the step's
    key moment) with an accent bar at the left edge."""
    step = canvas.step_on_show()
    if step < 0:
        return
    accent = QColor(KEY_COLOR)
    band = QColor(accent)
    band.setAlphaF(0.13)
    first = canvas.anchor_row(step)
    start = canvas.position - len(rows) + 1
    for i, row in enumerate(rows):
        if row.step != step or not row.key:
            continue
        y = head + i * row_h
        p.fillRect(QRectF(0, y + 1, canvas.logical_width(), row_h - 2), band)
        if start + i == first:
            p.fillRect(QRectF(0, y + 1, 4, row_h - 2), accent)


def paint_fold(canvas: Any, p: QPainter, row: DiagramRow, y: float, small: QFont,
               left: float, row_h: float) -> None:
    """One row standing for a run of setup packets; a click opens or closes it."""
    pal = canvas.palette()
    fm = QFontMetrics(small)
    what = ", ".join(row.events[:4]) + ("…" if len(row.events) > 4 else "")
    text = (f"{'▾' if row.open else '▸'}  setup: {row.count} packets"
            + (f"  ({what})" if what else ""))
    text = fm.elidedText(text, Qt.TextElideMode.ElideRight,
                         int(canvas.logical_width() - left - 24))
    w = fm.horizontalAdvance(text) + 20
    rect = QRectF(left + 6, y + 4, w, row_h - 8)
    p.setPen(QPen(theme.mix(pal.color(QPalette.ColorRole.Text),
                            pal.color(QPalette.ColorRole.Base), 0.3), 1))
    p.setBrush(theme.subtle_bg(pal, 0.06))
    p.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
    p.setFont(small)
    p.setPen(pal.color(QPalette.ColorRole.Text))
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def paint_more_below(canvas: Any, p: QPainter, small: QFont) -> None:
    """A key packet is held in view: say how many newer rows wait below it."""
    more = canvas.hidden_below() if not canvas.paused else 0
    if not more:
        return
    pal = canvas.palette()
    fm = QFontMetrics(small)
    text = f"▾ {more} newer row{'s' if more != 1 else ''} below: scroll"
    w = fm.horizontalAdvance(text) + 16
    rect = QRectF(canvas.logical_width() - w - 8, canvas.logical_height() - fm.height() - 10, w,
                  fm.height() + 6)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(pal.color(QPalette.ColorRole.Highlight))
    p.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
    p.setFont(small)
    p.setPen(pal.color(QPalette.ColorRole.HighlightedText))
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
