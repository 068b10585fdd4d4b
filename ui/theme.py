"""Look and feel: SVG icons tinted from the palette, the stylesheet, palette-derived colours.

Icons and the stylesheet are package data of ``resources`` read with importlib.resources.
Every colour is derived from the current QPalette so light and dark themes both work; the
theme is the system's, or light or dark as chosen in View → Theme (``set_theme``), and
switching repaints every window live. Text colours that carry meaning (muted captions,
errors, the diagram's arrows) are checked against their background with
``contrast_ratio`` and pushed to WCAG AA (4.5:1) by ``readable``: a class reads them
off a projector from the back of the room. The stylesheet's pixel sizes follow the zoom
(``set_scale``, driven by ``ui.zoom``).
"""

from __future__ import annotations

import functools
import re
from importlib import resources

import shiboken6
from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QWidget

from ui.text import stable_hue

ICON_SIZES = (16, 20, 24, 32, 48)


@functools.cache
def svg_source(name: str) -> str:
    return resources.files("resources").joinpath("icons", f"{name}.svg").read_text("utf-8")


#: the themes View → Theme offers ("system" follows the desktop's light or dark)
THEMES = ("system", "light", "dark")
#: WCAG AA for normal text: what muted text, captions and arrows must reach
MIN_CONTRAST = 4.5


class _View:
    """The theme chosen and the zoom factor, for the whole application."""

    mode = "system"
    scale = 1.0


_view = _View()
_PX = re.compile(r"(?<![\w.#-])(\d+(?:\.\d+)?)px")


def stylesheet(pal: QPalette | None = None) -> str:
    """The stylesheet, with @tokens replaced by colours derived from the palette and its
    pixel sizes scaled by the zoom."""
    text = resources.files("resources").joinpath("styles", "sockdesk.qss").read_text("utf-8")
    pal = pal or palette()
    tokens = {"@muted": muted(pal).name(), "@subtle": subtle_bg(pal).name(),
              "@error": error_text(pal).name()}
    for token, value in tokens.items():
        text = text.replace(token, value)
    return scale_css(text)


def scale_css(css: str, scale: float | None = None) -> str:
    """``css`` with every size of 2 px or more times ``scale`` (default: the zoom), so
    fonts, paddings and radii grow with the text; hairlines (1 px) stay hairlines."""
    factor = _view.scale if scale is None else scale
    if factor == 1.0:
        return css

    def scaled(m: re.Match[str]) -> str:
        value = float(m.group(1))
        return m.group(0) if value < 2 else f"{max(1, round(value * float(factor)))}px"

    return _PX.sub(scaled, css)


# -- the fixed-pitch font ------------------------------------------------------------------------

#: the system's fixed-pitch font at one zoom factor (shared: do not modify it)
_mono: tuple[float, QFont] | None = None
#: widgets given it with use_mono, re-fonted at every zoom
_mono_widgets: set[QWidget] = set()


def mono_font() -> QFont:
    """The system's fixed-pitch font at the zoom in use. A widget with a font of its own
    does not follow the application font that ``ui.zoom`` scales: JSON, hex dumps and
    the packet log's columns stayed at 100 % in presenter mode. Shared: copy it before
    changing it."""
    global _mono
    if _mono is None or _mono[0] != _view.scale:
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * _view.scale)
        elif font.pixelSize() > 0:
            font.setPixelSize(max(1, round(font.pixelSize() * _view.scale)))
        _mono = (_view.scale, font)
    return _mono[1]


def use_mono(widget: QWidget) -> None:
    """Give ``widget`` the fixed-pitch font, now and after every zoom."""
    widget.setFont(mono_font())
    if len(_mono_widgets) >= 64:
        _forget_deleted()
    _mono_widgets.add(widget)


