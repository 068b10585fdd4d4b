"""Where ``sockdesk --clients N`` puts its N windows: tiled over the screen.

A teacher shows alice, bob and carol chatting side by side; windows cascaded 40 px
apart hid each other. The windows share the screen's free area in a grid (two side by
side, three or four in a grid, ...), each at least its minimum size. Where the screen is
too small for that (three windows at least ~720 px wide on a 1280x720 projector), the
grid is the one that leaves the most hidden window most visible: two windows a row at
their minimum size, the third centred under them, rather than three columns that each
show only a 280 px strip. A last row with fewer windows is centred.

The geometry is applied once every window is on screen (mapped and exposed): a window
manager places a window when it maps it, after ``show()`` returns, and would otherwise
put its own placement (a cascade) over the tiles; the frame (title bar) it adds is only
known then too.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Sequence

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

#: how long to wait for the window manager to map the windows before tiling anyway (s)
PLACED_WAIT_S = 3.0


def _union_area(rects: Sequence[QRect]) -> int:
    """The area the rectangles cover together (a sweep over their few edges)."""
    rects = [r for r in rects if r.width() > 0 and r.height() > 0]
    xs = sorted({x for r in rects for x in (r.x(), r.x() + r.width())})
    area = 0
    for left, right in itertools.pairwise(xs):
        spans = sorted((r.y(), r.y() + r.height()) for r in rects
                       if r.x() <= left and r.x() + r.width() >= right)
        covered, top, bottom = 0, None, None
        for a, b in spans:
            if bottom is None or a > bottom:
                if bottom is not None and top is not None:
                    covered += bottom - top
                top, bottom = a, b
            else:
                bottom = max(bottom, b)
        if bottom is not None and top is not None:
            covered += bottom - top
        area += covered * (right - left)
    return area


def visible_fractions(rects: Sequence[QRect]) -> list[float]:
    """How much of each window shows when each later one lies on top of the earlier."""
    out = []
    for i, r in enumerate(rects):
        above = [r.intersected(q) for q in rects[i + 1:]]
        out.append(1 - _union_area(above) / max(1, r.width() * r.height()))
    return out


def _layout(n: int, cols: int, screen: QRect, least: QSize) -> list[QRect]:
    """n windows in ``cols`` columns: each at least ``least`` (at most the screen), the
    columns and rows spread evenly; a last row with fewer windows is centred."""
    rows = math.ceil(n / cols)
    cw, ch = screen.width() // cols, screen.height() // rows
    w = min(max(cw, least.width()), screen.width())
    h = min(max(ch, least.height()), screen.height())
    rects = []
    for i in range(n):
        c, r = i % cols, i // cols
        k = min(cols, n - r * cols)           # windows in this row
        if k == cols and w <= cw:
            x = c * cw
        elif w * k <= screen.width():         # a short row: side by side, centred
            x = (screen.width() - w * k) // 2 + c * w
        else:                                 # wider than the cells: spread evenly
            x = c * (screen.width() - w) // (k - 1)
        y = r * ch if h <= ch else (r * (screen.height() - h) // (rows - 1) if rows > 1 else 0)
        rects.append(QRect(screen.x() + x, screen.y() + y, w, h))
    return rects


def tile_rects(n: int, screen: QRect, least: QSize) -> list[QRect]:
    """The frames of ``n`` windows on ``screen`` (its free area), left to right, top to
    bottom, each at least ``least`` (but never larger than the screen) and on screen.

    Of the grids (1 to n columns) the one whose least visible window shows the most of
    itself (later windows lying on the earlier); among those that overlap nothing, the
    roomiest."""
    if n <= 0:
        return []
    best: tuple[tuple[float, int], list[QRect]] | None = None
    for cols in range(1, n + 1):
        rects = _layout(n, cols, screen, least)
        seen = round(min(visible_fractions(rects)), 3)
        room = min(rects[0].width() * least.height(), rects[0].height() * least.width())
        score = (seen, room)
        if best is None or score > best[0]:
            best = (score, rects)
    assert best is not None
    return best[1]


def tile_windows(windows: Sequence[QWidget], screen: QRect | None = None) -> list[QRect]:
    """Put ``windows`` in the tiles of ``screen`` (default: the primary screen's free
    area): each window's frame (title bar included, where the window manager says how
    big it is) in its tile, raised in order (the tiles assume later windows on top).
    Returns the tiles."""
    if screen is None:
        primary = QGuiApplication.primaryScreen()
        if primary is None or not windows:
            return []
        screen = primary.availableGeometry()
    least = QSize()
    for w in windows:
        least = least.expandedTo(w.minimumSizeHint().expandedTo(w.minimumSize()))
    frame = QSize()
    for w in windows:  # what the frame adds, once a window manager has framed it
        extra = w.frameGeometry().size() - w.geometry().size()
        frame = frame.expandedTo(extra)
    tiles = tile_rects(len(windows), screen, least + frame)
    for w, tile in zip(windows, tiles, strict=True):
        w.resize(tile.size() - frame)
        w.move(tile.topLeft())
        w.raise_()
    return tiles


async def tile_when_placed(windows: Sequence[QWidget], screen: QRect | None = None,
                           wait_s: float = PLACED_WAIT_S) -> list[QRect]:
    """``tile_windows`` once every window is mapped and exposed (the window manager
    has placed and framed it), or after ``wait_s`` at most."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s

    def placed(w: QWidget) -> bool:
        handle = w.windowHandle()
        return w.isVisible() and handle is not None and handle.isExposed()

    while not all(placed(w) for w in windows) and loop.time() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0)   # the window manager's configure events for the map first
    return tile_windows(windows, screen)
