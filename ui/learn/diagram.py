"""A live sequence diagram: one lifeline per client, one for the server, and an arrow per
packet (CONNECT, EVENT, ACK, DISCONNECT, CONNECT_ERROR) with the event name on it.

Packets come from the core's packet logs (``app.packets.Packet``): a packet a client sent
("out") is an arrow from its lane to the server, one it received ("in") an arrow back.
Only the last ``capacity`` items are kept. The view follows the newest packet until it is
paused; while paused, new packets are still recorded, and the slider (or a click, or the
mouse wheel) moves through the history.

The drawing follows the zoom (``ui.zoom``): lanes, arrows and captions are painted in
unzoomed units through a painter scaled by the zoom factor, so they grow together; in
presenter mode the captions are full size and full contrast and the arrows heavier.
Every colour that carries meaning is made readable (WCAG AA) on the canvas's background
in the theme in use (``diagram_colors``).

In a lesson each packet carries its step and role (``app.scenarios.pacing``): runs of
setup traffic fold into one row that opens with a click (``ui.learn.models.fold_rows``),
the step on show has its key packets highlighted, and its first key packet is kept in
view while the step plays, so a key moment never scrolls away behind setup traffic.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.scenarios.captions import packet_caption
from ui import theme
from ui.learn.lesson_rows import paint_fold, paint_key_bands, paint_more_below
from ui.learn.models import DiagramRow, fold_rows
from ui.text import escape_controls, format_time_precise, one_line, to_json
from ui.widgets.buttons import tool_button
from ui.zoom import view_state

SERVER = "server"
CAPACITY = 200
ROW = 26
HEAD = 54
TIME_COL = 58
#: the least height the canvas takes (unzoomed): the lane heads and three rows
MIN_CANVAS_HEIGHT = HEAD + 3 * ROW
KIND_COLORS = {"CONNECT": "#2fb36b", "CONNECT_ERROR": "#e5484d", "DISCONNECT": "#8a8f98",
               "ACK": "#8e6bd8", "EVENT": "#3e8ef7", "BINARY_EVENT": "#3e8ef7",
               "BINARY_ACK": "#8e6bd8"}
#: arrows that are not Socket.IO packets (app.scenarios.hops): Engine.IO and Redis
HOP_COLORS = {"HTTP": "#8a8f98", "OPEN": "#2fb36b", "CLOSE": "#8a8f98", "PING": "#d9822b",
              "PONG": "#d9822b", "MESSAGE": "#3e8ef7", "UPGRADE": "#8e6bd8",
              "NOOP": "#8a8f98", "REDIS": "#d6409f", "PUBSUB": "#e5484d",
              "RECOVERY": "#1f9d8b"}   # a message recovered with `since` (lesson 5)
NOTE_COLORS = {"offline": "#8a8f98", "online": "#2fb36b", "crash": "#e5484d",
               "info": "#e0a526"}
OUTBOX_BADGE = "#ef7d32"


def kind_color(kind: str, pal: QPalette) -> QColor:
    """The arrow (and legend) colour of a packet kind, readable on the canvas."""
    raw = KIND_COLORS.get(kind) or HOP_COLORS.get(kind, "#8a8f98")
    return theme.readable(raw, pal.color(QPalette.ColorRole.Base),
                          pal.color(QPalette.ColorRole.Window))


def note_color(kind: str, pal: QPalette) -> QColor:
    """The colour of a note on a lane (offline, online, crash, info), readable."""
    return theme.readable(NOTE_COLORS.get(kind, NOTE_COLORS["info"]),
                          pal.color(QPalette.ColorRole.Base))


def lane_color(lane: str, pal: QPalette) -> QColor:
    """A client lane's name colour: its user's colour, readable on the canvas."""
    return theme.readable(theme.author_color(lane, pal), pal.color(QPalette.ColorRole.Base))


def badge_color() -> QColor:
    """The outbox badge's fill, dark enough for its white text."""
    return theme.readable(OUTBOX_BADGE, "#ffffff")