def _forget_deleted() -> None:
    """Drop the widgets Qt has deleted (no slot on their ``destroyed``: a Python call
    on a wrapper in the middle of its C++ destructor is asking for trouble)."""
    _mono_widgets.difference_update([w for w in _mono_widgets if not shiboken6.isValid(w)])


def _refont_mono() -> None:
    _forget_deleted()
    font = mono_font()
    for widget in _mono_widgets:
        widget.setFont(font)


def set_scale(scale: float) -> None:
    """The zoom factor the stylesheet's sizes follow (``ui.zoom`` sets it, then restyles)."""
    _view.scale = float(scale)


def scale() -> float:
    return float(_view.scale)


def theme_mode() -> str:
    """"system", "light" or "dark": what View → Theme says."""
    return str(_view.mode)


# -- contrast -----------------------------------------------------------------------------------

def luminance(color: QColor) -> float:
    """WCAG relative luminance of an sRGB colour (0 black … 1 white)."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF()))


def contrast_ratio(a: QColor | str, b: QColor | str) -> float:
    """WCAG contrast ratio of two colours, 1 (same) to 21 (black on white)."""
    la, lb = luminance(QColor(a)), luminance(QColor(b))
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def readable(color: QColor | str, *backgrounds: QColor | str,
             ratio: float = MIN_CONTRAST) -> QColor:
    """``color`` as it is where it reaches ``ratio`` against every background, else the
    least change towards black (light backgrounds) or white (dark ones) that does: the
    hue stays, so an event arrow still reads as blue."""
    fg = QColor(color)
    bgs = [QColor(b) for b in backgrounds]
    if not bgs or all(contrast_ratio(fg, b) >= ratio for b in bgs):
        return fg
    light_bg = sum(luminance(b) for b in bgs) / len(bgs) > 0.18
    target = QColor("#000000" if light_bg else "#ffffff")
    lo, hi = 0.0, 1.0  # how much of the target to mix in
    for _ in range(20):
        mid = (lo + hi) / 2
        if all(contrast_ratio(_mix(target, fg, mid), b) >= ratio for b in bgs):
            hi = mid
        else:
            lo = mid
    return _mix(target, fg, hi)


def error_text(pal: QPalette | None = None) -> QColor:
    """The red of error sentences, readable on the window and on text fields."""
    pal = pal or palette()
    return readable(STATE_COLORS["failed"], pal.color(QPalette.ColorRole.Window),
                    pal.color(QPalette.ColorRole.Base))


def palette() -> QPalette:
    return QGuiApplication.palette()


def is_dark(pal: QPalette | None = None) -> bool:
    pal = pal or palette()
    return pal.color(QPalette.ColorRole.Window).lightnessF() < 0.5


def _render(svg: str, size: int, ratio: float) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    px = QPixmap(int(size * ratio), int(size * ratio))
    px.fill(Qt.GlobalColor.transparent)
    p = QPainter(px)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(p, QRectF(0, 0, size * ratio, size * ratio))
    p.end()
    px.setDevicePixelRatio(ratio)
    return px


class _TintedSvgEngine(QIconEngine):
    """Renders a tinted SVG at the size, scale and mode a painter asks for, once each.

    Rendering every size at 1x and 2x in both modes up front (20 pixmaps an icon) cost a
    quarter of the start-up; a window paints one or two of them per icon.
    """

    def __init__(self, svgs: dict[QIcon.Mode, str], source: str | None = None) -> None:
        """``svgs``: the tinted SVG of each mode; ``source``: the untinted SVG of an
        icon that takes the palette's colours when painted (the theme can change)."""
        super().__init__()
        self.svgs = svgs
        self.source = source
        self.rendered: dict[tuple[int, int, float, QIcon.Mode, str], QPixmap] = {}

    def _svg(self, mode: QIcon.Mode) -> tuple[str, str]:
        """The SVG to render in ``mode`` and the colour it is tinted with."""
        if self.source is not None:  # follows the palette: tinted at paint time
            pal = palette()
            group = QPalette.ColorGroup.Disabled if mode == QIcon.Mode.Disabled \
                else QPalette.ColorGroup.Normal
            col = pal.color(group, QPalette.ColorRole.ButtonText).name()
            return self.source.replace("currentColor", col), col
        return self.svgs.get(mode, self.svgs[QIcon.Mode.Normal]), ""  # Active, Selected

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, _state: QIcon.State,
                     scale: float) -> QPixmap:
        scale = max(1.0, scale)
        svg, tint = self._svg(mode)
        key = (size.width(), size.height(), scale, mode, tint)
        px = self.rendered.get(key)
        if px is None:
            if len(self.rendered) > 64:
                self.rendered.clear()
            px = _render(svg, min(size.width(), size.height()), scale)
            self.rendered[key] = px
        return px

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode,
              state: QIcon.State) -> None:
        scale = painter.device().devicePixelRatioF()
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, scale))

    def availableSizes(self, _mode: QIcon.Mode = QIcon.Mode.Normal,
                       _state: QIcon.State = QIcon.State.Off) -> list[QSize]:
        return [QSize(s, s) for s in ICON_SIZES]

    def clone(self) -> QIconEngine:
        # Qt calls this when a copy of the icon is changed (e.g. addPixmap) and owns
        # the result, but PySide6 lets Python free it on return (a segfault later):
        # keep a reference. It only happens for icons modified after creation.
        engine = _TintedSvgEngine(self.svgs, self.source)
        _CLONES.append(engine)
        return engine


