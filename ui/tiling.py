"""Where ``sockdesk --clients N`` puts its N windows: tiled over the screen.

A teacher shows alice, bob and carol chatting side by side; windows cascaded 40 px
apart hid each other. The windows share the screen's free area in a grid (two side by
side, three or four in a grid, ...), each at least its minimum size; where the screen is
too small for that, they overlap as little as the grid allows and stay on screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget


def _grid(n: int, area: QSize, least: QSize) -> tuple[int, int]:
    """(columns, rows) for n windows: a grid whose cells hold a window at its minimum
    size if one does (the roomiest such), else the one that falls shortest of it."""
    best: tuple[tuple[bool, float, int], tuple[int, int]] | None = None
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        cw, ch = area.width() // cols, area.height() // rows
        short = (max(0, least.width() - cw) / max(1, least.width())
                 + max(0, least.height() - ch) / max(1, least.height()))
        fits = short == 0
        # fitting grids: the largest cells; the others: the smallest shortfall
        score = (fits, -short, min(cw * least.height(), ch * least.width()))
        if best is None or score > best[0]:
            best = (score, (cols, rows))
    assert best is not None
    return best[1]


def tile_rects(n: int, screen: QRect, least: QSize) -> list[QRect]:
    """The frames of ``n`` windows on ``screen`` (its free area), left to right, top to
    bottom. Each is at least ``least`` (but never larger than the screen) and on
    screen; cells smaller than that make neighbours overlap evenly."""
    if n <= 0:
        return []
    cols, rows = _grid(n, screen.size(), least)
    cw, ch = screen.width() // cols, screen.height() // rows
    w = min(max(cw, least.width()), screen.width())
    h = min(max(ch, least.height()), screen.height())
    rects = []
    for i in range(n):
        c, r = i % cols, i // cols
        # a window wider than its cell: spread the windows evenly over the screen
        x = c * cw if w <= cw else (c * (screen.width() - w) // (cols - 1) if cols > 1 else 0)
        y = r * ch if h <= ch else (r * (screen.height() - h) // (rows - 1) if rows > 1 else 0)
        rects.append(QRect(screen.x() + x, screen.y() + y, w, h))
    return rects


def tile_windows(windows: Sequence[QWidget], screen: QRect | None = None) -> list[QRect]:
    """Put ``windows`` in the tiles of ``screen`` (default: the primary screen's free
    area): each window's frame (title bar included, where the window manager says how
    big it is) in its tile. Returns the tiles."""
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
    return tiles