def diagram_colors(pal: QPalette) -> dict[str, QColor]:
    """Every text or arrow colour the canvas paints on its background, by what it is:
    what the contrast test checks in light and dark."""
    out = {f"arrow {k}": kind_color(k, pal) for k in (*KIND_COLORS, *HOP_COLORS)}
    out.update({f"note {k}": note_color(k, pal) for k in NOTE_COLORS})
    out["caption"] = pal.color(QPalette.ColorRole.Text)
    out["namespace, time"] = theme.muted(pal)
    out.update({f"lane {n}": lane_color(n, pal) for n in ("alice", "bob", "carol", "you")})
    return out


@dataclass(slots=True)
class DiagramItem:
    """One row: a packet arrow (kind is the packet kind) or a note on a lane."""

    n: int
    lane: str
    ts: float
    kind: str                 # packet kind, or "NOTE"
    direction: str            # "out" (client → server), "in", or "" for notes
    namespace: str
    caption: str
    detail: str
    note_kind: str = ""
    peer: str = SERVER        # the lane at the other end of the arrow
    step: int = -1            # the lesson step it belongs to (-1: not in a lesson)
    role: str = ""            # "setup", "key" (a step's own), or "" outside a lesson


def item_from_packet(n: int, lane: str, pkt: Any,
                     shorten: Callable[[str], str] = lambda s: s, mark: Any = None
                     ) -> DiagramItem:
    args = list(getattr(pkt, "args", []) or [])
    payload = ([pkt.event] if getattr(pkt, "event", None) else []) + args
    detail = f"{pkt.kind}"
    if getattr(pkt, "ack_id", None) is not None:
        detail += f" #{pkt.ack_id}"
    if getattr(pkt, "latency_ms", None) is not None:
        detail += f" · {pkt.latency_ms:.0f} ms"
    if payload:
        detail += "  " + one_line(to_json(payload), 400)
    caption = packet_caption(pkt)
    if pkt.kind in ("ACK", "BINARY_ACK") and getattr(pkt, "latency_ms", None) is not None:
        caption += f"  ({pkt.latency_ms:.0f} ms)"
    step = int(getattr(mark, "step", -1)) if mark is not None else -1
    role = str(getattr(mark, "role", "")) if mark is not None else ""
    return DiagramItem(n, lane, float(pkt.ts), str(pkt.kind), str(pkt.direction),
                       shorten(str(pkt.namespace)), shorten(caption), shorten(detail),
                       peer=str(getattr(pkt, "peer", "") or SERVER),
                       step=step, role=role)