#: engines handed to Qt by clone(), kept alive (see there)
_CLONES: list[_TintedSvgEngine] = []


_icon_cache: dict[tuple[str, str, str], QIcon] = {}


def icon(name: str, color: QColor | str | None = None) -> QIcon:
    """An SVG icon tinted with ``color`` (default: the palette's text colour, taken when
    it is painted, so the icon follows a theme switch).

    Rendered when painted, at the size and device pixel ratio asked for, so it stays
    sharp on high-DPI screens.
    """
    if color is None:
        follows = _icon_cache.get((name, "", ""))
        if follows is None:
            follows = QIcon(_TintedSvgEngine({}, svg_source(name)))
            _icon_cache[(name, "", "")] = follows
        return follows
    pal = palette()
    base = QColor(color)
    disabled = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    key = (name, base.name(QColor.NameFormat.HexArgb), disabled.name())
    cached = _icon_cache.get(key)
    if cached is not None:
        return cached
    src = svg_source(name)
    ic = QIcon(_TintedSvgEngine({mode: src.replace("currentColor", col.name())
                                 for mode, col in ((QIcon.Mode.Normal, base),
                                                   (QIcon.Mode.Disabled, disabled))}))
    _icon_cache[key] = ic
    return ic


_pixmap_cache: dict[tuple[str, int, str, float], QPixmap] = {}


def pixmap(name: str, size: int, color: QColor | str | None = None) -> QPixmap:
    """A tinted icon pixmap for painting in delegates; cached (paint is a hot path)."""
    screen = QGuiApplication.primaryScreen()
    ratio = max(1.0, screen.devicePixelRatio()) if screen is not None else 1.0
    col = QColor(color) if color is not None else palette().color(QPalette.ColorRole.Text)
    key = (name, size, col.name(QColor.NameFormat.HexArgb), ratio)
    px = _pixmap_cache.get(key)
    if px is None:
        if len(_pixmap_cache) > 512:
            _pixmap_cache.clear()
        px = _render(svg_source(name).replace("currentColor", col.name()), size, ratio)
        _pixmap_cache[key] = px
    return px


def author_color(name: str, pal: QPalette | None = None) -> QColor:
    """A readable colour for a user name, stable across runs, tuned for light or dark."""
    dark = is_dark(pal)
    return QColor.fromHslF(stable_hue(name) / 360.0, 0.62 if dark else 0.58,
                           0.68 if dark else 0.40)


