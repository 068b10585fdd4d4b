"""``--clients N`` windows tile the screen: side by side where they fit, and where the
minimum width does not fit (three windows on 1280x720) a grid that keeps every window
mostly in view, not columns that each show a strip."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, QSize

from ui.tiling import tile_rects, tile_when_placed, visible_fractions

pytestmark = pytest.mark.timeout(60)

SMALL, FULL_HD = QRect(0, 0, 1280, 720), QRect(0, 0, 1920, 1080)
#: a window at its minimum (715x486) with an openbox frame
LEAST = QSize(719, 516)


def overlap(a: QRect, b: QRect) -> int:
    r = a.intersected(b)
    return max(0, r.width()) * max(0, r.height())


def check_common(rects: list[QRect], screen: QRect, n: int) -> None:
    assert len(rects) == n
    for r in rects:
        assert screen.contains(r)
        assert r.width() >= LEAST.width() and r.height() >= LEAST.height()
    assert len({(r.x(), r.y()) for r in rects}) == n


def test_full_hd_two_three_four_windows_do_not_overlap():
    for n in (2, 3, 4):
        rects = tile_rects(n, FULL_HD, LEAST)
        check_common(rects, FULL_HD, n)
        assert all(overlap(p, q) == 0 for i, p in enumerate(rects) for q in rects[i + 1:])
    two = tile_rects(2, FULL_HD, LEAST)
    assert two[0].y() == two[1].y() and two[0].height() == 1080      # side by side
    three = tile_rects(3, FULL_HD, LEAST)
    assert three[0].y() == three[1].y() < three[2].y()               # two, then one
    assert three[2].center().x() == pytest.approx(960, abs=1)        # centred under them
    four = tile_rects(4, FULL_HD, LEAST)
    assert len({r.x() for r in four}) == 2 and len({r.y() for r in four}) == 2


def test_1280_by_720_windows_at_their_minimum_mostly_in_view():
    two = tile_rects(2, SMALL, LEAST)
    check_common(two, SMALL, 2)
    assert two[0].y() == two[1].y() and two[0].x() == 0 and two[1].right() == 1279

    three = tile_rects(3, SMALL, LEAST)
    check_common(three, SMALL, 3)
    assert all(r.size() == LEAST for r in three)                    # at their minimum
    assert three[0].y() == three[1].y() == 0 and three[2].bottom() == 719
    assert three[0].x() == 0 and three[1].right() == 1279
    assert three[2].center().x() == pytest.approx(640, abs=1)
    # three columns would leave the first two windows a 280 px strip (39 %) each
    assert min(visible_fractions(three)) > 0.5
    columns = [QRect(x, 0, LEAST.width(), 720) for x in (0, 280, 561)]
    assert min(visible_fractions(three)) > min(visible_fractions(columns))

    four = tile_rects(4, SMALL, LEAST)
    check_common(four, SMALL, 4)
    assert len({r.x() for r in four}) == 2 and len({r.y() for r in four}) == 2


def test_visible_fractions_count_what_lies_on_top():
    a, b, c = QRect(0, 0, 100, 100), QRect(50, 0, 100, 100), QRect(0, 50, 100, 100)
    assert visible_fractions([a, b]) == [0.5, 1.0]
    assert visible_fractions([a, b, c]) == [0.25, 0.75, 1.0]
    assert visible_fractions([a, QRect(200, 0, 10, 10)]) == [1.0, 1.0]


def test_the_tiles_are_applied_once_the_windows_are_shown(make_window, run, qtbot):
    windows = [make_window("http://127.0.0.1:9", name) for name in ("alice", "bob", "carol")]
    tiles = run(tile_when_placed(windows, SMALL))
    for w, tile in zip(windows, tiles, strict=True):
        qtbot.waitUntil(lambda w=w, tile=tile: w.frameGeometry() == tile)
        assert w.width() >= w.minimumSizeHint().width()
    assert len({w.pos().toTuple() for w in windows}) == 3
