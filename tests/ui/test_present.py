"""Presenter mode, zoom, the theme switch and contrast: SockDesk on a classroom projector
(1280x720, read from the back of the room)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QKeySequence, QPalette
from PySide6.QtTest import QTest

from tests.support import REPO
from tests.ui.test_app import NO_KEYRING
from tests.ui.test_desktop import open_every_tab
from ui import theme
from ui.learn.diagram import KIND_COLORS, diagram_colors
from ui.settings import Settings
from ui.view_menu import switch_theme
from ui.zoom import STEPS, ViewState, nearest_step, view_state

#: what a 1280x720 projector leaves a window: the desktop's panel takes about 40 px
PROJECTOR = (1280, 720 - 40)


@pytest.fixture(autouse=True)
def plain_view(qapp) -> Iterator[None]:
    """Every test starts and ends at 100 %, out of presenter mode, in the system theme
    (the QApplication is shared by the whole session)."""
    yield
    state = view_state()
    state.presenting = False
    state.set_zoom(100, remember=False)
    theme.set_theme(qapp, "system")


def assert_fits(w, qtbot, width: int, height: int) -> None:
    """The window can be ``width`` x ``height``, and at that size the Learn tab, the
    tallest page, is shown whole: its page does not scroll."""
    hint = w.minimumSizeHint()
    assert hint.width() <= width and hint.height() <= height, (hint, width, height)
    w.resize(width, height)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == (width, height))
    w.tabs.setCurrentWidget(w.learn)
    bar = w.learn.page_scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: w.learn.page_scroll.viewport().height() > 0)
    qtbot.waitUntil(lambda: bar.maximum() == 0, timeout=2000)


# -- contrast --------------------------------------------------------------------------------

def test_contrast_ratio_is_the_wcag_one():
    assert theme.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert theme.contrast_ratio("#777777", "#777777") == pytest.approx(1.0)
    assert theme.contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    # a colour below the bar is moved just past it, keeping its hue
    blue = QColor(KIND_COLORS["EVENT"])
    assert theme.contrast_ratio(blue, "#ffffff") < 4.5     # the raw arrow colour fails
    fixed = theme.readable(blue, "#ffffff")
    assert 4.5 <= theme.contrast_ratio(fixed, "#ffffff") < 4.8
    assert abs(fixed.hueF() - blue.hueF()) < 0.02
    assert theme.readable("#000000", "#ffffff") == QColor("#000000")  # already fine


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_muted_text_captions_and_arrows_are_readable(qapp, mode):
    """Muted text on the window and on text fields, and every caption, time, lane name,
    note and arrow of the diagram on its canvas: at least 4.5:1, in light and dark."""
    pal = theme.theme_palette(qapp, mode)
    assert theme.is_dark(pal) == (mode == "dark")
    window = pal.color(QPalette.ColorRole.Window)
    base = pal.color(QPalette.ColorRole.Base)
    for bg in (window, base):
        assert theme.contrast_ratio(theme.muted(pal), bg) >= 4.5
        assert theme.contrast_ratio(theme.error_text(pal), bg) >= 4.5
    colours = diagram_colors(pal)
    assert {"arrow EVENT", "arrow ACK", "note crash", "caption", "lane alice"} <= set(colours)
    for what, colour in colours.items():
        ratio = theme.contrast_ratio(colour, base)
        assert ratio >= 4.5, f"{mode}: {what} {colour.name()} on {base.name()}: {ratio:.2f}"
    # the stylesheet uses the same muted colour for hints
    assert theme.muted(pal).name() in theme.stylesheet(pal)


# -- presenter mode fits the projector ---------------------------------------------------------

def test_every_tab_fits_1280_by_720_in_presenter_mode(make_window, qtbot):
    w = make_window("http://127.0.0.1:9", "short")
    open_every_tab(w)
    assert_fits(w, qtbot, *PROJECTOR)                       # at the desk, 100 %
    assert w.sidebar_visible
    w.view_menu.present_action.trigger()             # View → Presenter mode (F5)
    assert view_state().presenting and view_state().percent == 125
    assert not w.sidebar_visible                      # the side panels fold away
    assert w.learn.splitter.widget(0).isHidden()      # the lesson list too
    assert w.learn.classroom.state_label.isHidden()   # the bar is one row
    for i in range(w.tabs.count()):                   # every tab, laid out once more
        w.tabs.setCurrentIndex(i)
    assert_fits(w, qtbot, *PROJECTOR)
    w.view_menu.present_action.trigger()             # and back, as it was
    assert not view_state().presenting and view_state().percent == 100
    assert w.sidebar_visible and not w.learn.splitter.widget(0).isHidden()


def test_leaving_presenter_mode_in_a_narrow_window_keeps_the_sidebar_folded(make_window,
                                                                            qtbot):
    """Presenter mode on in a wide window, the window made narrow, presenter mode off:
    the sidebar stays folded as in any narrow window (it came back and squeezed the
    Learn tab), and returns once the window is wide again."""
    w = make_window("http://127.0.0.1:9", "short")
    w.resize(*PROJECTOR)
    qtbot.waitUntil(lambda: w.width() == PROJECTOR[0])
    assert w.sidebar_visible
    w.view_menu.present_action.trigger()
    assert not w.sidebar_visible
    w.resize(800, 600)
    qtbot.waitUntil(lambda: w.width() == 800)
    w.view_menu.present_action.trigger()             # leave presenter mode
    assert not view_state().presenting
    assert not w.sidebar_visible
    w.resize(*PROJECTOR)
    qtbot.waitUntil(lambda: w.sidebar_visible)


def test_zoomed_in_on_a_projector_the_bar_keeps_its_badge_and_light(make_window, qtbot):
    """Presenter mode and two steps of zoom at 1280 px: the bar's labels had pushed the
    outbox badge and the connection light into its overflow menu. Its actions now show
    their icons alone once the zoomed bar would not fit."""
    w = make_window("http://127.0.0.1:9", "short")
    w.resize(*PROJECTOR)
    qtbot.waitUntil(lambda: w.width() == PROJECTOR[0])
    assert not w.bar.compact
    w.view_menu.present_action.trigger()
    view_state().zoom_in()
    view_state().zoom_in()
    assert view_state().percent >= 150
    qtbot.waitUntil(lambda: w.bar.compact and w.bar.badge.isVisible()
                    and w.bar.light.isVisible())
    assert w.bar.light.mapTo(w, w.bar.light.rect().topRight()).x() <= w.width()


def test_in_presenter_mode_another_lesson_is_one_menu_away(make_window, qtbot):
    """The lesson list folds away in presenter mode, and with it the only way to choose
    another lesson: the Lessons button beside the summary offers them all."""
    w = make_window("http://127.0.0.1:9", "short")
    learn = w.learn
    w.tabs.setCurrentWidget(learn)
    assert not learn.lessons_button.isVisibleTo(learn)
    w.view_menu.present_action.trigger()
    assert learn.lessons_button.isVisibleTo(learn)
    learn.lessons_menu.aboutToShow.emit()
    learn.lessons_menu.aboutToShow.emit()                 # opened again: listed once
    actions = learn.lessons_menu.actions()
    assert len(actions) == learn.lessons.rowCount() >= 8
    assert [a.isChecked() for a in actions].count(True) == 1 and actions[0].isChecked()
    actions[3].trigger()
    assert learn.title.text() == actions[3].text()
    w.view_menu.present_action.trigger()
    assert not learn.lessons_button.isVisibleTo(learn)


@pytest.mark.parametrize("size", [PROJECTOR, (800, 657)], ids=["1280x720", "800px"])
def test_the_diagram_keeps_its_rows_clear_of_its_controls(make_window, qtbot, size):
    """At the desk (sidebar and lesson list shown) on a projector, and in a window
    800 px wide where the lesson's lines wrap, with the longest lesson title: the canvas
    keeps room for its rows, above the scrubber, never under it (it was squeezed to a row
    or two drawn over the scrubber and the status line); the tab scrolls instead."""
    from ui.learn.diagram import MIN_CANVAS_HEIGHT

    w = make_window("http://127.0.0.1:9", "short")
    w.resize(*size)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == size)
    learn = w.learn
    w.tabs.setCurrentWidget(learn)
    learn.select("engineio")
    assert learn.title.text() == "8. What Socket.IO adds: the Engine.IO session"
    d = learn.diagram

    def laid_out_clear() -> bool:
        """Top to bottom, nothing drawn over the next: the pacing hint, the verdict (the
        wrapped lines above the diagram), and in the diagram its canvas, with room for
        its rows, the scrubber and the status line."""
        canvas, slider = d.canvas.geometry(), d.slider.geometry()
        return (learn.pacing.geometry().bottom() < learn.result.geometry().top()
                and learn.result.geometry().bottom() < d.geometry().top()
                and canvas.height() >= MIN_CANVAS_HEIGHT
                and canvas.bottom() < slider.top() < d.detail.geometry().top()
                and d.detail.geometry().bottom() <= d.height())

    qtbot.waitUntil(laid_out_clear)
    assert learn.title.height() <= 2 * learn.title.fontMetrics().height()   # one line


def test_the_learn_tab_fits_1920_by_1080_at_150_percent(make_window, qtbot, qapp):
    w = make_window("http://127.0.0.1:9", "short")
    learn = w.learn
    w.tabs.setCurrentWidget(learn)
    base_pt = qapp.font().pointSizeF()
    view_state().set_zoom(150)
    assert qapp.font().pointSizeF() == pytest.approx(base_pt * 1.5)
    assert learn.diagram.canvas.scale() == 1.5
    # the canvas paints in unzoomed units, through a painter scaled by 1.5
    assert learn.diagram.canvas.paint_font().pointSizeF() == pytest.approx(base_pt)
    assert_fits(w, qtbot, 1920, 1080 - 40)


# -- zoom ------------------------------------------------------------------------------------

def test_zoom_keys_change_the_font_and_are_remembered(make_window, qtbot, qapp):
    w = make_window("http://127.0.0.1:9", "short")
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    base_pt = qapp.font().pointSizeF()
    assert QKeySequence("Ctrl+=") in w.view_menu.zoom_in_action.shortcuts()
    assert QKeySequence("Ctrl++") in w.view_menu.zoom_in_action.shortcuts()
    with qtbot.waitSignal(view_state().zoom_changed) as zoomed:
        QTest.keyClick(w, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert zoomed.args == [110]
    assert qapp.font().pointSizeF() == pytest.approx(base_pt * 1.1)
    assert w.statusBar().currentMessage() == "Zoom 110 %"
    QTest.keyClick(w, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert view_state().percent == 125
    assert w.chat.font().pointSizeF() == pytest.approx(base_pt * 1.25)  # widgets follow
    assert "font-size: 16px" in theme.stylesheet()    # 13 px titles, scaled
    # a new start (a fresh state, new window) comes back at 125 %
    fresh = ViewState()
    fresh.restore()
    assert fresh.percent == 125 and Settings().zoom_percent(False, 100) == 125
    view_state().set_zoom(100, remember=False)
    view_state().restore()
    w2 = make_window("http://127.0.0.1:9", "other")
    assert w2.font().pointSizeF() == pytest.approx(base_pt * 1.25)
    # Ctrl+- and Ctrl+0, within 50-200 %
    QTest.keyClick(w, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert view_state().percent == 110
    QTest.keyClick(w, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert view_state().percent == 100
    # the ends hold (each step re-styles every widget: the test takes the ends directly)
    view_state().set_zoom(STEPS[-2], remember=False)
    assert view_state().zoom_in() == 200 and view_state().zoom_in() == 200
    view_state().set_zoom(STEPS[1], remember=False)
    assert view_state().zoom_out() == 50 and view_state().zoom_out() == 50


def test_presenter_mode_has_its_own_zoom_and_a_bad_setting_is_ignored():
    s = Settings()
    s.set_zoom_percent(True, 150)
    view_state().set_presenting(True)
    assert view_state().percent == 150
    view_state().zoom_out()
    assert Settings().zoom_percent(True, 125) == 125
    assert Settings().zoom_percent(False, 100) == 100    # the desk's zoom untouched
    s.set("view/zoom", "big")                            # a hand-edited settings file
    assert s.zoom_percent(False, 100) == 100
    assert nearest_step(133) == 125 and nearest_step(10_000) == 200


def test_stylesheet_sizes_scale_but_hairlines_stay():
    css = "QLabel { font-size: 13px; padding: 4px 8px; border: 1px solid red; }"
    assert theme.scale_css(css, 1.5) == ("QLabel { font-size: 20px; padding: 6px 12px; "
                                         "border: 1px solid red; }")
    assert theme.scale_css(css, 1.0) == css


# -- theme -----------------------------------------------------------------------------------

def test_the_theme_switch_repaints_every_window_live(make_window, qtbot, qapp):
    w = make_window("http://127.0.0.1:9", "short")
    canvas = w.learn.diagram.canvas
    icon = theme.icon("play")

    def icon_ink() -> QColor:
        img = icon.pixmap(24, 24).toImage().convertToFormat(QImage.Format.Format_ARGB32)
        inked = [img.pixelColor(x, y) for x in range(24) for y in range(24)
                 if img.pixelColor(x, y).alpha() > 200]
        assert inked
        return inked[0]

    switch_theme("dark")
    assert Settings().theme == "dark"
    assert theme.is_dark(w.palette()) and theme.is_dark(canvas.palette())
    assert theme.is_dark(w.learn.palette())
    dark_ink = icon_ink()
    assert dark_ink.lightnessF() > 0.6                   # light icons on a dark window
    legend_dark = w.learn.diagram.legend.text()
    switch_theme("light")
    assert Settings().theme == "light"
    assert not theme.is_dark(w.palette()) and not theme.is_dark(canvas.palette())
    assert icon_ink().lightnessF() < 0.4                 # the same icon, re-tinted
    assert w.learn.diagram.legend.text() != legend_dark  # arrows' colours follow
    act = w.view_menu.theme_actions["system"]
    act.trigger()
    assert theme.theme_mode() == "system" and Settings().theme == "system"
    with pytest.raises(ValueError, match="unknown theme 'purple'"):
        switch_theme("purple")
    assert theme.theme_mode() == "system"


# -- the presenter screenshot, end to end ------------------------------------------------------

def test_presenter_screenshot_of_a_lesson(tmp_path):
    """``--screenshot-tab learn --present``: a lesson running, at 1280x720 (without
    QT_QPA_PLATFORM the app makes its own offscreen screen that large)."""
    out = tmp_path / "present.png"
    env = dict(os.environ, SOCKDESK_SETTINGS_DIR=str(tmp_path / "gui-settings"),
               PYTHON_KEYRING_BACKEND=NO_KEYRING)
    for name in ("QT_QPA_PLATFORM", "SOCKDESK_DATA_DIR"):
        env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "ui", "--screenshot", str(out), "--screenshot-size",
         "1280x720", "--screenshot-tab", "learn", "--present", "--theme", "dark",
         "--user", "teacher", "--data-dir", str(tmp_path / "data")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, proc.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1280, 720)
    # dark: the canvas's background, under the lanes, is dark
    assert QColor(img.pixel(640, 600)).lightnessF() < 0.25


def test_fixed_pitch_text_grows_with_the_zoom(make_window, qapp):
    """JSON, hex and the packet log's columns have a font of their own, which the
    application font's zoom did not reach: at 125 % on a projector they stayed small."""
    from PySide6.QtGui import QFontDatabase

    from app.packets import Packet
    from ui.models.packets import COL_ARGS

    w = make_window("http://127.0.0.1:9", "short")
    w.packets.add_many([Packet(1, 1.0, "in", "/", "EVENT", "tick", [1], None, None, 9)])
    w.packets.flush()
    system_pt = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).pointSizeF()
    editor = w.compose.args[0].json  # the argument editor
    shown = [editor, w.compose.response, w.events.detail]

    def sizes() -> list[float]:
        cell = w.packets.data(w.packets.index(0, COL_ARGS), Qt.ItemDataRole.FontRole)
        return [x.font().pointSizeF() for x in shown] + [cell.pointSizeF()]

    assert sizes() == pytest.approx([system_pt] * 4)
    view_state().set_presenting(True)  # 125 %
    assert sizes() == pytest.approx([system_pt * 1.25] * 4)
    view_state().set_zoom(150, remember=False)
    assert sizes() == pytest.approx([system_pt * 1.5] * 4)
    view_state().set_presenting(False)
    assert sizes() == pytest.approx([system_pt] * 4)