#: muted() by the palette colours it is made of: table models ask for it for every
#: painted cell of some columns, and readable() is a search of ~40 contrast ratios (a
#: fifth of the GUI thread with the Queues tab in view during a flood, py-spy, B5)
_MUTED: dict[tuple[int, int, int], QColor] = {}


def muted(pal: QPalette | None = None) -> QColor:
    """Secondary text (hints, captions, times): quieter than the text, yet readable
    (WCAG AA) on both the window and the text fields' background."""
    pal = pal or palette()
    text = pal.color(QPalette.ColorRole.Text)
    base = pal.color(QPalette.ColorRole.Base)
    window = pal.color(QPalette.ColorRole.Window)
    key = (text.rgba(), base.rgba(), window.rgba())
    got = _MUTED.get(key)
    if got is None:
        if len(_MUTED) > 64:  # palettes come and go with the theme: keep a few
            _MUTED.clear()
        got = _MUTED[key] = readable(_mix(text, base, 0.55), window, base)
    return QColor(got)  # a copy: callers may change theirs


def subtle_bg(pal: QPalette | None = None, amount: float = 0.06) -> QColor:
    pal = pal or palette()
    return _mix(pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base), amount)


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """``t`` of a over ``1 - t`` of b."""
    return QColor.fromRgbF(a.redF() * t + b.redF() * (1 - t), a.greenF() * t + b.greenF() * (1 - t),
                           a.blueF() * t + b.blueF() * (1 - t))


mix = _mix

# Status colours: meaning-bearing hues that read well on light and dark backgrounds.
STATE_COLORS = {
    "offline": "#8a8f98",
    "connecting": "#e0a526",
    "starting": "#e0a526",
    "connected": "#2fb36b",
    "reconnecting": "#ef7d32",
    "failed": "#e5484d",
    "queued": "#8a8f98",
    "sent": "#8a8f98",
    "acked": "#3e8ef7",
    "no_ack": "#e0a526",
    "error": "#e5484d",
}


def state_color(state: str) -> QColor:
    return QColor(STATE_COLORS.get(state, "#8a8f98"))