class SequenceCanvas(QWidget):
    """The painted diagram. `position` is the index of the last row shown."""

    position_changed = Signal(int)
    history_changed = Signal()
    paused_changed = Signal(bool)

    def __init__(self, capacity: int = CAPACITY, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sequenceCanvas")
        self.items: deque[DiagramItem] = deque(maxlen=capacity)
        self.capacity = capacity
        self.lanes: list[str] = []
        self.paused = False
        self.total = 0             # items ever added (numbers each item)
        self._pos_n = -1           # the item number the view ends at while paused
        self._pos_fold = False     # ... and whether that is its fold's row
        self.shorten: Callable[[str], str] = lambda s: s
        self.outbox: dict[str, int] = {}        # lane -> messages waiting in its outbox
        self.states: dict[str, str] = {}        # lane -> connection state
        self.fixed: list[str] = []              # a lesson's own column order (servers)
        self.servers: set[str] = {SERVER}       # lanes drawn as servers
        self.rows: list[DiagramRow] = []        # items as shown: setup runs folded
        self.opened: dict[int, bool] = {}       # fold id -> opened / closed by a click
        self.current_step = -1                  # the lesson's step (-1: none)
        self.shown_step = -1                    # the step looked at (Previous step)
        self.setMinimumSize(300, 150)  # the window must fit a 720 px projector
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)

    # -- data --------------------------------------------------------------------------------
    def reset(self, lanes: list[str], shorten: Callable[[str], str] | None = None,
              columns: list[str] | None = None, servers: list[str] | None = None) -> None:
        """Start over with `lanes`; a lesson that runs servers of its own gives its
        `columns` left to right and which of them are `servers`."""
        self.fixed = list(columns or [])
        self.servers = set(servers or []) if self.fixed else {SERVER}
        self.items.clear()
        self.outbox.clear()
        self.states.clear()
        self.rows = []
        self.opened.clear()
        self.current_step = self.shown_step = -1
        self.lanes = list(lanes)
        self.total = 0
        self._pos_n = -1
        self.shorten = shorten or (lambda s: s)
        self.history_changed.emit()
        self.position_changed.emit(self.position)
        self.update()

    def add_lane(self, lane: str) -> None:
        if lane not in self.lanes and lane not in self.servers:
            self.lanes.append(lane)
            self.update()

    def set_outbox(self, lane: str, depth: int) -> None:
        """The badge under a lane's name: how many messages wait in its outbox."""
        if self.outbox.get(lane, 0) != depth:
            self.outbox[lane] = depth
            self.update()

    def set_state(self, lane: str, state: str) -> None:
        """A lane that is not connected is drawn faded."""
        if self.states.get(lane) != state:
            self.states[lane] = state
            self.update()

    def add_packet(self, lane: str, pkt: Any, mark: Any = None) -> DiagramItem:
        """Draw a packet; `mark` (app.scenarios.pacing.PacketMark) gives its step and
        role in a lesson."""
        self.add_lane(lane)
        return self._append(item_from_packet(self.total, lane, pkt, self.shorten, mark))

    def add_note(self, lane: str, text: str, kind: str = "info",
                 ts: float | None = None) -> DiagramItem:
        if lane == SERVER and self.fixed and SERVER not in self.fixed:
            # "the server" of a lesson with servers of its own: the last one standing
            lane = [c for c in self.fixed if c in self.servers][-1]
        self.add_lane(lane)
        step = max(0, self.current_step) if self.current_step >= 0 else -1
        return self._append(DiagramItem(self.total, lane, ts or time.time(), "NOTE", "", "",
                                        text, f"{lane}: {text}", kind, step=step,
                                        role="key" if step >= 0 else ""))

    def _append(self, item: DiagramItem) -> DiagramItem:
        self.items.append(item)
        self.total += 1
        self._refold()
        self.history_changed.emit()
        if not self.paused:
            self.position_changed.emit(self.position)
            self.update()
        return item

    # -- position ----------------------------------------------------------------------------
    # -- rows: folds, the step on show ---------------------------------------------------
    def _refold(self) -> None:
        self.rows = fold_rows(self.items, self.step_on_show(), self.opened)

    def step_on_show(self) -> int:
        return self.shown_step if self.shown_step >= 0 else self.current_step

    def set_step(self, index: int) -> None:
        """The lesson's current step: its key packets are highlighted and kept in view."""
        if index != self.current_step:
            self.current_step = index
            self._refold()
            self.history_changed.emit()
            self.position_changed.emit(self.position)
            self.update()

    def show_step(self, index: int) -> None:
        """Look at step `index` again (-1: back to following the lesson): the view holds
        on its rows from its first key packet, highlighted."""
        self.shown_step = index
        self._refold()
        if index < 0:
            self.set_paused(False)
        else:
            last = max((i for i, r in enumerate(self.rows) if r.step == index), default=-1)
            if last >= 0:
                first = self.anchor_row(index)
                end = max(last if first < 0 else min(last, first + self.visible_rows() - 1), 0)
                self.set_position(end, force=True)
        self.history_changed.emit()
        self.update()

    def toggle_fold(self, fold_id: int) -> None:
        """Open or close a fold of setup packets."""
        row = next((r for r in self.rows if r.is_fold and r.fold == fold_id), None)
        if row is None:
            return
        self.opened[fold_id] = not row.open
        self._refold()
        self.history_changed.emit()
        self.position_changed.emit(self.position)
        self.update()

    def anchor_row(self, step: int) -> int:
        """Row index of a step's first key packet (else its first remark, else its first
        row); -1: none."""
        first = note = -1
        for i, r in enumerate(self.rows):
            if r.step != step:
                continue
            if r.key and r.item.kind != "NOTE":
                return i
            if r.key and note < 0:
                note = i
            if first < 0:
                first = i
        return note if note >= 0 else first

    def _row_of(self, n: int, fold: bool) -> int:
        """The row showing item number `n` (or the fold header, `fold`); a closed fold
        stands for the packets in it; the oldest row once `n` fell off the front."""
        best = 0
        for i, r in enumerate(self.rows):
            if r.n == n and r.is_fold == fold:
                return i
            if r.is_fold and not r.open and r.n <= n <= r.last_n:
                return i
            if r.n > n:
                break
            best = i
        return best

    def _hold(self, index: int) -> None:
        row = self.rows[index]
        self._pos_n, self._pos_fold = row.n, row.is_fold

    @property
    def position(self) -> int:
        """Index (into `rows`) of the newest row in view; -1 when empty."""
        if not self.rows:
            return -1
        if not self.paused or self._pos_n < 0:
            last = len(self.rows) - 1
            anchor = self.anchor_row(self.step_on_show()) if self.current_step >= 0 else -1
            if anchor >= 0 and last - anchor + 1 > self.visible_rows():
                return anchor + self.visible_rows() - 1   # keep the key packet in view
            return last
        return self._row_of(self._pos_n, self._pos_fold)

    def current_row(self) -> DiagramRow | None:
        pos = self.position
        return self.rows[pos] if pos >= 0 else None

    def current(self) -> DiagramItem | None:
        row = self.current_row()
        return row.item if row is not None else None

    def hidden_below(self) -> int:
        """Rows newer than the view (kept out by a key packet held in view)."""
        return max(0, len(self.rows) - 1 - self.position) if self.rows else 0

    def set_paused(self, paused: bool) -> None:
        if paused == self.paused:
            return
        if paused and self.rows:
            self._hold(self.position)
        self.paused = paused
        self.paused_changed.emit(paused)
        self.position_changed.emit(self.position)
        self.update()

    def set_position(self, index: int, force: bool = False) -> None:
        """Scrub to row `index` (pauses the live view unless it is the newest row)."""
        if not self.rows:
            return
        index = max(0, min(index, len(self.rows) - 1))
        if index == self.position and not self.paused and not force:
            return
        if not self.paused:
            self.paused = True
            self.paused_changed.emit(True)
        self._hold(index)
        self.position_changed.emit(self.position)
        self.update()

    def visible_rows(self) -> int:
        return max(1, int(self.logical_height() - HEAD - 8) // ROW)

    def visible_lines(self) -> list[DiagramRow]:
        """The rows in view, oldest first (folds included)."""
        pos = self.position
        if pos < 0:
            return []
        start = max(0, pos - self.visible_rows() + 1)
        return self.rows[start:pos + 1]

    def visible_items(self) -> list[DiagramItem]:
        """The packets and notes in view (not the fold rows)."""
        return [r.item for r in self.visible_lines() if r.item is not None]

    # -- geometry ----------------------------------------------------------------------------
    def columns(self) -> list[str]:
        """Lanes left to right: half the clients, the server, the other half (or the
        lesson's own order, then any lane it did not name)."""
        if self.fixed:
            return [*self.fixed, *(x for x in self.lanes if x not in self.fixed)]
        half = (len(self.lanes) + 1) // 2
        return [*self.lanes[:half], SERVER, *self.lanes[half:]]

    def head_width(self, lane: str) -> float:
        bold = self.paint_font()
        bold.setBold(True)
        server = lane in self.servers
        return QFontMetrics(bold).horizontalAdvance(lane) + (24 if server else 40)

    def lane_x(self) -> dict[str, float]:
        cols = self.columns()
        widest = max([self.head_width(c) for c in cols] + [90.0])
        left = TIME_COL + 8 + widest / 2
        right = self.logical_width() - 10 - widest / 2
        if len(cols) == 1:
            return {cols[0]: (left + right) / 2}
        if len(cols) == 2:  # two lanes look best not glued to the edges
            inset = (right - left) * 0.15
            left, right = left + inset, right - inset
        step = (right - left) / (len(cols) - 1)
        return {c: left + i * step for i, c in enumerate(cols)}

    def sizeHint(self) -> QSize:
        return QSize(640, 420)

    def minimumSizeHint(self) -> QSize:
        """Room for the lane heads and a few rows: below that the tab scrolls
        (``ui.widgets.fit_page``) instead of drawing rows over the controls under it."""
        return QSize(200, round(MIN_CANVAS_HEIGHT * self.scale()))

    # -- zoom ----------------------------------------------------------------------------------
    @staticmethod
    def scale() -> float:
        """The zoom factor the painting is scaled by."""
        return view_state().factor

    def logical_width(self) -> float:
        """The width in painting units (unzoomed)."""
        return self.width() / self.scale()

    def logical_height(self) -> float:
        return self.height() / self.scale()

    def paint_font(self) -> QFont:
        """The widget's font as it was before the zoom: the painter scales it back up
        with the lanes and arrows."""
        font = QFont(self.font())
        z = self.scale()
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() / z)
        elif font.pixelSize() > 0:
            font.setPixelSize(max(1, round(font.pixelSize() / z)))
        return font

    @staticmethod
    def caption_factor() -> float:
        """Captions are a little smaller than the text, except for a projector."""
        return 1.0 if view_state().presenting else 0.86

    # -- input -------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        rows = self.visible_lines()
        y = event.position().y() / self.scale()
        if not rows or y < HEAD:
            return
        i = int((y - HEAD) // ROW)
        if 0 <= i < len(rows):
            if rows[i].is_fold:
                self.toggle_fold(rows[i].fold)
                return
            self.set_position(self.position - (len(rows) - 1 - i))

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() // 40
        if steps and self.rows:
            self.set_position(self.position - steps)
        event.accept()

    # -- painting ----------------------------------------------------------------------------
    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        p.scale(self.scale(), self.scale())  # below: unzoomed units (see paint_font)
        width, height = self.logical_width(), self.logical_height()
        xs = self.lane_x()
        base = self.paint_font()
        small = QFont(base)
        small.setPointSizeF(max(7.0, base.pointSizeF() * self.caption_factor()))
        muted = theme.muted(pal)
        text_col = pal.color(QPalette.ColorRole.Text)
        rows = self.visible_lines()
        bottom: float = HEAD + max(len(rows), 1) * ROW + 6
        bottom = max(bottom, height - 4)
        # lifelines
        for lane, x in xs.items():
            server = lane in self.servers
            pen = QPen(theme.mix(text_col, pal.color(QPalette.ColorRole.Base),
                                 0.35 if server else 0.18), 2 if server else 1)
            pen.setStyle(Qt.PenStyle.SolidLine if server else Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(QPointF(x, HEAD - 6), QPointF(x, bottom))
        # the selected row while scrubbing
        if self.paused and rows:
            band = QColor(pal.color(QPalette.ColorRole.Highlight))
            band.setAlphaF(0.14)
            y = HEAD + (len(rows) - 1) * ROW
            p.fillRect(QRectF(0, y, width, ROW), band)
        paint_key_bands(self, p, rows, HEAD, ROW)
        for i, row in enumerate(rows):
            if row.item is None:
                paint_fold(self, p, row, HEAD + i * ROW, small, TIME_COL, ROW)
            else:
                self._paint_row(p, row.item, HEAD + i * ROW, xs, small, muted)
        paint_more_below(self, p, small)
        self._paint_heads(p, xs, base, small)
        if not rows:
            p.setFont(base)
            p.setPen(muted)
            p.drawText(QRectF(0, HEAD, width, height - HEAD),
                       Qt.AlignmentFlag.AlignCenter,
                       "No packets yet.\nRun a lesson, or go offline and back online.")
        p.end()

    def _paint_heads(self, p: QPainter, xs: dict[str, float], base: QFont,
                     small: QFont) -> None:
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Base)
        p.fillRect(QRectF(0, 0, self.logical_width(), HEAD - 8), bg)
        bold = QFont(base)
        bold.setBold(True)
        for lane, x in xs.items():
            server = lane in self.servers
            label = lane
            w = self.head_width(lane)
            rect = QRectF(x - w / 2, 8, w, 30)
            if server:
                if self.states.get(lane) == "crash":  # a lesson killed this process
                    bg_box = theme.mix(QColor(NOTE_COLORS["crash"]), bg, 0.55)
                else:
                    bg_box = theme.mix(pal.color(QPalette.ColorRole.Text), bg, 0.82)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(bg_box)
                p.drawRoundedRect(rect, 8, 8)
                p.setPen(bg)
                p.setFont(bold)
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)
                continue
            col = lane_color(lane, pal)
            away = self.states.get(lane, "connected") != "connected"
            if away:  # offline, crashed, reconnecting: a faded, dashed head
                col = theme.mix(col, bg, 0.45)
            pen = QPen(theme.mix(col, bg, 0.45), 1)
            if away:
                pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.setBrush(theme.mix(col, bg, 0.10))
            p.drawRoundedRect(rect, 15, 15)
            depth = self.outbox.get(lane, 0)
            if depth:
                badge = f"{depth} in outbox"
                sfm = QFontMetrics(small)
                bw = sfm.horizontalAdvance(badge) + 12
                brect = QRectF(x - bw / 2, rect.bottom() - 3, bw, sfm.height() + 2)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(badge_color())
                p.drawRoundedRect(brect, brect.height() / 2, brect.height() / 2)
                p.setPen(QColor("white"))
                p.setFont(small)
                p.drawText(brect, Qt.AlignmentFlag.AlignCenter, badge)
            dot = QRectF(rect.left() + 6, rect.center().y() - 9, 18, 18)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(col)
            p.drawEllipse(dot)
            p.setPen(QColor("white"))
            p.setFont(small)
            p.drawText(dot, Qt.AlignmentFlag.AlignCenter, lane[:1].upper())
            p.setPen(col)
            p.setFont(bold)
            p.drawText(rect.adjusted(29, 0, -4, 0),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)

    def _paint_row(self, p: QPainter, item: DiagramItem, y: float, xs: dict[str, float],
                   small: QFont, muted: QColor) -> None:
        pal = self.palette()
        first = self.items[0].ts if self.items else item.ts
        p.setFont(small)
        p.setPen(muted)
        p.drawText(QRectF(4, y, TIME_COL - 8, ROW),
                   Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                   f"+{item.ts - first:.2f}s")
        lane_x = xs.get(item.lane)
        server_x = xs.get(item.peer, xs.get(SERVER))
        if lane_x is None or server_x is None:
            return
        mid = y + ROW / 2
        if item.kind == "NOTE":
            col = note_color(item.note_kind, pal)
            fm = QFontMetrics(small)
            text = ("✕ " if item.note_kind == "crash" else "") + item.caption
            w = fm.horizontalAdvance(text) + 16
            rect = QRectF(lane_x - w / 2, mid - 9, w, 18)
            p.setPen(QPen(col, 1))
            fill = QColor(col)
            fill.setAlphaF(0.16)
            p.setBrush(fill)
            p.drawRoundedRect(rect, 9, 9)
            p.setPen(col if item.note_kind != "info" else pal.color(QPalette.ColorRole.Text))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
            return
        col = kind_color(item.kind, pal)
        start, end = (lane_x, server_x) if item.direction == "out" else (server_x, lane_x)
        line_y = mid + 5
        presenting = view_state().presenting
        pen = QPen(col, 2.4 if presenting else 1.6)
        if item.kind in ("ACK", "BINARY_ACK"):
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        sign = 1 if end > start else -1
        p.drawLine(QPointF(start, line_y), QPointF(end - sign * 7, line_y))
        head = QPolygonF([QPointF(end, line_y), QPointF(end - sign * 8, line_y - 4.5),
                          QPointF(end - sign * 8, line_y + 4.5)])
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(col)
        p.drawPolygon(head)
        p.drawEllipse(QPointF(start, line_y), 2.5, 2.5)
        # caption: namespace (muted) then the packet's words, above the arrow; it may run
        # past a short arrow (on a backing plate over the lifelines) but not off the canvas
        fm = QFontMetrics(small)
        span = abs(end - start) - 12
        ns = item.namespace if item.namespace not in ("", "/") else \
            ("" if item.kind in HOP_COLORS else "/")
        ns_w = fm.horizontalAdvance(ns) + 6 if ns else 0
        width = self.logical_width()
        room = max(span, min(span + 120, width - TIME_COL - 16))
        words = fm.elidedText(item.caption, Qt.TextElideMode.ElideRight,
                              max(10, int(room - ns_w)))
        total = ns_w + fm.horizontalAdvance(words)
        x0 = (start + end) / 2 - total / 2
        x0 = max(TIME_COL + 4, min(x0, width - 6 - total))
        text_h = fm.height()
        text_rect = QRectF(x0, line_y - 3 - text_h, total, text_h)
        if total > span:
            plate = QColor(pal.color(QPalette.ColorRole.Base))
            plate.setAlphaF(0.88)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(plate)
            p.drawRoundedRect(text_rect.adjusted(-3, 0, 3, 0), 3, 3)
        # presenter mode: the namespace at full contrast too
        p.setPen(pal.color(QPalette.ColorRole.Text) if presenting else muted)
        p.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, ns)
        strong = QColor(col) if item.kind in ("CONNECT_ERROR",) else \
            pal.color(QPalette.ColorRole.Text)
        p.setPen(strong)
        p.drawText(text_rect.adjusted(ns_w, 0, 0, 0),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, words)


