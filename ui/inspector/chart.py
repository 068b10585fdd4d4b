"""Depth sparklines (a table delegate) and the depth/rate chart, drawn with QPainter.

No charting library: QtCharts needs PySide6-Addons (a 59 MB wheel, 161 MB installed) and
pyqtgraph needs numpy (2 + 17 MB wheels, about 83 MB installed, 1.1-1.5 s to import here).
A few hundred points per queue are a polyline, which QPainter draws in well under a
millisecond, so the chart costs nothing at start-up.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from app.inspector import Sample
from ui import theme

DEPTH_COLOR = "#5b5bd6"
RATE_COLOR = "#2fb36b"


def _scale_max(v: float) -> float:
    """A round upper bound for an axis: 1, 2, 5, 10, 20, 50, ..."""
    if v <= 0:
        return 1.0
    base = 1.0
    while base * 10 <= v:
        base *= 10
    while base > v * 10:
        base /= 10
    for m in (1, 2, 5, 10):
        if v <= base * m:
            return base * m
    return base * 10


def _short(v: float) -> str:
    if v >= 1_000_000:
        return f"{v / 1_000_000:g}M"
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def sparkline_points(values: Sequence[float], rect: QRectF, vmax: float | None = None
                     ) -> QPolygonF:
    """The points of ``values`` scaled into ``rect`` (oldest left), as one polygon.

    Built in Python and handed to Qt in a single call: besides being faster, every void
    Qt call from Python costs PySide6 6.12.0 on CPython 3.11 one reference to ``None``
    (a known refcount bug), so paint code keeps such calls per row to a handful.
    """
    if not values:
        return QPolygonF()
    top = vmax if vmax is not None else max(values)
    top = top if top > 0 else 1.0
    n = len(values)
    step = rect.width() / max(1, n - 1)
    left, bottom, height = rect.left(), rect.bottom(), rect.height()
    return QPolygonF([QPointF(left + (i * step if n > 1 else rect.width()),
                              bottom - (min(v, top) / top) * height)
                      for i, v in enumerate(values)])


def area_polygon(line: QPolygonF, bottom: float) -> QPolygonF:
    """``line`` closed down to ``bottom`` (the shaded area under it)."""
    if line.isEmpty():
        return QPolygonF()
    pts = [line.at(i) for i in range(line.size())]
    return QPolygonF([*pts, QPointF(pts[-1].x(), bottom), QPointF(pts[0].x(), bottom)])


class SparklineDelegate(QStyledItemDelegate):
    """Paints the list of depths in ``role`` as a small line with a light fill."""

    def __init__(self, role: int, parent: QWidget | None = None, points: int = 90) -> None:
        # paint() makes about ten Qt calls per row (see sparkline_points on why that
        # number matters); rows are repainted only when their samples change
        super().__init__(parent)
        self.role = role
        self.points = points

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        values = index.data(self.role) or []
        values = list(values)[-self.points:]
        rect = QRectF(opt.rect).adjusted(6, 5, -6, -5)
        if rect.width() < 8 or rect.height() < 4:
            return
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        color = opt.palette.color(QPalette.ColorRole.HighlightedText) if selected \
            else QColor(DEPTH_COLOR)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if len(values) < 2:
            pen = QPen(theme.muted(opt.palette))
            pen.setStyle(Qt.PenStyle.DotLine)
            painter.setPen(pen)
            y = rect.bottom() - 0.5
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            painter.restore()
            return
        # leave room on the left when the history is still short: time runs right to left
        width = rect.width() * min(1.0, (len(values) - 1) / max(1, self.points - 1))
        area = QRectF(rect.right() - width, rect.top(), width, rect.height())
        line = sparkline_points(values, area)
        shade = QColor(color)
        shade.setAlphaF(0.16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(shade)
        painter.drawPolygon(area_polygon(line, area.bottom()))
        painter.setPen(QPen(color, 1.4))
        painter.drawPolyline(line)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(120, option.fontMetrics.height() + 8)


class DepthChart(QWidget):
    """Depth (filled line, left axis) and rate (line, right axis) of one queue over time."""

    def __init__(self, parent: QWidget | None = None, window_s: float = 300.0) -> None:
        super().__init__(parent)
        self.window_s = window_s
        self.samples: list[Sample] = []
        self.title = ""
        self.rate_label = "rate"
        self._painted = 0.0
        self.setMinimumSize(220, 150)  # 800 px windows: the queue names come first
        self.setObjectName("depthChart")

    def set_samples(self, title: str, samples: list[Sample], rate_label: str = "rate") -> None:
        """New data; repainted at once if it changed, else at most every 5 s (the time
        axis moves, the picture hardly does)."""
        same = (title, rate_label) == (self.title, self.rate_label) and bool(samples) and \
            bool(self.samples) and [(s.depth, s.rate) for s in samples[-2:]] == \
            [(s.depth, s.rate) for s in self.samples[-2:]]
        self.title = title
        self.samples = samples
        self.rate_label = rate_label
        now = time.monotonic()
        if not same or now - self._painted >= 5.0:
            self._painted = now
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(360, 200)

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        muted = theme.muted(pal)
        grid = theme.subtle_bg(pal, 0.12)
        font = QFont(self.font())
        fm = self.fontMetrics()
        lh = fm.height()
        r = QRectF(self.rect()).adjusted(10, 8, -10, -8)

        # title and legend
        bold = QFont(font)
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(text)
        title = self.title or "Select a queue"
        shown = fm.elidedText(title, Qt.TextElideMode.ElideMiddle, int(r.width() * 0.55))
        p.drawText(QRectF(r.left(), r.top(), r.width(), lh),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shown)
        p.setFont(font)
        lx = r.right()
        for label, color in ((f"{self.rate_label} /s", RATE_COLOR), ("depth", DEPTH_COLOR)):
            w = fm.horizontalAdvance(label)
            lx -= w
            p.setPen(muted)
            p.drawText(QRectF(lx, r.top(), w, lh), Qt.AlignmentFlag.AlignVCenter, label)
            lx -= 16
            p.setPen(QPen(QColor(color), 2.5))
            p.drawLine(QPointF(lx, r.top() + lh / 2), QPointF(lx + 11, r.top() + lh / 2))
            lx -= 14

        now = time.time()
        samples = [s for s in self.samples if s.t >= now - self.window_s]
        # the time axis spans what there is to show: one minute at least, five at most
        span = max(60.0, min(self.window_s, now - samples[0].t if samples else 0.0))
        span = 60.0 * -(-span // 60.0)
        left_w = fm.horizontalAdvance("0000k") + 6
        right_w = fm.horizontalAdvance("000k") + 6
        plot = QRectF(r.left() + left_w, r.top() + lh + 8, r.width() - left_w - right_w,
                      r.height() - 2 * lh - 12)
        if plot.width() < 20 or plot.height() < 20:
            p.end()
            return
        dmax = _scale_max(max((s.depth for s in samples), default=0))
        rmax = _scale_max(max((s.rate for s in samples), default=0.0))

        # grid and axes labels
        p.setPen(QPen(grid, 1))
        ys = [plot.top() + plot.height() * i / 4 for i in range(5)]
        p.drawLines([QPointF(x, y) for y in ys for x in (plot.left(), plot.right())])
        p.setPen(muted)
        small = QFont(font)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        p.setFont(small)
        for i in range(5):
            y = plot.top() + plot.height() * i / 4
            frac = 1 - i / 4
            p.drawText(QRectF(r.left(), y - lh / 2, left_w - 6, lh),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       _short(dmax * frac))
            p.drawText(QRectF(plot.right() + 6, y - lh / 2, right_w, lh),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       _short(round(rmax * frac, 2)))
        minutes = int(span // 60)
        ticks = [(f"-{span:.0f} s" if minutes == 1 else f"-{minutes} min", 0.0)]
        if minutes == 1:
            ticks += [(f"-{s} s", 1 - s / 60) for s in (45, 30, 15)]
        else:
            ticks += [(f"-{m}", 1 - m / minutes) for m in range(minutes - 1, 0, -1)]
        ticks.append(("now", 1.0))
        for label, frac in ticks:
            x = plot.left() + plot.width() * frac
            p.drawText(QRectF(x - 30, plot.bottom() + 2, 60, lh),
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, label)
        p.setFont(font)

        if len(samples) < 2:
            p.setPen(muted)
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter,
                       "Collecting samples…" if self.title else "No queue selected")
            p.end()
            return

        def x_of(t: float) -> float:
            return plot.left() + plot.width() * (1 - (now - t) / span)

        xs = [x_of(smp.t) for smp in samples]
        depth = QPolygonF([QPointF(x, plot.bottom() - plot.height() * min(1.0, smp.depth / dmax))
                           for x, smp in zip(xs, samples, strict=True)])
        rate = QPolygonF([QPointF(x, plot.bottom() - plot.height() * min(1.0, smp.rate / rmax))
                          for x, smp in zip(xs, samples, strict=True)])
        shade = QColor(DEPTH_COLOR)
        shade.setAlphaF(0.18)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(shade)
        p.drawPolygon(area_polygon(depth, plot.bottom()))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(DEPTH_COLOR), 2))
        p.drawPolyline(depth)
        p.setPen(QPen(QColor(RATE_COLOR), 1.6))
        p.drawPolyline(rate)
        # current values
        last = samples[-1]
        p.setPen(text)
        p.drawText(QRectF(plot.left() + 6, plot.top() + 2, plot.width() - 12, lh),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   f"depth {last.depth:,}  ·  {last.rate:,.1f}/s")
        p.end()