def dot_pixmap(color: QColor | str, size: int = 12) -> QPixmap:
    ratio = 2.0
    px = QPixmap(size * 2, size * 2)
    px.fill(Qt.GlobalColor.transparent)
    p = QPainter(px)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    c = QColor(color)
    halo = QColor(c)
    halo.setAlphaF(0.25)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(halo)
    p.drawEllipse(0, 0, size * 2, size * 2)
    p.setBrush(c)
    p.drawEllipse(size // 2, size // 2, size, size)
    p.end()
    px.setDevicePixelRatio(ratio)
    return px


def apply(app: QApplication, mode: str | None = None) -> None:
    """Fusion style, the palette of the theme (``mode``: system, light or dark; default
    the one in use), and our stylesheet."""
    app.setStyle("Fusion")
    hints = app.styleHints()
    if app.property("sockdeskSystemPalette") is None:  # the desktop's own, kept once
        app.setProperty("sockdeskSystemPalette", QPalette(app.palette()))
    set_theme(app, mode or theme_mode())
    app.setWindowIcon(icon("app"))
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None and not app.property("sockdeskFollowsScheme"):
        app.setProperty("sockdeskFollowsScheme", True)  # connect the follower once
        hints.colorSchemeChanged.connect(lambda _s: _follow_scheme(app))


def set_theme(app: QApplication, mode: str) -> None:
    """Switch every window to the ``mode`` theme now: palette, stylesheet, icons (they
    take the palette's colours when next painted). ValueError for an unknown mode."""
    if mode not in THEMES:
        raise ValueError(f"unknown theme {mode!r}: one of {', '.join(THEMES)}")
    _view.mode = mode
    app.setPalette(theme_palette(app, mode))
    restyle(app)


def theme_palette(app: QApplication, mode: str) -> QPalette:
    """The palette of ``mode``: ours for light and dark; for system, the desktop's (or
    our dark one where the desktop says dark but its palette is light)."""
    if mode == "light":
        return _light_palette()
    if mode == "dark":
        return _dark_palette()
    hints = app.styleHints()
    system_dark = getattr(hints, "colorScheme", None) is not None \
        and hints.colorScheme() == Qt.ColorScheme.Dark
    kept = app.property("sockdeskSystemPalette")
    desktop = QPalette(kept) if isinstance(kept, QPalette) else app.style().standardPalette()
    return _dark_palette() if system_dark and not is_dark(desktop) else desktop


def restyle(app: QApplication) -> None:
    """Rebuild the stylesheet from the palette and zoom in use (pixmaps re-tint)."""
    _pixmap_cache.clear()
    app.setStyleSheet(stylesheet(app.palette()))
    _refont_mono()


def _follow_scheme(app: QApplication) -> None:
    """The system switched light/dark: follow it, unless a theme was chosen."""
    if theme_mode() != "system":
        return
    kept = app.property("sockdeskSystemPalette")
    if isinstance(kept, QPalette) and app.styleHints().colorScheme() != Qt.ColorScheme.Dark:
        # the desktop's palette was taken while it was dark: Fusion's light one now
        app.setProperty("sockdeskSystemPalette", app.style().standardPalette()
                        if is_dark(kept) else kept)
    set_theme(app, "system")


def _light_palette() -> QPalette:
    """A light palette of our own (Fusion's follows the desktop's scheme in Qt 6.5+)."""
    pal = QPalette()
    role = QPalette.ColorRole
    for r, c in ((role.Window, "#f4f4f6"), (role.WindowText, "#1b1c20"), (role.Base, "#ffffff"),
                 (role.AlternateBase, "#f6f6f8"), (role.Text, "#1b1c20"),
                 (role.Button, "#f7f7f9"), (role.ButtonText, "#1b1c20"),
                 (role.Highlight, "#4f4fc4"), (role.HighlightedText, "#ffffff"),
                 (role.ToolTipBase, "#ffffff"), (role.ToolTipText, "#1b1c20"),
                 (role.PlaceholderText, "#6b6f78"), (role.Link, "#2f55d4"),
                 (role.Light, "#ffffff"), (role.Mid, "#c9cad1"), (role.Midlight, "#e2e3e8"),
                 (role.Dark, "#a0a2aa"), (role.Shadow, "#5b5d66")):
        pal.setColor(r, QColor(c))
    for r in (role.Text, role.ButtonText, role.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, r, QColor("#8a8d95"))
    return pal


def _dark_palette() -> QPalette:
    pal = QPalette()
    role = QPalette.ColorRole
    for r, c in ((role.Window, "#1e1f24"), (role.WindowText, "#e6e7ea"), (role.Base, "#16171b"),
                 (role.AlternateBase, "#202127"), (role.Text, "#e6e7ea"),
                 (role.Button, "#26272d"), (role.ButtonText, "#e6e7ea"),
                 (role.Highlight, "#5b5bd6"), (role.HighlightedText, "#ffffff"),
                 (role.ToolTipBase, "#2b2c33"), (role.ToolTipText, "#e6e7ea"),
                 (role.PlaceholderText, "#8a8f98"), (role.Link, "#8fa8ff"),
                 (role.Mid, "#3a3b42"), (role.Midlight, "#2e2f36"), (role.Dark, "#101114"),
                 # Fusion draws tab bar bases and bevels with these: QPalette's default
                 # Light is white, a bright line across the dark tab bar
                 (role.Light, "#33343b"), (role.Shadow, "#08080a")):
        pal.setColor(r, QColor(c))
    for r in (role.Text, role.ButtonText, role.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, r, QColor("#6b6f78"))
    return pal