class SequenceDiagram(QFrame):
    """The canvas with its controls: pause / live, a slider over the history, details."""

    def __init__(self, capacity: int = CAPACITY, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.canvas = SequenceCanvas(capacity)
        title = QLabel("Sequence diagram")
        title.setObjectName("sectionTitle")
        self.legend = QLabel()
        self.legend.setObjectName("hint")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setText(self._legend_html())
        self.legend.setWordWrap(True)  # wraps in a narrow window rather than widening it
        # icon, text and tip follow the state (_paused)
        self.pause_button = tool_button("Freeze the diagram; then scrub with the slider",
                                        icon="pause", text="Pause", checkable=True,
                                        name="pauseButton")
        self.pause_button.toggled.connect(self.canvas.set_paused)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("historySlider")
        self.slider.setRange(0, 0)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self._slider_moved)
        self.position_label = QLabel("")
        self.position_label.setObjectName("hint")
        self.position_label.setMinimumWidth(120)
        self.position_label.setToolTip("The selected row of the diagram, and whether the "
                                       "diagram follows new packets (live) or not")
        self.detail = QLabel("")
        self.detail.setObjectName("hint")
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setMinimumWidth(100)
        self.detail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        head = QHBoxLayout()
        head.setContentsMargins(12, 8, 8, 0)
        head.addWidget(title)
        head.addSpacing(12)
        head.addWidget(self.legend, 1)
        head.addWidget(self.pause_button)
        foot = QHBoxLayout()
        foot.setContentsMargins(12, 0, 12, 0)
        foot.addWidget(self.slider, 1)
        foot.addWidget(self.position_label)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(1, 1, 1, 8)
        lay.setSpacing(6)
        lay.addLayout(head)
        lay.addWidget(self.canvas, 1)
        lay.addLayout(foot)
        detail_row = QHBoxLayout()
        detail_row.setContentsMargins(12, 0, 12, 0)
        detail_row.addWidget(self.detail, 1)
        lay.addLayout(detail_row)

        self.canvas.history_changed.connect(self._sync)
        self.canvas.position_changed.connect(self._sync)
        self.canvas.paused_changed.connect(self._paused)
        self._lesson_mode = False
        self._paused(False)
        self._sync()

    def _legend_html(self) -> str:
        parts = []
        pal = self.palette()
        for name, kind in (("connect", "CONNECT"), ("event", "EVENT"), ("ack", "ACK"),
                           ("disconnect", "DISCONNECT"), ("refused", "CONNECT_ERROR")):
            color = kind_color(kind, pal).name()
            parts.append(f'<span style="color:{color}">&#9632;</span>&nbsp;{name}')
        return "&nbsp;&nbsp; ".join(parts)

    def changeEvent(self, event: QEvent) -> None:
        """A theme switch: the legend's colours follow the canvas's."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.legend.setText(self._legend_html())

    # -- pass-throughs -------------------------------------------------------------------------
    def reset(self, lanes: list[str], shorten: Callable[[str], str] | None = None,
              columns: list[str] | None = None, servers: list[str] | None = None) -> None:
        self.pause_button.setChecked(False)
        self.canvas.reset(lanes, shorten, columns, servers)

    def add_packet(self, lane: str, pkt: Any, mark: Any = None) -> None:
        self.canvas.add_packet(lane, pkt, mark)

    def set_lesson_mode(self, on: bool) -> None:
        """In a lesson the tab's Pause holds the lesson itself; this button then only
        appears as "Live" once the view was scrolled back, to follow again."""
        self._lesson_mode = on
        self._paused(self.canvas.paused)

    def add_note(self, lane: str, text: str, kind: str = "info") -> None:
        self.canvas.add_note(lane, text, kind)

    @property
    def paused(self) -> bool:
        return self.canvas.paused

    # -- sync ----------------------------------------------------------------------------------
    def _paused(self, paused: bool) -> None:
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.blockSignals(False)
        self.pause_button.setText("Live" if paused else "Pause")
        self.pause_button.setIcon(theme.icon("play" if paused else "pause"))
        self.pause_button.setToolTip("Follow new packets again" if paused else
                                     "Freeze the diagram; then scrub with the slider")
        self.pause_button.setVisible(paused or not self._lesson_mode)
        self._sync()

    def _slider_moved(self, value: int) -> None:
        if value != self.canvas.position:
            self.canvas.set_position(value)

    def _sync(self) -> None:
        n = len(self.canvas.rows)
        pos = self.canvas.position
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, n - 1))
        self.slider.setValue(max(0, pos))
        self.slider.blockSignals(False)
        self.slider.setEnabled(n > 1)
        row = self.canvas.current_row()
        if row is None:
            self.position_label.setText("")
            self.detail.setText("")
            return
        state = "paused" if self.canvas.paused else "live"
        # "Row": a bare "15 of 15" read as a second step counter beside "Step 6 of 6"
        self.position_label.setText(f"Row {pos + 1} of {n} · {state}")
        item = row.item
        if item is None:
            self.detail.setText(f"{row.count} setup packets ({', '.join(row.events)}): "
                                f"click the row to {'close' if row.open else 'open'} it")
            return
        who = (f"{item.lane} → {item.peer}" if item.direction == "out" else
               f"{item.peer} → {item.lane}") if item.kind != "NOTE" else item.lane
        where = f"  {item.namespace}" if item.namespace else ""
        self.detail.setText(escape_controls(
            f"{format_time_precise(item.ts)}  {who}{where}  "
            f"{item.detail if item.kind != 'NOTE' else item.caption}"))
