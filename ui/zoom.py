"""Zoom and presenter mode, for the whole application.

A classroom projector is 1280x720 and the back row is far: the app's text (and with it
every layout, the stylesheet's sizes and the Learn diagram, which scales its painting
by ``factor``) grows or shrinks in steps from 50 % to 200 % (Ctrl+= / Ctrl+- / Ctrl+0).
Presenter mode has a zoom of its own (125 % until changed there), so switching it on
makes everything bigger at once and switching it off gives the desk its size back; both
are remembered in the settings (``ui.settings``). The windows listen to ``changed`` and
lay themselves out (``ui.view_menu``).

Zooming changes the application font's point size from the size it had before the first
zoom (the desktop's), so it composes with the user's own font settings.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

from ui import theme
from ui.settings import Settings

#: the zoom levels, in percent (Ctrl+= and Ctrl+- go from one to the next)
STEPS = (50, 67, 75, 80, 90, 100, 110, 125, 150, 175, 200)
NORMAL = 100
#: presenter mode's zoom until the teacher changes it there
PRESENT = 125


def nearest_step(percent: int) -> int:
    """The zoom level closest to ``percent`` (a hand-edited setting of 133 is 125)."""
    return min(STEPS, key=lambda s: (abs(s - percent), s))


class ViewState(QObject):
    """The zoom in percent and whether presenter mode is on: one for the application."""

    #: the zoom now, in percent
    zoom_changed = Signal(int)
    #: presenter mode switched on or off
    presenting_changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.percent = NORMAL
        self.presenting = False
        self._base_pt: float | None = None   # the desktop's font size, before any zoom
        self._base_px = -1

    @property
    def factor(self) -> float:
        return self.percent / 100.0

    # -- zoom ------------------------------------------------------------------------------
    def set_zoom(self, percent: int, remember: bool = True) -> int:
        """Zoom to the level nearest ``percent`` now (fonts, stylesheet, diagram);
        remembered for the mode in use unless ``remember`` is false. The level set."""
        level = nearest_step(int(percent))
        if level != self.percent:
            self.percent = level
            self._apply()
        if remember:
            Settings().set_zoom_percent(self.presenting, level)
        self.zoom_changed.emit(level)
        return level

    def zoom_in(self) -> int:
        bigger = [s for s in STEPS if s > self.percent]
        return self.set_zoom(bigger[0] if bigger else STEPS[-1])

    def zoom_out(self) -> int:
        smaller = [s for s in STEPS if s < self.percent]
        return self.set_zoom(smaller[-1] if smaller else STEPS[0])

    def reset_zoom(self) -> int:
        """Ctrl+0: 100 %, or presenter mode's 125 % while presenting."""
        return self.set_zoom(PRESENT if self.presenting else NORMAL)

    # -- presenter mode --------------------------------------------------------------------
    def set_presenting(self, on: bool) -> None:
        """Presenter mode on or off: its own remembered zoom, and the windows fold their
        side panels (they listen to ``presenting_changed``)."""
        if on == self.presenting:
            return
        self.presenting = on
        remembered = Settings().zoom_percent(on, PRESENT if on else NORMAL)
        self.set_zoom(remembered, remember=False)
        self.presenting_changed.emit(on)

    def restore(self, presenting: bool = False) -> None:
        """At start: the zoom remembered for the mode asked for (``--present``)."""
        self.presenting = presenting
        self.set_zoom(Settings().zoom_percent(presenting, PRESENT if presenting else NORMAL),
                      remember=False)
        self.presenting_changed.emit(presenting)

    # -- applying --------------------------------------------------------------------------
    def _apply(self) -> None:
        """Scale the application font and the stylesheet's sizes; every widget without
        a font of its own follows (Qt sends them a font change and relays out)."""
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        font = app.font()
        if self._base_pt is None:
            self._base_pt = font.pointSizeF()
            self._base_px = font.pixelSize()
        if self._base_pt > 0:
            font.setPointSizeF(self._base_pt * self.factor)
        elif self._base_px > 0:  # a desktop that gives its font in pixels
            font.setPixelSize(max(1, round(self._base_px * self.factor)))
        theme.set_scale(self.factor)
        app.setFont(font)
        theme.restyle(app)


_state: ViewState | None = None


def view_state() -> ViewState:
    """The application's zoom and presenter mode (made on first use)."""
    global _state
    if _state is None:
        _state = ViewState()
    return _state