def test_leaving_presenter_mode_gives_the_bar_its_height_back(make_window, qtbot):
    """Qt's toolbar has one margin for all four sides, which it takes from the
    stylesheet when it is restyled (every zoom) but not when it is built: with a
    padding of 6 px by 10 px the bar was 12 px taller after presenter mode than before."""
    w = make_window("http://127.0.0.1:9", "short")
    qtbot.waitUntil(lambda: w.bar.height() > 0)
    before = (w.bar.height(), w.tabs.mapTo(w, w.tabs.rect().topLeft()).y())
    view_state().set_presenting(True)
    qtbot.waitUntil(lambda: w.bar.height() > before[0])
    view_state().set_presenting(False)
    qtbot.waitUntil(lambda: (w.bar.height(),
                             w.tabs.mapTo(w, w.tabs.rect().topLeft()).y()) == before)


def test_the_ack_panels_column_headers_fit_at_a_presenters_zoom(make_window, qtbot):
    """"Namespace" was cut on both sides at 125 % (a fixed default column width)."""
    w = make_window("http://127.0.0.1:9", "short")
    view_state().set_presenting(True)
    w.tabs.setCurrentWidget(w.events)
    for table in (w.acks.pending, w.acks.rules):
        header = table.horizontalHeader()
        for col in range(table.columnCount()):
            # what the header needs for its label, with the stylesheet's padding
            qtbot.waitUntil(lambda h=header, c=col: h.sectionSize(c) >= h.sectionSizeHint(c))


def test_a_cut_lesson_summary_keeps_clear_of_the_speed_label(make_window, qtbot):
    """At 125 % on a projector lesson 4's summary is cut with "…", which ran straight
    into "Speed"."""
    w = make_window("http://127.0.0.1:9", "short")
    w.resize(*PROJECTOR)
    learn = w.learn
    w.tabs.setCurrentWidget(learn)
    w.view_menu.present_action.trigger()
    learn.lessons_menu.aboutToShow.emit()
    learn.lessons_menu.actions()[3].trigger()   # 4. Acks: a long summary
    summary, speed = learn.subtitle, learn.speed_label
    qtbot.waitUntil(lambda: speed.isVisible() and summary.width() > 0)
    right = summary.mapTo(learn, summary.rect().topRight()).x()
    left = speed.mapTo(learn, speed.rect().topLeft()).x()
    assert left - right >= 8


def test_the_packet_logs_rows_and_columns_grow_with_the_zoom(make_window, qtbot):
    """The Events table's widths were fixed pixels: at 125 % the time, in the zoomed
    fixed-pitch font, was cut to "18:55:51...."; its rows kept their height too."""
    from PySide6.QtGui import QFontMetrics

    from ui.models.packets import COL_TIME

    w = make_window("http://127.0.0.1:9", "short")
    w.tabs.setCurrentWidget(w.events)
    table = w.events.table
    qtbot.waitUntil(lambda: table.viewport().width() > 0)
    before = (table.columnWidth(COL_TIME), table.verticalHeader().defaultSectionSize())
    view_state().set_zoom(150, remember=False)
    mono = QFontMetrics(theme.mono_font())
    qtbot.waitUntil(lambda: table.columnWidth(COL_TIME)
                    >= mono.horizontalAdvance("18:55:51.803") + 8)
    assert table.verticalHeader().defaultSectionSize() >= mono.height() + 8
    view_state().set_zoom(100, remember=False)
    qtbot.waitUntil(lambda: (table.columnWidth(COL_TIME),
                             table.verticalHeader().defaultSectionSize()) == before)
